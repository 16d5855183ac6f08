"""Budgets under concurrency: workers of two batches starting paid steps at once never pass the daily budget."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from beatdesk import budget
from beatdesk.home import init_home
from beatdesk.models import BatchSpec, ContentFormat, Persona, StepStatus
from beatdesk.personas import load_persona
from beatdesk.steps import StepNotStarted, run_step
from beatdesk.store import Store, forget_stores, open_store, repo
from tests.test_store import PLAN

IMAGE = Decimal("0.06")
MODEL = "fal-ai/flux-pro/v1.1-ultra"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, home: Path) -> Iterator[Store]:
    url = f"sqlite:///{home / 'beatdesk.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    yield open_store(url)
    forget_stores()


@pytest.fixture
def persona(home: Path) -> Persona:
    init_home(home)
    ash = load_persona(home, "ash")
    return ash.model_copy(update={"budgets": ash.budgets.model_copy(update={"per_day_usd": Decimal("0.18")})})


def image_posts(store: Store, batches: int, per_batch: int) -> list[tuple[int, int]]:
    """(batch id, post id) for each new post, its hero_image step queued."""
    posts = []
    with store.session() as session:
        for _ in range(batches):
            batch_id = repo.create_batch(session, spec=BatchSpec(persona="ash", counts={ContentFormat.hero_text: 1}))
            for _ in range(per_batch):
                post_id = repo.add_planned_post(
                    session, batch_id=batch_id, persona="ash", plan=PLAN, steps=("plan", "draft", "hero_image")
                )
                posts.append((batch_id, post_id))
    return posts


def test_concurrent_reservations_of_two_batches_stay_within_the_day(store: Store, persona: Persona) -> None:
    posts = image_posts(store, batches=2, per_batch=4)
    start = threading.Barrier(len(posts))
    refusals: list[str | None] = [None] * len(posts)

    def render(i: int, batch_id: int, post_id: int) -> None:
        """As the render stage does: the step starts and reserves its estimate in one transaction."""

        def admit(session: Session, step_id: int) -> str | None:
            return budget.reserve(session, step_id=step_id, batch_id=batch_id, persona=persona, estimate=IMAGE)

        start.wait()
        try:
            with run_step(store, post_id=post_id, name="hero_image", provider="fal", model=MODEL, admit=admit) as run:
                run.cost_usd = IMAGE
        except StepNotStarted as refused:
            refusals[i] = refused.reason

    threads = [threading.Thread(target=render, args=(i, *p)) for i, p in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    granted = [r for r in refusals if r is None]
    assert len(granted) == 3, refusals  # 0.18 a day buys three images, whichever batches ask
    assert all("daily budget of ash" in r for r in refusals if r is not None)
    with store.session() as session:
        images = [repo.get_post(session, p.id).steps[-1] for p in repo.list_posts(session)]
    assert sum((s.cost_usd for s in images), Decimal(0)) == Decimal("0.18")
    assert sorted(s.status for s in images) == [StepStatus.done] * 3 + [StepStatus.skipped] * 5
    assert all(s.error and s.error.startswith("not started: daily budget") for s in images if s.cost_usd == 0)


def test_budget_sums_are_exact_decimals(store: Store, persona: Persona) -> None:
    """Three steps of 0.1 fit a day of 0.3 exactly (summed as floats they would pass it: 0.30000000000000004)."""
    tenth = persona.model_copy(update={"budgets": persona.budgets.model_copy(update={"per_day_usd": Decimal("0.3")})})
    reasons = []
    for batch_id, post_id in image_posts(store, batches=1, per_batch=4):
        with store.session() as session:
            step_id, _ = repo.start_step(session, post_id=post_id, name="hero_image", provider="fal", model=MODEL)
            reasons.append(budget.reserve(session, step_id=step_id, batch_id=batch_id, persona=tenth,
                                          estimate=Decimal("0.1")))  # fmt: skip
    assert reasons[:3] == [None, None, None]
    assert reasons[3] == "daily budget of ash: 0.4 USD with this step is over 0.3 USD"


def test_the_day_counts_the_personas_steps_started_since_its_midnight(store: Store, persona: Persona) -> None:
    """Yesterday's images and another persona's do not count against today's budget of ash."""
    (batch_id, yesterday), (_, today), (_, later) = image_posts(store, batches=1, per_batch=3)
    with store.session() as session:
        other = repo.add_planned_post(session, batch_id=batch_id, persona="bee", plan=PLAN, steps=("hero_image",))
        for post_id in (yesterday, other):
            step_id, _ = repo.start_step(session, post_id=post_id, name="hero_image", provider="fal", model=MODEL)
            repo.update_step(session, step_id=step_id, cost_usd=Decimal("0.18"))
            if post_id == yesterday:  # a minute before midnight where ash lives
                midnight = datetime.combine(
                    datetime.now(ZoneInfo(persona.timezone)).date(), time(), ZoneInfo(persona.timezone)
                )
                repo.update_step(session, step_id=step_id, started_at=midnight - timedelta(minutes=1))
    no_batch_cap = persona.model_copy(update={"budgets": persona.budgets.model_copy(update={"per_batch_usd": 10})})
    reasons = []
    for post_id in (today, later):
        with store.session() as session:
            step_id, _ = repo.start_step(session, post_id=post_id, name="hero_image", provider="fal", model=MODEL)
            reasons.append(budget.reserve(session, step_id=step_id, batch_id=batch_id, persona=no_batch_cap,
                                          estimate=Decimal("0.18")))  # fmt: skip
    assert reasons == [None, "daily budget of ash: 0.36 USD with this step is over 0.18 USD"]
