"""Running a batch: store it, hand it to the runner (a worker, or a thread in-process), and watch it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlalchemy.exc import DBAPIError

from beatdesk.disk import DiskFullError, disk_full, store_place
from beatdesk.errors import BeatdeskError
from beatdesk.models import Batch, BatchSpec, BatchStatus, PostStatus
from beatdesk.recovery import Recovered, reconcile
from beatdesk.review import send_back_for_redraft, send_back_for_rerender
from beatdesk.runner import one_line
from beatdesk.schedules import start_due_batches
from beatdesk.settings import Settings
from beatdesk.store import repo
from workers.app import check_broker, configure
from workers.pipeline import limits, runner, store_of
from workers.tasks import advance_batch_task, advance_task

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
ENDED = (BatchStatus.done, BatchStatus.failed)
SWEEP_IDLE_S = 5.0
"""A post or batch quiet this long is handed on by `beatdesk sweep` (workers' own passes wait `idle_after_s`)."""
PROGRESS_EVERY_S = 0.5
"""How often a waiter on an in-process batch reads its progress (it wakes at once when the batch ends)."""


def start_batch(settings: Settings, spec: BatchSpec) -> int:
    """Check the broker and the database, store the batch, and dispatch it."""
    configure(settings)
    check_broker(settings)
    with store_of(settings).session() as session:
        batch_id = repo.create_batch(session, spec=spec)
    dispatch_batch(settings, batch_id)
    return batch_id


def start_scheduled_batches(settings: Settings, *, now: datetime) -> list[int]:
    """Make and start every scheduled batch that is due; one per due time, however many schedulers ask."""
    configure(settings)
    return start_due_batches(settings, store_of(settings), now=now,
                             dispatch=lambda batch_id: dispatch_batch(settings, batch_id))  # fmt: skip


_ended_here: dict[int, threading.Event] = {}
"""In-process batches of this process, each set when its thread ends: a waiter wakes at once instead of polling."""


def dispatch_batch(settings: Settings, batch_id: int) -> None:
    if settings.in_process:
        # Eager tasks run in the caller; a thread lets the caller watch progress meanwhile.
        ended = _ended_here.setdefault(batch_id, threading.Event())
        threading.Thread(target=_run_in_process, args=(settings, batch_id, ended), daemon=True).start()
    else:
        advance_batch_task.delay(batch_id)


_stopped_here: dict[int, DiskFullError] = {}
"""In-process batches of this process that stopped on a full disk: their waiter says so, in one line."""


def _run_in_process(settings: Settings, batch_id: int, ended: threading.Event) -> None:
    try:
        advance_batch_task.delay(batch_id)
    except Exception as err:
        full = disk_full(err, database=store_place(settings.effective_database_url),
                         files=str(settings.home / "artifacts"))  # fmt: skip
        if full is not None:  # not the batch's failure: it is left as it is, and `sweep` moves it on once there is room
            _stopped_here[batch_id] = full
            return
        # A bug, not bad input: keep the batch honest about it.
        log.exception("batch %s stopped", batch_id)
        with store_of(settings).session() as session:
            row = repo.batch_row(session, batch_id)
            if row.status not in ENDED:
                row.status, row.error = BatchStatus.failed, one_line(err)
    finally:
        ended.set()
        _ended_here.pop(batch_id, None)  # a waiter holds its own reference; a later one reads the ended status


def wait_for_batch(
    settings: Settings, batch_id: int, *, timeout_s: float, on_progress: Progress | None = None
) -> Batch:
    """Poll the batch's row (its status and how many posts settled: one row, whatever its size) until it
    ends or the time is up; then load it with its posts and their steps (not their audit logs). On a broker,
    the wait also reconciles, so a batch whose workers died is recovered, or ends."""
    store = store_of(settings)
    deadline = time.monotonic() + timeout_s
    interval = 0.25
    ended_here = _ended_here.get(batch_id)  # a batch run by this process's threads says when it ends
    next_reconcile = time.monotonic() + settings.reconcile_every_s
    status: BatchStatus | None = None
    while True:
        try:
            with store.session() as session:
                status, settled, total = repo.batch_progress(session, batch_id=batch_id)
            if on_progress:
                on_progress(settled, total)
        except DBAPIError as err:  # the database is away for a while: the workers wait for it too
            log.warning("batch %s: cannot read its status (%s); trying again", batch_id, one_line(err))
        if status in ENDED or time.monotonic() >= deadline:
            break
        if ended_here is not None and ended_here.is_set() and batch_id in _stopped_here:
            raise _stopped_here.pop(batch_id)
        if not settings.in_process and time.monotonic() >= next_reconcile:
            recover(settings)
            next_reconcile = time.monotonic() + settings.reconcile_every_s
        if ended_here is not None and not ended_here.is_set():
            ended_here.wait(min(PROGRESS_EVERY_S, max(0.0, deadline - time.monotonic())))
        else:
            time.sleep(interval)
    for _ in range(30):  # the database may still be away when the time is up
        try:
            with store.session() as session:
                return repo.get_batch(session, batch_id, with_history=False)
        except DBAPIError:
            time.sleep(1)
    with store.session() as session:
        return repo.get_batch(session, batch_id, with_history=False)


def recover(settings: Settings) -> Recovered:
    """One reconciler pass: hand on what stopped moving, fail what cannot move (see `beatdesk.recovery`)."""
    configure(settings)
    try:
        return reconcile(runner(), hand_on_post=advance_task.delay, hand_on_batch=advance_batch_task.delay,
                         limits=limits(settings))  # fmt: skip
    except Exception as err:  # the broker or the database is away: the next pass tries again
        log.warning("reconcile failed: %s", one_line(err))
        return Recovered()


def redraft(settings: Settings, *, post_id: int, note: str | None, actor: str) -> None:
    """Send a post back for a new draft and hand it on (a worker, or right here)."""
    configure(settings)
    check_broker(settings)
    with store_of(settings).session() as session:
        send_back_for_redraft(session, post_id=post_id, actor=actor, note=note)
    advance_task.delay(post_id)


def rerender(settings: Settings, *, post_id: int, note: str | None, actor: str, image_model: str | None) -> None:
    """Send a post back for new media (with another image model, if given) and hand it on."""
    configure(settings)
    check_broker(settings)
    with store_of(settings).session() as session:
        send_back_for_rerender(session, post_id=post_id, actor=actor, note=note, image_model=image_model)
    advance_task.delay(post_id)


def retry_failed(settings: Settings, *, post_id: int, actor: str) -> str:
    """A failed post tried again: new media when it has a draft, else a new draft; what was done, in words."""
    with store_of(settings).session() as session:
        post = repo.get_post(session, post_id, with_history=False)
    if post.status is not PostStatus.failed:
        raise BeatdeskError(f"post {post_id} is {post.status}, not failed; nothing to retry")
    note = "retried from Needs attention"
    if post.draft is not None:
        rerender(settings, post_id=post_id, note=note, actor=actor, image_model=None)
        return f"#{post_id}: rendering its media again"
    redraft(settings, post_id=post_id, note=note, actor=actor)
    return f"#{post_id}: drafting it again"


def sweep(settings: Settings) -> int:
    """One reconciler pass by hand (`beatdesk sweep`); workers and the scheduler run it every few seconds.
    Unlike their passes, a person's hands on what has been quiet for SWEEP_IDLE_S rather than a minute (asked
    after a full disk was freed, it moves the batch on at once; a post handed on twice is harmless), and says
    what stopped it: a disk still full is one line naming it."""
    check_broker(settings)
    configure(settings)
    by_hand = replace(limits(settings), idle_after_s=min(SWEEP_IDLE_S, settings.idle_after_s))
    try:
        done = reconcile(runner(), hand_on_post=advance_task.delay, hand_on_batch=advance_batch_task.delay,
                         limits=by_hand)  # fmt: skip
    except Exception as err:
        full = disk_full(err, database=store_place(settings.effective_database_url),
                         files=str(settings.home / "artifacts"))  # fmt: skip
        if full is None:
            raise
        raise full from err
    return len(done.posts) + len(done.batches) + len(done.failed_posts) + len(done.failed_batches)
