"""Learning from the audience: each beat's weight blended with how its posts did, by Thompson sampling.

Per beat, a Normal-Gamma posterior over the mean normalised engagement of its posts (beatdesk.scoring: 1.0 is
the persona's typical post). The prior's mean is the beat's weight over the persona's mean weight, worth
PRIOR_POSTS typical posts, so the persona's own judgement holds until posts say otherwise. Each batch draws one
value per beat from its posterior (seeded by the batch id, so a plan can be made again); the draw, times the
mean weight, stands in for the weight in the rotation score. A beat with few posts has a wide posterior and
keeps drawing high now and then: it is still tried, and the more posts agree, the less it wanders.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from beatdesk.models import Persona

PRIOR_POSTS = 5.0
"""kappa_0: the weight counts as five posts' worth of evidence: one viral post does not overturn it."""
PRIOR_SHAPE = 2.0
"""alpha_0: with PRIOR_SPREAD, a post's score is expected to spread about 0.5 around its beat's mean."""
PRIOR_SPREAD = 0.5
FLOOR = 0.01
"""A draw below zero would turn the staleness factor against the beat; the least a draw counts for."""


@dataclass(frozen=True)
class Draw:
    """What the planner used for one beat: the posts seen, their mean score, the prior and the value drawn."""

    posts: int
    mean: float | None
    """The mean normalised engagement of its scored posts; None before any."""
    prior: float
    """The weight as a score: weight over the persona's mean weight."""
    sampled: float
    weight: float
    """The value drawn in weight units (sampled x the persona's mean weight): it replaces the beat's weight."""

    def describe(self) -> str:
        seen = (
            f"{self.posts} post{'s' if self.posts != 1 else ''} scored, mean {self.mean:.2f}"
            if self.mean is not None
            else "no posts scored yet"
        )
        return (
            f"audience: {seen} (1 = the persona's typical post; prior {self.prior:.2f} from the weight), "
            f"sampled {self.sampled:.2f}, so weight {self.weight:.2f}"
        )


def learning_on(persona: Persona, observed: Mapping[str, Sequence[float]]) -> bool:
    """The persona has not switched it off, and at least one of its posts has been scored."""
    return persona.learn_from_audience and any(observed.get(beat.key) for beat in persona.beats)


def draws(persona: Persona, observed: Mapping[str, Sequence[float]], *, seed: int) -> dict[str, Draw]:
    """One posterior draw per beat of the persona, the same for the same seed and evidence."""
    rng = np.random.default_rng(seed)
    mean_weight = sum(beat.weight for beat in persona.beats) / len(persona.beats)
    out = {}
    for beat in persona.beats:
        scores = list(observed.get(beat.key, ()))
        prior = beat.weight / mean_weight
        mu, kappa, alpha, beta = posterior(scores, prior=prior)
        precision = rng.gamma(alpha, 1 / beta)
        sampled = max(FLOOR, float(rng.normal(mu, 1 / math.sqrt(kappa * precision))))
        mean = sum(scores) / len(scores) if scores else None
        out[beat.key] = Draw(len(scores), mean, prior, sampled, sampled * mean_weight)
    return out


def posterior(scores: Sequence[float], *, prior: float) -> tuple[float, float, float, float]:
    """The Normal-Gamma posterior (mu, kappa, alpha, beta) over a beat's mean score, from the conjugate update."""
    n = len(scores)
    alpha0, beta0 = PRIOR_SHAPE, PRIOR_SPREAD**2 * (PRIOR_SHAPE - 1)
    if n == 0:
        return prior, PRIOR_POSTS, alpha0, beta0
    mean = sum(scores) / n
    squares = sum((x - mean) ** 2 for x in scores)
    kappa = PRIOR_POSTS + n
    mu = (PRIOR_POSTS * prior + n * mean) / kappa
    beta = beta0 + squares / 2 + PRIOR_POSTS * n * (mean - prior) ** 2 / (2 * kappa)
    return mu, kappa, alpha0 + n / 2, beta
