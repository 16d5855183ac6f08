"""Comments on a post: a thread beside the draft where people ask, answer and agree, each comment open
until someone resolves it.

`@name` of a person with an account is a mention: kept with the comment and announced through the
notifications (when any are set) once the comment is stored. Writing, resolving and reopening go into the
post's audit log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from beatdesk.errors import InvalidEditError, NotFoundError
from beatdesk.models import Comment
from beatdesk.notify.events import mentioned_on_commit
from beatdesk.store import comments as rows
from beatdesk.store import repo
from beatdesk.store.schema import PostRow, UserRow

MAX_COMMENT = 4000
"""Characters in one comment: a thread is for notes, not for a second draft."""
MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9][A-Za-z0-9._-]{0,39})")
"""`@name` not inside a word or an e-mail address; names as `beatdesk.users.USER_NAME` allows them."""


def write(session: Session, *, post_id: int, author: str, text: str) -> Comment:
    """Add a comment to the post's thread; an empty or oversized one, or an unknown post, is one line."""
    body = text.replace("\r\n", "\n").strip()
    if not body:
        raise InvalidEditError("the comment is empty: write what you want to say")
    if len(body) > MAX_COMMENT:
        raise InvalidEditError(f"a comment holds at most {MAX_COMMENT:,} characters; this one has {len(body):,}")
    persona = session.scalar(select(PostRow.persona).where(PostRow.id == post_id))
    if persona is None:
        raise NotFoundError(f"no post {post_id}")
    mentions = mentioned(session, body)
    comment = rows.add(session, post_id=post_id, author=author, body=body, mentions=mentions, at=datetime.now(UTC))
    repo.log_event(session, post_id=post_id, actor=author, action="comment", note=_gist(body))
    if mentions:
        mentioned_on_commit(
            session,
            post_id=post_id,
            comment_id=comment.id,
            persona=persona,
            author=author,
            mentions=mentions,
            text=body,
        )
    return comment


def resolve(session: Session, *, post_id: int, comment_id: int, actor: str, reopen: bool = False) -> Comment:
    """Mark one comment of the post resolved (or open again), in the audit log."""
    at = None if reopen else datetime.now(UTC)
    comment = rows.set_resolved(session, post_id=post_id, comment_id=comment_id, by=None if reopen else actor, at=at)
    action = "reopen comment" if reopen else "resolve comment"
    repo.log_event(session, post_id=post_id, actor=actor, action=action, note=f"#{comment_id}: {_gist(comment.body)}")
    return comment


def mentioned(session: Session, text: str) -> list[str]:
    """The people with an account (not removed) that the text names as @name, each once, in order."""
    candidates: list[str] = []
    for found in MENTION.findall(text):
        for name in (found, found.rstrip("._-")):  # "@ann." ends a sentence
            if name and name not in candidates:
                candidates.append(name)
    if not candidates:
        return []
    present = set(
        session.scalars(select(UserRow.name).where(UserRow.name.in_(candidates), UserRow.removed_at.is_(None)))
    )
    names: list[str] = []
    for found in MENTION.findall(text):
        name = found if found in present else found.rstrip("._-")
        if name in present and name not in names:
            names.append(name)
    return names


def _gist(body: str) -> str:
    line = " ".join(body.split())
    return line if len(line) <= 120 else line[:119].rsplit(" ", 1)[0] + " …"


@dataclass(frozen=True)
class Piece:
    text: str
    mention: bool = False


def pieces(body: str, mentions: list[str]) -> list[Piece]:
    """The comment's text cut around its mentions (the names it told, not every @word), for showing them."""
    out: list[Piece] = []
    start = 0
    for match in MENTION.finditer(body):
        name = next((n for n in (match[1], match[1].rstrip("._-")) if n in mentions), None)
        if name is None:
            continue
        out += [Piece(body[start : match.start()])] if match.start() > start else []
        out.append(Piece(name, mention=True))
        start = match.start() + 1 + len(name)
    return out + ([Piece(body[start:])] if start < len(body) else [])
