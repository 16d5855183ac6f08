"""Engagement: what the audience did with a publication, in groups that every channel can be compared by.

Channels report different numbers (Mastodon: favourites, reblogs, replies; Bluesky: likes, reposts,
replies, quotes; X: impressions, likes, reposts, replies, quotes, bookmarks...). Each reading keeps the
channel's own counts and maps them into the groups below; a group the channel does not report is None
(unknown), never 0, so an average never mistakes "not reported" for "nobody did it".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

Group = Literal["reach", "approval", "redistribution", "conversation", "saves"]
GROUPS: tuple[Group, ...] = ("reach", "approval", "redistribution", "conversation", "saves")
"""reach: impressions or views; approval: likes, favourites; redistribution: reposts, reblogs, quotes,
shares; conversation: replies, comments; saves: bookmarks, saves."""


@dataclass(frozen=True)
class Reading:
    """One fetch of one publication's numbers."""

    publication_id: int
    channel: str
    fetched_at: datetime
    groups: Mapping[Group, int | None]
    """Each group's count; None where the channel does not report it."""
    raw: Mapping[str, int]
    """The channel's own named counts, as it reported them."""


@dataclass(frozen=True)
class PostEngagement:
    """A published post's latest reading on each of its channels, with what it was and what it cost."""

    post_id: int
    persona: str
    beat_key: str
    content_format: str
    angle: str
    published_at: datetime
    """Its first publication."""
    cost_usd: Decimal
    latest: Mapping[str, Reading]
    """Channel name -> its newest reading."""
