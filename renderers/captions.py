"""Captions: each scene's voiceover cut into short cues timed within the scene, written as SRT and WebVTT.

A scene's cues share its time by their length in characters; the first starts when the scene starts
and the last ends when it ends, so the files follow the video cut for cut.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

WORDS_PER_CUE = 8
"""At most this many words on screen at once."""
_SENTENCE_END = re.compile(r"[.!?][”\"’]?$")
_CLAUSE_END = re.compile(r"[,;:—–][”\"’]?$")
_PHRASE_STARTS = frozenset(
    [
        "and",
        "but",
        "or",
        "when",
        "because",
        "before",
        "after",
        "while",
        "which",
        "who",
        "where",
        "if",
        "until",
        "unless",
        "with",
        "without",
        "for",
        "by",
        "in",
        "on",
        "at",
        "from",
        "than",
        "that",
        "so",
        "across",
        "over",
        "into",
        "through",
    ]
)
"""Words a new phrase opens with: a cue may end before them."""
_ENDS_BADLY = frozenset(
    [
        "a",
        "an",
        "the",
        "same",
        "of",
        "to",
        "my",
        "your",
        "our",
        "their",
        "its",
        "his",
        "her",
        "this",
        "that",
        "these",
        "those",
        "is",
        "are",
        "was",
    ]
)
_QUOTE_MARKS = '“”"'


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def chunks(text: str, most: int = WORDS_PER_CUE) -> list[str]:
    """The words in whole phrases of at most `most`: cut at sentence and clause ends first, a longer clause into
    even pieces that end before a word opening a phrase and never on "the" or "of"; a clause of one or two words
    joins its neighbour when they fit together. A quotation mark whose partner falls in another cue is left out
    (a cue never shows a stray one)."""
    clauses: list[list[str]] = [[]]
    for word in text.split():
        clauses[-1].append(word)
        if _SENTENCE_END.search(word) or _CLAUSE_END.search(word):
            clauses.append([])
    merged: list[list[str]] = []
    for clause in (c for c in clauses if c):
        if merged and (len(clause) < 3 or len(merged[-1]) < 3) and len(merged[-1]) + len(clause) <= most:
            merged[-1] = merged[-1] + clause
        elif merged and len(merged) == 1 and len(merged[0]) < 3:  # a short opening clause ("Contamination,")
            merged[0] = merged[0] + clause
        else:
            merged.append(clause)
    return [_balanced(" ".join(piece)) for clause in merged for piece in _pieces(clause, most)]


def _pieces(words: list[str], most: int) -> list[list[str]]:
    """A clause in the fewest even pieces of at most `most` words, each cut at the best place near its share."""
    count = -(-len(words) // most)
    cuts, start = [], 0
    for k in range(1, count):
        ideal = round(k * len(words) / count)
        reach = range(max(start + 2, ideal - 2), min(start + most, ideal + 2, len(words) - 2) + 1)
        cut = max(reach, key=lambda i: (_place(words, i), -abs(i - ideal)), default=min(start + most, ideal))
        cuts.append(cut)
        start = cut
    bounds = [0, *cuts, len(words)]
    return [words[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def _place(words: list[str], cut: int) -> int:
    """How good the gap before words[cut] is for ending a cue."""
    score = 2 if words[cut].lower().strip(_QUOTE_MARKS) in _PHRASE_STARTS else 0
    return score - (3 if words[cut - 1].lower().strip(_QUOTE_MARKS) in _ENDS_BADLY else 0)


def _balanced(run: str) -> str:
    opened, closed, straight = run.count("“"), run.count("”"), run.count('"')
    if opened != closed or straight % 2:
        return " ".join(run.replace("“", "").replace("”", "").replace('"', "").split())
    return run


def cues_for(texts: Sequence[str], bounds: Sequence[tuple[float, float]]) -> list[Cue]:
    """Cues for each scene's text within its (start, end), shared by characters."""
    cues = []
    for text, (start, end) in zip(texts, bounds, strict=True):
        runs = chunks(text) or [""]
        weights = [len(run) + 1 for run in runs]
        at, used = start, 0
        for run, weight in zip(runs, weights, strict=True):
            used += weight
            until = end if used == sum(weights) else round(start + (end - start) * used / sum(weights), 3)
            if run:
                cues.append(Cue(start=at, end=until, text=run))
            at = until
    return cues


def _stamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole:02d}{separator}{millis:03d}"


def srt(cues: Sequence[Cue]) -> str:
    blocks = [f"{i}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{c.text}\n" for i, c in enumerate(cues, 1)]
    return "\n".join(blocks)


def vtt(cues: Sequence[Cue]) -> str:
    blocks = [f"{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n{c.text}\n" for c in cues]
    return "WEBVTT\n\n" + "\n".join(blocks)
