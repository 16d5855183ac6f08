"""Budgets: a paid step reserves its estimate before it starts, and does not start past a limit.

The reservation is the step's own cost, written before the work; the batch row is locked while
checking (PostgreSQL), and SQLite takes its write lock with the reservation, so two workers cannot
both take the last dollar.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from beatdesk.models import Persona
from beatdesk.prices import format_usd
from beatdesk.store.schema import BatchRow, PostRow, StepRow


def reserve(
    session: Session, *, step_id: int, batch_id: int, persona: Persona, estimate: Decimal, batch_cap: Decimal | None
) -> str | None:
    """Reserve `estimate` on the step; return why not (and reserve nothing) when a budget would be passed."""
    if estimate <= 0:
        return None
    session.execute(select(BatchRow.id).where(BatchRow.id == batch_id).with_for_update())
    session.execute(update(StepRow).where(StepRow.id == step_id).values(cost_usd=estimate))
    session.flush()
    batch_spent = _sum(session.scalars(
        select(StepRow.cost_usd).join(PostRow, PostRow.id == StepRow.post_id).where(PostRow.batch_id == batch_id)
    ))  # fmt: skip
    day_start = datetime.combine(datetime.now(ZoneInfo(persona.timezone)).date(), time(), ZoneInfo(persona.timezone))
    day_spent = _sum(session.scalars(
        select(StepRow.cost_usd).join(PostRow, PostRow.id == StepRow.post_id)
        .where(PostRow.persona == persona.key, StepRow.started_at >= day_start.astimezone(UTC))
    )) + (estimate if not _started(session, step_id) else Decimal("0"))  # fmt: skip
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


def _started(session: Session, step_id: int) -> bool:
    return session.scalar(select(StepRow.started_at).where(StepRow.id == step_id)) is not None


def _sum(values: object) -> Decimal:
    return sum((Decimal(v) for v in values if v is not None), Decimal("0"))  # type: ignore[attr-defined]
