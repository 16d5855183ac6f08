"""The local hero card: title, landing line, source credit and the persona's name set in type with Pillow;
offline and free."""

from __future__ import annotations

import os
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw

from beatdesk.models import Artifact, CardStyle, Persona
from renderers.base import SIZES, ImageRequest, RenderResult, RequestMemory
from renderers.layout import Box, FittedText, draw_block, fit, ink_top


class LocalImageRenderer:
    """Draws the card here, or in `pool` (other processes: drawing and PNG encoding are CPU-bound, and a
    process of its own uses another core where a thread would wait for the GIL)."""

    provider = "local"
    model = "pillow-card"

    def __init__(self, pool: Executor | None = None) -> None:
        self.pool = pool

    def estimate(self) -> Decimal:
        return Decimal("0")

    def render(self, request: ImageRequest, job: RequestMemory | None = None) -> RenderResult:
        request.out_path.parent.mkdir(parents=True, exist_ok=True)
        partial = request.out_path.with_suffix(".part")
        size = SIZES[request.aspect]
        # What the card shows of the persona, not the persona: its beats and angles need not cross to the card process.
        face = CardFace.of(request.persona)
        args = (face, request.title, request.kicker, size, partial, request.landing, request.credit)
        try:
            width, height, pid = save_card(*args) if self.pool is None else self.pool.submit(save_card, *args).result()
        except BrokenProcessPool:  # a card process died (killed, out of memory): draw here, and start anew next time
            card_pool.cache_clear()
            width, height, pid = save_card(*args)
        os.replace(partial, request.out_path)  # never leave a half-written image under the real name
        return RenderResult(
            artifact=Artifact(
                kind=request.kind,
                path=str(request.out_path),
                content_type="image/png",
                size_bytes=request.out_path.stat().st_size,
                width=width,
                height=height,
            ),
            detail=None if pid == os.getpid() else f"card drawn in process {pid}",
        )


@dataclass(frozen=True)
class CardFace:
    """The persona as its card shows it."""

    style: CardStyle
    display_name: str
    handle: str

    @classmethod
    def of(cls, persona: Persona) -> CardFace:
        return cls(style=persona.style, display_name=persona.display_name, handle=persona.handle)


def save_card(
    face: CardFace, title: str, kicker: str, size: tuple[int, int], path: Path, landing: str = "", credit: str = ""
) -> tuple[int, int, int]:
    """Draw the card and write it as PNG to `path`; (width, height, the process that drew it)."""
    image = card(face, title=title, kicker=kicker, size=size, landing=landing, credit=credit).image
    # The fastest deflate: 8 ms against 20 ms at the default level for a 1080x1350 card, 48 KB against 37 KB.
    image.save(path, format="PNG", compress_level=1)
    return image.width, image.height, os.getpid()


@lru_cache(maxsize=1)
def card_pool() -> ProcessPoolExecutor:
    """Processes for cards, one per core this process may use, started now in the background (the batch
    plans meanwhile).

    They come from a fork server, a clean process with Pillow loaded, not forked from this one: a forked
    child holds a copy of every socket open here, so in the desk (which draws cards in-process) a client
    connection the server closed stayed open for the browser, which sent its next request into it and
    waited 30 s for an answer nobody would read."""
    context = get_context("forkserver")
    context.set_forkserver_preload([__name__])
    processes = len(os.sched_getaffinity(0))
    pool = ProcessPoolExecutor(max_workers=processes, mp_context=context)
    for _ in range(processes):
        pool.submit(os.getpid)  # one process each, started now: nobody waits for these
    return pool


DIM = 150
"""Coverage of secondary text (credit, handle): 150/255 of the way from the background to the foreground."""
MAX_STROKE = 2
"""The title's outline in px at its largest sizes: a bolder headline from the bundled regular face."""


@dataclass(frozen=True)
class HeroCard:
    image: Image.Image
    boxes: dict[str, Box]
    """Ink bounds of every text drawn, by name (kicker, title, landing, credit, footer)."""
    lines: dict[str, tuple[str, ...]]
    """The lines of every text drawn, by the same names."""
    title_size: int
    """The title's font size in pixels."""


