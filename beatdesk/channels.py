"""What each channel allows in one post, and how it counts characters."""

from __future__ import annotations

import re
from dataclasses import dataclass

import regex

URL = re.compile(r"https?://\S+")
"""A link as the channels see one: from the scheme to the next space."""
# X counts these code point ranges as one, everything else (CJK, emoji) as two; a URL is always 23.
_X_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))


@dataclass(frozen=True)
class ChannelRules:
    max_length: int | None
    """Characters as the channel counts them; None where it sets no limit."""
    max_hashtags: int | None = None
    counting: str = "graphemes"
    image_aspect: str = "4:5"
    """The hero image shape the channel shows best in a feed."""


CHANNELS: dict[str, ChannelRules] = {
    "outbox": ChannelRules(None),
    "webhook": ChannelRules(None),
    "x": ChannelRules(280, counting="x-weighted", image_aspect="16:9"),
    "bluesky": ChannelRules(300, image_aspect="16:9"),
    "mastodon": ChannelRules(500, image_aspect="16:9"),
    "threads": ChannelRules(500),
    "linkedin": ChannelRules(3000, image_aspect="1:1"),
    "instagram": ChannelRules(2200, max_hashtags=30),
}


def graphemes(text: str) -> int:
    """User-perceived characters: an emoji with its modifiers counts once."""
    return len(regex.findall(r"\X", text))


def x_weighted(text: str) -> int:
    length = 0
    for part in URL.split(text):
        for char in part:
            code = ord(char)
            length += 1 if any(lo <= code <= hi for lo, hi in _X_LIGHT) else 2
    return length + 23 * len(URL.findall(text))


def length_on(channel: str, text: str) -> int:
    return x_weighted(text) if CHANNELS[channel].counting == "x-weighted" else graphemes(text)
