"""Driving the runner in tests: stage fakes that implement the real interface, and posts ready for a step."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from beatdesk.models import BatchSpec, BatchStatus, ContentFormat, Persona, Post, PostStatus
from beatdesk.runner import Call, Next, Outcome, Runner, StepWork
from beatdesk.store import Store, repo
from drafter.base import Drafter
from drafter.stage import DraftWork
from planner.base import Planner
from planner.stage import BatchPlanning
from tests.test_store import PLAN

IMAGE = Decimal("0.06")
MODEL = "fal-ai/flux-pro/v1.1-ultra"


class PaidImage:
    """A paid image stage: marks its submit, stores a request id, and charges the price; counts its submits."""

    provider, model = "fal", MODEL

    def __init__(self, *, price: Decimal = IMAGE, fail: Exception | None = None) -> None:
        self.price, self.fail = price, fail
        self.submits = 0
        self.lock = threading.Lock()

    def estimate(self, post: Post, persona: Persona) -> Decimal:
        return self.price

    def run(self, post: Post, persona: Persona, call: Call) -> Outcome:
        if call.request_id is None:
            with call.submitting(), self.lock:
                self.submits += 1
                request_id = f"req-{post.id}-{self.submits}"
            call.remember_request(request_id)
        if self.fail is not None:
            raise self.fail
        return Outcome(cost_usd=self.price, detail=f"request {call.request_id}")


def runner_for(store: Store, home: Path, work: StepWork, *, stale_after_s: float = 30) -> Runner:
    def works(step: str, persona: Persona, chosen: str | None, post_id: int) -> StepWork:
        return work

    return Runner(store, home=home, works=works, stale_after_s=stale_after_s)


def set_budgets(home: Path, *, per_batch: str | None = None, per_day: str | None = None) -> None:
    path = home / "personas" / "ash.toml"
    text = path.read_text()
    if per_batch is not None:
        text = re.sub(r'per_batch_usd = "[^"]*"', f'per_batch_usd = "{per_batch}"', text)
    if per_day is not None:
        text = re.sub(r'per_day_usd = "[^"]*"', f'per_day_usd = "{per_day}"', text)
    path.write_text(text)


def rendering_posts(
    store: Store, *, batches: int, per_batch: int, steps: tuple[str, ...] = ("hero_image",)
) -> list[tuple[int, int]]:
    """(batch id, post id) of new posts in `rendering`, their `steps` queued, in running batches."""
    posts = []
    with store.session() as session:
        for _ in range(batches):
            batch_id = repo.create_batch(
                session, spec=BatchSpec(persona="ash", counts={ContentFormat.hero_text: per_batch})
            )
            repo.batch_row(session, batch_id).status = BatchStatus.running
            for _ in range(per_batch):
                post_id = repo.add_planned_post(session, batch_id=batch_id, persona="ash", plan=PLAN, steps=steps)
                for status, action in ((PostStatus.drafting, "draft"), (PostStatus.rendering, "drafted")):
                    repo.transition(session, post_id=post_id, to=status, actor="test", action=action)
                posts.append((batch_id, post_id))
    return posts


def in_threads(calls: list[Callable[[], object]]) -> list[object]:
    """Run the calls at once (a barrier releases them together); their results in order."""
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        start.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def plan_with(store: Store, home: Path, batch_id: int, planner: Planner) -> list[int]:
    """Plan the batch through the runner with `planner`, as a worker would; its post ids."""
    planning = BatchPlanning(store, planner, home=home)
    return Runner(store, home=home, works=_no_works, planning=planning).advance_batch(batch_id)


def draft_with(store: Store, home: Path, post_id: int, drafter: Drafter) -> Next:
    """Run the post's draft step through the runner with `drafter`."""
    drafting = DraftWork(store, drafter)
    return Runner(store, home=home, works=lambda step, persona, chosen, post_id: drafting).advance(post_id)


def _no_works(step: str, persona: Persona, chosen: str | None, post_id: int) -> StepWork:
    raise AssertionError(f"no work expected for {step}")
