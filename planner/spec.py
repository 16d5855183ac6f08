"""Batch specs: exact counts per format from flags, a special message, or the persona's defaults.

A message is read by code, not by a model: `Generate exactly 5 items: 1 with content_format='video'
and 4 with content_format='hero_text'.`, `six posts, two of them videos`, `3 hero_text only`.
Whatever it says must agree with itself and with the flags, or the batch is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import ValidationError

from beatdesk.errors import BatchSpecError, describe_validation_error
from beatdesk.models import BatchSpec, ContentFormat, Persona

NUMBER_WORDS = {
    "zero": 0, "no": 0, "none": 0, "one": 1, "single": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "a dozen": 12, "a couple of": 2, "a couple": 2, "a pair of": 2,
    "a": 1, "an": 1,
}  # fmt: skip

_NUMBER = re.compile(r"\b(" + "|".join(sorted(map(re.escape, NUMBER_WORDS), key=len, reverse=True)) + r")\b")
_VIDEO = r"(?:videos?|clips?|reels?)"
_HERO = (
    r"(?:hero[ _-]?text(?:\s+(?:posts?|items?|cards?|pieces?))?"
    r"|hero(?:\s+(?:posts?|items?|cards?|images?))?|heroes|text\s+posts?|cards?)"
)
_FORMATS = {ContentFormat.video: _VIDEO, ContentFormat.hero_text: _HERO}
_ASSIGN = re.compile(
    r"(\d+)\s+(?:(?:items?|posts?|pieces?|of\s+them)\s+)?(?:with\s+)?content_format\s*[=:]\s*['\"]?(video|hero_text)['\"]?"
)
_TOTAL = re.compile(r"(\d+)\s+(?:(?:new|more|social|explainer)\s+)?(?:items?|posts?|pieces?|entries)\b")
_ONLY = re.compile(r"\bonly\b|\bjust\b|\ball\b")


@dataclass(frozen=True)
class MessageCounts:
    """What a message says about counts; None where it says nothing."""

    total: int | None
    counts: dict[ContentFormat, int]


def _digits(text: str) -> str:
    """`six posts, two of them videos` -> `6 posts, 2 of them videos`, only where a count is meant."""

    def swap(match: re.Match[str]) -> str:
        after = text[match.end() :].lstrip()
        word = match.group(1)
        # "a"/"an"/"no" count only right before a format noun ("a video", "no videos"), not "a post about".
        if word in ("a", "an", "no") and not re.match(rf"(?:{_VIDEO}|{_HERO})\b", after):
            return word
        return str(NUMBER_WORDS[word])

    return _NUMBER.sub(swap, text)


def read_message(message: str) -> MessageCounts:
    """The counts a message asks for; raises when it has none it can read or contradicts itself."""
    text = _digits(" ".join(message.lower().replace("’", "'").split()))
    counts: dict[ContentFormat, int] = {}

    def note(fmt: ContentFormat, n: int) -> None:
        if counts.get(fmt, n) != n:
            raise BatchSpecError(f"message {_quote(message)} asks for {counts[fmt]} and for {n} {fmt} items")
        counts[fmt] = n

    for match in _ASSIGN.finditer(text):
        note(ContentFormat(match.group(2)), int(match.group(1)))
    text = _ASSIGN.sub(" ", text)
    for fmt, noun in _FORMATS.items():
        pattern = re.compile(rf"(\d+)\s+(?:of\s+them\s+)?(?:(?:are|as|in|is)\s+)?(?:{noun})\b")
        for match in pattern.finditer(text):
            note(fmt, int(match.group(1)))
        text = pattern.sub(" ", text)
    totals = {int(m.group(1)) for m in _TOTAL.finditer(text)}
    if len(totals) > 1:
        raise BatchSpecError(f"message {_quote(message)} gives more than one total: {sorted(totals)}")
    total = totals.pop() if totals else None

    mentioned = {fmt for fmt, noun in _FORMATS.items() if re.search(rf"\b(?:{noun})\b", text)} | set(counts)
    if _ONLY.search(text) and len(mentioned) == 1:  # "3 hero_text only", "all videos"
        (fmt,) = mentioned
        other = next(f for f in ContentFormat if f is not fmt)
        note(other, 0)
        if fmt not in counts and total is not None:
            note(fmt, total)
    if total is not None and len(counts) == 1:
        fmt, n = next(iter(counts.items()))
        other = next(f for f in ContentFormat if f is not fmt)
        if n > total:
            raise BatchSpecError(f"message {_quote(message)} asks for {n} {fmt} items out of {total} in all")
        counts[other] = total - n
    if total is not None and len(counts) == 2 and sum(counts.values()) != total:
        parts = " and ".join(f"{n} {fmt}" for fmt, n in counts.items())
        raise BatchSpecError(
            f"message {_quote(message)} asks for {total} items in all but {parts} make {sum(counts.values())}"
        )
    if total is None and not counts:
        raise BatchSpecError(
            f"message {_quote(message)} has no counts beatdesk can read; "
            'say e.g. "5 items, 1 video" or "3 hero_text only"'
        )
    return MessageCounts(total=total, counts=counts)


def build_spec(
    persona: Persona, *, items: int | None = None, video: int | None = None, message: str | None = None
) -> BatchSpec:
    """Exact counts from the flags and the message, which must agree; the persona's defaults fill the rest."""
    if items is not None and items < 1:
        raise BatchSpecError(f"--items must be at least 1 (got {items})")
    if video is not None and video < 0:
        raise BatchSpecError(f"--video cannot be negative (got {video})")
    message = message.strip() if message and message.strip() else None
    said = read_message(message) if message else MessageCounts(None, {})
    said_video, said_hero = said.counts.get(ContentFormat.video), said.counts.get(ContentFormat.hero_text)
    said_total = said.total
    if said_total is None and said_video is not None and said_hero is not None:
        said_total = said_video + said_hero
    total = _agree(message, "--items", items, said_total)
    videos = _agree(message, "--video", video, said_video)
    if total is None:  # "2 videos" is a batch of two; no count anywhere means the persona's default
        total = (videos or 0) + (said_hero or 0) if said.counts else persona.batch.items
    if videos is None:
        videos = total - said_hero if said_hero is not None else min(persona.batch.video, total)
    if videos > total or videos < 0:
        raise BatchSpecError(f"--video ({videos}) cannot be larger than --items ({total})")
    if said_hero is not None and total - videos != said_hero:
        raise BatchSpecError(
            f"message {_quote(message)} asks for {said_hero} hero_text items, but the flags make {total - videos}"
        )
    try:
        return BatchSpec(
            persona=persona.key,
            counts={ContentFormat.video: videos, ContentFormat.hero_text: total - videos},
            message=message,
        )
    except ValidationError as err:
        raise BatchSpecError(describe_validation_error(err, source="batch spec")) from None


def _agree(message: str | None, flag: str, given: int | None, said: int | None) -> int | None:
    if given is not None and said is not None and given != said:
        raise BatchSpecError(f"{flag} {given} contradicts the message {_quote(message)}, which asks for {said}")
    return given if given is not None else said


def _quote(message: str | None) -> str:
    """The message as errors quote it: on one line, and not longer than a line."""
    text = " ".join((message or "").split())
    return f'"{text if len(text) <= 120 else text[:117] + "..."}"'
