"""The Celery tasks: each takes plain ids and makes one call into the runner (or the reconciler).

Tasks are idempotent: a redelivered or duplicated one finds its step done, resumes it, or sees a
live worker on it and returns. A database or broker that is away is retried with backoff, never
acknowledged away; a provider's transient error is retried the same way, and the runner ends the
step (with what it cost) on the last try.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import kombu.exceptions
import redis.exceptions
from celery import Task
from celery.signals import worker_ready
from sqlalchemy.exc import DBAPIError

from beatdesk import retries
from beatdesk.disk import DiskFullError
from beatdesk.errors import TransientError
from beatdesk.outage import Outage
from beatdesk.recovery import reconcile
from beatdesk.runner import Next, one_line
from beatdesk.schedules import start_due_batches
from beatdesk.settings import get_settings
from publishers.due import publish_due
from publishers.metrics.collect import collect_due
from workers.app import LONGEST_TASK_S, app
from workers.pipeline import limits, runner, store_of

log = logging.getLogger(__name__)
BROKER_AWAY = (redis.exceptions.ConnectionError, kombu.exceptions.OperationalError)
AWAY = (DBAPIError, *BROKER_AWAY, DiskFullError)
"""The store or the broker is away, or the disk is full: try again later (the step was left for a taker)."""
RETRIES = retries.STEP.attempts - 1
"""A step's transient errors that no boundary's policy retried: tries before the step ends failed."""
IN_PROCESS_THREADS_PER_CORE = 2
"""Posts run side by side in-process: enough to keep every core's card process busy."""
METRICS_EVERY_S = 600.0
"""How often the scheduler looks for publications whose engagement is due (milestones are hours apart)."""


@app.task(name="beatdesk.advance_batch", bind=True, autoretry_for=AWAY, **retries.BROKER.celery_options())
def advance_batch_task(self: Task, batch_id: int) -> None:
    """Plan the batch (once) and hand each of its posts on."""
    hand_on(runner().advance_batch(batch_id), in_process=self.request.is_eager)


def hand_on(post_ids: list[int], *, in_process: bool) -> None:
    """One task per post. In-process (no broker) they run side by side on a few threads, so that one post's
    card, drawn in another process, overlaps the next one's draft; the first error is raised once all ended."""
    if not in_process:
        for post_id in post_ids:
            advance_task.delay(post_id)
        return
    threads = get_settings().in_process_threads or IN_PROCESS_THREADS_PER_CORE * len(os.sched_getaffinity(0))
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="beatdesk-post") as pool:
        running = [pool.submit(advance_task.delay, post_id) for post_id in post_ids]
    for done in running:
        done.result()


@app.task(name="beatdesk.advance", bind=True, autoretry_for=(*AWAY, TransientError), **retries.STEP.celery_options())
def advance_task(self: Task, post_id: int) -> None:
    """Run the post's steps, one after another, until it waits for a person, ends, or another worker has it.
    A post's steps run one after another anyway: the next one runs right here, taken up in the transaction
    that ends the one before, without a trip through the broker. A retry (a transient or store error) runs
    this task again later, from whichever step is open."""
    # Retries are each step's own: a task that used some runs one step and hands the next to a fresh task, as
    # does one that has run for half the task time limit (which must cover a step, not a whole post).
    until = time.monotonic() + LONGEST_TASK_S / 2 if not self.request.retries else None
    step = runner().advance(post_id, wait_in_place=self.request.is_eager, last_try=self.request.retries >= RETRIES,
                            through_until=until)  # fmt: skip
    if step is Next.again:
        advance_task.delay(post_id)


@app.task(name="beatdesk.reconcile")
def reconcile_task() -> int:
    """Hand on whatever stopped moving (see `beatdesk.recovery`); every few seconds on the beat schedule."""
    settings = get_settings()
    done = reconcile(runner(), hand_on_post=advance_task.delay, hand_on_batch=advance_batch_task.delay,
                     limits=limits(settings))  # fmt: skip
    return len(done.posts) + len(done.batches)


@worker_ready.connect
def _reconcile_while_working(**_: object) -> None:
    """Every worker also reconciles every few seconds, so recovery needs no scheduler running."""
    threading.Thread(target=_reconcile_forever, name="beatdesk-reconciler", daemon=True).start()


def _reconcile_forever() -> None:
    # One line per outage, not one per pass. A pass with nothing to hand on never touches the broker, so only
    # one that handed something on says the broker is back.
    store_away, broker_away = Outage("reconciler: store", log.warning), Outage("reconciler: broker", log.warning)
    while True:
        time.sleep(get_settings().reconcile_every_s)
        try:
            handed_on = reconcile_task()
        except BROKER_AWAY as err:  # the next pass tries again
            store_away.worked()
            broker_away.failed(err)
        except AWAY as err:
            store_away.failed(err)
        except Exception as err:
            log.warning("reconcile failed: %s", one_line(err))
        else:
            store_away.worked()
            if handed_on:
                broker_away.worked()


@app.task(name="beatdesk.ping", ignore_result=False)
def ping_task() -> str:
    """A no-op round trip: is a worker there, and what does a task cost on this broker?"""
    return "pong"


@app.task(name="beatdesk.publish_due")
def publish_due_task() -> int:
    """Publish approved posts whose slot has come (every minute on the beat schedule): their channels' steps
    queued and run by this process's runner."""
    settings = get_settings()
    sweep = publish_due(store_of(settings), home=settings.home, now=datetime.now(UTC), runner=runner())
    return len(sweep.published)


@app.task(name="beatdesk.run_schedules")
def run_schedules_task() -> int:
    """Make the personas' scheduled batches that are due (each once, whoever asks)."""
    settings = get_settings()
    return len(start_due_batches(settings, store_of(settings), now=datetime.now(UTC),
                                 dispatch=advance_batch_task.delay))  # fmt: skip


@app.task(name="beatdesk.collect_metrics")
def collect_metrics_task() -> int:
    """Read the engagement of publications that are due (its own task: never inside publishing)."""
    return collect_due(get_settings(), datetime.now(UTC)).readings


app.conf.beat_schedule = {
    "reconcile": {"task": "beatdesk.reconcile", "schedule": 10.0},
    "publish-due": {"task": "beatdesk.publish_due", "schedule": 60.0},
    "run-schedules": {"task": "beatdesk.run_schedules", "schedule": 60.0},
    "collect-metrics": {"task": "beatdesk.collect_metrics", "schedule": METRICS_EVERY_S},
}
