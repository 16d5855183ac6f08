"""Which notifications went out: one row per (event, subject), shared by every process through the store."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from beatdesk.store.schema import NoticeRow

SUBJECT_MAX = 200


def claim(session: Session, *, event: str, subject: str, every: timedelta | None, now: datetime) -> bool:
    """True when this process may send the notice now: none was sent within `every` (None: none was sent
    since the last `clear`). Two processes claiming at once: one wins (the row's key, or the guarded update)."""
    subject = subject[:SUBJECT_MAX]
    if every is not None:
        renewed = session.execute(
            update(NoticeRow)
            .where(NoticeRow.event == event, NoticeRow.subject == subject, NoticeRow.sent_at <= now - every)
            .values(sent_at=now)
        )
        if renewed.rowcount:  # type: ignore[attr-defined]
            return True
    try:
        with session.begin_nested():
            session.add(NoticeRow(event=event, subject=subject, sent_at=now))
    except IntegrityError:
        return False
    return True


def clear(session: Session, *, event: str, subject: str) -> None:
    """Forget the notice: the next one for this subject goes out (the trouble was mended in between)."""
    subject = subject[:SUBJECT_MAX]
    session.execute(delete(NoticeRow).where(NoticeRow.event == event, NoticeRow.subject == subject))
