"""What each channel allows in one post, and how it counts characters."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import regex
from twitter_text import parse_tweet

URL = re.compile(r"https?://\S+")
"""A link as the channels see one: from the scheme to the next space."""
MASTODON_URL_LENGTH = 23
"""What Mastodon counts for any link (an instance's `characters_reserved_per_url`, 23 everywhere by default)."""
_REMOTE_MENTION = re.compile(r"(@\w+)@[\w.-]+\w")
"""@name@instance: Mastodon counts only the @name."""


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
    "mastodon": ChannelRules(500, counting="graphemes, links 23", image_aspect="16:9"),
    "threads": ChannelRules(500),
    "linkedin": ChannelRules(3000, image_aspect="1:1"),
    "instagram": ChannelRules(2200, max_hashtags=30),
}


def graphemes(text: str) -> int:
    """User-perceived characters: an emoji with its modifiers counts once."""
    return len(regex.findall(r"\X", text))


def x_weighted(text: str) -> int:
    """X's count by twitter-text's v3 rules: links (with or without a scheme) 23, CJK and emoji 2, NFC first."""
    return int(parse_tweet(text).weightedLength)


def mastodon_length(text: str) -> int:
    """Mastodon's count: graphemes, a link as 23 whatever its length, a remote mention as its @name only."""
    text = _REMOTE_MENTION.sub(r"\1", URL.sub("x" * MASTODON_URL_LENGTH, text))
    return graphemes(text)


_COUNTERS = {"x-weighted": x_weighted, "graphemes": graphemes, "graphemes, links 23": mastodon_length}


@lru_cache(maxsize=4096)
def length_on(channel: str, text: str) -> int:
    """`text`'s length as `channel` counts it (cached: fitting a thread counts the same pieces many times)."""
    return _COUNTERS[CHANNELS[channel].counting](text)
