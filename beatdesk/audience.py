"""What the audience made of a persona's posts, read from the store: the rankings that `beatdesk metrics` and
the desk's persona page show, and each beat's scores for the planner to learn from (beatdesk.scoring scores)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from beatdesk.engagement import PostEngagement
from beatdesk.scoring import DIMENSIONS, Dimension, Rank, best_times, by_dollar, rank, score_posts

LEARN_WINDOW = timedelta(days=180)
"""How far back the planner looks: an audience's taste drifts, and older posts were measured against it."""


@dataclass(frozen=True)
class Report:
    """Beats, formats, angles and posting times ranked by normalised engagement, per post and per dollar."""

    zone: str | None
    """The zone posting times are in (one persona's); None across personas (each in its own)."""
    published: int
    scored: int
    """Published posts with a reading that counts (the rest are not read yet, or on channels without numbers)."""
    per_post: Mapping[Dimension, list[Rank]]
    per_dollar: Mapping[Dimension, list[Rank]]
    suggested_times: list[Rank]

    def as_json(self) -> dict[str, Any]:
        return {
            "zone": self.zone,
            "published_posts": self.published,
            "scored_posts": self.scored,
            "per_post": {dim: [r.as_json() for r in ranks] for dim, ranks in self.per_post.items()},
            "per_dollar": {dim: [r.as_json() for r in ranks] for dim, ranks in self.per_dollar.items()},
            "suggested_times": [r.key for r in self.suggested_times],
        }


def build_report(posts: Sequence[PostEngagement], *, zones: Mapping[str, str], zone: str | None) -> Report:
    """The report over these posts; `zones` gives each persona's zone (UTC for one no longer on file)."""
    scored = score_posts(posts)
    per_post = {dim: rank(scored, dim, zone_of=lambda key: ZoneInfo(zones.get(key, "UTC"))) for dim in DIMENSIONS}
    return Report(
        zone=zone,
        published=len(posts),
        scored=sum(1 for s in scored if s.score is not None),
        per_post=per_post,
        per_dollar={dim: by_dollar(ranks) for dim, ranks in per_post.items()},
        suggested_times=best_times(per_post["hour"]),
    )


def read_engagement(session: Session, *, persona: str | None, since: datetime | None) -> list[PostEngagement]:
    """Published posts with their latest readings and cost: the one call into the metrics store."""
    from beatdesk.store.metrics import engagement

    return engagement(session, persona=persona, since=since)


def report(session: Session, *, zones: Mapping[str, str], persona: str | None, since: datetime | None) -> Report:
    posts = read_engagement(session, persona=persona, since=since)
    return build_report(posts, zones=zones, zone=zones.get(persona, "UTC") if persona else None)


def beat_scores(posts: Sequence[PostEngagement]) -> dict[str, tuple[float, ...]]:
    """Each beat's normalised scores, oldest post first; posts without a score are left out."""
    out: dict[str, list[float]] = {}
    for s in score_posts(posts):
        if s.score is not None:
            out.setdefault(s.post.beat_key, []).append(s.score)
    return {key: tuple(scores) for key, scores in out.items()}


def observed_beats(session: Session, *, persona: str, now: datetime) -> dict[str, tuple[float, ...]]:
    """What the planner learns from: the persona's beats' scores over the last LEARN_WINDOW."""
    return beat_scores(read_engagement(session, persona=persona, since=now - LEARN_WINDOW))
