"""Client links: one post or one batch shown to someone without an account (a client, an editor outside the
team), who can approve a post, ask for changes with a note, or comment.

A link is an unguessable token (32 random bytes, only its SHA-256 kept, as for API tokens) that expires and
can be revoked. It opens its own page and its posts' media, nothing else: it makes no session and holds no
role. What a client does is done in the name `client:LABEL` and kept in the post's audit log, like everyone's.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from beatdesk import comments
from beatdesk.errors import BeatdeskError, NotFoundError
from beatdesk.models import Comment, PostStatus
from beatdesk.review import approve
from beatdesk.store import repo
from beatdesk.store.schema import BatchRow, ClientLinkRow, PostRow
from beatdesk.users import USER_NAME

DEFAULT_LIFETIME = timedelta(days=7)
MAX_LIFETIME = timedelta(days=90)
"""A link is a password in a URL: it should not outlive the review it was made for."""


class LinkRefused(BeatdeskError):
    """An unknown, expired or revoked link: the page says which, and shows nothing else."""


@dataclass(frozen=True)
class ClientLink:
    id: int
    kind: str
    """"post" or "batch"."""
    target_id: int
    label: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    @property
    def actor(self) -> str:
        return f"client:{self.label}"

    def state(self, now: datetime | None = None) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= (now or datetime.now(UTC)) else "live"


def create(
    session: Session, *, kind: str, target_id: int, label: str, actor: str, lifetime: timedelta = DEFAULT_LIFETIME
) -> tuple[ClientLink, str]:
    """A new link and its token (shown once: only its hash is kept)."""
    if kind not in ("post", "batch"):
        raise BeatdeskError(f"a link shows a post or a batch, not {kind!r}")
    if not USER_NAME.fullmatch(label):
        raise BeatdeskError(f"--for {label!r}: name who it is for in letters, digits, '.', '_' or '-' (at most 40)")
    if not timedelta(minutes=1) <= lifetime <= MAX_LIFETIME:
        raise BeatdeskError(f"a link lasts at most {MAX_LIFETIME.days} days; give a shorter --expires")
    target = PostRow if kind == "post" else BatchRow
    if session.get(target, target_id) is None:
        raise NotFoundError(f"no {kind} {target_id}")
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    row = ClientLinkRow(
        token_hash=_digest(token),
        kind=kind,
        target_id=target_id,
        label=label,
        created_by=actor,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    for post_id in _post_ids(session, kind, target_id):
        repo.log_event(
            session,
            post_id=post_id,
            actor=actor,
            action="client link",
            note=f"link {row.id} for {label}, until {row.expires_at:%Y-%m-%d %H:%M} UTC",
        )
    return _link(row), token


def open_link(session: Session, token: str) -> ClientLink:
    """The live link of a token; an unknown, expired or revoked one is refused with the reason."""
    row = session.scalar(select(ClientLinkRow).where(ClientLinkRow.token_hash == _digest(token)))
    if row is None:
        raise LinkRefused("this link is not known: ask whoever sent it for a new one")
    link = _link(row)
    state = link.state()
    if state != "live":
        raise LinkRefused(f"this link was {state}: ask whoever sent it for a new one")
    return link


def post_ids(session: Session, link: ClientLink) -> list[int]:
    """The posts the link shows: its post, or its batch's posts, newest first."""
    return _post_ids(session, link.kind, link.target_id)


def shows(session: Session, link: ClientLink, post_id: int) -> None:
    """Refuse any post the link does not show (as not found: a link tells nothing of other posts)."""
    if post_id not in post_ids(session, link):
        raise NotFoundError(f"this link shows no post {post_id}")


def client_approve(session: Session, link: ClientLink, *, post_id: int, home: Path) -> None:
    """Approve into the persona's next free slot, as a reviewer would; a post with failing checks waits for
    the team (a client cannot give the reason a reviewer must)."""
    shows(session, link, post_id)
    approve(session, post_id=post_id, home=home, actor=link.actor, override=None, require_override=True)


def ask_for_changes(session: Session, link: ClientLink, *, post_id: int, note: str) -> Comment:
    """The post stays in review; the note goes into its thread (an open comment the team sees counted in the
    queue) and the audit log."""
    shows(session, link, post_id)
    status = session.scalar(select(PostRow.status).where(PostRow.id == post_id))
    if status != PostStatus.in_review:
        raise BeatdeskError(f"post {post_id} is {status} now, no longer waiting for review")
    if not note.strip():
        raise BeatdeskError("say what should change: the note is empty")
    comment = comments.write(session, post_id=post_id, author=link.actor, text=f"Changes asked for: {note.strip()}")
    repo.log_event(session, post_id=post_id, actor=link.actor, action="changes asked", note=f"comment {comment.id}")
    return comment


def client_comment(session: Session, link: ClientLink, *, post_id: int, text: str) -> Comment:
    shows(session, link, post_id)
    return comments.write(session, post_id=post_id, author=link.actor, text=text)


def revoke(session: Session, *, link_id: int, actor: str) -> ClientLink:
    done = session.execute(
        update(ClientLinkRow)
        .where(ClientLinkRow.id == link_id, ClientLinkRow.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC), revoked_by=actor)
        .execution_options(synchronize_session=False)
    )
    row = session.get(ClientLinkRow, link_id, populate_existing=True)
    if row is None:
        raise NotFoundError(f"no link {link_id}; `beatdesk link list` shows them")
    if done.rowcount == 1:  # type: ignore[attr-defined]
        for post_id in _post_ids(session, row.kind, row.target_id):
            repo.log_event(session, post_id=post_id, actor=actor, action="client link revoked", note=f"link {link_id}")
    return _link(row)


def list_links(session: Session, *, kind: str | None = None, target_id: int | None = None) -> list[ClientLink]:
    query = select(ClientLinkRow).order_by(ClientLinkRow.id.desc())
    if kind is not None and target_id is not None:
        query = query.where(ClientLinkRow.kind == kind, ClientLinkRow.target_id == target_id)
    return [_link(row) for row in session.scalars(query)]


def _post_ids(session: Session, kind: str, target_id: int) -> list[int]:
    if kind == "post":
        return [target_id] if session.get(PostRow, target_id) is not None else []
    return list(session.scalars(select(PostRow.id).where(PostRow.batch_id == target_id).order_by(PostRow.id.desc())))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _link(row: ClientLinkRow) -> ClientLink:
    return ClientLink(
        id=row.id,
        kind=row.kind,
        target_id=row.target_id,
        label=row.label,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )
