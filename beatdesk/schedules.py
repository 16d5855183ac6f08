"""Scheduled batches: which of a persona's batch schedules are due, each named by its due time.

A schedule is due at each moment its cron line gives, in the persona's time zone. A scheduler that
was down catches up on a due time within the grace window (one batch, the latest), never older ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import takewhile

from beatdesk.models import BatchSpec, ContentFormat, Persona
from beatdesk.slots import moments, zone_of

GRACE = timedelta(minutes=30)


@dataclass(frozen=True)
class DueBatch:
    key: str
    """persona:schedule index:due time (UTC): the same for every scheduler that sees it."""
    due_at: datetime
    spec: BatchSpec


def due_batches(persona: Persona, *, now: datetime, grace: timedelta = GRACE) -> list[DueBatch]:
    due = []
    for index, schedule in enumerate(persona.schedule):
        times = list(
            takewhile(lambda at: at <= now, moments((), (schedule.cron,), zone_of(persona), after=now - grace))
        )
        if not times:
            continue
        at = times[-1]
        counts = {ContentFormat.video: schedule.video, ContentFormat.hero_text: schedule.items - schedule.video}
        spec = BatchSpec(persona=persona.key, counts=counts, message=schedule.message or None)
        due.append(DueBatch(key=f"{persona.key}:{index}:{at.isoformat()}", due_at=at, spec=spec))
    return due
