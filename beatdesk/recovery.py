"""The reconciler: the store is the source of truth, so whatever the broker lost is found and handed on.

Every few seconds (in each worker, in a waiting `batch run`, in the scheduler) it looks at the posts
and batches that are not moving:
- a step whose worker stopped beating: handed to a worker now (the step is taken over and resumed);
- a post or batch with nothing under way and no progress for `idle_after_s` (a lost task, a broker
  restarted without its queue, a hand-on that never went out): handed to a worker again;
- no progress and no live worker on it for `give_up_after_s`, though handed on: the runner is asked to give it
  up (it ends failed with the reason, the runner's one way: its steps, the books, its audit log, its batch);
- a post being published whose worker stopped beating inside a publish step: handed on, to be taken over.
Handing a post on twice is harmless: `Runner.advance` is idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from beatdesk.models import BatchStatus, PostStatus, StepStatus
from beatdesk.notify import events as notify
from beatdesk.pipeline import PLAN
from beatdesk.runner import Runner
from beatdesk.store import Store, repo
from beatdesk.store import steps as step_rows
from beatdesk.store.heartbeat import is_stale
from beatdesk.store.schema import BatchRow, PostRow, StepRow, utcnow

log = logging.getLogger(__name__)

WORKING = (PostStatus.planned, PostStatus.drafting, PostStatus.rendering)
UNPLANNED = (BatchStatus.queued, BatchStatus.planning)


@dataclass
class Recovered:
    posts: list[int] = field(default_factory=list)
    """Handed to a worker again."""
    batches: list[int] = field(default_factory=list)
    failed_posts: list[int] = field(default_factory=list)
    failed_batches: list[int] = field(default_factory=list)
    finished_batches: list[int] = field(default_factory=list)
    unattended: int = 0
    """Posts handed to a worker that none took, while no step anywhere has a live worker."""
    personas: dict[int, str] = field(default_factory=dict)
    """The persona of each running batch found finished in this pass (for its notice; a batch done because the
    runner gave its last post up is announced by the runner)."""


@dataclass(frozen=True)
class Limits:
    stale_after_s: float = 30
    idle_after_s: float = 60
    give_up_after_s: float = 900


def reconcile(
    runner: Runner,
    *,
    hand_on_post: Callable[[int], object],
    hand_on_batch: Callable[[int], object],
    limits: Limits,
    now: datetime | None = None,
) -> Recovered:
    """One pass; the hand-ons are called after the pass's transaction has committed. What cannot move is given
    up by `runner`."""
    now, store = now or utcnow(), runner.store
    done = Recovered()
    with store.session() as session:
        _posts(session, runner, limits, now, done)
        _publishing(session, limits, now, done)
        _batches(session, runner, limits, now, done)
    for post_id in done.posts:
        hand_on_post(post_id)
    for batch_id in done.batches:
        hand_on_batch(batch_id)
    if any((done.posts, done.batches, done.failed_posts, done.failed_batches)):
        log.info("reconciled: %s", done)
    _announce(store, done)
    return done


def _announce(store: Store, done: Recovered) -> None:
    for batch_id, persona in done.personas.items():
        notify.announce_batch_ready(batch_id=batch_id, persona=persona, store=store)
    if done.failed_posts or done.failed_batches:
        notify.posts_failed_by_reconciler(post_ids=done.failed_posts, batch_ids=done.failed_batches, store=store)
    if done.unattended:
        notify.no_live_worker(waiting=done.unattended, store=store)


def _posts(session: Session, runner: Runner, limits: Limits, now: datetime, done: Recovered) -> None:
    rows = session.execute(
        select(PostRow.id, PostRow.batch_id, PostRow.touched_at, PostRow.nudged_at)
        .where(PostRow.status.in_(WORKING))
    ).all()  # fmt: skip
    if not rows:
        return
    beats = step_rows.running_beats(session, post_ids=[row.id for row in rows])
    alive = {post_id for post_id, running in beats.items() if _beating(running, limits, now)}
    unattended = 0
    for post_id, batch_id, touched_at, nudged_at in rows:
        running = beats.get(post_id, [])
        if post_id in alive:
            continue  # a live worker is on it
        quiet = (now - (touched_at or now)).total_seconds()
        # Given up only once it was handed on after it last moved, and nobody took it since: a post
        # whose request may still be resumed gets a worker's chance first.
        handed_on_in_vain = (
            nudged_at is not None
            and nudged_at >= (touched_at or nudged_at)
            and (now - nudged_at).total_seconds() > limits.stale_after_s
        )
        unattended += handed_on_in_vain
        if quiet > limits.give_up_after_s and handed_on_in_vain:
            reason = (f"no progress for {quiet:.0f} s and no live worker on it (is `beatdesk worker` running?); "
                      "send it back to try again")  # fmt: skip
            if runner.give_up_post(session, post_id=post_id, reason=reason):
                done.finished_batches.append(batch_id)
            done.failed_posts.append(post_id)
            continue
        dead_worker = bool(running)  # running steps, none of their workers alive
        nudge_every = limits.stale_after_s if dead_worker else limits.idle_after_s
        if not dead_worker and quiet < limits.idle_after_s:
            continue
        if nudged_at is not None and (now - nudged_at).total_seconds() < nudge_every:
            continue
        repo.note_nudge(session, post_id=post_id, at=now)
        done.posts.append(post_id)
    if not alive:  # handed on, and no worker beats on any step of the work in flight
        done.unattended = unattended


def _beating(beats: list[datetime | None], limits: Limits, now: datetime) -> bool:
    return any(not is_stale(beat, stale_after_s=limits.stale_after_s, now=now) for beat in beats)


def _publishing(session: Session, limits: Limits, now: datetime, done: Recovered) -> None:
    """A post being published whose worker died inside a publish step: handed on, so the step is taken over
    within a minute. (A channel waiting for its next try is the publish sweep's, not a stranded post.)"""
    rows = session.execute(select(PostRow.id, PostRow.nudged_at).where(PostRow.status == PostStatus.scheduled)).all()
    if not rows:
        return
    beats = step_rows.running_beats(session, post_ids=[row.id for row in rows])
    for post_id, nudged_at in rows:
        running = beats.get(post_id, [])
        if not running or any(not is_stale(b, stale_after_s=limits.stale_after_s, now=now) for b in running):
            continue
        if nudged_at is not None and (now - nudged_at).total_seconds() < limits.stale_after_s:
            continue
        repo.note_nudge(session, post_id=post_id, at=now)
        done.posts.append(post_id)


def _batches(session: Session, runner: Runner, limits: Limits, now: datetime, done: Recovered) -> None:
    for batch in session.scalars(select(BatchRow).where(BatchRow.status.in_([*UNPLANNED, BatchStatus.running]))):
        if batch.status == BatchStatus.running:
            if repo.finish_batch_if_done(session, batch_id=batch.id):
                done.finished_batches.append(batch.id)
                done.personas[batch.id] = batch.persona
            continue
        step = session.scalars(
            select(StepRow)
            .where(StepRow.batch_id == batch.id, StepRow.post_id.is_(None), StepRow.name == PLAN)
            .order_by(StepRow.position.desc())
            .limit(1)
        ).first()
        # A planning step left running without a beat (its planner gave it up, e.g. on a full disk) is taken
        # over at once, as one whose worker died.
        running = step is not None and step.status == StepStatus.running
        beat_at = step.beat_at if step is not None and running else None
        if running and not is_stale(beat_at, stale_after_s=limits.stale_after_s, now=now):
            continue
        since = max(filter(None, (batch.created_at, step.started_at if step else None)))
        quiet = (now - since).total_seconds()
        if quiet > limits.give_up_after_s:
            reason = f"not planned after {quiet:.0f} s: no live worker took it (is `beatdesk worker` running?)"
            runner.give_up_batch(session, batch_id=batch.id, reason=reason)
            done.failed_batches.append(batch.id)
            continue
        if not running and quiet < limits.idle_after_s:
            continue
        nudge_every = limits.stale_after_s if running else limits.idle_after_s
        if batch.nudged_at is not None and (now - batch.nudged_at) < timedelta(seconds=nudge_every):
            continue
        batch.nudged_at = now
        done.batches.append(batch.id)
