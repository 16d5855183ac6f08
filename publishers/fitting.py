"""A text fitted into as few posts as a channel needs, each within its limit by the channel's own count.

The parts are chosen by dynamic programming over the places the text may break (publishers/breaks.py):
fewest parts first, then, among those, the least cost, where a part's cost is how empty it is (squared,
so a three-word last part loses to two balanced ones) plus how much a reader minds where it ends (a
paragraph end costs nothing, a sentence end a little, a clause or a word much more). With `numbered`,
each part of a thread ends with a blank line and "i/n", counted into the limit.
"""

from __future__ import annotations

import itertools

from beatdesk.channels import length_on
from beatdesk.errors import BeatdeskError
from publishers.breaks import JOINER, Break, Piece, pieces

ENDING_COST = {Break.paragraph: 0.0, Break.line: 0.05, Break.sentence: 0.25, Break.clause: 1.0, Break.word: 3.0}
"""What ending a part at each kind of break costs, against at most 1.0 for an empty part."""


def fit(text: str, channel: str, *, limit: int | None, numbered: bool = False) -> list[str]:
    """`text` as one part when it fits, else as a thread's parts; refused when one word alone is over `limit`."""
    text = text.strip()
    if limit is None or length_on(channel, text) <= limit:
        return [text]
    reserve = 0
    for _ in range(8):
        # Parts are chosen on the sum of their pieces' lengths; the parts as joined are then counted whole,
        # and where a join counts longer (X reads a link by its context), they are chosen again with less room.
        # The numbering's width depends on the count of parts, and the count on the room left.
        parts = _parts(text, channel, limit - reserve)
        if numbered:
            parts = [part + _numbering(n, len(parts)) for n, part in enumerate(parts, 1)]
        over = max(length_on(channel, part) for part in parts) - limit
        numbering = length_on(channel, _numbering(len(parts), len(parts))) if numbered else 0
        if over <= 0:
            return parts
        reserve = max(reserve + over, numbering)
    raise BeatdeskError(f"{channel}: the text cannot be fitted into parts of {limit} characters")


def _numbering(n: int, total: int) -> str:
    return f"\n\n{n}/{total}"


def _parts(text: str, channel: str, limit: int) -> list[str]:
    def fits(piece: str) -> bool:
        return length_on(channel, piece) <= limit

    found = pieces(text, fits)
    for piece in found:
        if not fits(piece.text):
            raise BeatdeskError(
                f"{channel}: the word {piece.text[:40]!r} alone is longer than the {limit}-character limit"
            )
    ends = _best_ends(found, channel, limit)
    parts, start = [], 0
    for end in ends:
        parts.append(joined(found[start:end]))
        start = end
    return parts


def joined(run: list[Piece]) -> str:
    """Pieces as one part reads them: paragraphs apart by a blank line, lines by a newline, else a space."""
    text = run[0].text
    for before, piece in itertools.pairwise(run):
        text += JOINER.get(before.after, " ") + piece.text
    return text


def _best_ends(found: list[Piece], channel: str, limit: int) -> list[int]:
    """Where each part ends (exclusive indices), by the least (parts, cost) over every way to cut `found`."""
    size = [length_on(channel, p.text) for p in found]
    gap = [length_on(channel, JOINER.get(p.after, " ")) for p in found]
    best: list[tuple[int, float, int]] = [(0, 0.0, 0)]  # for found[:j]: parts, cost, where the last part starts
    for j in range(1, len(found) + 1):
        choice: tuple[int, float, int] | None = None
        length = -gap[j - 1]
        for i in range(j - 1, -1, -1):
            length += (
                size[i] + gap[i]
            )  # the sum of sizes and gaps is an estimate; the parts as joined are counted in `fit`
            if length > limit and i < j - 1:
                break
            if length > limit:
                continue
            parts, cost, _ = best[i]
            ending = ENDING_COST[found[j - 1].after] if j < len(found) else 0.0
            candidate = (parts + 1, cost + ((limit - length) / limit) ** 2 + ending, i)
            if choice is None or candidate[:2] < choice[:2]:
                choice = candidate
        if choice is None:
            raise BeatdeskError(f"{channel}: {found[j - 1].text[:40]!r} cannot be fitted within {limit} characters")
        best.append(choice)
    ends, j = [], len(found)
    while j > 0:
        ends.append(j)
        j = best[j][2]
    return ends[::-1]
