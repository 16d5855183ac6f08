"""Text that always fits its box: wrapped between words, shrunk until it fits, never cut or ellipsised.

A word wider than the box at the smallest size is broken between characters rather than left to run
off the frame. Lines can be balanced (the same line count at the narrowest width that keeps it), so a
title does not end on one stray word. Every drawn block reports its ink bounds, so callers (and tests)
can check that no text touches a frame's edge or another text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from PIL import ImageDraw, ImageFont

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
Box = tuple[int, int, int, int]
"""left, top, right, bottom in pixels."""

LINE_SPACING = 1.2
"""Line height as a multiple of the font size."""


@lru_cache(maxsize=256)
def font(path: str | None, size: int) -> Font:
    """The persona's font at `size`, or Pillow's bundled scalable one (Aileron): no system fonts needed."""
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


@dataclass(frozen=True)
class FittedText:
    font: Font
    lines: tuple[str, ...]
    line_height: int

    @property
    def height(self) -> int:
        return len(self.lines) * self.line_height

    @property
    def size(self) -> int:
        return int(getattr(self.font, "size", self.line_height))


class _Widths:
    """Word widths at one font, each measured once: a line's width is its words' plus its spaces' (kerning
    across a space is nil in practice, and a wrap is checked exactly before it is used)."""

    def __init__(self, draw: ImageDraw.ImageDraw, font: Font) -> None:
        self.draw, self.font, self.known = draw, font, dict[str, float]()
        self.space = draw.textlength(" ", font=font)

    def __call__(self, word: str) -> float:
        width = self.known.get(word)
        if width is None:
            width = self.known[word] = self.draw.textlength(word, font=self.font)
        return width

    def fits(self, lines: list[str], width: int) -> bool:
        return all(self.draw.textlength(line, font=self.font) <= width for line in lines)


def _lines(
    draw: ImageDraw.ImageDraw, text: str, font: Font, width: int, *, breaking: bool, widths: _Widths | None = None
) -> list[str] | None:
    """Words wrapped to `width`; a wider word is split between characters when `breaking`, else None.

    With `widths`, a line is measured as the sum of its words (fast, for trying sizes); without, each
    candidate line is measured whole (exact)."""
    lines: list[str] = []
    takes_more = False  # the front pieces of a broken word end their line
    used = 0.0  # the last line's width, when measured by sums
    for word in text.split():
        pieces = _pieces(draw, word, font, width) if widths is None or widths(word) > width else [word]
        if len(pieces) > 1 and not breaking:
            return None
        for piece in pieces[:-1]:
            lines.append(piece)
            takes_more = False
        last = pieces[-1]
        if widths is not None:
            grown = used + widths.space + widths(last)
            joins = bool(lines) and takes_more and grown <= width
            used = grown if joins else widths(last)
        else:
            joins = bool(lines) and takes_more and draw.textlength(f"{lines[-1]} {last}", font=font) <= width
        if joins:
            lines[-1] = f"{lines[-1]} {last}"
        else:
            lines.append(last)
        takes_more = True
    return lines


def _pieces(draw: ImageDraw.ImageDraw, word: str, font: Font, width: int) -> list[str]:
    """The word in runs that each fit `width` (the longest prefix that fits, found by bisection)."""
    pieces = []
    while len(word) > 1 and draw.textlength(word, font=font) > width:
        low, high = 1, len(word) - 1  # word[:low] is kept even when one character is wider than `width`
        while low < high:
            middle = (low + high + 1) // 2
            if draw.textlength(word[:middle], font=font) <= width:
                low = middle
            else:
                high = middle - 1
        pieces.append(word[:low])
        word = word[low:]
    return [*pieces, word]


def _balanced(text: str, width: int, lines: list[str], widths: _Widths) -> list[str]:
    """The same number of lines at the narrowest width that keeps it (bisection), so the last is not a stray word."""
    if len(lines) < 2:
        return lines
    low, high = width // 2, width
    best = lines
    while high - low > 4:
        middle = (low + high) // 2
        tried = _lines(widths.draw, text, widths.font, middle, breaking=False, widths=widths)
        if tried is not None and len(tried) <= len(lines) and widths.fits(tried, middle):
            best, high = tried, middle
        else:
            low = middle
    return best


def fit(
    draw: ImageDraw.ImageDraw, text: str, font_path: str | None, box: tuple[int, int], start: int,
    *, balance: bool = False,
) -> FittedText:  # fmt: skip
    """The largest size from `start` down at which `text` wraps inside `box` (width, height); all of it, always.

    Words are broken between characters only at the smallest sizes, where nothing else makes them fit."""
    width, height = box
    smallest = max(8, start // 3)
    size = start
    while True:
        face = font(font_path, size)
        line_height = max(1, int(size * LINE_SPACING))
        breaking = size <= smallest
        widths = _Widths(draw, face)
        lines = _lines(draw, text, face, width, breaking=breaking, widths=widths)
        if lines is not None and not widths.fits(lines, width):  # the sums were off (kerning): wrap exactly
            lines = _lines(draw, text, face, width, breaking=breaking)
        if lines is not None and len(lines) * line_height <= height:
            if balance and not breaking:
                lines = _balanced(text, width, lines, widths)
            return FittedText(font=face, lines=tuple(lines), line_height=line_height)
        if size <= 6:
            return FittedText(font=face, lines=tuple(lines or [text]), line_height=line_height)
        size = max(6, min(size - 1, int(size * 0.92)))


def draw_block(
    draw: ImageDraw.ImageDraw, fitted: FittedText, origin: tuple[int, int], fill: str | int, align: str = "left",
    width: int = 0, stroke: int = 0,
) -> Box:  # fmt: skip
    """Draw the lines from `origin` (centred within `width` when asked), thickened by `stroke` px; return the
    ink bounds of all of them."""
    x0, y0 = origin
    left = top = 10**9
    right = bottom = -(10**9)
    for i, line in enumerate(fitted.lines):
        x = x0 + (width - draw.textlength(line, font=fitted.font)) / 2 if align == "center" else x0
        y = y0 + i * fitted.line_height
        draw.text((x, y), line, font=fitted.font, fill=fill, stroke_width=stroke, stroke_fill=fill)
        ink = draw.textbbox((x, y), line, font=fitted.font, stroke_width=stroke)
        left, top = min(left, int(ink[0])), min(top, int(ink[1]))
        right, bottom = max(right, int(ink[2]) + 1), max(bottom, int(ink[3]) + 1)
    return (left, top, right, bottom)


def ink_top(fitted: FittedText) -> int:
    """How far below a line's origin its ink starts (the font's ascender room above capitals)."""
    return int(fitted.font.getbbox("H")[1])
