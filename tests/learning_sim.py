"""A simulated audience for the planner's learning: a persona with six beats whose audience prefers two of them.

Each round is one day's batch of two items, planned by the offline planner (the catalogue through `select`);
every post it picks is "published" on Mastodon (a small audience, no saves, no reach) and X (a large one, with
reach and bookmarks), its numbers drawn with noise, and fed back as PostEngagement for the next round's plan,
scored as `beatdesk metrics` scores them. Used by tests/test_learning.py and bench/learning_curve.py.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from beatdesk.audience import beat_scores
from beatdesk.engagement import Group, PostEngagement, Reading
from beatdesk.models import BatchSpec, Beat, ContentFormat, Persona, Plan
from planner.base import PlanningContext
from planner.offline import OfflinePlanner

BEATS = ("agents", "evals", "chips", "policy", "datasets", "tooling")
PREFERRED = ("policy", "tooling")
"""The beats the simulated audience likes: their posts draw APPEAL times the engagement of the others. Not the
first in the file: ties in the rotation go to the earlier beat, and that must not pass for learning."""
APPEAL = 2.0
START = datetime(2026, 6, 1, 7, 30, tzinfo=UTC)


def sim_persona(*, learn: bool = True) -> Persona:
    """Six beats of equal weight and a one-day cooldown, with angles that never resemble each other."""
    rng = random.Random(0)
    beats = tuple(
        Beat(
            key=key,
            title=f"{key.title()} beat",
            weight=1.0,
            cooldown_days=1,
            notes=f"What matters about {key}.",
            angles=tuple(" ".join(f"{key}{rng.randrange(10**6)}" for _ in range(5)) for _ in range(4)),
        )
        for key in BEATS
    )
    return Persona(key="sim", handle="@sim", display_name="Sim", voice="plain", beats=beats,
                   learn_from_audience=learn)  # fmt: skip


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method for small means, a rounded normal for large ones: counts with honest noise."""
    if mean > 50:
        return max(0, round(rng.gauss(mean, mean**0.5)))
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def audience(post_id: int, beat_key: str, at: datetime, rng: random.Random) -> dict[str, Reading]:
    """One post's latest readings: Mastodon (300 followers, no reach or saves) and X (about 20,000 reached)."""
    appeal = (APPEAL if beat_key in PREFERRED else 1.0) * rng.lognormvariate(0, 0.35)
    reach = _poisson(rng, 20_000 * rng.lognormvariate(0, 0.3))
    mastodon: dict[Group, int | None] = {
        "reach": None, "approval": _poisson(rng, 6 * appeal), "redistribution": _poisson(rng, 1.5 * appeal),
        "conversation": _poisson(rng, 1.0 * appeal), "saves": None,
    }  # fmt: skip
    x: dict[Group, int | None] = {
        "reach": reach, "approval": _poisson(rng, reach * 0.01 * appeal),
        "redistribution": _poisson(rng, reach * 0.002 * appeal), "conversation": _poisson(rng, reach * 0.001 * appeal),
        "saves": _poisson(rng, reach * 0.001 * appeal),
    }  # fmt: skip
    later = at + timedelta(days=7)  # the reading the score waits for (scoring.MATURE_AFTER)
    return {
        "mastodon": Reading(post_id * 2, "mastodon", later, mastodon, {}),
        "x": Reading(post_id * 2 + 1, "x", later, x, {}),
    }


@dataclass
class Run:
    picks: list[Counter[str]] = field(default_factory=list)
    """Per round, how many items went to each beat."""
    plans: list[list[Plan]] = field(default_factory=list)
    posts: list[PostEngagement] = field(default_factory=list)

    def share(self, rounds: range, beats: tuple[str, ...] = PREFERRED) -> float:
        """The share of the items in these rounds that went to these beats."""
        total = sum(sum(self.picks[i].values()) for i in rounds)
        return sum(self.picks[i][b] for i in rounds for b in beats) / total


def simulate(rounds: int, *, items: int = 2, seed: int = 1, learn: bool = True) -> Run:
    """Plan `rounds` daily batches of `items` posts, feeding each round's simulated engagement to the next."""
    persona, planner, rng = sim_persona(learn=learn), OfflinePlanner(), random.Random(seed)
    run, last_run = Run(), {}
    for day in range(rounds):
        now = START + timedelta(days=day)
        context = PlanningContext(
            persona=persona, sources=[], spec=BatchSpec(persona="sim", counts={ContentFormat.hero_text: items}),
            now=now, last_run=dict(last_run), observed=beat_scores(_read_by(run.posts, now)) if learn else {},
            seed=seed * 100_003 + day,  # one seed per batch, as a batch id would give
        )  # fmt: skip
        plans = planner.plan(context).plans
        run.plans.append(plans)
        run.picks.append(Counter(p.beat_key for p in plans))
        for plan in plans:
            post_id = len(run.posts) + 1
            last_run[plan.beat_key] = now
            run.posts.append(PostEngagement(
                post_id=post_id, persona="sim", beat_key=plan.beat_key, content_format="hero_text",
                angle=plan.angle, published_at=now, cost_usd=Decimal("0.05"),
                latest=audience(post_id, plan.beat_key, now, rng),
            ))  # fmt: skip
    return run


def _read_by(posts: list[PostEngagement], now: datetime) -> list[PostEngagement]:
    """What the planner can know on a day: the readings taken by then (a week after each post went out)."""
    return [p for p in posts if all(r.fetched_at <= now for r in p.latest.values())]
