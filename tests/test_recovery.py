"""The reconciler and the runner's takeovers, on SQLite and PostgreSQL, with the clock moved by hand."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from beatdesk.audit import audit
from beatdesk.errors import OutcomeUnknownError, RefusedError, TransientError
from beatdesk.home import init_home
from beatdesk.models import BatchSpec, BatchStatus, ContentFormat, Persona, Post, PostStatus, StepStatus
from beatdesk.recovery import Limits, reconcile
from beatdesk.runner import Call, Next, Outcome, Runner
from beatdesk.settings import get_settings
from beatdesk.store import Store, forget_stores, open_store, repo
from beatdesk.store import steps as step_rows
from beatdesk.store.schema import PostRow, utcnow
from tests.runner_kit import IMAGE, PaidImage, rendering_posts, runner_for

LIMITS = Limits(stale_after_s=30, idle_after_s=60, give_up_after_s=900)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, home: Path) -> Iterator[Store]:
    init_home(home)
    url = f"sqlite:///{home / 'beatdesk.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    yield open_store(url)
    forget_stores()


def left_running(
    store: Store, post_id: int, *, ago_s: float, request_id: str | None = None, marked: bool = False
) -> None:
    """As a worker that died `ago_s` seconds into the post's image step leaves it."""
    then = utcnow() - timedelta(seconds=ago_s)
    with store.session() as session:
        row = step_rows.open_step_named(session, post_id=post_id, name="hero_image")
        assert row is not None
        step_rows.claim(row, worker="gone:1", provider="fal", model="fal-ai/flux-pro/v1.1-ultra", now=then)
        row.reserved_usd, row.request_id = IMAGE, request_id  # its reservation, held while it runs
        row.submit_started_at = then if marked or request_id else None
        post = session.get(PostRow, post_id)
        assert post is not None
        post.touched_at = then


def hand_ons(store: Store, now_offset_s: float = 0) -> tuple[list[int], list[int], object]:
    posts: list[int] = []
    batches: list[int] = []
    done = reconcile(runner_for(store, get_settings().home, PaidImage()), hand_on_post=posts.append, hand_on_batch=batches.append, limits=LIMITS,
                     now=utcnow() + timedelta(seconds=now_offset_s))  # fmt: skip
    return posts, batches, done


def test_a_step_whose_worker_stopped_beating_is_taken_over_and_resumed_without_paying_again(
    store: Store, home: Path
) -> None:
    ((_, post_id),) = rendering_posts(store, batches=1, per_batch=1)
    left_running(store, post_id, ago_s=45, request_id="req-1")
    posts, _, _ = hand_ons(store)
    assert posts == [post_id]
    assert hand_ons(store)[0] == []  # handed on once per stale period, not on every pass
    image = PaidImage()
    assert runner_for(store, home, image).advance(post_id) is Next.settled
    with store.session() as session:
        post = repo.get_post(session, post_id)
    step = post.steps[-1]
    assert image.submits == 0 and step.request_id == "req-1"  # resumed the stored request
    assert (post.status, step.status, step.cost_usd, step.attempts) == (PostStatus.in_review, StepStatus.done, IMAGE, 2)


def test_a_step_handed_to_a_retry_is_taken_up_by_the_retry_at_once_and_resumed(store: Store, home: Path) -> None:
    """A transient error raised for the task's retry releases the step: the retry, seconds later, takes it
    over (no waiting for its beat to go stale and the reconciler to hand it on) and resumes its request."""
    ((_, post_id),) = rendering_posts(store, batches=1, per_batch=1)
    flaky = PaidImage(fail=TransientError("fal answered 503"))
    with pytest.raises(TransientError):
        runner_for(store, home, flaky).advance(post_id)
    flaky.fail = None
    assert runner_for(store, home, flaky).advance(post_id) is Next.settled
    with store.session() as session:
        post = repo.get_post(session, post_id)
    step = post.steps[-1]
    assert flaky.submits == 1 and step.request_id == "req-1-1"  # paid once: the retry resumed the request
    assert (post.status, step.status, step.cost_usd, step.attempts) == (PostStatus.in_review, StepStatus.done, IMAGE, 2)


