"""The publisher's interface: one channel, one verb, and a way to find what a lost answer already made."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from beatdesk.models import Post
from publishers.ledger import StoreLedger


@dataclass(frozen=True)
class Outgoing:
    """What goes to a channel: the post, its text for that channel (one part, or a thread), its media."""

    post: Post
    parts: tuple[str, ...]
    media: tuple[Path, ...]
    alt: str = ""
    installation: str | None = None
    """This installation's id; None: read from the store when a key is made."""

    @property
    def text(self) -> str:
        return "\n\n".join(self.parts)

    def first_comment(self, channel: str) -> str | None:
        """The comment a reviewer set to go out after the post on `channel`, if any."""
        version = self.post.channel_versions.get(channel)
        return version.first_comment if version is not None else None

    def key(self, part: int | str = 0) -> str:
        """Stable per installation, post and part: the same on every retry, so a channel that takes a key posts
        once; never an earlier database's or another installation's key, whose answer would be that post's."""
        installation = self.installation or StoreLedger().installation()
        return f"beatdesk-{installation}-post-{self.post.id}-{part}"


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


@runtime_checkable
class SetsItsOwnLimit(Protocol):
    """A channel whose server says how long a post may be (a Mastodon instance)."""

    def max_characters(self) -> int | None:
        """The server's limit, or None when it does not say."""
        ...


def instance_limit(publisher: object) -> int | None:
    """The limit the publisher's server sets, where it sets its own; None: the channel's rules apply."""
    return publisher.max_characters() if isinstance(publisher, SetsItsOwnLimit) else None
