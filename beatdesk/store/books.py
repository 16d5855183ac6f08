"""Stored totals: what steps cost per persona, day (in its zone) and step kind, per beat and format, and per batch.

Whatever changes a step's cost books the change here in the same transaction (the runner when a step
ends or is taken over, `steps.end`), so the persona page and the budgets read a few rows instead of
summing every step; `audit` holds the totals equal to the steps. Reservations are not costs: they stay
on the running steps (`StepRow.reserved_usd`) and the budgets add them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from beatdesk.models import Spend, SpendLine, StepStatus
from beatdesk.store.schema import BatchTotalRow, BeatTotalRow, DayTotalRow, PostRow, StepRow

ZERO = Decimal("0")


@dataclass(frozen=True)
class Entry:
    """A change of one step's cost, and where it is booked."""

    persona: str
    day: date
    kind: str
    batch_id: int
    post_id: int | None
    amount: Decimal


def local_day(at: datetime, zone: str) -> date:
    """The calendar day of `at` in `zone`: the day a step started, as its persona counts days."""
    return at.astimezone(ZoneInfo(zone)).date()


def entry_for(row: StepRow, amount: Decimal) -> Entry:
    """Where a change of `row`'s cost is booked; a step never claimed (no day yet) is booked on its UTC day."""
    if row.day is None:
        row.day = (row.started_at or datetime.now(UTC)).astimezone(UTC).date()
    return Entry(persona=row.persona, day=row.day, kind=row.name, batch_id=row.batch_id, post_id=row.post_id,
                 amount=amount)  # fmt: skip


def book(session: Session, entries: Iterable[Entry]) -> None:
    """Add the entries to the totals: summed per total first, then one upsert each, in one order (so two
    transactions on PostgreSQL lock the rows they share in the same order)."""
    days: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
    batches: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
    by_post: dict[int, Decimal] = defaultdict(Decimal)
    for entry in entries:
        if not entry.amount:
            continue
        days[(entry.persona, entry.day, entry.kind)] += entry.amount
        batches[(entry.batch_id,)] += entry.amount
        if entry.post_id is not None:
            by_post[entry.post_id] += entry.amount
    if not days:
        return
    beats: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
    owners = select(PostRow.id, PostRow.persona, PostRow.beat_key, PostRow.content_format)
    for post_id, persona, beat_key, content_format in session.execute(owners.where(PostRow.id.in_(list(by_post)))):
        beats[(persona, beat_key, content_format)] += by_post[post_id]
    _add(session, DayTotalRow.__table__, ("persona", "day", "kind"), days)  # type: ignore[arg-type]
    _add(session, BeatTotalRow.__table__, ("persona", "beat_key", "content_format"), beats)  # type: ignore[arg-type]
    _add(session, BatchTotalRow.__table__, ("batch_id",), batches)  # type: ignore[arg-type]


