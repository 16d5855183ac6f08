"""Engagement in the store: readings per publication over time, what is due for a fetch, each persona's
channels' metrics state, and the published posts with their latest readings and cost.

A publication is read at about 1 h, 24 h and 7 d after it went out, then weekly until 30 days
(`FETCH_AFTER`): it is due when a milestone has passed that no fetch has covered yet, so a collector
that was away catches up with one fetch, never early and never twice for the same milestone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from beatdesk.engagement import GROUPS, Group, PostEngagement, Reading
from beatdesk.store.schema import MetricsChannelRow, PostRow, PublicationRow, ReadingRow, StepRow

FETCH_AFTER: tuple[timedelta, ...] = (
    timedelta(hours=1),
    timedelta(hours=24),
    timedelta(days=7),
    timedelta(days=14),
    timedelta(days=21),
    timedelta(days=28),
)
"""When a publication's numbers are read, counted from its publication time."""
CATCH_UP = timedelta(days=7)
"""A collector that was away this long after the last milestone still reads the publication once."""
METRICS_CHANNELS: frozenset[str] = frozenset({"mastodon", "bluesky", "x", "linkedin"})
"""Channels whose numbers are read. The outbox and the webhook have none; Threads and Instagram are not read yet."""


@dataclass(frozen=True)
class DuePublication:
    """A publication to read now."""

    publication_id: int
    post_id: int
    persona: str
    channel: str
    remote_id: str
    published_at: datetime
    last_fetched_at: datetime | None


@dataclass(frozen=True)
class ChannelMetricsState:
    """Whether a persona's channel can be read now."""

    persona: str
    channel: str
    stale_reason: str | None
    """Why its numbers stopped (the channel refused the token: revoked, expired, missing scope); None: fine."""
    stale_since: datetime | None
    rate_limited_until: datetime | None


@dataclass(frozen=True)
class Gone:
    """A publication the channel no longer has (deleted), found at `at`; never fetched again."""

    publication_id: int
    channel: str
    at: datetime
    reason: str


def is_due(published_at: datetime, last_fetched_at: datetime | None, now: datetime) -> bool:
    """Whether a milestone has passed that no fetch has covered yet (within the catch-up window after the last)."""
    passed = [published_at + after for after in FETCH_AFTER if published_at + after <= now]
    if not passed or now > published_at + FETCH_AFTER[-1] + CATCH_UP:
        return False
    return last_fetched_at is None or last_fetched_at < passed[-1]


def next_due(published_at: datetime, last_fetched_at: datetime | None) -> datetime | None:
    """When the publication is next read (None: never again)."""
    for after in FETCH_AFTER:
        at = published_at + after
        if last_fetched_at is None or last_fetched_at < at:
            return at
    return None


# --- readings ------------------------------------------------------------------------------------


def add_reading(session: Session, reading: Reading) -> None:
    """Keep one fetch of a publication's numbers; a group missing from `reading.groups` is unknown (None)."""
    session.add(ReadingRow(
        publication_id=reading.publication_id, channel=reading.channel, fetched_at=reading.fetched_at,
        raw=dict(reading.raw), **{group: reading.groups.get(group) for group in GROUPS},
    ))  # fmt: skip


def mark_gone(session: Session, *, publication_id: int, channel: str, at: datetime, reason: str) -> None:
    """The channel no longer has the post (404): recorded once, and the publication is not fetched again."""
    found = select(ReadingRow.id).where(ReadingRow.publication_id == publication_id, ReadingRow.gone.is_not(None))
    if session.scalar(found) is None:
        session.add(ReadingRow(publication_id=publication_id, channel=channel, fetched_at=at, raw={}, gone=reason))


def readings_of_post(session: Session, post_id: int) -> list[Reading]:
    """Every reading of the post's publications, oldest first (the desk's tables per channel)."""
    rows = session.scalars(
        select(ReadingRow)
        .join(PublicationRow, PublicationRow.id == ReadingRow.publication_id)
        .where(PublicationRow.post_id == post_id, ReadingRow.gone.is_(None))
        .order_by(ReadingRow.fetched_at, ReadingRow.id)
    )
    return [_reading(row) for row in rows]


