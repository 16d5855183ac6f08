"""Data access, in one place: every read and write of batches, posts and steps goes through here."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter
from sqlalchemy import (
    ColumnElement,
    Row,
    and_,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from beatdesk.errors import InvalidTransitionError, NotFoundError
from beatdesk.models import (
    Artifact,
    Batch,
    BatchSpec,
    BatchStatus,
    ChannelVersion,
    Check,
    ContentFormat,
    Draft,
    ListingGlance,
    PipelineStep,
    Plan,
    Post,
    PostEvent,
    PostListing,
    PostStatus,
    Publication,
    Source,
    StepStatus,
)
from beatdesk.states import HOLDS_SLOT, RELEASES_SLOT, TERMINAL_FOR_BATCH, check_transition
from beatdesk.store import comments as comment_rows
from beatdesk.store import heartbeat, search
from beatdesk.store import steps as step_rows
from beatdesk.store.schema import (
    ArtifactRow,
    BatchRow,
    ChannelMediaRow,
    ChannelVersionRow,
    ChatReferenceRow,
    DecisionRow,
    EventRow,
    InstallationRow,
    PostRow,
    PublicationRow,
    SourceRow,
    StepRow,
    local_day,
    utcnow,
)

_draft_adapter: TypeAdapter[Draft] = TypeAdapter(Draft)


# --- batches -------------------------------------------------------------------------------------


def create_batch(session: Session, *, spec: BatchSpec) -> int:
    row = BatchRow(persona=spec.persona, status=BatchStatus.queued, spec=spec.model_dump(mode="json"))
    session.add(row)
    session.flush()
    return row.id


def create_scheduled_batch(session: Session, *, spec: BatchSpec, schedule_key: str) -> int | None:
    """The batch for one due time of a schedule, or None when another scheduler already made it."""
    row = BatchRow(persona=spec.persona, status=BatchStatus.queued, spec=spec.model_dump(mode="json"),
                   schedule_key=schedule_key)  # fmt: skip
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row.id


def finish_batch_if_done(session: Session, *, batch_id: int) -> bool:
    """Mark the batch done once it has all its posts and none holds it up; safe from every worker at once.

    The callers take turns on the batch's row (PostgreSQL: a row lock that does not hold up adding a post;
    SQLite runs one writer at a time): otherwise the last two posts, settled at once, would each see
    the other still waiting, and the batch would stay running."""
    found = session.execute(
        select(BatchRow.status, BatchRow.posts_settled, BatchRow.spec)
        .where(BatchRow.id == batch_id).with_for_update(key_share=True)
    ).first()  # fmt: skip
    if found is None or found.status != BatchStatus.running:
        return False
    if found.posts_settled < BatchSpec.model_validate(found.spec).total:
        return False  # the counter follows every move (see `transition`): most posts end here, with no count
    waiting = select(PostRow.id).where(PostRow.batch_id == batch_id, PostRow.status.not_in(sorted(TERMINAL_FOR_BATCH)))
    if session.scalar(select(exists(waiting))):
        return False
    done = update(BatchRow).where(BatchRow.id == batch_id, BatchRow.status == BatchStatus.running)
    session.execute(done.values(status=BatchStatus.done, finished_at=utcnow()))
    return True


def get_batch(session: Session, batch_id: int, *, with_history: bool = True) -> Batch:
    """The batch with its posts and their steps; without history, the posts' events and publications are
    left empty (what a finished run prints needs neither)."""
    loads = _post_loads(with_history=with_history)
    row = session.get(BatchRow, batch_id, options=[selectinload(BatchRow.posts).options(*loads)])
    if row is None:
        raise NotFoundError(f"no batch with id {batch_id}")
    return Batch(
        id=row.id,
        persona=row.persona,
        status=BatchStatus(row.status),
        spec=BatchSpec.model_validate(row.spec),
        created_at=row.created_at,
        finished_at=row.finished_at,
        error=row.error,
        dropped=row.dropped or [],
        posts=[_post(post, with_history=with_history) for post in row.posts],
        steps=batch_steps(session, batch_id=batch_id),
    )


def set_batch_dropped(session: Session, *, batch_id: int, dropped: Sequence[str]) -> None:
    """Keep what the planner turned down on the batch, with the reasons."""
    session.execute(update(BatchRow).where(BatchRow.id == batch_id).values(dropped=list(dropped)))


def set_reason_code(session: Session, *, post_id: int, code: str | None) -> None:
    session.execute(update(PostRow).where(PostRow.id == post_id).values(reason_code=code))


def clear_reason(session: Session, *, post_id: int) -> None:
    """A post back in review carries no rejection reason (the audit log keeps it)."""
    session.execute(update(PostRow).where(PostRow.id == post_id).values(reason=None, reason_code=None))


def batch_steps(session: Session, *, batch_id: int) -> list[PipelineStep]:
    """The batch's own steps (its planning), oldest first."""
    rows = session.scalars(
        select(StepRow).where(StepRow.batch_id == batch_id, StepRow.post_id.is_(None)).order_by(StepRow.position)
    )
    return [_step(row, None) for row in rows]


