"""Budgets under concurrency: workers of two batches starting paid steps at once never pass the daily budget."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from beatdesk.home import init_home
from beatdesk.models import PostStatus, StepStatus
from beatdesk.runner import Next
from beatdesk.store import Store, forget_stores, open_store, repo
from beatdesk.store import steps as step_rows
from tests.runner_kit import PaidImage, in_threads, rendering_posts, runner_for, set_budgets


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, home: Path) -> Iterator[Store]:
    init_home(home)
    url = f"sqlite:///{home / 'beatdesk.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    yield open_store(url)
    forget_stores()


def test_concurrent_reservations_of_two_batches_stay_within_the_day(store: Store, home: Path) -> None:
    set_budgets(home, per_day="0.18")
    posts = rendering_posts(store, batches=2, per_batch=4)
    image = PaidImage()
    runner = runner_for(store, home, image)
    results = in_threads([lambda post_id=post_id: runner.advance(post_id) for _, post_id in posts])
    assert results == [Next.settled] * len(posts)
    with store.session() as session:
        steps = [repo.get_post(session, post_id).steps[-1] for _, post_id in posts]
        flagged = [repo.get_post(session, post_id).checks for _, post_id in posts]
    assert image.submits == 3  # 0.18 a day buys three images, whichever batches ask
    assert sum((s.cost_usd for s in steps), Decimal(0)) == Decimal("0.18")
    assert sorted(s.status for s in steps) == [StepStatus.done] * 3 + [StepStatus.skipped] * 5
    assert all(s.error and s.error.startswith("not started: daily budget of ash") for s in steps if not s.cost_usd)
    assert sum(1 for checks in flagged if any(c.name == "budget" and c.level == "fail" for c in checks)) == 5


def test_budget_sums_are_exact_decimals(store: Store, home: Path) -> None:
    """Three steps of 0.1 fit a day of 0.3 exactly (summed as floats they would pass it: 0.30000000000000004)."""
    set_budgets(home, per_day="0.3")
    image = PaidImage(price=Decimal("0.1"))
    runner = runner_for(store, home, image)
    for _, post_id in rendering_posts(store, batches=1, per_batch=4):
        runner.advance(post_id)
    assert image.submits == 3
    with store.session() as session:
        last = repo.list_posts(session)[0]
    assert last.steps[-1].error == "not started: daily budget of ash: 0.4 USD with this step is over 0.3 USD"


def test_a_batch_cap_and_a_zero_budget_skip_paid_steps_with_the_reason(store: Store, home: Path) -> None:
    set_budgets(home, per_batch="0")
    runner = runner_for(store, home, PaidImage())
    ((_, post_id),) = rendering_posts(store, batches=1, per_batch=1)
    assert runner.advance(post_id) is Next.settled
    with store.session() as session:
        post = repo.get_post(session, post_id)
    assert post.status is PostStatus.in_review and post.total_cost_usd == 0
    assert post.steps[-1].error == "not started: batch budget: 0.06 USD with this step is over 0 USD"


def test_the_day_counts_the_personas_steps_started_since_its_midnight(store: Store, home: Path) -> None:
    """Yesterday's images and another persona's do not count against today's budget of ash."""
    set_budgets(home, per_batch="10", per_day="0.18")
    (batch_id, yesterday), (_, today), (_, later) = rendering_posts(store, batches=3, per_batch=1)
    zone = ZoneInfo("Europe/Berlin")
    with store.session() as session:
        other = step_rows.new_step(session, batch_id=batch_id, persona="bee", name="hero_image")
        old = step_rows.open_step_named(session, post_id=yesterday, name="hero_image")
        assert old is not None
        midnight = datetime.combine(datetime.now(zone).date(), time(), zone)
        for row, started in ((other, datetime.now(zone)), (old, midnight - timedelta(minutes=1))):  # booked as run
            step_rows.claim(row, worker="w:1", provider="fal", model="m", now=started, zone="Europe/Berlin")
            step_rows.end(session, row, status=StepStatus.done, cost_usd=Decimal("0.18"))
    runner = runner_for(store, home, PaidImage(price=Decimal("0.18")))
    runner.advance(today)
    runner.advance(later)
    with store.session() as session:
        steps = [repo.get_post(session, post_id).steps[-1] for post_id in (today, later)]
    assert [s.status for s in steps] == [StepStatus.done, StepStatus.skipped]
    assert steps[1].error == "not started: daily budget of ash: 0.36 USD with this step is over 0.18 USD"