def gone_of_post(session: Session, post_id: int) -> list[Gone]:
    """The post's publications that their channels no longer have."""
    rows = session.scalars(
        select(ReadingRow)
        .join(PublicationRow, PublicationRow.id == ReadingRow.publication_id)
        .where(PublicationRow.post_id == post_id, ReadingRow.gone.is_not(None))
    )
    return [Gone(row.publication_id, row.channel, row.fetched_at, row.gone or "") for row in rows]


# --- what to fetch -------------------------------------------------------------------------------


def due_publications(session: Session, *, now: datetime, persona: str | None = None) -> list[DuePublication]:
    """Publications to read now, oldest first: a milestone passed without a fetch, the channel has metrics,
    is not rate-limited until later, and the post is still on it. Stale channels stay due: the next fetch
    is how a token someone renewed is noticed."""
    horizon = now - FETCH_AFTER[-1] - CATCH_UP
    # Per candidate publication, from the readings index: never a pass over every reading ever stored.
    last = (
        select(func.max(ReadingRow.fetched_at))
        .where(ReadingRow.publication_id == PublicationRow.id)
        .correlate(PublicationRow)
        .scalar_subquery()
    )
    gone = select(ReadingRow.publication_id).where(ReadingRow.gone.is_not(None))
    query = (
        select(PublicationRow.id, PublicationRow.post_id, PostRow.persona, PublicationRow.channel,
               PublicationRow.remote_id, PublicationRow.published_at, last)
        .join(PostRow, PostRow.id == PublicationRow.post_id)
        .where(PublicationRow.published_at >= horizon, PublicationRow.published_at <= now,
               PublicationRow.channel.in_(sorted(METRICS_CHANNELS)), PublicationRow.id.not_in(gone))
        .order_by(PublicationRow.published_at, PublicationRow.id)
    )  # fmt: skip
    if persona:
        query = query.where(PostRow.persona == persona)
    waiting = {(s.persona, s.channel) for s in channel_states(session, persona=persona)
               if s.rate_limited_until is not None and s.rate_limited_until > now}  # fmt: skip
    due = []
    for pub_id, post_id, owner, channel, remote_id, published, fetched in session.execute(query):
        published_at, last_at = _aware(published), _aware(fetched) if fetched is not None else None
        if (owner, channel) not in waiting and is_due(published_at, last_at, now):
            due.append(DuePublication(pub_id, post_id, owner, channel, remote_id, published_at, last_at))
    return due


def publish_details(session: Session, *, post_ids: Sequence[int], channel: str) -> dict[int, str]:
    """The detail each post's finished publish step on `channel` wrote (its remote id, and whether it was a thread)."""
    rows = session.execute(
        select(StepRow.post_id, StepRow.detail).where(
            StepRow.post_id.in_(list(post_ids)), StepRow.name == f"publish_{channel}", StepRow.status == "done"
        )
    )
    return {post_id: detail for post_id, detail in rows if post_id is not None and detail}


# --- each persona's channels -----------------------------------------------------------------------


def channel_states(session: Session, *, persona: str | None = None) -> list[ChannelMetricsState]:
    """The metrics state of every channel that has one (stale, or told to wait), by persona and channel."""
    query = select(MetricsChannelRow).order_by(MetricsChannelRow.persona, MetricsChannelRow.channel)
    if persona:
        query = query.where(MetricsChannelRow.persona == persona)
    return [ChannelMetricsState(r.persona, r.channel, r.stale_reason, r.stale_since, r.rate_limited_until)
            for r in session.scalars(query)]  # fmt: skip


def mark_stale(session: Session, *, persona: str, channel: str, reason: str, at: datetime) -> None:
    """The channel refused the credentials: its numbers stop, with the reason, until a fetch succeeds."""
    row = _state_row(session, persona, channel)
    if row.stale_reason is None:
        row.stale_since = at
    row.stale_reason, row.updated_at = reason, at


