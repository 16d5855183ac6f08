"""Budgets: a paid step reserves its estimate before it starts, and does not start past a limit.

The reservation is held on the step (`reserved_usd`, never its cost), written in the transaction that
starts the step, before the work; the budgets count what is spent (the stored totals) plus what running
steps hold. Reservations of one persona run one at a time (PostgreSQL: an advisory lock per persona,
held to the end of the transaction; SQLite: the step's start has already written, so the transaction
holds the database's single write lock), so two workers, in one batch or two, cannot both take the
last dollar of a batch or of the day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from beatdesk.models import BatchSpec, Persona
from beatdesk.notify import events as notify
from beatdesk.prices import format_usd
from beatdesk.store import books
from beatdesk.store.schema import StepRow

ZERO = Decimal("0")
NEAR = Decimal("0.8")
"""The share of a budget at which its persona's people are told (once per batch, once per day)."""


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
    shares = (("batch", batch_spent, cap), ("day", day_spent, persona.budgets.per_day_usd))
    _tell(session, persona=persona, batch_id=step.batch_id, refused=reason, shares=shares, day=today)
    return reason


def _tell(
    session: Session,
    *,
    persona: Persona,
    batch_id: int,
    refused: str | None,
    shares: tuple[tuple[str, Decimal, Decimal], ...],
    day: date,
) -> None:
    """A budget refusing a step, or past NEAR of its limit: told once per batch or per day (after the commit)."""
    for kind, spent, limit in shares:
        whose = f"batch {batch_id} of @{persona.key}" if kind == "batch" else f"@{persona.key}'s day {day}"
        subject = f"{persona.key} batch {batch_id}" if kind == "batch" else f"{persona.key} day {day}"
        if refused and refused.startswith("batch" if kind == "batch" else "daily"):
            event, title = notify.Event.budget_exhausted, f"Budget exhausted: {whose}"
            body = f"A paid step was not started: {refused}."
        elif limit > 0 and spent >= limit * NEAR:
            event, title = notify.Event.budget_near, f"Budget at {spent / limit:.0%}: {whose}"
            body = f"{format_usd(spent)} of {format_usd(limit)} USD reserved or spent."
        else:
            continue
        notify.announce_on_commit(session, event, subject, title=title, body=body, persona=persona.key)
