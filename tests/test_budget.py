"""Budgets under concurrency: workers of two batches reserving at once never pass the daily budget."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from beatdesk import budget
from beatdesk.home import init_home
from beatdesk.models import BatchSpec, ContentFormat, Persona
from beatdesk.personas import load_persona
from beatdesk.store import Store, forget_stores, open_store, repo
from tests.test_store import PLAN

IMAGE = Decimal("0.06")


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


def image_steps(store: Store, batches: int, per_batch: int) -> list[tuple[int, int]]:
    """(batch id, hero_image step id) for each new post."""
    steps = []
    with store.session() as session:
        for _ in range(batches):
            batch_id = repo.create_batch(session, spec=BatchSpec(persona="ash", counts={ContentFormat.hero_text: 1}))
            for _ in range(per_batch):
                post_id = repo.add_planned_post(
                    session, batch_id=batch_id, persona="ash", plan=PLAN, steps=("plan", "draft", "hero_image")
                )
                steps.append((batch_id, repo.get_post(session, post_id).steps[-1].id))
    return steps


def test_concurrent_reservations_of_two_batches_stay_within_the_day(store: Store, persona: Persona) -> None:
    steps = image_steps(store, batches=2, per_batch=4)
    start = threading.Barrier(len(steps))
    refusals: list[str | None] = [None] * len(steps)

    def reserve(i: int, batch_id: int, step_id: int) -> None:
        start.wait()
        with store.session() as session:
            refusals[i] = budget.reserve(
                session, step_id=step_id, batch_id=batch_id, persona=persona, estimate=IMAGE, batch_cap=None
            )

    threads = [threading.Thread(target=reserve, args=(i, *s)) for i, s in enumerate(steps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    granted = [r for r in refusals if r is None]
    assert len(granted) == 3, refusals  # 0.18 a day buys three images, whichever batches ask
    assert all("daily budget of ash" in r for r in refusals if r is not None)
    with store.session() as session:
        reserved = sum((repo.get_post(session, p.id).total_cost_usd for p in repo.list_posts(session)), Decimal(0))
    assert reserved == Decimal("0.18")
