"""Changing when an approved post goes out: moving it to another slot, or taking it off the calendar.

Both are reviewers' decisions, kept in the post's audit log. A move keeps the post `approved`; taking it
off goes back to `in_review` through the state table, so a post a publisher holds (`scheduled`) or one
already `published` is refused there, in the table's words. A refusal raises before the caller's
transaction commits, so nothing of it is kept."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from beatdesk.errors import BeatdeskError
from beatdesk.models import Persona, Post, PostStatus
from beatdesk.personas import load_persona
from beatdesk.slots import upcoming_slots, zone_of
from beatdesk.store import calendar, repo


@dataclass(frozen=True)
class Placement:
    """Where a post stands after a move or an unschedule."""

    post_id: int
    status: PostStatus
    slot_at: datetime | None
    previous: datetime | None
    zone: ZoneInfo


def local_label(at: datetime, zone: ZoneInfo) -> str:
    """A moment as the persona reads it, its zone named: `Tue 01 Dec 2026 08:30 CET (Europe/Berlin)`."""
    local = at.astimezone(zone)
    return f"{local:%a %d %b %Y %H:%M} {local.tzname()} ({zone.key})"


def _iso(at: datetime | None, zone: ZoneInfo) -> str:
    return at.astimezone(zone).isoformat(timespec="minutes") if at else "none"


def move_post(session: Session, *, post_id: int, home: Path, actor: str, to: datetime) -> Placement:
    """Move an approved post to `to` (naive: the persona's local time), a future moment no other post holds."""
    post = repo.get_post(session, post_id)
    persona = load_persona(home, post.persona)
    zone = zone_of(persona)
    try:
        when = (to.replace(tzinfo=zone) if to.tzinfo is None else to).astimezone(UTC)
    except OverflowError:  # the first or last hours of year 1 or 9999 have no UTC time
        raise BeatdeskError(f"{to.isoformat()} is out of range; pick a free slot") from None
    _refuse_unless_movable(post)
    label = local_label(when, zone)
    if when <= datetime.now(UTC):
        raise BeatdeskError(f"{label} is in the past; pick a future slot")
    if post.slot_at == when:
        raise BeatdeskError(f"post {post_id} is already at {label}")
    calendar.hold_persona_slots(session, persona=persona.key)
    if not calendar.move_slot(session, post_id=post_id, slot_at=when):
        raise BeatdeskError(f"post {post_id} is {repo.post_status(session, post_id)} now; it was not moved")
    holder = calendar.slot_holder(session, persona=persona.key, at=when, other_than=post_id)
    if holder is not None:  # raised after the write: the caller's transaction rolls the move back
        raise BeatdeskError(f"{label} is taken by post {holder}; pick a free slot")
    repo.log_event(session, post_id=post_id, actor=actor, action="move",
                   note=f"slot {_iso(post.slot_at, zone)} → {_iso(when, zone)} ({zone.key})")  # fmt: skip
    return Placement(post_id=post_id, status=PostStatus.approved, slot_at=when, previous=post.slot_at, zone=zone)


def unschedule_post(session: Session, *, post_id: int, home: Path, actor: str) -> Placement:
    """Take an approved post off the calendar, back to review; its slot is free again."""
    post = repo.get_post(session, post_id)
    if post.publications:
        raise BeatdeskError(f"post {post_id} is already out on {_channels(post)}; it stays on the calendar")
    zone = _zone_or_utc(home, post.persona)
    repo.transition(session, post_id=post_id, to=PostStatus.in_review, actor=actor, action="unschedule",
                    note=f"off the calendar; slot {_iso(post.slot_at, zone)} ({zone.key}) is free again")  # fmt: skip
    repo.set_slot(session, post_id=post_id, slot_at=None)
    return Placement(post_id=post_id, status=PostStatus.in_review, slot_at=None, previous=post.slot_at, zone=zone)


MAX_FREE_SLOTS = 200
"""Free slots one view offers: a month of six a day, and a page a person can still read."""


def free_slots_between(
    persona: Persona, *, start: datetime, end: datetime, taken: Iterable[datetime], now: datetime | None = None
) -> list[datetime]:
    """The persona's slots in [start, end) that are still to come and that no post holds, in order; at most
    MAX_FREE_SLOTS (a cron line of every minute would otherwise offer 50,000 in a month)."""
    held = set(taken)
    after = max(start - _TICK, now or datetime.now(UTC))
    found: list[datetime] = []
    for at in upcoming_slots(persona, after=after):
        if at >= end or len(found) == MAX_FREE_SLOTS:
            break
        if at not in held:
            found.append(at)
    return found


def next_free_slots(persona: Persona, *, taken: Iterable[datetime], count: int) -> list[datetime]:
    """The persona's next `count` free slots from now."""
    held = set(taken)
    found: list[datetime] = []
    for at in upcoming_slots(persona, after=datetime.now(UTC)):
        if len(found) == count:
            break
        if at not in held:
            found.append(at)
    return found


def _refuse_unless_movable(post: Post) -> None:
    if post.status is PostStatus.scheduled:
        raise BeatdeskError(f"post {post.id} is being published now (scheduled); it cannot be moved")
    if post.status is not PostStatus.approved:
        raise BeatdeskError(f"post {post.id} is {post.status}; only an approved post can be moved (approve it first)")
    if post.publications:
        raise BeatdeskError(f"post {post.id} is already out on {_channels(post)}; it cannot be moved")


def _channels(post: Post) -> str:
    return ", ".join(sorted({p.channel for p in post.publications}))


def _zone_or_utc(home: Path, key: str) -> ZoneInfo:
    """The persona's zone for the audit note; a persona file that no longer loads must not block the decision."""
    try:
        return zone_of(load_persona(home, key))
    except BeatdeskError:
        return ZoneInfo("UTC")


_TICK = datetime.resolution
"""upcoming_slots gives moments strictly after its start: a slot exactly at the range's start is one of them."""
