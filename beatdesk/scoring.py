"""Normalised engagement: one score per published post that compares across channels and audience sizes, and
rankings of beats, formats, angles and posting times by it, per post and per dollar.

The formula, for a persona's post p on channel c (its latest reading there, once it is at least MATURE_AFTER
old: a post read an hour after it went out has had no time to gather anything, and measured against posts
read at four weeks it would look like a flop):

    adjusted(g)  = count(g) * R_c / reach      when the reading has reach > 0 and R_c is known, else count(g)
    ratio(g)     = (adjusted(g) + 1) / (M_c,g + 1)
    channel(p,c) = sum of w_g * ratio(g) / sum of w_g,      over the groups g the channel reported
    score(p)     = sum over channels of W_c * channel(p,c) / sum of W_c,   W_c = the sum of w_g it reported

- w_g weighs intent: approval 1, conversation 3, redistribution 4, saves 5 (a save or a repost says more than
  a like). Reach is never a numerator: it only turns counts into rates, scaled back to the channel's median
  reach R_c so that they stay in counts.
- M_c,g is the median of adjusted(g) over the persona's posts on that channel that reported g: each channel
  is measured against its own typical post, so a big X audience does not drown a small Mastodon one. The +1
  keeps a group whose typical post has none (saves, often) from dividing by zero.
- A group a channel does not report (None) is left out of the numerator and of the weights, never read as 0;
  a channel that reported none of them adds nothing, and a post with no such reading has no score (None).
- 1.0 is the persona's typical post; 2.0 did twice as well on what matters. Per dollar is a group's summed
  score over its summed cost; a group that cost nothing is "free" (None here), never infinity.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from statistics import median, stdev
from typing import Any, Literal
from zoneinfo import ZoneInfo

from beatdesk.engagement import Group, PostEngagement, Reading
from beatdesk.prices import format_usd

MATURE_AFTER = timedelta(days=7)
"""A reading counts once it was taken this long after the post went out (the third fetch of the schedule)."""
WEIGHTS: Mapping[Group, float] = {"approval": 1.0, "conversation": 3.0, "redistribution": 4.0, "saves": 5.0}
"""How much each group says about a post; reach is the denominator, never a weight."""

Dimension = Literal["beat", "format", "angle", "hour", "weekday"]
DIMENSIONS: tuple[Dimension, ...] = ("beat", "format", "angle", "hour", "weekday")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)  # fmt: skip
"""Student's t quantile (0.975) for 1..30 degrees of freedom: at a handful of posts the interval must be wide."""


@dataclass(frozen=True)
class ScoredPost:
    """A published post with its normalised engagement."""

    post: PostEngagement
    score: float | None
    """1.0 = the persona's typical post; None when no channel reported a group that counts, or none has been
    read since the post was MATURE_AFTER old."""
    channels: Mapping[str, float] = field(default_factory=dict)
    """Each channel's own score for the post (the ones that reported something)."""

    @property
    def per_dollar(self) -> float | None:
        """Score per USD; None for a post that cost nothing (shown as "free") or has no score."""
        if self.score is None or self.post.cost_usd == 0:
            return None
        return self.score / float(self.post.cost_usd)


def _adjusted(reading: Reading, group: Group, typical_reach: float | None) -> float | None:
    count = reading.groups.get(group)
    if count is None:
        return None
    reach = reading.groups.get("reach")
    if reach and typical_reach:
        return count * typical_reach / reach
    return float(count)


def _mature(post: PostEngagement) -> dict[str, Reading]:
    return {c: r for c, r in post.latest.items() if r.fetched_at - post.published_at >= MATURE_AFTER}


