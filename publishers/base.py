"""The publisher's interface: one channel, one verb, and a way to find what a lost answer already made."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from beatdesk.models import Post


@dataclass(frozen=True)
class Outgoing:
    """What goes to a channel: the post, its text for that channel, and its media files."""

    post: Post
    text: str
    media: tuple[Path, ...]


@dataclass(frozen=True)
class Published:
    remote_id: str
    url: str | None = None


class Publisher(Protocol):
    channel: str

    def find(self, outgoing: Outgoing) -> Published | None:
        """What an earlier attempt may already have posted (a retry after a timeout checks first)."""
        ...

    def publish(self, outgoing: Outgoing) -> Published: ...
