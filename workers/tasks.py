"""One task per stage. Each takes plain ids, calls one stage function, and hands on to the next."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

from celery import Task

from beatdesk.errors import BeatdeskError
from beatdesk.settings import get_settings
from beatdesk.store import Store, open_store, repo
from drafter.base import Drafter, UnavailableDrafter
from drafter.registry import drafter_for
from drafter.split import drafting_model
from drafter.stage import draft_post
from planner.registry import planner_for
from planner.stage import plan_batch
from publishers.stage import publish_due
from renderers.fal import TransientRenderError
from renderers.registry import image_renderer, video_renderer
from renderers.stage import render_post, stuck_posts
from workers.app import LONGEST_TASK_S, app

RENDER_RETRIES = 5


def _store() -> Store:
    return open_store(get_settings().effective_database_url)


@app.task(name="beatdesk.plan_batch")
def plan_batch_task(batch_id: int) -> None:
    settings = get_settings()
    post_ids = plan_batch(
        _store(),
        batch_id=batch_id,
        home=settings.home,
        planner=planner_for(settings.llm),
        freshness_days=settings.freshness_days,
        freshness_threshold=settings.freshness_threshold,
    )
    for post_id in post_ids:
        draft_post_task.delay(post_id)
    if not post_ids:
        settle(batch_id)


@app.task(name="beatdesk.draft_post")
def draft_post_task(post_id: int, note: str | None = None) -> None:
    settings = get_settings()
    try:
        drafter: Drafter = drafter_for(
            drafting_model(_store(), home=settings.home, post_id=post_id, default=settings.llm)
        )
    except BeatdeskError as err:  # a missing key or package fails this item's step, not the worker
        drafter = UnavailableDrafter(settings.llm, err)
    if draft_post(_store(), post_id=post_id, home=settings.home, drafter=drafter, note=note):
        render_post_task.delay(post_id)
    else:
        settle_post(post_id)


@app.task(name="beatdesk.render_post", bind=True, max_retries=RENDER_RETRIES)
def render_post_task(self: Task, post_id: int, image_model: str | None = None) -> None:
    settings = get_settings()
    waited_here, settled = 0, False
    while True:
        try:
            settled = render_post(
                _store(),
                post_id=post_id,
                home=settings.home,
                choose=lambda persona: (
                    image_renderer(image_model or persona.image_renderer or settings.image_renderer),
                    video_renderer(persona.video_renderer or settings.video_renderer),
                ),
            )
        except TransientRenderError as err:
            tries = self.request.retries + waited_here
            if tries >= RENDER_RETRIES:
                give_up_render(post_id, f"gave up after {tries + 1} tries: {err}")
            elif self.request.is_eager:  # in-process: no broker to hand the retry to, so wait here
                waited_here += 1
                time.sleep(backoff(tries))
                continue
            else:  # the step stays running with its request id: the retry resumes it, never pays again
                raise self.retry(exc=err, countdown=backoff(tries)) from err
        except BeatdeskError as err:  # a renderer that cannot start (no key, unknown model) fails the item
            with _store().session() as session:
                repo.fail_post(session, post_id=post_id, actor="renderer", reason=str(err))
        break
    if not settled:
        settle_post(post_id)


def give_up_render(post_id: int, reason: str) -> None:
    with _store().session() as session:
        repo.fail_running_steps(session, post_id=post_id, reason=reason)
        repo.fail_post(session, post_id=post_id, actor="renderer", reason=reason)


def backoff(retries: int) -> float:
    """Exponential backoff with full jitter, capped at a minute."""
    return random.uniform(0, min(60.0, 0.5 * 2**retries))


def settle_post(post_id: int) -> None:
    with _store().session() as session:
        repo.finish_batch_if_done(session, batch_id=repo.batch_id_of(session, post_id))


def settle(batch_id: int) -> None:
    with _store().session() as session:
        repo.finish_batch_if_done(session, batch_id=batch_id)


@app.task(name="beatdesk.sweep_stuck_steps")
def sweep_stuck_steps_task() -> int:
    return requeue_stuck_renders()


def requeue_stuck_renders() -> int:
    """Re-queue renders whose step has run past the time limit (a lost task); they resume their request."""
    post_ids = stuck_posts(_store(), older_than_s=LONGEST_TASK_S + 60)
    for post_id in post_ids:
        render_post_task.delay(post_id)
    return len(post_ids)


app.conf.beat_schedule = {
    "sweep-stuck-steps": {"task": "beatdesk.sweep_stuck_steps", "schedule": 300.0},
}


@app.task(name="beatdesk.ping", ignore_result=False)
def ping_task() -> str:
    """A no-op round trip: is a worker there, and what does a task cost on this broker?"""
    return "pong"


@app.task(name="beatdesk.publish_due")
def publish_due_task() -> int:
    """Publish approved posts whose slot has come (every minute on the beat schedule)."""
    return len(publish_due(_store(), home=get_settings().home, now=datetime.now(UTC)))


app.conf.beat_schedule["publish-due"] = {"task": "beatdesk.publish_due", "schedule": 60.0}


@app.task(name="beatdesk.run_schedules")
def run_schedules_task() -> int:
    """Make the personas' scheduled batches that are due (each once, whoever asks)."""
    from workers.graph import start_scheduled_batches  # the graph imports these tasks

    return len(start_scheduled_batches(get_settings(), now=datetime.now(UTC)))


app.conf.beat_schedule["run-schedules"] = {"task": "beatdesk.run_schedules", "schedule": 60.0}