def test_a_live_step_is_left_alone(store: Store, home: Path) -> None:
    ((_, post_id),) = rendering_posts(store, batches=1, per_batch=1)
    left_running(store, post_id, ago_s=5, request_id="req-1")
    assert hand_ons(store)[0] == []
    assert runner_for(store, home, PaidImage()).advance(post_id) is Next.busy


def test_a_worker_that_died_inside_the_submit_is_never_resent(store: Store, home: Path) -> None:
    ((_, post_id),) = rendering_posts(store, batches=1, per_batch=1)
    left_running(store, post_id, ago_s=45, marked=True)
    image = PaidImage()
    assert runner_for(store, home, image).advance(post_id) is Next.settled
    with store.session() as session:
        post = repo.get_post(session, post_id)
        report = audit(session)
    assert image.submits == 0 and post.status is PostStatus.failed
    assert "outcome unknown" in (post.reason or "") and "rerender" in (post.reason or "")
    assert post.steps[-1].cost_usd == IMAGE and post.total_cost_usd == IMAGE  # the estimate stays on the books
    assert report.ok, report.findings


def test_a_post_nobody_moves_is_handed_on_then_given_up(store: Store) -> None:
    ((batch_id, post_id),) = rendering_posts(store, batches=1, per_batch=1)  # its task lost with the broker's queue
    assert hand_ons(store)[0] == []
    assert hand_ons(store, now_offset_s=61)[0] == [post_id]
    _, _, done = hand_ons(store, now_offset_s=901)
    assert done.failed_posts == [post_id]  # type: ignore[attr-defined]
    with store.session() as session:
        post = repo.get_post(session, post_id)
        batch = repo.get_batch(session, batch_id)
    assert post.status is PostStatus.failed and "no live worker on it" in (post.reason or "")
    assert batch.status is BatchStatus.done


def test_a_charged_step_abandoned_for_good_keeps_its_charge(store: Store) -> None:
    ((_, post_id),) = rendering_posts(store, batches=1, per_batch=1)
    left_running(store, post_id, ago_s=1000, request_id="req-9")
    assert hand_ons(store)[0] == [post_id]  # a worker's chance to resume it first
    _, _, done = hand_ons(store, now_offset_s=31)  # nobody took it
    assert done.failed_posts == [post_id]  # type: ignore[attr-defined]
    with store.session() as session:
        step = repo.get_post(session, post_id).steps[-1]
        assert audit(session).ok
    assert step.status is StepStatus.failed and step.cost_usd == IMAGE


def test_a_batch_left_planning_is_planned_again_and_a_lost_one_dispatched(store: Store) -> None:
    with store.session() as session:
        waiting = repo.create_batch(session, spec=BatchSpec(persona="ash", counts={ContentFormat.hero_text: 1}))
    assert hand_ons(store)[1] == []
    assert hand_ons(store, now_offset_s=61)[1] == [waiting]


def test_refusals_after_the_request_keep_the_price(store: Store, home: Path) -> None:
    ((_, post_id),) = rendering_posts(store, batches=1, per_batch=1)
    image = PaidImage(fail=OutcomeUnknownError("outcome unknown: answered 503"))
    assert runner_for(store, home, image).advance(post_id) is Next.settled
    with store.session() as session:
        post = repo.get_post(session, post_id)
    assert post.status is PostStatus.failed and post.steps[-1].cost_usd == IMAGE
    assert post.total_cost_usd == Decimal("0.06")


