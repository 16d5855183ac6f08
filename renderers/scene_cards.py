"""The pictures of a local video: one card per scene, a little larger than the frame so it can pan, and
one caption plate per cue, in the persona's card style.

Every text is laid out inside the frame's safe area (its margin), which is wider than the pan, so no
text reaches the frame's edge at any point of the motion. The boxes drawn are returned in frame
coordinates for callers and tests to check.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw

from beatdesk.models import Persona
from renderers.layout import Box, draw_block, fit

MOTION_PX = 36
"""How far a card drifts over its scene, each way: gentle, and well inside the margin."""


@dataclass(frozen=True)
class Layout:
    """Where things sit on a frame of this size."""

    width: int
    height: int

    @property
    def margin(self) -> int:
        return self.width // 12

    @property
    def text_width(self) -> int:
        return self.width - 2 * self.margin

    @property
    def kicker(self) -> tuple[int, int]:
        return self.margin + 40, int(self.height * 0.12)  # top, height

    @property
    def body(self) -> tuple[int, int]:
        top = sum(self.kicker) + 40
        return top, self.caption[0] - 40 - top

    @property
    def caption(self) -> tuple[int, int]:
        return int(self.height * 0.72), int(self.height * 0.16)

    @property
    def footer(self) -> tuple[int, int]:
        return self.height - self.margin - self.width // 20, self.width // 20


@dataclass(frozen=True)
class Card:
    image: Image.Image
    """The frame plus MOTION_PX on every side."""
    boxes: tuple[Box, ...]
    """Ink bounds of every text, in frame coordinates with the card centred (no motion)."""


@dataclass(frozen=True)
class Plate:
    image: Image.Image
    """A caption on its backing, with transparency around the rounded corners."""
    at: tuple[int, int]
    """Its top-left corner on the frame."""
    box: Box
    """The caption's ink bounds on the frame."""


def motion(index: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Where the frame's window over the card starts and ends: a slow diagonal drift, alternating direction."""
    a, b = (0, 0), (2 * MOTION_PX, 2 * MOTION_PX)
    if index % 4 == 1:
        a, b = b, a
    elif index % 4 == 2:
        a, b = (2 * MOTION_PX, 0), (0, 2 * MOTION_PX)
    elif index % 4 == 3:
        a, b = (0, 2 * MOTION_PX), (2 * MOTION_PX, 0)
    return a, b


def scene_card(persona: Persona, *, kicker: str, text: str, size: tuple[int, int]) -> Card:
    """Accent bar, the kicker (the post's title, on the first scene only: empty leaves its place blank), the
    scene's words as large as fit, and the persona's name."""
    style = persona.style
    width, height = size
    layout = Layout(width, height)
    image = Image.new("RGB", (width + 2 * MOTION_PX, height + 2 * MOTION_PX), style.background)
    draw = ImageDraw.Draw(image)
    m, shift = layout.margin, MOTION_PX
    draw.rectangle((m + shift, m + shift, m + shift + width // 6, m + shift + 14), fill=style.accent)
    boxes = []
    for words, (top, room), start, colour in (
        (kicker.upper(), layout.kicker, width // 22, style.accent),
        (text, layout.body, width // 11, style.foreground),
        (f"{persona.display_name}  {persona.handle}", layout.footer, width // 30, style.foreground),
    ):
        if not words.strip():
            continue
        fitted = fit(draw, words, style.font_path, (layout.text_width, room), start)
        box = draw_block(draw, fitted, (m + shift, top + shift), colour)
        boxes.append((box[0] - shift, box[1] - shift, box[2] - shift, box[3] - shift))
    return Card(image=image, boxes=tuple(boxes))


def caption_plate(persona: Persona, text: str, size: tuple[int, int]) -> Plate:
    """The cue's words centred on a plate of the card's colours, in the lower third of the frame."""
    style = persona.style
    layout = Layout(*size)
    top, room = layout.caption
    pad = layout.width // 36
    scratch = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    fitted = fit(scratch, text, style.font_path, (layout.text_width - 2 * pad, room - 2 * pad), layout.width // 18)
    widest = max(scratch.textlength(line, font=fitted.font) for line in fitted.lines)
    plate_w = int(widest) + 2 * pad
    plate_h = len(fitted.lines) * fitted.line_height + 2 * pad
    image = Image.new("RGBA", (plate_w, plate_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, plate_w - 1, plate_h - 1), radius=pad, fill=style.foreground)
    draw.rectangle((0, pad, 6, plate_h - pad), fill=style.accent)
    ink = draw_block(draw, fitted, (pad, pad), style.background, align="center", width=plate_w - 2 * pad)
    at = ((layout.width - plate_w) // 2, top + (room - plate_h) // 2)
    return Plate(image=image, at=at, box=(ink[0] + at[0], ink[1] + at[1], ink[2] + at[0], ink[3] + at[1]))
