"""Step rows: started, claimed, marked while a paid call is under way, ended (their cost booked in `books`).

Only the runner (`beatdesk.runner`) writes these; everything else reads steps through `repo`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from beatdesk.errors import NotFoundError
from beatdesk.models import Artifact, StepStatus
from beatdesk.store import books
from beatdesk.store.schema import ArtifactRow, StepRow, utcnow

ZERO = Decimal("0")
OPEN = (StepStatus.queued, StepStatus.running)


def new_step(
    session: Session,
    *,
    batch_id: int,
    persona: str,
    name: str,
    post_id: int | None = None,
    status: StepStatus = StepStatus.queued,
    provider: str | None = None,
    model: str | None = None,
) -> StepRow:
    """A step after the post's (or the batch's) last one."""
    owner = StepRow.post_id == post_id if post_id is not None else StepRow.batch_id == batch_id
    position = session.scalar(select(func.coalesce(func.max(StepRow.position) + 1, 0)).where(owner))
    row = StepRow(batch_id=batch_id, persona=persona, post_id=post_id, name=name, position=position,
                  status=status, provider=provider, model=model, cost_usd=ZERO)  # fmt: skip
    session.add(row)
    session.flush()
    return row


def next_open_step(session: Session, *, post_id: int) -> StepRow | None:
    """The post's first step still to do (queued) or under way (running), locked on PostgreSQL; a publish
    step waiting to be tried again (`retry_at`) only once its time has come."""
    return session.scalars(
        select(StepRow)
        .where(
            StepRow.post_id == post_id,
            StepRow.status.in_(OPEN),
            or_(StepRow.retry_at.is_(None), StepRow.retry_at <= utcnow()),
        )
        .order_by(StepRow.position)
        .limit(1)
        .with_for_update(of=StepRow)
    ).first()


def waiting_steps(session: Session, *, post_id: int) -> int:
    """How many of the post's steps wait to be tried again later (publish steps after a transient error)."""
    return (
        session.scalar(
            select(func.count()).where(
                StepRow.post_id == post_id, StepRow.status == StepStatus.queued, StepRow.retry_at > utcnow()
            )
        )
        or 0
    )


def open_step_named(session: Session, *, post_id: int, name: str) -> StepRow | None:
    """The post's step `name` still open (an earlier attempt that will be taken up again), if any."""
    return session.scalars(
        select(StepRow)
        .where(StepRow.post_id == post_id, StepRow.name == name, StepRow.status.in_(OPEN))
        .order_by(StepRow.position)
        .limit(1)
        .with_for_update(of=StepRow)
    ).first()


def open_batch_step(session: Session, *, batch_id: int, name: str) -> StepRow | None:
    return session.scalars(
        select(StepRow)
        .where(StepRow.batch_id == batch_id, StepRow.post_id.is_(None), StepRow.name == name, StepRow.status.in_(OPEN))
        .order_by(StepRow.position.desc())
        .limit(1)
        .with_for_update(of=StepRow)
    ).first()


def step(session: Session, step_id: int, *, lock: bool = False) -> StepRow:
    query = select(StepRow).where(StepRow.id == step_id).execution_options(populate_existing=True)
    row = session.scalars(query.with_for_update(of=StepRow) if lock else query).first()
    if row is None:
        raise NotFoundError(f"no step with id {step_id}")
    return row


def claim(
    row: StepRow, *, worker: str, provider: str | None, model: str | None, now: datetime, zone: str = "UTC"
) -> None:
    """The step runs now, on `worker`; a step taken over keeps its start (and day, in the persona's `zone`),
    request id, reservation and cost so far."""
    row.status = StepStatus.running
    row.worker, row.error, row.finished_at = worker, None, None
    row.provider, row.model = provider, model
    row.started_at, row.beat_at = row.started_at or now, now
    row.day = row.day or books.local_day(row.started_at, zone)
    row.attempts = (row.attempts or 0) + 1


def book_reservation(session: Session, row: StepRow) -> Decimal:
    """Book what the step holds reserved as spent (a paid call that may have been charged), and return it."""
    held = row.reserved_usd or ZERO
    if held:
        books.book(session, [books.entry_for(row, held)])
        row.cost_usd, row.reserved_usd = row.cost_usd + held, ZERO
    return held


