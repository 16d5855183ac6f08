"""Scheduled batches: which of a persona's batch schedules are due, each named by its due time.

A schedule is due at each moment its cron line gives, in the persona's time zone. A scheduler that
was down catches up on a due time within the grace window (one batch, the latest), never older ones.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import takewhile

from beatdesk.errors import BeatdeskError
from beatdesk.models import BatchSpec, ContentFormat, Persona
from beatdesk.personas import known_personas, load_persona
from beatdesk.settings import Settings
from beatdesk.slots import moments, zone_of
from beatdesk.store import Store, repo

log = logging.getLogger(__name__)

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


def start_due_batches(
    settings: Settings, store: Store, *, now: datetime, dispatch: Callable[[int], object]
) -> list[int]:
    """Make and dispatch every scheduled batch that is due; one per due time, however many schedulers ask."""
    started = []
    for key in known_personas(settings.home):
        try:
            persona = load_persona(settings.home, key)
        except BeatdeskError as err:  # one broken persona file must not stop the others' batches
            log.warning("no scheduled batches for %s: %s", key, err)
            continue
        for due in due_batches(persona, now=now):
            with store.session() as session:
                batch_id = repo.create_scheduled_batch(session, spec=due.spec, schedule_key=due.key)
            if batch_id is not None:
                dispatch(batch_id)
                started.append(batch_id)
    return started