def mark_rate_limited(session: Session, *, persona: str, channel: str, until: datetime, at: datetime) -> None:
    """The channel said to come back at `until`: nothing is fetched from it before."""
    row = _state_row(session, persona, channel)
    row.rate_limited_until, row.updated_at = until, at


def mark_fresh(session: Session, *, persona: str, channel: str, at: datetime) -> None:
    """A fetch succeeded: the channel is neither stale nor waiting any longer."""
    row = session.scalar(
        select(MetricsChannelRow).where(MetricsChannelRow.persona == persona, MetricsChannelRow.channel == channel)
    )
    if row is not None and (row.stale_reason is not None or row.rate_limited_until is not None):
        row.stale_reason = row.stale_since = row.rate_limited_until = None
        row.updated_at = at


def _state_row(session: Session, persona: str, channel: str) -> MetricsChannelRow:
    row = session.scalar(
        select(MetricsChannelRow)
        .where(MetricsChannelRow.persona == persona, MetricsChannelRow.channel == channel)
        .with_for_update()
    )
    if row is None:
        row = MetricsChannelRow(persona=persona, channel=channel)
        session.add(row)
    return row


# --- published posts with their numbers --------------------------------------------------------------


def engagement(session: Session, *, persona: str | None, since: datetime | None) -> list[PostEngagement]:
    """Every published post (first publication at or after `since`), oldest first, with its latest reading on
    each channel and its total cost (the sum of its steps, exact). Three queries, whatever the number of posts."""
    first = (
        select(PublicationRow.post_id, func.min(PublicationRow.published_at).label("at"))
        .group_by(PublicationRow.post_id)
        .subquery()
    )
    angle = func.coalesce(PostRow.plan["angle"].as_string(), "")
    posts = select(PostRow.id, PostRow.persona, PostRow.beat_key, PostRow.content_format, angle.label("angle"),
                   first.c.at.label("published_at")).join(first, first.c.post_id == PostRow.id)  # fmt: skip
    if persona:
        posts = posts.where(PostRow.persona == persona)
    if since is not None:
        posts = posts.where(first.c.at >= since)
    found = session.execute(posts.order_by(first.c.at, PostRow.id)).all()
    if not found:
        return []
    ids = select(posts.subquery().c.id)
    costs = dict(session.execute(
        select(StepRow.post_id, func.sum(StepRow.cost_usd)).where(StepRow.post_id.in_(ids)).group_by(StepRow.post_id)
    ).all())  # fmt: skip
    newest = (
        select(ReadingRow.id, func.row_number().over(
            partition_by=ReadingRow.publication_id, order_by=(ReadingRow.fetched_at.desc(), ReadingRow.id.desc())
        ).label("rank"))
        .join(PublicationRow, PublicationRow.id == ReadingRow.publication_id)
        .where(PublicationRow.post_id.in_(ids), ReadingRow.gone.is_(None))
        .subquery()
    )  # fmt: skip
    latest: dict[int, dict[str, Reading]] = {}
    for post_id, row in session.execute(
        select(PublicationRow.post_id, ReadingRow)
        .join(PublicationRow, PublicationRow.id == ReadingRow.publication_id)
        .join(newest, newest.c.id == ReadingRow.id)
        .where(newest.c.rank == 1)
    ):
        latest.setdefault(post_id, {})[row.channel] = _reading(row)
    return [
        PostEngagement(post_id=row.id, persona=row.persona, beat_key=row.beat_key, content_format=row.content_format,
                       angle=row.angle, published_at=_aware(row.published_at),
                       cost_usd=costs.get(row.id) or Decimal(0), latest=latest.get(row.id, {}))
        for row in found
    ]  # fmt: skip


def _reading(row: ReadingRow) -> Reading:
    groups: dict[Group, int | None] = {group: getattr(row, group) for group in GROUPS}
    return Reading(publication_id=row.publication_id, channel=row.channel, fetched_at=row.fetched_at,
                   groups=groups, raw=dict(row.raw or {}))  # fmt: skip


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at