def batch_row(session: Session, batch_id: int, *, lock: bool = False) -> BatchRow:
    """The batch's row, read afresh (and locked on PostgreSQL when `lock`), for the runner to change."""
    query = select(BatchRow).where(BatchRow.id == batch_id).execution_options(populate_existing=True)
    row = session.scalars(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFoundError(f"no batch with id {batch_id}")
    return row


def post_ids_of_batch(session: Session, *, batch_id: int, statuses: Sequence[PostStatus]) -> list[int]:
    rows = session.scalars(
        select(PostRow.id).where(PostRow.batch_id == batch_id, PostRow.status.in_(list(statuses))).order_by(PostRow.id)
    )
    return list(rows)


def post_status(session: Session, post_id: int, *, lock: bool = False) -> PostStatus:
    query = select(PostRow.status).where(PostRow.id == post_id)
    status = session.scalar(query.with_for_update() if lock else query)
    if status is None:
        raise NotFoundError(f"no post with id {post_id}")
    return PostStatus(status)


def note_nudge(session: Session, *, post_id: int, at: datetime) -> None:
    """The reconciler handed the post to a worker again at `at`."""
    session.execute(update(PostRow).where(PostRow.id == post_id).values(nudged_at=at))


def batch_progress(session: Session, *, batch_id: int) -> tuple[BatchStatus, int, int]:
    """(status, posts settled, posts in all) from the batch's one row, whatever its size: what a poll reads."""
    row = session.execute(
        select(BatchRow.status, BatchRow.posts_settled, BatchRow.spec).where(BatchRow.id == batch_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no batch with id {batch_id}")
    status, settled, spec = row
    return BatchStatus(status), settled, BatchSpec.model_validate(spec).total


# --- posts ---------------------------------------------------------------------------------------


def add_planned_post(
    session: Session, *, batch_id: int, persona: str, plan: Plan, steps: Sequence[str], actor: str = "planner"
) -> int:
    """A new post in `planned`, with its pipeline's steps queued in order."""
    return add_planned_posts(session, batch_id=batch_id, persona=persona, posts=[(plan, steps, {})], actor=actor)[0]


def add_planned_posts(
    session: Session,
    *,
    batch_id: int,
    persona: str,
    posts: Sequence[tuple[Plan, Sequence[str], Mapping[str, Any]]],
    actor: str = "planner",
) -> list[int]:
    """New posts in `planned`, each with its pipeline's steps in order: the first one with the column values
    given beside it (e.g. the planning, already done), the rest queued. One flush for them all: the ORM
    sends each table's rows as a few multi-row INSERTs, whatever the batch's size."""
    rows = []
    for plan, steps, first in posts:
        row = PostRow(
            batch_id=batch_id,
            persona=persona,
            beat_key=plan.beat_key,
            content_format=plan.content_format,
            status=PostStatus.planned,
            plan=plan.model_dump(mode="json"),
        )
        queued = {"status": StepStatus.queued, "batch_id": batch_id, "persona": persona, "cost_usd": Decimal(0)}
        row.steps = [
            StepRow(position=i, name=name, **(queued | dict(first) if i == 0 else queued))
            for i, name in enumerate(steps)
        ]
        row.events = [EventRow(actor=actor, action="plan", from_status=None, to_status=PostStatus.planned)]
        rows.append(row)
    session.add_all(rows)
    session.flush()
    search.index_posts(session, [(row.id, row.plan, None) for row in rows])
    return [row.id for row in rows]


def _post_loads(*, with_history: bool = True) -> list[Any]:  # loader options (SQLAlchemy names their type privately)
    """A post's steps and channel versions, and (with its history) its events and publications."""
    history = [selectinload(PostRow.events), selectinload(PostRow.publications)] if with_history else []
    return [selectinload(PostRow.steps), selectinload(PostRow.channel_versions), *history]


def batch_id_of(session: Session, post_id: int) -> int:
    batch_id = session.scalar(select(PostRow.batch_id).where(PostRow.id == post_id))
    if batch_id is None:
        raise NotFoundError(f"no post with id {post_id}")
    return batch_id


def persona_of(session: Session, post_id: int) -> str:
    persona = session.scalar(select(PostRow.persona).where(PostRow.id == post_id))
    if persona is None:
        raise NotFoundError(f"no post with id {post_id}")
    return persona


def get_post(session: Session, post_id: int, *, with_history: bool = True, lock: bool = False) -> Post:
    """The post; without history its events and publications are left empty (a worker's cheaper read);
    `lock`: its row locked on PostgreSQL, as the runner reads it before taking up a step."""
    loads = _post_loads(with_history=with_history)
    query = (  # its batch (for the message) in the same query: one row, joined
        select(PostRow).options(joinedload(PostRow.batch), *loads).where(PostRow.id == post_id)
        .execution_options(populate_existing=True)
    )  # fmt: skip
    row = session.scalars(query.with_for_update(of=PostRow) if lock else query).first()
    if row is None:
        raise NotFoundError(f"no post with id {post_id}")
    return _post_of(
        row,
        message=row.batch.spec.get("message"),
        steps=[_step(step, _artifact(step.artifact)) for step in row.steps],
        events=[_event(e) for e in row.events] if with_history else [],
        publications=[_publication(p) for p in row.publications] if with_history else [],
    )


def list_posts(
    session: Session,
    *,
    persona: str | None = None,
    status: PostStatus | None = None,
    batch_id: int | None = None,
    limit: int = 200,
) -> list[Post]:
    query = select(PostRow).options(selectinload(PostRow.batch), *_post_loads()).order_by(PostRow.id.desc())
    if persona:
        query = query.where(PostRow.persona == persona)
    if status:
        query = query.where(PostRow.status == status)
    if batch_id is not None:
        query = query.where(PostRow.batch_id == batch_id)
    return [_post(row) for row in session.scalars(query.limit(limit))]


def _queue_filters(
    session: Session,
    *,
    persona: str | None,
    status: PostStatus | None,
    content_format: ContentFormat | None,
    batch_id: int | None,
    words: str | None,
) -> list[ColumnElement[bool]]:
    """The queue's filters, shared by its full-post and its listing pages."""
    where: list[ColumnElement[bool]] = []
    if words and words.strip():
        where.append(search.matches(session, words))
    if persona:
        where.append(PostRow.persona == persona)
    if status:
        where.append(PostRow.status == status)
    if content_format:
        where.append(PostRow.content_format == content_format)
    if batch_id is not None:
        where.append(PostRow.batch_id == batch_id)
    return where


def page_posts(
    session: Session,
    *,
    persona: str | None,
    status: PostStatus | None,
    content_format: ContentFormat | None,
    batch_id: int | None,
    offset: int,
    limit: int,
    oldest_first: bool = False,
    words: str | None = None,
) -> tuple[list[Post], int]:
    """One page of the queue, newest first, and how many posts match in all (`words`: full-text)."""
    where = _queue_filters(session, persona=persona, status=status, content_format=content_format,
                           batch_id=batch_id, words=words)  # fmt: skip
    total = session.scalar(select(func.count()).select_from(PostRow).where(*where)) or 0
    rows = session.scalars(
        select(PostRow).options(selectinload(PostRow.batch), *_post_loads()).where(*where)
        .order_by(PostRow.id.asc() if oldest_first else PostRow.id.desc()).offset(offset).limit(limit)
    )  # fmt: skip
    return [_post(row) for row in rows], total


def status_counts(session: Session, *, persona: str | None = None) -> dict[str, int]:
    query = select(PostRow.status, func.count()).group_by(PostRow.status)
    if persona:
        query = query.where(PostRow.persona == persona)
    return {status: count for status, count in session.execute(query).all()}


def search_posts(session: Session, *, text: str, limit: int = 50) -> list[Post]:
    """Posts whose words match `text` (full-text, stemmed: "benchmarks" finds "benchmark"), best first."""
    ids = search.matching_ids(session, text, limit=limit)
    rows = {row.id: row for row in session.scalars(
        select(PostRow).options(selectinload(PostRow.batch), *_post_loads()).where(PostRow.id.in_(ids))
    )}  # fmt: skip
    return [_post(rows[i]) for i in ids if i in rows]


def add_reference(session: Session, *, post_id: int, bot: str, turn_id: str, excerpt: str, at: datetime) -> None:
    if session.get(PostRow, post_id) is None:
        raise NotFoundError(f"no post with id {post_id}")
    session.add(ChatReferenceRow(post_id=post_id, bot=bot, turn_id=turn_id, excerpt=excerpt, at=at))


def references(session: Session, *, post_id: int) -> list[dict[str, object]]:
    rows = session.scalars(
        select(ChatReferenceRow).where(ChatReferenceRow.post_id == post_id).order_by(ChatReferenceRow.at)
    )
    return [{"bot": r.bot, "turn_id": r.turn_id, "excerpt": r.excerpt, "at": r.at} for r in rows]


def local_days(*, days: int, zone: str, now: datetime | None = None) -> list[tuple[date, datetime]]:
    """The last `days` calendar days in `zone`, oldest first, each with the UTC moment it starts; a last
    entry (the day after today) gives the end. A day is 23 or 25 hours across a DST change."""
    tz = ZoneInfo(zone)
    today = (now or utcnow()).astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    return [(first + timedelta(days=i), datetime.combine(first + timedelta(days=i), time.min, tz).astimezone(UTC))
            for i in range(days + 1)]  # fmt: skip


def daily_costs(
    session: Session, *, persona: str, days: int, zone: str = "UTC"
) -> list[tuple[date, dict[str, Decimal]]]:
    """Cost per day in `zone` and per step kind over the last `days` days, oldest first, every day listed
    (summed in Python: the reference `daily_costs_by_kind` is checked against)."""
    edges = local_days(days=days, zone=zone)
    tz = ZoneInfo(zone)
    rows = session.execute(
        select(StepRow.started_at, StepRow.name, StepRow.cost_usd).where(
            StepRow.persona == persona, StepRow.started_at >= edges[0][1], StepRow.started_at < edges[-1][1]
        )
    ).all()
    table: dict[date, dict[str, Decimal]] = {day: {} for day, _ in edges[:-1]}
    for started_at, name, cost in rows:
        if started_at is None:
            continue
        day = _aware(started_at).astimezone(tz).date()
        if day in table and cost:
            table[day][name] = table[day].get(name, Decimal(0)) + Decimal(cost)
    return list(table.items())


# --- lists: what the desk and the API show of many posts, without loading each post's history -------


def post_costs(session: Session, *, post_ids: Sequence[int]) -> dict[int, Decimal]:
    """Each post's total cost, the sum of its steps, in one aggregate over just these posts' steps.

    The one place lists get a cost from, so a stored running total can replace it."""
    costs = dict.fromkeys(post_ids, Decimal(0))
    if not costs:
        return costs
    rows = session.execute(
        select(StepRow.post_id, func.sum(StepRow.cost_usd))
        .where(StepRow.post_id.in_(list(costs)))
        .group_by(StepRow.post_id)
    )
    costs.update({post_id: total or Decimal(0) for post_id, total in rows if post_id is not None})
    return costs


def batch_cost(session: Session, *, batch_id: int) -> Decimal:
    """A batch's total cost, the sum of its posts' steps and its own (planning), summed in SQL."""
    total = session.scalar(select(func.sum(StepRow.cost_usd)).where(StepRow.batch_id == batch_id))
    return total or Decimal(0)


_LISTING_COLUMNS = (
    PostRow.id,
    PostRow.batch_id,
    PostRow.persona,
    PostRow.content_format,
    PostRow.status,
    PostRow.status_changed_at,
    # The title alone, read out of the JSON in SQL: a list never decodes a post's whole plan and draft.
    func.coalesce(PostRow.draft["title"].as_string(), PostRow.plan["title"].as_string(), "").label("title"),
    PostRow.slot_at,
    PostRow.created_at,
)


def _listings(session: Session, rows: Sequence[Row[Any]]) -> list[PostListing]:
    costs = post_costs(session, post_ids=[row.id for row in rows])
    return [
        PostListing(
            id=row.id,
            batch_id=row.batch_id,
            persona=row.persona,
            content_format=ContentFormat(row.content_format),
            status=PostStatus(row.status),
            status_changed_at=row.status_changed_at,
            title=row.title,
            total_cost_usd=costs[row.id],
            slot_at=row.slot_at,
            created_at=row.created_at,
        )
        for row in rows
    ]


def queue_page(
    session: Session,
    *,
    persona: str | None,
    status: PostStatus | None,
    content_format: ContentFormat | None,
    batch_id: int | None,
    offset: int,
    limit: int,
    oldest_first: bool = False,
    words: str | None = None,
) -> tuple[list[PostListing], int]:
    """One page of the queue as listings, and how many posts match in all (`words`: full-text)."""
    where = _queue_filters(session, persona=persona, status=status, content_format=content_format,
                           batch_id=batch_id, words=words)  # fmt: skip
    total = session.scalar(select(func.count()).select_from(PostRow).where(*where)) or 0
    rows = session.execute(
        select(*_LISTING_COLUMNS).where(*where)
        .order_by(PostRow.id.asc() if oldest_first else PostRow.id.desc()).offset(offset).limit(limit)
    ).all()  # fmt: skip
    return _listings(session, rows), total


def post_listings(session: Session, *, post_ids: Sequence[int]) -> list[PostListing]:
    """These posts as listings, in the order given; ids of no post are left out."""
    found = {row.id: row for row in session.execute(select(*_LISTING_COLUMNS).where(PostRow.id.in_(list(post_ids))))}
    return _listings(session, [found[i] for i in post_ids if i in found])


def search_listings(session: Session, *, text: str, limit: int = 50) -> list[PostListing]:
    """Posts whose words match `text` (full-text, stemmed), best first, as listings."""
    return post_listings(session, post_ids=search.matching_ids(session, text, limit=limit))


def batch_listings(session: Session, *, batch_id: int) -> list[PostListing]:
    """A batch's posts, in the order they were planned, as listings."""
    rows = session.execute(select(*_LISTING_COLUMNS).where(PostRow.batch_id == batch_id).order_by(PostRow.id)).all()
    return _listings(session, rows)


def listing_glances(session: Session, *, post_ids: Sequence[int]) -> dict[int, ListingGlance]:
    """For a page of listings: three small queries (caption and checks, latest image, open comments), never the
    posts' steps."""
    ids = list(post_ids)
    if not ids:
        return {}
    glances: dict[int, ListingGlance] = {}
    caption = PostRow.draft["caption"].as_string()
    for post_id, text, checks in session.execute(
        select(PostRow.id, caption, PostRow.checks).where(PostRow.id.in_(ids))
    ):
        lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
        listed = checks or []
        glances[post_id] = ListingGlance(
            first_line=lines[0][:160] if lines else "",
            failing=[str(c.get("name", "")) for c in listed if c.get("level") == "fail"],
            warnings=sum(1 for c in listed if c.get("level") == "warn"),
        )
    latest = (
        select(func.max(ArtifactRow.id))
        .where(ArtifactRow.post_id.in_(ids), ArtifactRow.content_type.like("image/%"), ArtifactRow.path.is_not(None))
        .group_by(ArtifactRow.post_id)
    )
    for post_id, path in session.execute(
        select(ArtifactRow.post_id, ArtifactRow.path).where(ArtifactRow.id.in_(latest))
    ):
        if post_id in glances:
            glances[post_id].thumbnail = path
    for post_id, count in comment_rows.open_counts(session, post_ids=ids).items():
        if post_id in glances:
            glances[post_id].open_comments = count
    return glances


def review_neighbours(session: Session, *, post_id: int) -> tuple[int | None, int | None]:
    """The posts in review just before and just after this one, by id (the queue's oldest-first order)."""
    in_review = PostRow.status == PostStatus.in_review
    before = session.scalar(select(func.max(PostRow.id)).where(in_review, PostRow.id < post_id))
    after = session.scalar(select(func.min(PostRow.id)).where(in_review, PostRow.id > post_id))
    return before, after


def next_in_review(session: Session, *, post_id: int) -> int | None:
    """The post to review after this one: the next by id, else the first still waiting (never this one)."""
    _, after = review_neighbours(session, post_id=post_id)
    if after is not None:
        return after
    return session.scalar(
        select(func.min(PostRow.id)).where(PostRow.status == PostStatus.in_review, PostRow.id != post_id)
    )


def get_batch_header(session: Session, batch_id: int) -> Batch:
    """The batch without its posts (see `batch_listings` and `batch_cost`)."""
    row = session.get(BatchRow, batch_id)
    if row is None:
        raise NotFoundError(f"no batch with id {batch_id}")
    spec = BatchSpec.model_validate(row.spec)
    return Batch(id=row.id, persona=row.persona, status=BatchStatus(row.status), spec=spec, created_at=row.created_at,
                 finished_at=row.finished_at, error=row.error, dropped=row.dropped or [])  # fmt: skip


def daily_costs_by_kind(
    session: Session, *, persona: str, days: int, zone: str = "UTC"
) -> list[tuple[date, dict[str, Decimal]]]:
    """Cost per day in `zone` and per step kind over the last `days` days, oldest first, every day listed;
    summed by GROUP BY in SQL, so a persona's history is never read into Python. A step's day is its UTC start
    moved by the zone's offset at that moment (`local_day`): one offset per stretch between DST changes, so
    SQLite, which knows no zones, and PostgreSQL agree, across DST and in half-hour zones."""
    edges = local_days(days=days, zone=zone)
    stretches = _offsets(edges[0][1], edges[-1][1], ZoneInfo(zone))
    day: ColumnElement[str] = local_day(StepRow.started_at, literal_column(str(stretches[-1][1])))
    if len(stretches) > 1:
        day = case(*((StepRow.started_at < until, local_day(StepRow.started_at, literal_column(str(minutes))))
                     for until, minutes in stretches[:-1]), else_=day)  # fmt: skip
    rows = session.execute(
        select(day.label("on_day"), StepRow.name, func.sum(StepRow.cost_usd))
        .where(StepRow.persona == persona, StepRow.started_at >= edges[0][1], StepRow.started_at < edges[-1][1])
        .group_by(literal_column("on_day"), StepRow.name)
    ).all()
    table: dict[date, dict[str, Decimal]] = {on: {} for on, _ in edges[:-1]}
    for on, name, cost in rows:
        when = date.fromisoformat(on)
        if when in table and cost:
            table[when][name] = cost
    return list(table.items())


def _offsets(start: datetime, end: datetime, tz: ZoneInfo) -> list[tuple[datetime, int]]:
    """Each stretch of one UTC offset between `start` and `end`: (when it ends, minutes east of UTC)."""

    def minutes(at: datetime) -> int:
        offset = at.astimezone(tz).utcoffset()
        return int(offset.total_seconds() // 60) if offset is not None else 0

    stretches: list[tuple[datetime, int]] = []
    at, current = start, minutes(start)
    while at < end:
        following = min(at + timedelta(hours=1), end)
        if minutes(following) != current:
            # The change lies in this hour; zones change on a whole second, so it is found exactly.
            low, high = int(at.timestamp()), math.ceil(following.timestamp())
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if minutes(datetime.fromtimestamp(middle, UTC)) == current else (low, middle)
            stretches.append((datetime.fromtimestamp(high, UTC), current))
            current = minutes(stretches[-1][0])
        at = following
    return [*stretches, (end, current)]


def due_posts(session: Session, *, now: datetime, stale_after_s: float = 30) -> list[Post]:
    """Posts whose slot has come, oldest slot first: approved ones (their channels to queue), and ones being
    published with a step to take up now (queued and its next try come, or left running by a worker that
    stopped beating `stale_after_s` ago). Steps keep the real clock; `now` may be a `--now`."""
    real_now = utcnow()
    stale = real_now - timedelta(seconds=stale_after_s)
    ready = select(StepRow.post_id).where(
        StepRow.post_id == PostRow.id,
        or_(
            and_(StepRow.status == StepStatus.queued, or_(StepRow.retry_at.is_(None), StepRow.retry_at <= real_now)),
            and_(StepRow.status == StepStatus.running, or_(StepRow.beat_at.is_(None), StepRow.beat_at < stale)),
        ),
    )
    query = (
        select(PostRow)
        .options(selectinload(PostRow.batch), *_post_loads())
        .where(
            PostRow.slot_at <= now,
            or_(PostRow.status == PostStatus.approved, and_(PostRow.status == PostStatus.scheduled, ready.exists())),
        )
        .order_by(PostRow.slot_at)
    )
    return [_post(row) for row in session.scalars(query)]


def publishing_post_ids(session: Session, *, now: datetime) -> list[int]:
    """Posts whose slot has come and that are not out yet (approved, or being published), oldest slot first."""
    query = select(PostRow.id).where(
        PostRow.slot_at <= now, PostRow.status.in_([PostStatus.approved, PostStatus.scheduled])
    )
    return list(session.scalars(query.order_by(PostRow.slot_at)))


def add_publication(session: Session, *, post_id: int, channel: str, remote_id: str, url: str | None) -> None:
    """The post's copy on `channel` (kept once: a step taken over may store what its first run found)."""
    known = select(PublicationRow.id).where(PublicationRow.post_id == post_id, PublicationRow.channel == channel)
    if session.scalar(known) is not None:
        return
    session.add(PublicationRow(post_id=post_id, channel=channel, remote_id=remote_id, url=url, published_at=utcnow()))


def save_channel_version(session: Session, *, post_id: int, channel: str, version: ChannelVersion, actor: str) -> None:
    """Keep a reviewer's text and first comment for one channel; a version with neither is removed."""
    row = session.scalar(
        select(ChannelVersionRow).where(ChannelVersionRow.post_id == post_id, ChannelVersionRow.channel == channel)
    )
    if version.text is None and version.first_comment is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(ChannelVersionRow(post_id=post_id, channel=channel, text=version.text,
                                      first_comment=version.first_comment, changed_by=actor))  # fmt: skip
    else:
        row.text, row.first_comment, row.changed_by, row.changed_at = (
            version.text, version.first_comment, actor, utcnow())  # fmt: skip
    session.flush()


def drop_channel_versions(session: Session, *, post_id: int) -> int:
    """Forget every channel's version of a post (a new draft replaces what they were written from)."""
    rows = session.scalars(select(ChannelVersionRow).where(ChannelVersionRow.post_id == post_id)).all()
    for row in rows:
        session.delete(row)
    return len(rows)


def uploaded_media(session: Session, *, post_id: int, channel: str, artifact: str) -> str | None:
    """The channel's id for a file it already holds for this post, if an earlier attempt uploaded it."""
    return session.scalar(
        select(ChannelMediaRow.media_id).where(
            ChannelMediaRow.post_id == post_id, ChannelMediaRow.channel == channel, ChannelMediaRow.artifact == artifact
        )
    )


def remember_media(session: Session, *, post_id: int, channel: str, artifact: str, media_id: str) -> None:
    """Keep (or replace) the channel's id for an uploaded file, so a retry attaches it instead of uploading again."""
    row = session.scalar(
        select(ChannelMediaRow).where(
            ChannelMediaRow.post_id == post_id, ChannelMediaRow.channel == channel, ChannelMediaRow.artifact == artifact
        )
    )
    if row is None:
        session.add(ChannelMediaRow(post_id=post_id, channel=channel, artifact=artifact, media_id=media_id))
    else:
        row.media_id, row.uploaded_at = media_id, utcnow()


def forget_media(session: Session, *, post_id: int, channel: str, artifact: str) -> None:
    """Drop a stored id the channel no longer knows (expired or deleted), so the next attempt uploads again."""
    row = session.scalar(
        select(ChannelMediaRow).where(
            ChannelMediaRow.post_id == post_id, ChannelMediaRow.channel == channel, ChannelMediaRow.artifact == artifact
        )
    )
    if row is not None:
        session.delete(row)


def installation_id(session: Session) -> str:
    """This installation's id (made by the migration that created the database; made here if it is missing)."""
    found = session.scalar(select(InstallationRow.id).order_by(InstallationRow.created_at).limit(1))
    if found is None:
        found = uuid.uuid4().hex
        session.add(InstallationRow(id=found))
        session.flush()
    return found


def scheduled_posts(session: Session, *, persona: str | None = None) -> list[Post]:
    """Posts on their way out: approved with a slot, or being published (a channel waiting for its next try)."""
    query = (
        select(PostRow)
        .options(selectinload(PostRow.batch), *_post_loads())
        .where(PostRow.status.in_([PostStatus.approved, PostStatus.scheduled]), PostRow.slot_at.is_not(None))
    )
    if persona:
        query = query.where(PostRow.persona == persona)
    return [_post(row) for row in session.scalars(query.order_by(PostRow.slot_at))]


def last_run_of_beats(session: Session, *, persona: str) -> dict[str, datetime]:
    """When each beat last went into a post that is alive (not rejected or failed)."""
    rows = session.execute(
        select(PostRow.beat_key, func.max(PostRow.created_at))
        .where(PostRow.persona == persona, PostRow.status.not_in([PostStatus.rejected, PostStatus.failed]))
        .group_by(PostRow.beat_key)
    ).all()
    return {key: _aware(at) for key, at in rows}


def transition(
    session: Session,
    *,
    post_id: int,
    to: PostStatus,
    actor: str,
    action: str,
    note: str | None = None,
    expected: PostStatus | None = None,
) -> PostStatus:
    """Move a post to `to` if the state table allows it; log the event; return the old status.

    The move is a compare-and-set (`WHERE status = <what was read>`, the row count checked): of two
    decisions at the same moment exactly one moves the post, on SQLite (where `FOR UPDATE` is a no-op)
    as on PostgreSQL; the other gets InvalidTransitionError. `expected`, when given, must be its status."""
    # The locked read loads the row afresh: a copy this session held from before is what the lock found (a
    # reviewer's edit committed meanwhile is seen, never archived over), and the UPDATEs below keep it in step.
    row = session.get(PostRow, post_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise NotFoundError(f"no post with id {post_id}")
    current = PostStatus(row.status)
    if expected is not None and current is not expected:
        raise InvalidTransitionError(f"post {post_id} is {current}, not {expected}; it was not moved to {to}")
    check_transition(post_id, current, to)
    now = utcnow()
    moved: dict[str, object] = {"status": to, "status_changed_at": now, "touched_at": now}
    if action in ("reject", "fail"):
        moved["reason"] = note
    if to in RELEASES_SLOT:
        moved["slot_at"] = None  # a post back in review, drafting or rejected holds no slot
    won = session.execute(update(PostRow).where(PostRow.id == post_id, PostRow.status == current).values(**moved))
    if not won.rowcount:  # type: ignore[attr-defined]  # another decision moved it between our read and write
        now_status = session.scalar(select(PostRow.status).where(PostRow.id == post_id))
        raise InvalidTransitionError(f"post {post_id} became {now_status} a moment ago; it was not moved to {to}")
    settles = (to in TERMINAL_FOR_BATCH) - (current in TERMINAL_FOR_BATCH)
    if settles:  # the batch's counter follows its posts (a redraft takes one back), so progress reads one row
        counted = BatchRow.posts_settled + settles
        session.execute(update(BatchRow).where(BatchRow.id == row.batch_id).values(posts_settled=counted))
    session.add(EventRow(post_id=post_id, at=now, actor=actor, action=action, from_status=current, to_status=to,
                         note=note))  # fmt: skip
    return current


def log_event(session: Session, *, post_id: int, actor: str, action: str, note: str | None = None) -> None:
    """A decision that does not change the status (an edit), kept in the post's audit log."""
    status = session.scalar(select(PostRow.status).where(PostRow.id == post_id))
    session.add(EventRow(post_id=post_id, actor=actor, action=action, from_status=status, to_status=status, note=note))


def get_event(session: Session, event_id: int) -> tuple[int, PostEvent] | None:
    """One entry of a post's audit log with its post's id, or None."""
    row = session.get(EventRow, event_id)
    return (row.post_id, _event(row)) if row is not None else None


def latest_event(session: Session, *, post_id: int) -> tuple[int, PostEvent] | None:
    """The post's newest audit entry with its id: what an undo checks it is still undoing."""
    row = session.scalar(select(EventRow).where(EventRow.post_id == post_id).order_by(EventRow.id.desc()).limit(1))
    return (row.id, _event(row)) if row is not None else None


def drop_latest_decision(session: Session, *, post_id: int) -> None:
    """Forget the post's newest decision row (an undone decision is not counted by the evals)."""
    row = session.scalar(
        select(DecisionRow).where(DecisionRow.post_id == post_id).order_by(DecisionRow.id.desc()).limit(1)
    )
    if row is not None:
        session.delete(row)


def fail_post(session: Session, *, post_id: int, actor: str, reason: str) -> None:
    """End the post as failed with its reason; the steps that would have followed are skipped, and a step
    left running is failed with what it has on the books (a paid request's charge stays)."""
    transition(session, post_id=post_id, to=PostStatus.failed, actor=actor, action="fail", note=reason)
    step_rows.skip_open(session, post_id=post_id, reason=f"not finished: {reason}")


def save_draft(
    session: Session, *, post_id: int, draft: Draft, checks: Sequence[Check] = (), plan: Plan | None = None
) -> None:
    """The post's draft and its checks, indexed for search with its plan (given, or read here)."""
    data = draft.model_dump(mode="json")
    session.execute(
        update(PostRow).where(PostRow.id == post_id).values(draft=data, checks=[c.model_dump() for c in checks])
    )
    stored = select(PostRow.plan).where(PostRow.id == post_id)
    planned = plan.model_dump(mode="json") if plan else session.scalar(stored)
    search.index_posts(session, [(post_id, planned or {}, data)])


def save_checks(session: Session, *, post_id: int, checks: Sequence[Check]) -> None:
    session.execute(update(PostRow).where(PostRow.id == post_id).values(checks=[c.model_dump() for c in checks]))


def archive_draft(session: Session, *, post_id: int, note: str | None, actor: str) -> None:
    """Move the current draft into the post's history before a new one is made."""
    row = session.get(PostRow, post_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no post with id {post_id}")
    if row.draft is not None:
        entry = {"draft": row.draft, "checks": row.checks or [], "replaced_at": utcnow().isoformat(), "by": actor,
                 "note": note}  # fmt: skip
        row.draft_history = [*(row.draft_history or []), entry]
        row.draft, row.checks = None, None


def keep_draft(session: Session, *, post_id: int, actor: str, note: str) -> None:
    """Copy the current draft into the post's history, as it was before a reviewer's edit changes it
    (`kind` edit; a redraft's entries have none), so the desk can show what the edit changed."""
    row = session.get(PostRow, post_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no post with id {post_id}")
    if row.draft is not None:
        entry = {"draft": row.draft, "checks": row.checks or [], "replaced_at": utcnow().isoformat(), "by": actor,
                 "note": note, "kind": "edit"}  # fmt: skip
        row.draft_history = [*(row.draft_history or []), entry]


def queue_steps(
    session: Session, *, post_id: int, names: Sequence[str], provider: str | None = None, model: str | None = None
) -> None:
    """Append queued steps for work about to be done again; earlier steps and their costs stay.
    `provider` and `model`, when given, choose who does them (a rerender with another model)."""
    row = session.get(PostRow, post_id)
    if row is None:
        raise NotFoundError(f"no post with id {post_id}")
    for name in names:
        step_rows.new_step(session, batch_id=row.batch_id, persona=row.persona, post_id=post_id, name=name,
                           provider=provider, model=model)  # fmt: skip
    row.touched_at = utcnow()


def set_slot(session: Session, *, post_id: int, slot_at: datetime | None) -> None:
    session.execute(update(PostRow).where(PostRow.id == post_id).values(slot_at=slot_at))


def taken_slots(session: Session, *, persona: str) -> set[datetime]:
    """The slots of `persona` held by posts on the calendar (approved, scheduled, published)."""
    rows = session.scalars(
        select(PostRow.slot_at).where(PostRow.persona == persona, PostRow.slot_at.is_not(None),
                                      PostRow.status.in_(HOLDS_SLOT))
    )  # fmt: skip
    return {_aware(at) for at in rows if at is not None}


# --- steps ---------------------------------------------------------------------------------------


def worker_name() -> str:
    return heartbeat.worker_name()


# --- sources -------------------------------------------------------------------------------------


def store_sources(session: Session, *, persona: str, sources: Sequence[Source]) -> tuple[list[Source], int]:
    """Keep each source once per persona: same text is skipped, a changed note under its key updated.

    Returns (added or updated, skipped)."""
    hashes = {source.content_hash for source in sources}
    known = set(
        session.scalars(
            select(SourceRow.content_hash).where(SourceRow.persona == persona, SourceRow.content_hash.in_(hashes))
        )
    )
    kept: list[Source] = []
    for source in sources:
        digest = source.content_hash
        if digest in known:
            continue
        known.add(digest)
        values = {
            "kind": source.kind,
            "title": source.title,
            "url": source.url,
            "origin": source.origin or "",
            "published": source.published,
            "text": source.text,
            "content_hash": digest,
            "beats": list(source.beats),
            "author": source.author,
            "beat_score": source.beat_score,
        }
        row = session.scalars(select(SourceRow).where(SourceRow.persona == persona, SourceRow.key == source.id)).first()
        if row is None:
            session.add(SourceRow(persona=persona, key=source.id, **values))
        else:
            for name, value in values.items():
                setattr(row, name, value)
        kept.append(source)
    session.flush()
    return kept, len(sources) - len(kept)


def list_sources(
    session: Session, *, persona: str, since: date | None = None, keys: Sequence[str] | None = None, limit: int = 5000
) -> list[Source]:
    """The persona's sources, newest first (undated last)."""
    query = select(SourceRow).where(SourceRow.persona == persona)
    if since is not None:
        query = query.where(SourceRow.published >= since)
    if keys is not None:
        query = query.where(SourceRow.key.in_(list(keys)))
    query = query.order_by(SourceRow.published.desc().nulls_last(), SourceRow.id.desc()).limit(limit)
    return [_source(row) for row in session.scalars(query)]


def recent_plans(session: Session, *, persona: str, since: datetime) -> list[tuple[int, Plan]]:
    """(post id, plan) of the persona's posts since `since` that count against a new angle, newest first:
    live ones and rejected ones (a reviewer turned that angle down: it must not come straight back)."""
    rows = session.execute(
        select(PostRow.id, PostRow.plan)
        .where(PostRow.persona == persona, PostRow.created_at >= since, PostRow.status != PostStatus.failed)
        .order_by(PostRow.id.desc())
    ).all()
    return [(post_id, Plan.model_validate(plan)) for post_id, plan in rows]


def recent_drafts(
    session: Session, *, persona: str, since: datetime, besides_batch: int, limit: int = 200
) -> list[Draft]:
    """Drafts of the persona's posts created since `since` outside batch `besides_batch`, newest first, leaving out
    the posts that will never go out (rejected, failed): what readers see or will see."""
    query = (
        select(PostRow.draft)
        .where(
            PostRow.persona == persona,
            PostRow.created_at >= since,
            PostRow.batch_id != besides_batch,
            PostRow.status.not_in([PostStatus.rejected, PostStatus.failed]),
        )
        .order_by(PostRow.id.desc())
        .limit(limit)
    )
    return [_draft_adapter.validate_python(data) for data in session.scalars(query) if data]


def batch_plans(session: Session, *, batch_id: int) -> list[tuple[int, Plan]]:
    """(post id, plan) of every post of the batch, in post order."""
    rows = session.execute(select(PostRow.id, PostRow.plan).where(PostRow.batch_id == batch_id).order_by(PostRow.id))
    return [(post_id, Plan.model_validate(plan)) for post_id, plan in rows.all()]


# --- review decisions (the private evals) ----------------------------------------------------


class Decision(NamedTuple):
    """A reviewer's decision on a post, with what made it."""

    post_id: int
    persona: str
    at: datetime
    planner: str | None
    drafter: str | None
    prompt_version: str | None
    decision: str
    """approved (as is), edited (approved after edits) or rejected."""
    edit_distance: int
    reason_code: str | None
    decide_seconds: float | None
    cost_usd: Decimal


def add_decision(session: Session, **values: Any) -> None:
    """Keep a decision; `values` are Decision's fields."""
    session.add(DecisionRow(**Decision(**values)._asdict()))


def list_decisions(session: Session, *, persona: str | None = None, since: datetime | None = None) -> list[Decision]:
    query = select(DecisionRow).order_by(DecisionRow.at)
    if persona:
        query = query.where(DecisionRow.persona == persona)
    if since is not None:
        query = query.where(DecisionRow.at >= since)
    return [Decision(**{name: getattr(row, name) for name in Decision._fields}) for row in session.scalars(query)]


def decided_cost(session: Session, *, post_id: int) -> Decimal:
    """What the post's earlier decisions already accounted for, so each decision carries only its draft's cost."""
    return session.scalar(select(func.sum(DecisionRow.cost_usd)).where(DecisionRow.post_id == post_id)) or Decimal(0)


def edit_distance_of(session: Session, *, post_id: int) -> int:
    return session.scalar(select(PostRow.edit_distance).where(PostRow.id == post_id)) or 0


def add_edit_distance(session: Session, *, post_id: int, words: int) -> None:
    """Count a reviewer's edit of the current draft."""
    total = func.coalesce(PostRow.edit_distance, 0) + words
    session.execute(update(PostRow).where(PostRow.id == post_id).values(edit_distance=total))


def reset_edit_distance(session: Session, *, post_id: int) -> None:
    """A new draft: nobody has edited it yet."""
    session.execute(update(PostRow).where(PostRow.id == post_id).values(edit_distance=None))


# --- rows to models --------------------------------------------------------------------------


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _source(row: SourceRow) -> Source:
    return Source(
        id=row.key,
        title=row.title,
        kind=row.kind,  # type: ignore[arg-type]
        published=row.published,
        url=row.url,
        origin=row.origin or None,
        beats=tuple(row.beats),
        author=row.author,
        beat_score=row.beat_score,
        text=row.text,
    )


def _step(row: StepRow, artifact: Artifact | None) -> PipelineStep:
    return PipelineStep(
        id=row.id,
        name=row.name,
        status=StepStatus(row.status),
        provider=row.provider,
        model=row.model,
        artifact=artifact,
        cost_usd=row.cost_usd,
        latency_s=row.latency_s,
        started_at=row.started_at,
        finished_at=row.finished_at,
        error=row.error,
        worker=row.worker,
        detail=row.detail,
        request_id=row.request_id,
        attempts=row.attempts or 0,
        retry_at=row.retry_at,
    )


def _artifact(source: ArtifactRow | None) -> Artifact | None:
    if source is None:
        return None
    return Artifact(**{name: getattr(source, name) for name in Artifact.model_fields})


def _event(e: EventRow) -> PostEvent:
    return PostEvent(at=e.at, actor=e.actor, action=e.action, to_status=PostStatus(e.to_status), note=e.note,
                     from_status=PostStatus(e.from_status) if e.from_status else None)  # fmt: skip


def _publication(p: PublicationRow) -> Publication:
    return Publication(channel=p.channel, remote_id=p.remote_id, url=p.url, published_at=p.published_at)


def _post(row: PostRow, *, with_history: bool = True) -> Post:
    return _post_of(
        row,
        message=row.batch.spec.get("message"),
        steps=[_step(step, _artifact(step.artifact)) for step in row.steps],
        events=[_event(e) for e in row.events] if with_history else [],
        publications=[_publication(p) for p in row.publications] if with_history else [],
    )


def _post_of(
    row: PostRow,
    *,
    message: str | None,
    steps: list[PipelineStep],
    events: list[PostEvent],
    publications: list[Publication],
) -> Post:
    """A post from its row and what belongs to it."""
    versions = row.channel_versions
    return Post(
        id=row.id,
        batch_id=row.batch_id,
        persona=row.persona,
        content_format=ContentFormat(row.content_format),
        status=PostStatus(row.status),
        status_changed_at=row.status_changed_at,
        message=message,
        plan=Plan.model_validate(row.plan),
        draft=_draft_adapter.validate_python(row.draft) if row.draft else None,
        checks=[Check.model_validate(c) for c in row.checks or []],
        draft_history=row.draft_history or [],
        steps=steps,
        events=events,
        publications=publications,
        channel_versions={v.channel: ChannelVersion(text=v.text, first_comment=v.first_comment) for v in versions},
        slot_at=row.slot_at,
        reason=row.reason,
        reason_code=row.reason_code,
        created_at=row.created_at,
    )