def card(
    face: CardFace, *, title: str, kicker: str, size: tuple[int, int], landing: str = "", credit: str = ""
) -> HeroCard:
    """A typographic card, top to bottom: accent bar and kicker; the title as large as fits with the landing
    line smaller below it, the two centred in the room between; the source credit, a rule, the persona's
    name and handle at the foot. Every text is shrunk and wrapped to fit, never cut.

    A card is three colours and the blends at the edges of its type, so it is drawn as two coverage masks
    (foreground, accent) and kept as a palette image: one byte a pixel, a quarter of RGB's bytes for the
    PNG encoder, which is most of a card's cost (a 1080x1350 card: 74 -> 26 ms of CPU, 81 -> 48 KB).
    Secondary text is drawn at part coverage, which the palette shows as a dimmer foreground."""
    style, path = face.style, face.style.font_path
    width, height = size
    base = min(width, height * 4 // 5)  # type and spacing scale with the card's 4:5 width, whatever its shape
    margin, unit = base // 12, base // 108  # unit: 10 px on a 1080x1350 card
    text_width = width - 2 * margin
    ink, accent = Image.new("L", size), Image.new("L", size)
    ink_draw, accent_draw = ImageDraw.Draw(ink), ImageDraw.Draw(accent)
    boxes: dict[str, Box] = {}
    drawn: dict[str, FittedText] = {}

    accent_draw.rectangle((margin, margin, margin + base // 6, margin + unit), fill=255)
    top = margin + unit
    if kicker.strip():
        kick = _line(ink_draw, kicker.upper(), path, text_width, base // 28)
        drawn["kicker"] = kick
        boxes["kicker"] = draw_block(accent_draw, kick, (margin, top + 3 * unit), 255)
        top = boxes["kicker"][3]

    # The foot, from the bottom edge up: name and handle, a rule, the credit.
    foot = _line(ink_draw, f"{face.display_name}  {face.handle}", path, text_width, base // 26)
    foot_y = height - margin - 1 - int(foot.font.getbbox(foot.lines[-1])[3]) - (len(foot.lines) - 1) * foot.line_height
    drawn["footer"] = foot
    boxes["footer"] = _signature(ink_draw, foot, face, (margin, foot_y))
    bottom = boxes["footer"][1] - 3 * unit
    ink_draw.rectangle((margin, bottom - 1, width - margin, bottom), fill=DIM // 2)
    bottom -= 3 * unit
    if credit.strip():
        said = fit(ink_draw, credit, path, (text_width, int(base // 32 * 2.4)), base // 32)
        drawn["credit"] = said
        boxes["credit"] = draw_block(ink_draw, said, (margin, bottom - said.height), DIM)
        bottom = boxes["credit"][1]

    # The title and landing line between, as a block centred a little above the middle of its room.
    top, bottom = top + 8 * unit, bottom - 6 * unit
    room, gap = bottom - top, 6 * unit
    lands = fit(ink_draw, landing, path, (text_width, room * 2 // 5), base // 20, balance=True) if landing else None
    title_room = room - (lands.height + gap if lands else 0)
    heading = fit(ink_draw, title, path, (text_width - 2 * MAX_STROKE, title_room), base // 8, balance=True)
    stroke = min(MAX_STROKE, max(1, round(heading.size / 55)))  # the regular face thickened to a headline weight
    if lands and lands.size * 3 > heading.size * 2:  # keep the landing line clearly the smaller
        lands = fit(ink_draw, landing, path, (text_width, room * 2 // 5), heading.size * 2 // 3, balance=True)
    block = heading.height + (gap + lands.height if lands else 0) - ink_top(heading)
    y = top + (room - block) * 9 // 20 - ink_top(heading)
    drawn["title"] = heading
    boxes["title"] = draw_block(ink_draw, heading, (margin + stroke, y), 255, stroke=stroke)
    if lands:
        y += heading.height + gap
        accent_draw.rectangle((margin, y - gap // 2 - unit // 2, margin + 6 * unit, y - gap // 2 + unit // 2), fill=255)
        drawn["landing"] = lands
        boxes["landing"] = draw_block(ink_draw, lands, (margin, y + ink_top(lands) // 2), 255)

    # Palette entries 0-127 blend the background into the foreground, 128-255 into the accent.
    image = Image.composite(accent.point(_ACCENT_ENTRIES), ink.point(_INK_ENTRIES), accent.point(_ANY_COVERAGE))
    image.putpalette(_palette(style.background, style.foreground, style.accent))
    lines = {name: fitted.lines for name, fitted in drawn.items()}
    return HeroCard(image=image, boxes=boxes, lines=lines, title_size=heading.size)


def _line(draw: ImageDraw.ImageDraw, text: str, path: str | None, width: int, start: int) -> FittedText:
    """`text` on one line, shrunk until it fits (broken over more only when nothing else does)."""
    return fit(draw, text, path, (width, int(start * 1.2)), start)


def _signature(draw: ImageDraw.ImageDraw, foot: FittedText, face: CardFace, origin: tuple[int, int]) -> Box:
    """The persona's name, and its handle dimmer beside it; on one line, or as a block when it took more."""
    if len(foot.lines) > 1:
        return draw_block(draw, foot, origin, 255)
    name = FittedText(font=foot.font, lines=(face.display_name,), line_height=foot.line_height)
    left = draw_block(draw, name, origin, 255)
    x = origin[0] + int(draw.textlength(f"{face.display_name}  ", font=foot.font))
    handle = FittedText(font=foot.font, lines=(face.handle,), line_height=foot.line_height)
    right = draw_block(draw, handle, (x, origin[1]), DIM)
    return (min(left[0], right[0]), min(left[1], right[1]), max(left[2], right[2]), max(left[3], right[3]))


_INK_ENTRIES = [v >> 1 for v in range(256)]
_ACCENT_ENTRIES = [128 + (v >> 1) for v in range(256)]
_ANY_COVERAGE = [255 if v else 0 for v in range(256)]


@lru_cache(maxsize=16)
def _palette(background: str, foreground: str, accent: str) -> bytes:
    """256 RGB entries: the background blended into the foreground in 128 steps, then into the accent."""
    back, fore, acc = ImageColor.getrgb(background), ImageColor.getrgb(foreground), ImageColor.getrgb(accent)
    entries = []
    for towards in (fore, acc):
        for step in range(128):
            entries += [round(b + (t - b) * step / 127) for b, t in zip(back, towards, strict=False)][:3]
    return bytes(entries)
