"""What a channel already holds for a post: uploaded media ids, kept in the store per post, channel and
file, so a retry after a lost answer attaches them instead of uploading again; the post's first comment
there (under FIRST_COMMENT), so a retry never comments twice; and the installation id that makes every
idempotency key this installation's own.

Publishers are built without a store (see publishers/stage.py), so the ledger opens the configured
one; a test or another runner may hand a publisher its own ledger instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from beatdesk.settings import get_settings
from beatdesk.store import Store, open_store, repo

FIRST_COMMENT = Path("first-comment")
"""The ledger's entry for a post's first comment on a channel: its remote id, beside the post's media."""


class MediaLedger(Protocol):
    def recall(self, *, post_id: int, channel: str, artifact: Path) -> str | None: ...

    def remember(self, *, post_id: int, channel: str, artifact: Path, media_id: str) -> None: ...

    def forget(self, *, post_id: int, channel: str, artifact: Path) -> None: ...

    def installation(self) -> str: ...


class StoreLedger:
    """The ledger in the store: the configured database unless one is given."""

    def __init__(self, store: Store | None = None) -> None:
        self._store = store

    @property
    def store(self) -> Store:
        return self._store or open_store(get_settings().effective_database_url)

    def recall(self, *, post_id: int, channel: str, artifact: Path) -> str | None:
        with self.store.session() as session:
            return repo.uploaded_media(session, post_id=post_id, channel=channel, artifact=str(artifact))

    def remember(self, *, post_id: int, channel: str, artifact: Path, media_id: str) -> None:
        with self.store.session() as session:
            repo.remember_media(session, post_id=post_id, channel=channel, artifact=str(artifact), media_id=media_id)

    def forget(self, *, post_id: int, channel: str, artifact: Path) -> None:
        with self.store.session() as session:
            repo.forget_media(session, post_id=post_id, channel=channel, artifact=str(artifact))

    def installation(self) -> str:
        with self.store.session() as session:
            return repo.installation_id(session)


def uploaded_once(
    ledger: MediaLedger, *, post_id: int, channel: str, artifact: Path, upload: Callable[[], str]
) -> tuple[str, bool]:
    """The channel's id for `artifact`: the stored one, or a fresh upload stored at once; and whether it was stored.

    The id is stored as soon as the upload answers, before any waiting, so an attempt that dies later
    (processing, the post itself) never uploads the same file again."""
    known = ledger.recall(post_id=post_id, channel=channel, artifact=artifact)
    if known is not None:
        return known, True
    media_id = upload()
    ledger.remember(post_id=post_id, channel=channel, artifact=artifact, media_id=media_id)
    return media_id, False


def commented_once(ledger: MediaLedger, *, post_id: int, channel: str, comment: Callable[[], str]) -> str:
    """The remote id of the post's first comment on `channel`: the stored one, or `comment()`'s, stored at once.

    `comment` itself looks for what a lost answer made (or sends a key the channel deduplicates by)."""
    known = ledger.recall(post_id=post_id, channel=channel, artifact=FIRST_COMMENT)
    if known is not None:
        return known
    remote_id = comment()
    ledger.remember(post_id=post_id, channel=channel, artifact=FIRST_COMMENT, media_id=remote_id)
    return remote_id
