"""Text that always fits its box: wrapped between words, shrunk until it fits, never cut or ellipsised.

A word wider than the box at the smallest size is broken between characters rather than left to run
off the frame. Every drawn block reports its ink bounds, so callers (and tests) can check that no
text touches a frame's edge.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import ImageDraw

from renderers.local_image import Font, _font

Box = tuple[int, int, int, int]
"""left, top, right, bottom in pixels."""


@dataclass(frozen=True)
class FittedText:
    font: Font
    lines: tuple[str, ...]
    line_height: int


def _lines(draw: ImageDraw.ImageDraw, text: str, font: Font, width: int, *, breaking: bool) -> list[str] | None:
    """Words wrapped to `width`; a wider word is split between characters when `breaking`, else None."""
    lines: list[str] = []
    takes_more = False  # the front pieces of a broken word end their line
    for word in text.split():
        pieces = _pieces(draw, word, font, width)
        if len(pieces) > 1 and not breaking:
            return None
        for piece in pieces[:-1]:
            lines.append(piece)
            takes_more = False
        candidate = f"{lines[-1]} {pieces[-1]}" if lines else pieces[-1]
        if lines and takes_more and draw.textlength(candidate, font=font) <= width:
            lines[-1] = candidate
        else:
            lines.append(pieces[-1])
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


def fit(draw: ImageDraw.ImageDraw, text: str, font_path: str | None, box: tuple[int, int], start: int) -> FittedText:
    """The largest size from `start` down at which `text` wraps inside `box` (width, height); all of it, always.

    Words are broken between characters only at the smallest sizes, where nothing else makes them fit."""
    width, height = box
    smallest = max(8, start // 3)
    size = start
    while True:
        font = _font(font_path, size)
        line_height = max(1, int(size * 1.2))
        lines = _lines(draw, text, font, width, breaking=size <= smallest)
        if lines is not None and len(lines) * line_height <= height:
            return FittedText(font=font, lines=tuple(lines), line_height=line_height)
        if size <= 6:
            return FittedText(font=font, lines=tuple(lines or [text]), line_height=line_height)
        size = max(6, min(size - 1, int(size * 0.92)))


def draw_block(
    draw: ImageDraw.ImageDraw, fitted: FittedText, origin: tuple[int, int], fill: str, align: str = "left",
    width: int = 0,
) -> Box:  # fmt: skip
    """Draw the lines from `origin` (centred within `width` when asked); return the ink bounds of all of them."""
    x0, y0 = origin
    left = top = 10**9
    right = bottom = -(10**9)
    for i, line in enumerate(fitted.lines):
        x = x0 + (width - draw.textlength(line, font=fitted.font)) / 2 if align == "center" else x0
        y = y0 + i * fitted.line_height
        draw.text((x, y), line, font=fitted.font, fill=fill)
        ink = draw.textbbox((x, y), line, font=fitted.font)
        left, top = min(left, int(ink[0])), min(top, int(ink[1]))
        right, bottom = max(right, int(ink[2]) + 1), max(bottom, int(ink[3]) + 1)
    return (left, top, right, bottom)