def _add(session: Session, table: Table, keys: tuple[str, ...], amounts: Mapping[tuple[Any, ...], Decimal]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE SET cost_usd = cost_usd + the amount, on either store."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for key in sorted(amounts):
        if not amounts[key]:
            continue
        added = dialect.insert(table).values({**dict(zip(keys, key, strict=True)), "cost_usd": amounts[key]})
        session.execute(added.on_conflict_do_update(
            index_elements=list(keys), set_={"cost_usd": table.c.cost_usd + added.excluded.cost_usd}
        ))  # fmt: skip


def spent(session: Session, *, batch_id: int, persona: str, day: date) -> tuple[Decimal, Decimal]:
    """What the batch, and the persona's `day`, are on the books for, the running steps' reservations included.

    One statement, so one snapshot on PostgreSQL: a step ending meanwhile moves its money from its reservation
    to the totals, and two statements could see it in neither."""
    running = StepRow.status == StepStatus.running  # only running steps hold a reservation (few rows, indexed)
    sums = (
        select(BatchTotalRow.cost_usd).where(BatchTotalRow.batch_id == batch_id),
        select(func.sum(StepRow.reserved_usd)).where(running, StepRow.batch_id == batch_id),
        select(func.sum(DayTotalRow.cost_usd)).where(DayTotalRow.persona == persona, DayTotalRow.day == day),
        select(func.sum(StepRow.reserved_usd)).where(running, StepRow.persona == persona, StepRow.day == day),
    )
    row = session.execute(select(*(query.scalar_subquery() for query in sums))).one()
    batch, held_by_batch, today, held_today = (value or ZERO for value in row)
    return batch + held_by_batch, today + held_today


def batch_cost(session: Session, *, batch_id: int) -> Decimal:
    return session.scalar(select(BatchTotalRow.cost_usd).where(BatchTotalRow.batch_id == batch_id)) or ZERO


def daily_costs(session: Session, *, persona: str, days: int, zone: str) -> list[tuple[date, dict[str, Decimal]]]:
    """Cost per day (in `zone`, the persona's) and step kind over the last `days` days, oldest first, all listed."""
    today = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    table: dict[date, dict[str, Decimal]] = {today - timedelta(days=n): {} for n in range(days - 1, -1, -1)}
    rows = session.execute(
        select(DayTotalRow.day, DayTotalRow.kind, DayTotalRow.cost_usd).where(
            DayTotalRow.persona == persona, DayTotalRow.day >= min(table), DayTotalRow.day <= today
        )
    )
    for on, kind, cost in rows:
        if cost:
            table[on][kind] = cost
    return list(table.items())


def persona_spend(session: Session, *, persona: str) -> Spend:
    """A persona's spend per beat and per format (its posts, counted from an index), and on planning: what
    its day totals hold beyond its posts' (the batches' own steps)."""
    counts = session.execute(
        select(PostRow.beat_key, PostRow.content_format, func.count())
        .where(PostRow.persona == persona)
        .group_by(PostRow.beat_key, PostRow.content_format)
    )
    cells: dict[tuple[str, str], list[Any]] = {(beat, fmt): [n, ZERO] for beat, fmt, n in counts}
    for beat, fmt, cost in session.execute(
        select(BeatTotalRow.beat_key, BeatTotalRow.content_format, BeatTotalRow.cost_usd).where(
            BeatTotalRow.persona == persona
        )
    ):
        cells.setdefault((beat, fmt), [0, ZERO])[1] = cost
    beats: dict[str, list[Any]] = {}
    formats: dict[str, list[Any]] = {}
    for (beat, fmt), (posts, cost) in cells.items():
        for table, key in ((beats, beat), (formats, fmt)):
            line = table.setdefault(key, [0, ZERO])
            line[0] += posts
            line[1] += cost

    def lines(table: dict[str, list[Any]]) -> list[SpendLine]:
        made = [SpendLine(key=key, posts=posts, total_usd=total) for key, (posts, total) in table.items()]
        return sorted(made, key=lambda line: (-line.total_usd, line.key))

    by_beat = lines(beats)
    in_posts = sum((line.total_usd for line in by_beat), ZERO)
    total = session.scalar(select(func.sum(DayTotalRow.cost_usd)).where(DayTotalRow.persona == persona)) or ZERO
    return Spend(by_beat=by_beat, by_format=lines(formats), planning_usd=total - in_posts, total_usd=total)


# --- the steps' own sums: what the totals must equal ------------------------------------------------


def from_steps(session: Session) -> dict[str, dict[tuple[Any, ...], Decimal]]:
    """Each kind of total, summed afresh from the steps (non-zero sums only)."""
    paid = StepRow.cost_usd != ZERO
    queries = {
        "day": select(StepRow.persona, StepRow.day, StepRow.name, func.sum(StepRow.cost_usd))
        .where(paid)
        .group_by(StepRow.persona, StepRow.day, StepRow.name),
        "beat": select(PostRow.persona, PostRow.beat_key, PostRow.content_format, func.sum(StepRow.cost_usd))
        .join(PostRow, PostRow.id == StepRow.post_id)
        .where(paid)
        .group_by(PostRow.persona, PostRow.beat_key, PostRow.content_format),
        "batch": select(StepRow.batch_id, func.sum(StepRow.cost_usd)).where(paid).group_by(StepRow.batch_id),
    }
    return {name: _sums(session, query) for name, query in queries.items()}


def stored(session: Session) -> dict[str, dict[tuple[Any, ...], Decimal]]:
    """Each kind of total as stored (non-zero ones only)."""
    queries = {
        "day": select(DayTotalRow.persona, DayTotalRow.day, DayTotalRow.kind, DayTotalRow.cost_usd),
        "beat": select(BeatTotalRow.persona, BeatTotalRow.beat_key, BeatTotalRow.content_format, BeatTotalRow.cost_usd),
        "batch": select(BatchTotalRow.batch_id, BatchTotalRow.cost_usd),
    }
    return {name: _sums(session, query) for name, query in queries.items()}


def _sums(session: Session, query: Any) -> dict[tuple[Any, ...], Decimal]:
    return {tuple(row[:-1]): row[-1] for row in session.execute(query) if row[-1]}


def recount(session: Session, *, zones: Mapping[str, str] | None = None) -> None:
    """Rebuild every total from the steps, for steps written other than through the runner (an import, a
    bench, a test): a step without a day gets its start's day in its persona's zone (`zones`, else UTC)."""
    zones = zones or {}
    undated = session.execute(
        select(StepRow.id, StepRow.persona, StepRow.started_at).where(
            StepRow.day.is_(None), StepRow.started_at.is_not(None)
        )
    ).all()
    steps: Table = StepRow.__table__  # type: ignore[assignment]
    if undated:
        session.execute(
            update(steps).where(steps.c.id == bindparam("step_id")).values(day=bindparam("on")),
            [
                {"step_id": i, "on": local_day(at, zones.get(persona, "UTC"))}
                for i, persona, at in undated
                if at is not None
            ],
        )
    sums = from_steps(session)
    tables = {"day": (DayTotalRow, ("persona", "day", "kind")),
              "beat": (BeatTotalRow, ("persona", "beat_key", "content_format")),
              "batch": (BatchTotalRow, ("batch_id",))}  # fmt: skip
    for name, (row, keys) in tables.items():
        session.execute(delete(row))
        if sums[name]:
            session.execute(insert(row), [dict(zip(keys, key, strict=True), cost_usd=cost)
                                          for key, cost in sums[name].items()])  # fmt: skip