def test_a_step_taken_over_keeps_one_reservation_not_two(store: Store, home: Path) -> None:
    """The takeover reserves nothing more: a refusal after it charges the one estimate the request holds."""
    ((_, post_id),) = rendering_posts(store, batches=1, per_batch=1)
    left_running(store, post_id, ago_s=45, request_id="req-1")
    image = PaidImage(fail=RefusedError("flagged as NSFW"))
    assert runner_for(store, home, image).advance(post_id) is Next.settled
    with store.session() as session:
        post = repo.get_post(session, post_id)
    assert post.steps[-1].cost_usd == IMAGE and "charged 0.06 USD" in (post.steps[-1].error or "")


def test_through_takes_each_next_step_up_in_the_transaction_that_ends_the_one_before(store: Store, home: Path) -> None:
    """A video post's cover and video in one call: the video step is claimed (running, this worker) before
    the call that ended the cover returns; without `through` the caller gets `again` and the step waits."""
    (_, through), (_, stepwise) = rendering_posts(store, batches=1, per_batch=2, steps=("cover_image", "video"))
    image = PaidImage()
    seen: list[tuple[str, str]] = []
    original = image.run

    def run(post, persona, call):  # type: ignore[no-untyped-def]
        with store.session() as session:
            steps = repo.get_post(session, post.id).steps
        seen.extend((s.name, s.status.value) for s in steps if s.status is StepStatus.running)
        return original(post, persona, call)

    image.run = run  # type: ignore[method-assign]
    runner = runner_for(store, home, image)
    assert runner.advance(through, through_until=time.monotonic() + 60) is Next.settled
    assert seen == [("cover_image", "running"), ("video", "running")]
    assert runner.advance(stepwise) is Next.again
    with store.session() as session:
        post = repo.get_post(session, stepwise)
        assert [(s.name, s.status) for s in post.steps] == [
            ("cover_image", StepStatus.done),
            ("video", StepStatus.queued),
        ]
        assert post.status is PostStatus.rendering
    assert runner.advance(stepwise) is Next.settled
    with store.session() as session:
        for post_id in (through, stepwise):
            post = repo.get_post(session, post_id)
            assert post.status is PostStatus.in_review
            assert [s.status for s in post.steps] == [StepStatus.done, StepStatus.done]
            assert sum((s.cost_usd for s in post.steps), Decimal(0)) == 2 * IMAGE
        assert repo.batch_progress(session, batch_id=post.batch_id)[:2] == (BatchStatus.done, 2)
        assert audit(session).ok
    assert image.submits == 4


def test_a_post_taken_through_stops_taking_steps_up_once_its_time_has_come(store: Store, home: Path) -> None:
    """Past `through_until` the finishing transaction hands on (`again`) instead of taking the next step up:
    a worker's task time limit covers a step, never a whole post of slow renders."""
    ((_, post_id),) = rendering_posts(store, batches=1, per_batch=1, steps=("cover_image", "video"))
    runner = runner_for(store, home, PaidImage())
    assert runner.advance(post_id, through_until=time.monotonic() - 1) is Next.again
    with store.session() as session:
        steps = repo.get_post(session, post_id).steps
    assert [(s.name, s.status) for s in steps] == [("cover_image", StepStatus.done), ("video", StepStatus.queued)]


def test_a_step_taken_over_shows_the_post_moving_so_the_reconciler_does_not_give_it_up(
    store: Store, home: Path
) -> None:
    """Taking a dead worker's step over touches the post, as any claim does: a takeover whose stage then hands
    a transient error to a retry leaves a post the reconciler hands on again, never one it fails."""
    ((_, post_id),) = rendering_posts(store, batches=1, per_batch=1)
    left_running(store, post_id, ago_s=1000, request_id="req-1")
    assert hand_ons(store)[0] == [post_id]
    with pytest.raises(TransientError):
        runner_for(store, home, PaidImage(fail=TransientError("fal answered 503"))).advance(post_id)
    with store.session() as session:
        row = session.get(PostRow, post_id)
        assert row is not None and row.touched_at is not None
        assert row.touched_at > utcnow() - timedelta(seconds=30)
    posts, _, done = hand_ons(store, now_offset_s=40)
    assert done.failed_posts == [] and posts == [post_id]  # type: ignore[attr-defined]


