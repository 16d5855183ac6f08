"""The planner learns from the audience: a simulated audience that prefers two of six beats gets them more often
as the batches go by, every other beat is still tried, the plan shows the figures, and a persona can say no."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from beatdesk.errors import PersonaFileError
from beatdesk.models import BatchSpec, ContentFormat
from beatdesk.personas import parse_persona_file, parse_persona_text
from planner.base import PlanningContext
from planner.learning import draws, learning_on, posterior
from planner.selection import standings
from tests.learning_sim import BEATS, PREFERRED, START, sim_persona, simulate

ROUNDS = 90
SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def runs() -> dict[int, object]:
    return {seed: simulate(ROUNDS, seed=seed) for seed in SEEDS}


def test_the_preferred_beats_are_picked_more_often_in_the_last_rounds(runs: dict) -> None:
    first = [runs[s].share(range(0, 10)) for s in SEEDS]
    last = [runs[s].share(range(ROUNDS - 30, ROUNDS)) for s in SEEDS]
    # even would be 2 of 6; two items a day on distinct beats, each at most every other day before the others
    # are three times as stale, bound it near 1 in 2: the rotation holds whatever the weights
    assert all(share >= 0.42 for share in last), last
    assert sum(last) / len(last) >= sum(first) / len(first) + 0.1, (first, last)


def test_every_other_beat_is_still_tried(runs: dict) -> None:
    for seed in SEEDS:
        later = Counter(b for picks in runs[seed].picks[ROUNDS // 2 :] for b in picks.elements())
        assert all(later[b] >= 1 for b in BEATS if b not in PREFERRED), (seed, later)


def test_without_learning_the_rotation_stays_even() -> None:
    run = simulate(ROUNDS, seed=1, learn=False)
    later = Counter(b for picks in run.picks[ROUNDS // 2 :] for b in picks.elements())
    assert run.share(range(ROUNDS // 2, ROUNDS)) == pytest.approx(1 / 3, abs=0.02)
    assert max(later[b] for b in BEATS) - min(later[b] for b in BEATS) <= 1, later
    assert all("audience:" not in plan.why_beat for plans in run.plans for plan in plans)


def test_the_plan_says_what_it_used(runs: dict) -> None:
    plan = runs[1].plans[-1][0]
    assert "posts scored, mean" in plan.why_beat and "sampled" in plan.why_beat, plan.why_beat
    assert "prior 1.00 from the weight" in plan.why_beat
    assert "no posts scored yet" not in plan.why_beat


def test_the_same_batch_plans_the_same_way_again(runs: dict) -> None:
    again = simulate(30, seed=1)
    assert again.picks == runs[1].picks[:30]
    other = simulate(30, seed=2)
    assert other.picks != again.picks


def _context(*, learn: bool, observed: dict[str, tuple[float, ...]], seed: int = 5) -> PlanningContext:
    persona = sim_persona(learn=learn)
    return PlanningContext(persona=persona, sources=[], spec=BatchSpec(persona="sim", counts={ContentFormat.hero_text: 1}),
                           now=START, last_run={b: START - timedelta(days=2) for b in BEATS}, observed=observed, seed=seed)  # fmt: skip


def test_switched_off_the_weights_alone_decide() -> None:
    observed = {"chips": (3.0, 2.8, 3.2), "agents": (0.2,)}
    table = standings(_context(learn=False, observed=observed))
    assert {key: s.score for key, s in table.items()} == {b: 2.0 for b in BEATS}  # weight 1 x staleness 2
    assert all(s.draw is None for s in table.values())
    assert not learning_on(sim_persona(learn=False), observed)


def test_with_no_scored_post_yet_nothing_changes() -> None:
    table = standings(_context(learn=True, observed={}))
    assert {key: s.score for key, s in table.items()} == {b: 2.0 for b in BEATS}
    assert not learning_on(sim_persona(), {"agents": ()})


def test_learning_blends_the_weight_with_the_posts() -> None:
    observed = {"chips": (2.5, 2.7, 2.4, 2.6, 2.5, 2.6, 2.4, 2.5), "agents": (0.3, 0.4, 0.2, 0.3, 0.3, 0.4, 0.3)}
    table = standings(_context(learn=True, observed=observed))
    assert table["chips"].score > table["policy"].score > table["agents"].score
    unseen = table["policy"].draw
    assert unseen is not None and unseen.posts == 0 and unseen.mean is None
    assert "no posts scored yet" in unseen.describe()
    again = standings(_context(learn=True, observed=observed))
    assert {k: s.score for k, s in again.items()} == {k: s.score for k, s in table.items()}


def test_the_prior_is_the_weight_and_posts_move_it() -> None:
    mu, kappa, _, _ = posterior([], prior=1.4)
    assert (mu, kappa) == (1.4, 5.0)
    mu, kappa, _, _ = posterior([2.0] * 5, prior=1.0)
    assert mu == pytest.approx(1.5) and kappa == 10
    persona = sim_persona()
    few = [draws(persona, {"agents": (2.0,)}, seed=seed)["agents"].sampled for seed in range(200)]
    many = [draws(persona, {"agents": (2.0,) * 40}, seed=seed)["agents"].sampled for seed in range(200)]
    assert statistics.mean(few) == pytest.approx((5 + 2) / 6, abs=0.1)  # one post barely moves the weight
    assert statistics.mean(many) == pytest.approx((5 + 80) / 45, abs=0.05)  # forty posts do
    assert statistics.stdev(many) < statistics.stdev(few) / 2  # and the draws wander less


def test_the_persona_file_switch(tmp_path: Path) -> None:
    ash = parse_persona_file(Path(__file__).parents[1] / "beatdesk" / "example" / "ash.toml")
    assert ash.learn_from_audience is True
    text = (Path(__file__).parents[1] / "beatdesk" / "example" / "ash.toml").read_text()
    off = parse_persona_text(text.replace("learn_from_audience = true", "learn_from_audience = false"), key="ash",
                             source="ash.toml")  # fmt: skip
    assert off.learn_from_audience is False
    with pytest.raises(PersonaFileError, match="learn_from_audience") as err:
        parse_persona_text(text.replace("learn_from_audience = true", 'learn_from_audience = "often"'), key="ash",
                           source="ash.toml")  # fmt: skip
    assert "\n" not in str(err.value)


def test_a_model_planner_is_told_the_figures_too() -> None:
    from planner.llm import LLMPlanner
    from tests.fakes import fake_model

    observed = {"chips": (2.5, 2.7, 2.4)}
    model = LLMPlanner(fake_model(), provider="openai", model="gpt-4.1-mini")
    prompt = model._messages(_context(learn=True, observed=observed), dropped=[], missing=0)[1].content
    assert "Last ran 2 days ago. Audience: 3 posts scored, mean 2.53" in prompt
    assert "Audience: no posts scored yet" in prompt
    prompt = model._messages(_context(learn=False, observed=observed), dropped=[], missing=0)[1].content
    assert "Audience" not in prompt
