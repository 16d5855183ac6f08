"""The publisher's interface: one channel, one verb, and a way to find what a lost answer already made."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from beatdesk.models import Post


@dataclass(frozen=True)
class Outgoing:
    """What goes to a channel: the post, its text for that channel (one part, or a thread), its media."""

    post: Post
    parts: tuple[str, ...]
    media: tuple[Path, ...]
    alt: str = ""

    @property
    def text(self) -> str:
        return "\n\n".join(self.parts)

    def key(self, part: int = 0) -> str:
        """Stable per post and part: the same on every retry, so a channel that takes a key posts once."""
        return f"beatdesk-post-{self.post.id}-{part}"


@dataclass(frozen=True)
class Published:
    remote_id: str
    url: str | None = None


class Publisher(Protocol):
    channel: str

    def publish(self, outgoing: Outgoing) -> Published:
        """Post it, a thread part by part; the answer names the first part.

        This may be a retry after a lost answer: look for what an earlier attempt made (or send a key the
        channel deduplicates by) and post only what is missing."""
        ...