def test_a_step_done_stays_done_when_taking_up_the_next_one_fails(store: Store, home: Path) -> None:
    """The next step is taken up in the transaction that ends the one before; when that fails (a renderer
    that cannot be built), the finished step still ends done with its cost, once, and the next waits queued."""
    ((_, post_id),) = rendering_posts(store, batches=1, per_batch=1, steps=("cover_image", "video"))
    image = PaidImage()

    def works(step: str, persona: object, chosen: str | None, post_id: int) -> PaidImage:
        if step == "video":
            raise RuntimeError("the video renderer cannot be built")
        return image

    runner = Runner(store, home=home, works=works)  # type: ignore[arg-type]
    assert runner.advance(post_id, through_until=time.monotonic() + 60) is Next.again
    with store.session() as session:
        steps = repo.get_post(session, post_id).steps
    assert [(s.name, s.status, s.cost_usd) for s in steps] == [
        ("cover_image", StepStatus.done, IMAGE), ("video", StepStatus.queued, Decimal(0))
    ]  # fmt: skip
    assert image.submits == 1
    with pytest.raises(RuntimeError):  # its own claim meets the error again, as before
        runner.advance(post_id)
    assert image.submits == 1


class WaitsForItsBeat(PaidImage):
    """An image that takes its time: it returns once its step's beat has been renewed (or after 10 s)."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store, self.beat_renewed = store, False

    def run(self, post: Post, persona: Persona, call: Call) -> Outcome:
        with self.store.session() as session:
            claimed_at = step_rows.step(session, call.step_id).beat_at
        for _ in range(200):
            with self.store.session() as session:
                beat_at = step_rows.step(session, call.step_id).beat_at
            if beat_at is not None and claimed_at is not None and beat_at > claimed_at:
                self.beat_renewed = True
                break
            time.sleep(0.05)
        return super().run(post, persona, call)


def test_each_runner_keeps_its_steps_alive_at_its_own_interval(store: Store, home: Path) -> None:
    """A runner that goes stale quickly beats quickly, though another runner of the process, which beats
    once every ten minutes, started its steps first."""
    (_, slow_post), (_, quick_post) = rendering_posts(store, batches=1, per_batch=2)
    assert runner_for(store, home, PaidImage(), stale_after_s=3600).advance(slow_post) is Next.settled
    image = WaitsForItsBeat(store)
    assert runner_for(store, home, image, stale_after_s=0.6).advance(quick_post) is Next.settled
    assert image.beat_renewed  # a reconciler watching it found it alive all along


def test_a_batch_nobody_plans_is_given_up_by_the_runner_with_its_paid_planning_on_the_books(store: Store) -> None:
    """The planner died inside its paid call, and nobody took the planning over: the reconciler asks the runner to
    give the batch up; the planning's estimate stays on the books, and the stored totals stay equal to the steps."""
    with store.session() as session:
        batch_id = repo.create_batch(session, spec=BatchSpec(persona="ash", counts={ContentFormat.hero_text: 2}))
        row = step_rows.new_step(session, batch_id=batch_id, persona="ash", name="plan")
        then = utcnow()
        step_rows.claim(row, worker="gone:1", provider="openai", model="gpt-4.1-mini", now=then)
        row.reserved_usd, row.submit_started_at = Decimal("0.01"), then
        repo.batch_row(session, batch_id).status = BatchStatus.planning
    _, _, done = hand_ons(store, now_offset_s=1000)
    assert done.failed_batches == [batch_id]  # type: ignore[attr-defined]
    with store.session() as session:
        batch = repo.get_batch(session, batch_id)
        report = audit(session)
    (step,) = batch.steps
    assert batch.status is BatchStatus.failed and "not planned after" in (batch.error or "")
    assert (step.status, step.cost_usd) == (StepStatus.failed, Decimal("0.01"))
    assert report.ok, report.findings
