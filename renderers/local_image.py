"""The local hero card: title, kicker and handle set in type with Pillow; offline and free."""

from __future__ import annotations

import os
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw, ImageFont

from beatdesk.models import Artifact, CardStyle, Persona
from renderers.base import SIZES, ImageRequest, RenderResult, RequestMemory

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=64)
def _font(path: str | None, size: int) -> Font:
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)  # Pillow's bundled scalable font: no system fonts needed


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Font, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(candidate, font=font) <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def fit_text(
    draw: ImageDraw.ImageDraw, text: str, font_path: str | None, box: tuple[int, int], start: int, smallest: int = 20
) -> tuple[Font, list[str], int]:
    """The largest font size at which `text` wraps inside `box` (width, height); never overflows."""
    width, height = box
    size = start
    while True:
        font = _font(font_path, size)
        lines = _wrap(draw, text, font, width)
        line_height = int(size * 1.18)
        widest = max((draw.textlength(line, font=font) for line in lines), default=0)
        if len(lines) * line_height <= height and widest <= width:
            return font, lines, line_height
        if size <= smallest:  # still too long at the smallest size: keep what fits and end on an ellipsis
            kept = lines[: max(1, height // line_height)]
            while kept and draw.textlength(kept[-1] + " …", font=font) > width:
                kept[-1] = kept[-1].rsplit(" ", 1)[0] if " " in kept[-1] else ""
            kept[-1] = (kept[-1] + " …").strip()
            return font, kept, line_height
        size = max(smallest, int(size * 0.92))


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
        args = (CardFace.of(request.persona), request.title, request.kicker, size, partial)
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


def save_card(face: CardFace, title: str, kicker: str, size: tuple[int, int], path: Path) -> tuple[int, int, int]:
    """Draw the card and write it as PNG to `path`; (width, height, the process that drew it)."""
    image = card(face, title=title, kicker=kicker, size=size)
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


def card(face: CardFace, *, title: str, kicker: str, size: tuple[int, int]) -> Image.Image:
    """A typographic card: accent bar, kicker, the title as large as fits, and the persona's name.

    A card is three colours and the blends at the edges of its type, so it is drawn as two coverage masks
    (foreground, accent) and kept as a palette image: one byte a pixel, a quarter of RGB's bytes for the
    PNG encoder, which is most of a card's cost (a 1080x1350 card: 74 -> 26 ms of CPU, 81 -> 48 KB)."""
    style = face.style
    width, height = size
    margin = width // 12
    ink, accent = Image.new("L", size), Image.new("L", size)
    ink_draw, accent_draw = ImageDraw.Draw(ink), ImageDraw.Draw(accent)
    accent_draw.rectangle((margin, margin, margin + width // 6, margin + 14), fill=255)

    kicker_font = _font(style.font_path, width // 28)
    accent_draw.text((margin, margin + 48), kicker.upper(), font=kicker_font, fill=255)

    title_top = margin + 48 + width // 14
    title_box = (width - 2 * margin, height - title_top - margin - width // 8)
    font, lines, line_height = fit_text(ink_draw, title, style.font_path, title_box, start=width // 11)
    for i, line in enumerate(lines):
        ink_draw.text((margin, title_top + i * line_height), line, font=font, fill=255)

    footer = f"{face.display_name}  {face.handle}"
    ink_draw.text((margin, height - margin - width // 24), footer, font=_font(style.font_path, width // 30), fill=255)
    # Palette entries 0-127 blend the background into the foreground, 128-255 into the accent.
    image = Image.composite(accent.point(_ACCENT_ENTRIES), ink.point(_INK_ENTRIES), accent.point(_ANY_COVERAGE))
    image.putpalette(_palette(style.background, style.foreground, style.accent))
    return image


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