def score_posts(posts: Sequence[PostEngagement]) -> list[ScoredPost]:
    """Each post's normalised engagement, against the medians of its own persona's posts on each channel."""
    mature = {post.post_id: _mature(post) for post in posts}
    by_place: dict[tuple[str, str], list[Reading]] = {}
    for post in posts:
        for channel, reading in mature[post.post_id].items():
            by_place.setdefault((post.persona, channel), []).append(reading)
    reach: dict[tuple[str, str], float | None] = {}
    medians: dict[tuple[str, str, Group], float] = {}
    for place, readings in by_place.items():
        reaches = [n for r in readings if (n := r.groups.get("reach"))]
        reach[place] = float(median(reaches)) if reaches else None
        for group in WEIGHTS:
            values = [v for r in readings if (v := _adjusted(r, group, reach[place])) is not None]
            if values:
                medians[(*place, group)] = float(median(values))
    out = []
    for post in posts:
        channels: dict[str, float] = {}
        weights: dict[str, float] = {}
        for channel, reading in mature[post.post_id].items():
            place = (post.persona, channel)
            total = weight = 0.0
            for group, w in WEIGHTS.items():
                value = _adjusted(reading, group, reach[place])
                if value is None:
                    continue
                total += w * (value + 1) / (medians[(*place, group)] + 1)
                weight += w
            if weight:
                channels[channel], weights[channel] = total / weight, weight
        score = sum(weights[c] * s for c, s in channels.items()) / sum(weights.values()) if channels else None
        out.append(ScoredPost(post=post, score=score, channels=channels))
    return out


def t_interval(values: Sequence[float]) -> tuple[float, float] | None:
    """The 95% interval of the mean (Student's t, lower end at 0 at least: scores are never negative);
    None below two values."""
    n = len(values)
    if n < 2:
        return None
    mean = sum(values) / n
    t = _T975[n - 2] if n - 1 <= len(_T975) else 1.96
    half = t * stdev(values) / math.sqrt(n)
    return max(0.0, mean - half), mean + half


@dataclass(frozen=True)
class Rank:
    """One beat, format, angle or posting time: how its scored posts did."""

    key: str
    scores: tuple[float, ...]
    cost_usd: Decimal

    @property
    def posts(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float:
        return sum(self.scores) / len(self.scores)

    @property
    def interval(self) -> tuple[float, float] | None:
        return t_interval(self.scores)

    @property
    def per_dollar(self) -> float | None:
        """Summed score per summed USD; None when its posts cost nothing ("free")."""
        return sum(self.scores) / float(self.cost_usd) if self.cost_usd > 0 else None

    def as_json(self) -> dict[str, Any]:
        interval = self.interval
        per = self.per_dollar
        return {
            "key": self.key,
            "posts": self.posts,
            "mean_score": round(self.mean, 4),
            "score_95": None if interval is None else [round(interval[0], 4), round(interval[1], 4)],
            "cost_usd": format_usd(self.cost_usd),
            "score_per_usd": "free" if per is None else round(per, 4),
        }


def key_of(dimension: Dimension, post: PostEngagement, zone: ZoneInfo) -> str:
    """The bucket a post falls in; posting times in the persona's own zone."""
    if dimension == "beat":
        return post.beat_key
    if dimension == "format":
        return post.content_format
    if dimension == "angle":
        return post.angle
    local = post.published_at.astimezone(zone)
    return f"{local.hour:02d}:00" if dimension == "hour" else WEEKDAYS[local.weekday()]


def rank(scored: Iterable[ScoredPost], dimension: Dimension, *, zone_of: Callable[[str], ZoneInfo]) -> list[Rank]:
    """Buckets of one dimension, best first per post: by the lower end of the 95% interval (two posts that did
    well rank below twenty that did almost as well), then the mean; one post's bucket has a lower end of 0."""
    buckets: dict[str, tuple[list[float], list[Decimal]]] = {}
    for s in scored:
        if s.score is None:
            continue
        scores, costs = buckets.setdefault(key_of(dimension, s.post, zone_of(s.post.persona)), ([], []))
        scores.append(s.score)
        costs.append(s.post.cost_usd)
    ranks = [Rank(key, tuple(scores), sum(costs, Decimal(0))) for key, (scores, costs) in buckets.items()]
    return sorted(ranks, key=lambda r: (-(r.interval or (0.0, 0.0))[0], -r.mean, r.key))


def by_dollar(ranks: Iterable[Rank]) -> list[Rank]:
    """The same buckets best first per dollar: free ones first (by their mean), then score per USD."""
    return sorted(ranks, key=lambda r: (r.per_dollar is not None, -(r.per_dollar or r.mean), r.key))


def best_times(hours: Sequence[Rank], *, least_posts: int = 3, count: int = 3) -> list[Rank]:
    """Posting hours worth suggesting: seen on enough posts and above the typical post, best first."""
    return [r for r in hours if r.posts >= least_posts and r.mean > 1.0][:count]


def format_per_dollar(per: float | None) -> str:
    return "free" if per is None else f"{per:.2f}"
