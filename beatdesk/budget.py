"""Budgets: a paid step reserves its estimate before it starts, and does not start past a limit.

The reservation is held on the step (`reserved_usd`, never its cost), written in the transaction that
starts the step, before the work; the budgets count what is spent (the stored totals) plus what running
steps hold. Reservations of one persona run one at a time (PostgreSQL: an advisory lock per persona,
held to the end of the transaction; SQLite: the step's start has already written, so the transaction
holds the database's single write lock), so two workers, in one batch or two, cannot both take the
last dollar of a batch or of the day.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from beatdesk.models import BatchSpec, Persona
from beatdesk.prices import format_usd
from beatdesk.store import books
from beatdesk.store.schema import StepRow

ZERO = Decimal("0")


def reserve(session: Session, *, step: StepRow, persona: Persona, spec: BatchSpec, estimate: Decimal) -> str | None:
    """Reserve `estimate` on the step (on top of what it already holds); return why not, reserving
    nothing, when a budget would be passed: the persona's per batch or per day, or the batch's own
    cap (`batch run --max-cost`)."""
    if estimate <= 0:
        return None
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"beatdesk-budget:{persona.key}"))))
    before = step.reserved_usd or ZERO
    step.reserved_usd = before + estimate
    session.flush()
    today = books.local_day(datetime.now(UTC), persona.timezone)
    batch_spent, day_spent = books.spent(session, batch_id=step.batch_id, persona=persona.key, day=today)
    cap = persona.budgets.per_batch_usd
    if spec.max_cost_usd is not None:
        cap = min(cap, spec.max_cost_usd)
    reason = None
    if batch_spent > cap:
        reason = f"batch budget: {format_usd(batch_spent)} USD with this step is over {format_usd(cap)} USD"
    elif day_spent > persona.budgets.per_day_usd:
        reason = (
            f"daily budget of {persona.key}: {format_usd(day_spent)} USD with this step is over "
            f"{format_usd(persona.budgets.per_day_usd)} USD"
        )
    if reason:
        step.reserved_usd = before
    return reason
