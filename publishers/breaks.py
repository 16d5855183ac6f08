"""Where a text may be broken into thread parts, and how much a reader minds each break.

A text is read as paragraphs (blank lines), lines, sentences (sentencex, which keeps a quotation with the
sentence that holds it and does not end a sentence at "Dr.", "3.5" or inside a link), and, for a sentence
too long for one post alone, clauses (after ; : , or a dash) and then words. Breaks fall on whitespace
only, so no link, hashtag or mention is ever cut.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

import sentencex


class Break(IntEnum):
    """What separates a piece from the next one; a stronger break is a better place to end a part."""

    word = 0
    clause = 1
    sentence = 2
    line = 3
    paragraph = 4


JOINER = {Break.paragraph: "\n\n", Break.line: "\n"}
"""How pieces are joined inside one part: a blank line between paragraphs, a newline between lines, else a space."""
_PARAGRAPHS = re.compile(r"\n[ \t]*\n\s*")
_CLAUSE_END = re.compile(r"(?<=[;:,—–])\s+|\s+(?=[—–]\s)")
"""After ; : , or a dash; or before a spaced dash, so the dash opens the next piece."""


@dataclass(frozen=True)
class Piece:
    text: str
    after: Break
    """The break between this piece and the next (the last piece's is `paragraph`)."""


def pieces(text: str, fits: Callable[[str], bool]) -> list[Piece]:
    """`text` as whole sentences, each sentence that does not fit alone cut at clauses, then at words."""
    out: list[Piece] = []
    for paragraph in _PARAGRAPHS.split(text.strip()):
        lines = [line.strip() for line in paragraph.split("\n") if line.strip()]
        for n, line in enumerate(lines):
            last = Break.line if n < len(lines) - 1 else Break.paragraph
            sentences = sentences_of(line)
            for m, sentence in enumerate(sentences):
                after = Break.sentence if m < len(sentences) - 1 else last
                out += _cut(sentence, after, fits)
    return out


def sentences_of(line: str) -> list[str]:
    """The sentences of one line, each ending where whitespace does (a split the segmenter made inside a word,
    a number or a link is undone)."""
    out: list[str] = []
    joined = True
    for segment in sentencex.segment("en", line):
        if out and joined:
            out[-1] += segment
        elif segment.strip():
            out.append(segment)
        joined = not segment[-1:].isspace()
    merged = [s.strip() for s in out if s.strip()]
    return merged or [line]


def _cut(sentence: str, after: Break, fits: Callable[[str], bool]) -> list[Piece]:
    if fits(sentence):
        return [Piece(sentence, after)]
    clauses = [c for c in _CLAUSE_END.split(sentence) if c]
    out: list[Piece] = []
    for n, clause in enumerate(clauses):
        end = Break.clause if n < len(clauses) - 1 else after
        if fits(clause):
            out.append(Piece(clause, end))
            continue
        words = clause.split()
        out += [Piece(word, Break.word if m < len(words) - 1 else end) for m, word in enumerate(words)]
    return out