def set_columns(session: Session, *, step_id: int, **values: object) -> None:
    """Write a step's columns by its id (a request id, a mark; its end), without reading it first."""
    if not session.execute(update(StepRow).where(StepRow.id == step_id).values(**values)).rowcount:  # type: ignore[attr-defined]
        raise NotFoundError(f"no step with id {step_id}")


def end(
    session: Session,
    row: StepRow,
    *,
    status: StepStatus,
    cost_usd: Decimal,
    latency_s: float | None = None,
    artifact: Artifact | None = None,
    error: str | None = None,
    detail: str | None = None,
) -> None:
    """End the step at `cost_usd` (its reservation released), the change of its cost booked."""
    books.book(session, [books.entry_for(row, cost_usd - (row.cost_usd or ZERO))])
    row.status, row.cost_usd, row.reserved_usd, row.finished_at = status, cost_usd, ZERO, utcnow()
    row.latency_s, row.error, row.detail = latency_s, error, detail
    if artifact is not None:
        artifact_row = ArtifactRow(post_id=row.post_id, **artifact.model_dump())
        session.add(artifact_row)
        session.flush()
        row.artifact_id = artifact_row.id


def end_done(
    session: Session,
    *,
    step_id: int,
    post_id: int,
    cost_usd: Decimal,
    latency_s: float | None,
    artifact: Artifact | None = None,
    detail: str | None = None,
) -> None:
    """End a step done by its id: its artifact inserted, then one UPDATE (which locks the row on PostgreSQL), its
    reservation released. The runner's ending transaction knows all it writes (and books the cost itself), so it
    never reads the row back."""
    values: dict[str, object] = {"status": StepStatus.done, "cost_usd": cost_usd, "reserved_usd": ZERO,
                                 "finished_at": utcnow(), "latency_s": latency_s, "error": None,
                                 "detail": detail}  # fmt: skip
    if artifact is not None:
        made = insert(ArtifactRow).values(post_id=post_id, **artifact.model_dump()).returning(ArtifactRow.id)
        values["artifact_id"] = session.scalar(made)
    set_columns(session, step_id=step_id, **values)


def skip_open(session: Session, *, post_id: int, reason: str) -> None:
    """Steps that will not run (the post failed): queued ones skipped; a running one abandoned (`abandon`)."""
    now = utcnow()
    session.execute(
        update(StepRow)
        .where(StepRow.post_id == post_id, StepRow.status == StepStatus.queued)
        .values(status=StepStatus.skipped, error=reason, finished_at=now)
    )
    running = select(StepRow).where(StepRow.post_id == post_id, StepRow.status == StepStatus.running)
    for row in session.scalars(running.with_for_update(of=StepRow)):
        abandon(session, row, reason=reason)


def abandon(session: Session, row: StepRow, *, reason: str) -> None:
    """End an open step nobody will finish, failed: its reservation booked as spent once a paid call may have
    reached the provider (a request id, or a call marked under way), else released."""
    end(session, row, status=StepStatus.failed, cost_usd=cost_if_abandoned(row), latency_s=row.latency_s,
        error=reason, detail=row.detail)  # fmt: skip


def cost_if_abandoned(row: StepRow) -> Decimal:
    """What an open step nobody will finish costs: its reservation too once a paid call may have reached the
    provider (a request id, or a call marked under way)."""
    paid_call = row.request_id is not None or row.submit_started_at is not None
    return (row.cost_usd or ZERO) + ((row.reserved_usd or ZERO) if paid_call else ZERO)


def running_beats(session: Session, *, post_ids: Sequence[int]) -> dict[int, list[datetime | None]]:
    """The last beats of each post's running steps."""
    beats: dict[int, list[datetime | None]] = {}
    rows = session.execute(
        select(StepRow.post_id, StepRow.beat_at).where(
            StepRow.post_id.in_(list(post_ids)), StepRow.status == StepStatus.running
        )
    )
    for post_id, beat_at in rows:
        if post_id is not None:
            beats.setdefault(post_id, []).append(beat_at)
    return beats
