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

from sqlalchemy.orm import Session

from beatdesk.models import BatchSpec, Persona
from beatdesk.prices import format_usd
from beatdesk.store import repo
from beatdesk.store import statements as sql

ZERO = Decimal("0")
"""Free steps are most of a day's rows; the sums skip them."""


def reserve(session: Session, *, step_id: int, batch_id: int, persona: Persona, estimate: Decimal) -> str | None:
    """Reserve `estimate` on the step; return why not (and reserve nothing) when a budget would be passed:
    the persona's per batch or per day, or the batch's own cap (`batch run --max-cost`)."""
    if estimate <= 0:
        return None
    db = repo.connection_of(session)
    if db.dialect.name == "postgresql":
        db.execute(sql.BUDGET_LOCK, {"key": f"beatdesk-budget:{persona.key}"})
    repo.update_step(session, step_id=step_id, cost_usd=estimate)
    zone = ZoneInfo(persona.timezone)
    day_start = datetime.combine(datetime.now(zone).date(), time(), zone).astimezone(UTC)
    spent = db.execute(sql.SPENT, {"batch_id": batch_id, "persona": persona.key, "zero": ZERO, "day_start": day_start})
    batch_total, day_total, spec = spent.one()
    batch_spent, day_spent = batch_total or ZERO, day_total or ZERO
    batch_cap = BatchSpec.model_validate(spec).max_cost_usd
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
        repo.update_step(session, step_id=step_id, cost_usd=ZERO)
    return reason
