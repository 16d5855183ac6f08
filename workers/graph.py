"""Running a batch: create it, hand it to the plan task (a worker, or a thread in-process), and watch the store."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from beatdesk.errors import BeatdeskError
from beatdesk.models import Batch, BatchSpec, BatchStatus
from beatdesk.personas import known_personas, load_persona
from beatdesk.review import send_back_for_redraft, send_back_for_rerender
from beatdesk.schedules import due_batches
from beatdesk.settings import Settings
from beatdesk.steps import one_line
from beatdesk.store import open_store, repo
from workers.app import check_broker, configure
from workers.tasks import draft_post_task, plan_batch_task, render_post_task, requeue_stuck_renders

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


def start_batch(settings: Settings, spec: BatchSpec) -> int:
    """Check the broker and the database, store the batch, and dispatch its plan task."""
    configure(settings)
    check_broker(settings)
    store = open_store(settings.effective_database_url)
    with store.session() as session:
        batch_id = repo.create_batch(session, spec=spec)
    dispatch_batch(settings, batch_id)
    return batch_id


def start_scheduled_batches(settings: Settings, *, now: datetime) -> list[int]:
    """Make and start every scheduled batch that is due; one per due time, however many schedulers ask."""
    configure(settings)
    store = open_store(settings.effective_database_url)
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
                dispatch_batch(settings, batch_id)
                started.append(batch_id)
    return started


def dispatch_batch(settings: Settings, batch_id: int) -> None:
    if settings.in_process:
        # Eager tasks run in the caller; a thread lets the caller watch progress meanwhile.
        threading.Thread(target=_run_in_process, args=(settings, batch_id), daemon=True).start()
    else:
        plan_batch_task.delay(batch_id)


def _run_in_process(settings: Settings, batch_id: int) -> None:
    try:
        plan_batch_task.delay(batch_id)
    except Exception as err:  # a bug, not bad input: keep the batch honest about it
        with open_store(settings.effective_database_url).session() as session:
            repo.set_batch_status(session, batch_id=batch_id, status=BatchStatus.failed, error=one_line(err))


def wait_for_batch(
    settings: Settings, batch_id: int, *, timeout_s: float, on_progress: Progress | None = None
) -> Batch:
    """Poll the store until the batch is done or failed, or the time is up; return it as it stands."""
    store = open_store(settings.effective_database_url)
    deadline = time.monotonic() + timeout_s
    interval = 0.1 if settings.in_process else 0.25
    while True:
        with store.session() as session:
            batch = repo.get_batch(session, batch_id)
            ended, total = repo.batch_progress(session, batch_id=batch_id)
        if on_progress:
            on_progress(ended, total)
        if batch.status in (BatchStatus.done, BatchStatus.failed) or time.monotonic() >= deadline:
            return batch
        time.sleep(interval)


def redraft(settings: Settings, *, post_id: int, note: str | None, actor: str) -> None:
    """Send a post back for a new draft and hand it to the draft task (a worker, or right here)."""
    configure(settings)
    check_broker(settings)
    with open_store(settings.effective_database_url).session() as session:
        send_back_for_redraft(session, post_id=post_id, actor=actor, note=note)
    draft_post_task.delay(post_id, note)


def rerender(settings: Settings, *, post_id: int, note: str | None, actor: str, image_model: str | None) -> None:
    """Send a post back for new media and hand it to the render task."""
    configure(settings)
    check_broker(settings)
    with open_store(settings.effective_database_url).session() as session:
        send_back_for_rerender(session, post_id=post_id, actor=actor, note=note)
    render_post_task.delay(post_id, image_model)


def sweep(settings: Settings) -> int:
    """Re-queue renders stuck in running; the scheduler does this every 5 minutes."""
    configure(settings)
    check_broker(settings)
    return requeue_stuck_renders()
