"""What a card says besides its title: the landing line, and where a quoted figure comes from."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from beatdesk.models import HeroTextDraft, Source, VideoDraft

LANDING_MAX_CHARS = 160
"""A longer landing line would be set too small to read at phone size: the card leaves it off (never cuts it)."""
CREDIT_TITLE_MAX_CHARS = 60
"""A longer source title is credited by its host when the source has an address."""

_SENTENCE = re.compile(r"(?<=[.!?…])[\"”’)]*\s+")
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(%?)(?!\w)")


def last_sentence(text: str) -> str:
    """The body's last sentence, as written."""
    sentences = [s.strip() for s in _SENTENCE.split(" ".join(text.split())) if s.strip()]
    return sentences[-1] if sentences else ""


def landing_line(draft: HeroTextDraft | VideoDraft) -> str:
    """The line the piece lands on: a `landing` field when the draft has one, else its closing line (the
    button), else its body's last sentence; for a video's cover, its hook. Empty when none is short enough."""
    if isinstance(draft, VideoDraft):
        candidates = [draft.hook]
    else:
        candidates = [str(getattr(draft, "landing", "") or ""), draft.button, last_sentence(draft.body)]
    title = " ".join(draft.title.split()).casefold()
    for line in candidates:
        line = " ".join(line.split())
        if line and len(line) <= LANDING_MAX_CHARS and line.casefold() != title:
            return line
    return ""


def figures(text: str) -> list[str]:
    """The figures a text quotes, commas dropped (6,000 -> 6000): two digits or more, a decimal, or a percentage
    (a lone "3 steps" is a count, not a figure anyone asks the source of)."""
    found = []
    for whole, decimals, percent in _NUMBER.findall(text):
        digits = whole.replace(",", "")
        if len(digits) >= 2 or decimals or percent:
            found.append(f"{digits}{decimals}{percent}")
    return found


def source_credit(text: str, sources: Sequence[Source]) -> str:
    """ "Source: <title or host>" for the first source (in the order given) whose text has a figure that `text`
    quotes; empty when the text quotes no figure or none can be traced."""
    wanted = set(figures(text))
    if not wanted:
        return ""
    for source in sources:
        if wanted & set(figures(source.text)):
            return f"Source: {credit_name(source)}"
    return ""


def credit_name(source: Source) -> str:
    """The source's title, or its host when the title is long and the source has an address."""
    title = " ".join(source.title.split())
    host = urlsplit(source.url).hostname if source.url else None
    if len(title) > CREDIT_TITLE_MAX_CHARS and host:
        return host.removeprefix("www.")
    return title
