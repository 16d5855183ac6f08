"""Budgets: a paid step reserves its estimate before it starts, and does not start past a limit.

The reservation is the step's own cost, written in the transaction that starts the step, before the
work. Reservations of one persona run one at a time (PostgreSQL: an advisory lock per persona, held
to the end of the transaction; SQLite: the step's start has already written, so the transaction holds
the database's single write lock), so two workers, in one batch or two, cannot both take the last
dollar of a batch or of the day.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from beatdesk.models import Persona, StepStatus
from beatdesk.prices import format_usd
from beatdesk.store.schema import PostRow, StepRow

ZERO = Decimal("0")
"""Free steps are most of a day's rows; the sums (kept exact in Python, SQLite has no decimal) skip them."""


def reserve(
    session: Session, *, step_id: int, batch_id: int, persona: Persona, estimate: Decimal, batch_cap: Decimal | None
) -> str | None:
    """Reserve `estimate` on the step; return why not (and reserve nothing) when a budget would be passed."""
    if estimate <= 0:
        return None
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"beatdesk-budget:{persona.key}"))))
    session.execute(update(StepRow).where(StepRow.id == step_id).values(cost_usd=estimate))
    session.flush()
    batch_spent = _sum(session.scalars(
        select(StepRow.cost_usd).join(PostRow, PostRow.id == StepRow.post_id)
        .where(PostRow.batch_id == batch_id, StepRow.cost_usd != ZERO)
    ))  # fmt: skip
    day_start = datetime.combine(datetime.now(ZoneInfo(persona.timezone)).date(), time(), ZoneInfo(persona.timezone))
    # Today's steps, and reservations not started yet (this one, and other batches' in flight).
    day_spent = _sum(session.scalars(
        select(StepRow.cost_usd).join(PostRow, PostRow.id == StepRow.post_id)
        .where(PostRow.persona == persona.key, StepRow.cost_usd != ZERO, or_(
            StepRow.started_at >= day_start.astimezone(UTC),
            and_(StepRow.started_at.is_(None), StepRow.status == StepStatus.queued),
        ))
    ))  # fmt: skip
    cap = persona.budgets.per_batch_usd if batch_cap is None else min(batch_cap, persona.budgets.per_batch_usd)
    reason = None
    if batch_spent > cap:
        reason = f"batch budget: {format_usd(batch_spent)} USD with this step is over {format_usd(cap)} USD"
    elif day_spent > persona.budgets.per_day_usd:
        reason = (
            f"daily budget of {persona.key}: {format_usd(day_spent)} USD with this step is over "
            f"{format_usd(persona.budgets.per_day_usd)} USD"
        )
    if reason:
        session.execute(update(StepRow).where(StepRow.id == step_id).values(cost_usd=Decimal("0")))
    return reason


def _sum(values: object) -> Decimal:
    return sum((Decimal(v) for v in values if v is not None), Decimal("0"))  # type: ignore[attr-defined]
