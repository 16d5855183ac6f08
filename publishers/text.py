"""A post's text fitted to a channel: one post when it fits, else a thread whose parts each fit.

Parts break between words only, so no word, URL or hashtag is ever cut; joined with spaces, the
parts give back the original words in order.
"""

from __future__ import annotations

from beatdesk.channels import CHANNELS, length_on
from beatdesk.errors import BeatdeskError


def fit(text: str, channel: str) -> list[str]:
    limit = CHANNELS[channel].max_length
    if limit is None or length_on(channel, text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if length_on(channel, candidate) <= limit:
            current = candidate
            continue
        if not current:
            raise BeatdeskError(f"{channel}: the word {word[:40]!r} alone is longer than the {limit}-character limit")
        parts.append(current)
        current = word
        if length_on(channel, current) > limit:
            raise BeatdeskError(f"{channel}: the word {word[:40]!r} alone is longer than the {limit}-character limit")
    if current:
        parts.append(current)
    return parts
