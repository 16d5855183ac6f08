"""What needs a person: failed posts, and approved posts past their slot whose channels are blocked, retrying
or simply late. The desk's "Needs attention" page and its header count read only these two functions.

They read the runner's publish steps: a channel is *blocked* when its last `publish_<channel>` step ended
blocked (credentials refused or not set) or failed (refused, or given up past its deadline), its error saying
why, and *retrying* while that step waits for its next try (`retry_at`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from beatdesk.models import PostStatus, StepStatus
from beatdesk.store.schema import PostRow, PublicationRow, StepRow

LATE_AFTER = timedelta(minutes=5)
"""An approved post this long past its slot and not out is late: the publishing sweep runs every minute."""
PUBLISH_PREFIX = "publish_"
CREDENTIALS_REFUSED = "refused the credentials"
"""What the runner says of a channel that refused the persona's credentials (see publishers.http)."""
Kind = Literal["failed", "blocked", "retrying", "late"]


@dataclass(frozen=True)
class Trouble:
    """One line of the attention page: a failed post, or one channel of a post past its slot."""

    post_id: int
    persona: str
    title: str
    kind: Kind
    reason: str | None
    slot_at: datetime | None
    channel: str | None = None
    """The channel for blocked and retrying lines (None for a failed or late post)."""

    @property
    def credentials_refused(self) -> bool:
        return self.kind == "blocked" and CREDENTIALS_REFUSED in (self.reason or "")


def _needs_attention(now: datetime) -> ColumnElement[bool]:
    past = and_(PostRow.status.in_([PostStatus.approved, PostStatus.scheduled]), PostRow.slot_at < now - LATE_AFTER)
    return or_(PostRow.status == PostStatus.failed, past)


def attention_count(session: Session, *, now: datetime | None = None) -> int:
    """How many posts need a person (the header's count): one COUNT over the status index."""
    at = now or datetime.now(UTC)
    return session.scalar(select(func.count()).select_from(PostRow).where(_needs_attention(at))) or 0


def attention_items(session: Session, *, now: datetime | None = None, limit: int = 500) -> list[Trouble]:
    """Every failed post, then each blocked, retrying or late channel of a post past its slot; newest first."""
    at = now or datetime.now(UTC)
    title = func.coalesce(PostRow.draft["title"].as_string(), PostRow.plan["title"].as_string(), "")
    rows = session.execute(
        select(PostRow.id, PostRow.persona, title, PostRow.status, PostRow.reason, PostRow.slot_at)
        .where(_needs_attention(at))
        .order_by(PostRow.id.desc())
        .limit(limit)
    ).all()
    late = [row.id for row in rows if row.status != PostStatus.failed]
    troubles = _channel_troubles(session, post_ids=late)
    found: list[Trouble] = []
    for post_id, persona, text, status, reason, slot_at in rows:
        slot = slot_at.replace(tzinfo=UTC) if slot_at and slot_at.tzinfo is None else slot_at
        if status == PostStatus.failed:
            found.append(Trouble(post_id, persona, text, "failed", reason, slot))
            continue
        channels = troubles.get(post_id, [])
        for channel, kind, error in channels:
            found.append(Trouble(post_id, persona, text, kind, error, slot, channel))
        if not channels:
            found.append(Trouble(post_id, persona, text, "late", "not out yet, past its slot", slot))
    return found


def _channel_troubles(session: Session, *, post_ids: list[int]) -> dict[int, list[tuple[str, Kind, str | None]]]:
    """Per post, its channels whose last publish step ended blocked or failed, or waits for its next try."""
    if not post_ids:
        return {}
    published = select(PublicationRow.post_id, PublicationRow.channel).where(PublicationRow.post_id.in_(post_ids))
    out = {(post_id, channel) for post_id, channel in session.execute(published)}
    last: dict[tuple[int, str], Any] = {}
    steps = session.execute(
        select(StepRow.post_id, StepRow.name, StepRow.status, StepRow.error, StepRow.retry_at)
        .where(StepRow.post_id.in_(post_ids), StepRow.name.startswith(PUBLISH_PREFIX))
        .order_by(StepRow.position)
    ).all()
    for post_id, name, status, error, retry_at in steps:  # in order: the last one of each channel stays
        if post_id is None:
            continue
        last[(post_id, name.removeprefix(PUBLISH_PREFIX))] = (status, error, retry_at)
    found: dict[int, list[tuple[str, Kind, str | None]]] = {}
    for (post_id, channel), (status, error, retry_at) in last.items():
        if (post_id, channel) in out:
            continue
        if status in (StepStatus.failed, StepStatus.blocked):
            found.setdefault(post_id, []).append((channel, "blocked", error))
        elif status == StepStatus.queued and retry_at is not None:
            when = retry_at.replace(tzinfo=UTC) if retry_at.tzinfo is None else retry_at
            found.setdefault(post_id, []).append(
                (channel, "retrying", f"retrying at {when:%Y-%m-%d %H:%M} UTC: {error}")
            )
    return found
