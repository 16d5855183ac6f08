"""Captions: each scene's voiceover cut into short cues timed within the scene, written as SRT and WebVTT.

A scene's cues share its time by their length in characters; the first starts when the scene starts
and the last ends when it ends, so the files follow the video cut for cut.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

WORDS_PER_CUE = 7
_SENTENCE_END = re.compile(r"[.!?;:…][\"”’)]*$")
_JOINING = frozenset(
    [
        "and",
        "but",
        "or",
        "so",
        "because",
        "before",
        "after",
        "until",
        "while",
        "when",
        "where",
        "which",
        "that",
        "who",
        "with",
        "without",
        "for",
        "to",
        "from",
        "than",
        "if",
        "unless",
        "though",
        "although",
        "since",
        "as",
    ]
)
"""Words a clause or a phrase begins with: a long phrase is cut before one of them."""
_CLAUSE_END = re.compile(r"[,—–)][\"”’]*$")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def _phrases(words: list[str]) -> list[tuple[list[str], bool]]:
    """The words in phrases, each ending at a clause or sentence mark; (words, ends a sentence)."""
    phrases: list[tuple[list[str], bool]] = []
    run: list[str] = []
    for word in words:
        run.append(word)
        if _SENTENCE_END.search(word) or _CLAUSE_END.search(word):
            phrases.append((run, bool(_SENTENCE_END.search(word))))
            run = []
    if run:
        phrases.append((run, True))
    return phrases


def _split(words: list[str], most: int) -> list[list[str]]:
    """A phrase longer than `most` in parts: cut before a joining word (before, and, with…) nearest the middle,
    or at the middle, again until each part fits."""
    if len(words) <= most:
        return [words]
    middle = len(words) / 2
    joins = [i for i in range(2, len(words) - 1) if words[i].lower() in _JOINING]
    cut = min(joins, key=lambda i: abs(i - middle)) if joins else round(middle)
    return _split(words[:cut], most) + _split(words[cut:], most)


def chunks(text: str, most: int = WORDS_PER_CUE) -> list[str]:
    """The words in cues of at most `most`, cut at phrase ends: phrases of one sentence share a cue while they
    fit; a cue never runs across a sentence's end; a phrase longer than `most` is cut into even parts (no
    one-word stub left over)."""
    runs: list[str] = []
    run: list[str] = []
    for phrase, ends_sentence in _phrases(text.split()):
        if run and len(run) + len(phrase) > most:
            runs.append(" ".join(run))
            run = []
        if len(phrase) > most:
            pieces = _split(phrase, most)
            runs.extend(" ".join(piece) for piece in pieces[:-1])
            phrase = pieces[-1]
        run += phrase
        if ends_sentence:
            runs.append(" ".join(run))
            run = []
    if run:
        runs.append(" ".join(run))
    return runs


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
