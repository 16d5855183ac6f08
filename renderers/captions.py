"""Captions: each scene's voiceover cut into short cues timed within the scene, written as SRT and WebVTT.

A scene's cues share its time by their length in characters; the first starts when the scene starts
and the last ends when it ends, so the files follow the video cut for cut.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

WORDS_PER_CUE = 7
_SENTENCE_END = re.compile(r"[.!?;:]$")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def chunks(text: str, most: int = WORDS_PER_CUE) -> list[str]:
    """The words in runs of at most `most`, cut after a sentence's end where one falls inside a run."""
    runs: list[str] = []
    run: list[str] = []
    for word in text.split():
        run.append(word)
        if len(run) >= most or (_SENTENCE_END.search(word) and len(run) >= 3):
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
