"""Rows of the posts' comment threads: written, listed, resolved, and counted for the queue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from beatdesk.errors import NotFoundError
from beatdesk.models import Comment
from beatdesk.store.schema import CommentRow


def add(session: Session, *, post_id: int, author: str, body: str, mentions: list[str], at: datetime) -> Comment:
    row = CommentRow(post_id=post_id, author=author, body=body, mentions=mentions, at=at)
    session.add(row)
    session.flush()
    return _comment(row)


def thread(session: Session, *, post_id: int) -> list[Comment]:
    """A post's comments, oldest first (a thread reads down)."""
    rows = session.scalars(select(CommentRow).where(CommentRow.post_id == post_id).order_by(CommentRow.id))
    return [_comment(row) for row in rows]


def set_resolved(session: Session, *, post_id: int, comment_id: int, by: str | None, at: datetime | None) -> Comment:
    """Resolve (`by` and `at` given) or reopen (both None) one comment of the post."""
    done = session.execute(
        update(CommentRow)
        .where(CommentRow.id == comment_id, CommentRow.post_id == post_id)
        .values(resolved_at=at, resolved_by=by)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFoundError(f"post {post_id} has no comment {comment_id}")
    row = session.get(CommentRow, comment_id, populate_existing=True)
    assert row is not None
    return _comment(row)


def open_counts(session: Session, *, post_ids: Sequence[int]) -> dict[int, int]:
    """Open comments per post, for a page of listings (one grouped query; posts without any are left out)."""
    if not post_ids:
        return {}
    query = (
        select(CommentRow.post_id, func.count())
        .where(CommentRow.post_id.in_(list(post_ids)), CommentRow.resolved_at.is_(None))
        .group_by(CommentRow.post_id)
    )
    return {post_id: count for post_id, count in session.execute(query)}


def _comment(row: CommentRow) -> Comment:
    return Comment(
        id=row.id,
        post_id=row.post_id,
        at=row.at,
        author=row.author,
        body=row.body,
        mentions=list(row.mentions or []),
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
    )
