"""What the calendar reads and writes: a persona's posts by slot over a range, and a post's slot changed safely.

A week or a month is one range query on (persona, slot_at) with the publications joined in, so a
calendar costs one round trip whatever the persona's history holds."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import false, func, select, update
from sqlalchemy.orm import Session

from beatdesk.models import ContentFormat, PostStatus
from beatdesk.states import HOLDS_SLOT
from beatdesk.store.attention import LATE_AFTER
from beatdesk.store.schema import PostRow, PublicationRow

ON_CALENDAR = HOLDS_SLOT
"""The states a post is shown in on the calendar; a post in any other state that keeps a slot only holds it."""


@dataclass(frozen=True)
class Link:
    channel: str
    url: str | None


@dataclass(frozen=True)
class SlotPost:
    """A post that holds a slot, as the calendar shows it."""

    id: int
    status: PostStatus
    content_format: ContentFormat
    title: str
    slot_at: datetime
    """Aware, UTC."""
    links: tuple[Link, ...] = field(default=())
    """Where it went out, one per channel that published it."""

    @property
    def on_calendar(self) -> bool:
        return self.status in ON_CALENDAR

    def late(self, now: datetime) -> bool:
        """Approved (or being published) past its slot and not out yet: the publishing sweep missed it."""
        return self.status in (PostStatus.approved, PostStatus.scheduled) and self.slot_at < now - LATE_AFTER

    @property
    def movable(self) -> bool:
        """Approved and out on no channel yet: a publisher holds a scheduled post, a published one is history."""
        return self.status is PostStatus.approved and not self.links


def posts_between(session: Session, *, persona: str, start: datetime, end: datetime) -> list[SlotPost]:
    """Every post of `persona` whose slot is in [start, end), by slot, with its publications: one query."""
    title = func.coalesce(PostRow.draft["title"].as_string(), PostRow.plan["title"].as_string(), "")
    rows = session.execute(
        select(PostRow.id, PostRow.status, PostRow.content_format, title, PostRow.slot_at,
               PublicationRow.channel, PublicationRow.url)
        .outerjoin(PublicationRow, PublicationRow.post_id == PostRow.id)
        .where(PostRow.persona == persona, PostRow.slot_at >= start, PostRow.slot_at < end)
        .order_by(PostRow.slot_at, PostRow.id, PublicationRow.channel)
    ).all()  # fmt: skip
    found: dict[int, SlotPost] = {}
    for post_id, status, content_format, text, slot_at, channel, url in rows:
        known = found.get(post_id)
        links = (*known.links, Link(channel, url)) if known and channel else (Link(channel, url),) if channel else ()
        found[post_id] = SlotPost(id=post_id, status=PostStatus(status), content_format=ContentFormat(content_format),
                                  title=text, slot_at=_aware(slot_at), links=links)  # fmt: skip
    return list(found.values())


def taken_from(session: Session, *, persona: str, start: datetime) -> set[datetime]:
    """The slots of `persona` that posts hold from `start` on (what is past is never offered again)."""
    rows = session.scalars(
        select(PostRow.slot_at).where(PostRow.persona == persona, PostRow.slot_at >= start,
                                      PostRow.status.in_(HOLDS_SLOT))
    )  # fmt: skip
    return {_aware(at) for at in rows if at is not None}


def slot_holder(session: Session, *, persona: str, at: datetime, other_than: int) -> int | None:
    """The id of another post of `persona` that holds the slot `at`, if one does."""
    return session.scalar(
        select(PostRow.id)
        .where(PostRow.persona == persona, PostRow.slot_at == at, PostRow.id != other_than,
               PostRow.status.in_(HOLDS_SLOT))
        .limit(1)
    )  # fmt: skip


def hold_persona_slots(session: Session, *, persona: str) -> None:
    """Take turns on a persona's slots until the transaction ends, so two moves never land on one slot.

    PostgreSQL: a transaction-level advisory lock keyed by the persona. SQLite runs one writer at a time:
    the transaction takes the write lock now, so the slots it reads next are every other approval's."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(zlib.crc32(f"beatdesk slots {persona}".encode()))))
    else:
        take_write_turn(session)


def take_write_turn(session: Session) -> None:
    """SQLite: start the transaction as its database's one writer, before anything is read.

    pysqlite begins a transaction at the first write, so reads before it see the last commit, not what a
    decision racing this one is about to commit; a write that matches no row takes the lock up front
    (SQLite's `BEGIN IMMEDIATE`, without changing how every other session begins)."""
    session.execute(update(PostRow).where(false()).values(slot_at=None))


def move_slot(session: Session, *, post_id: int, slot_at: datetime) -> bool:
    """Set an approved post's slot; False when the post is not approved (any more): nothing is changed then."""
    moved = session.execute(
        update(PostRow).where(PostRow.id == post_id, PostRow.status == PostStatus.approved).values(slot_at=slot_at)
    )
    return bool(moved.rowcount)  # type: ignore[attr-defined]


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
