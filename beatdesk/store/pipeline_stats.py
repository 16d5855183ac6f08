"""The pipeline in numbers, for /metrics: posts per persona and status, steps per name and status with their
latencies in histogram buckets, spend per persona, the newest heartbeat.

Three GROUP BY queries, whatever the number of posts and steps: the counting is the database's, and what
comes back is a row per persona and status, per step name and status, per persona.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import accumulate

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from beatdesk.store.schema import DayTotalRow, PostRow, StepRow

LATENCY_BUCKETS_S: tuple[float, ...] = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
"""Upper bounds of the step-latency histogram: an offline draft in the first, a long video render in the last."""
PUBLISH_STEP = "publish_"


@dataclass(frozen=True)
class Latencies:
    """One step name's latencies as a Prometheus histogram: cumulative counts per bucket, the count and the sum."""

    cumulative: tuple[int, ...]
    count: int
    total_s: float


@dataclass
class PipelineStats:
    posts: dict[tuple[str, str], int] = field(default_factory=dict)
    """Posts per (persona, status): the queue's counts."""
    steps: dict[tuple[str, str], int] = field(default_factory=dict)
    """Steps per (name, status)."""
    latencies: dict[str, Latencies] = field(default_factory=dict)
    """Per step name, over the steps that ended with a latency."""
    spend_usd: dict[str, Decimal] = field(default_factory=dict)
    """Per persona: the sum of its steps' costs (exact), as every other total in the store."""
    newest_beat_at: datetime | None = None

    @property
    def publish_failures(self) -> dict[str, int]:
        """Failed publish steps per channel (`publish_<channel>`; its parts, `publish_x.y`, are not publications)."""
        failed: dict[str, int] = {}
        for (name, status), count in self.steps.items():
            if name.startswith(PUBLISH_STEP) and "." not in name and status == "failed":
                channel = name.removeprefix(PUBLISH_STEP)
                failed[channel] = failed.get(channel, 0) + count
        return failed


def pipeline_stats(session: Session) -> PipelineStats:
    stats = PipelineStats()
    posts = select(PostRow.persona, PostRow.status, func.count()).group_by(PostRow.persona, PostRow.status)
    stats.posts = {(persona, status): count for persona, status, count in session.execute(posts)}
    # One row per name, status and latency bucket (the first bound the latency is under; -1: none): a CASE
    # per step, not one per step and bucket; the buckets are made cumulative here.
    latency = StepRow.latency_s
    bucket = case((latency.is_(None), -1), *[(latency <= bound, i) for i, bound in enumerate(LATENCY_BUCKETS_S)],
                  else_=len(LATENCY_BUCKETS_S))  # fmt: skip
    steps = select(
        StepRow.name, StepRow.status, bucket, func.count(), func.sum(latency), func.max(StepRow.beat_at)
    ).group_by(StepRow.name, StepRow.status, bucket)
    timed: dict[str, tuple[list[int], list[float]]] = {}
    for name, status, at, count, total_s, beat_at in session.execute(steps):
        stats.steps[(name, status)] = stats.steps.get((name, status), 0) + count
        if at >= 0:
            counts, total = timed.setdefault(name, ([0] * (len(LATENCY_BUCKETS_S) + 1), [0.0]))
            counts[at] += count
            total[0] += total_s or 0.0
        if beat_at is not None:
            stats.newest_beat_at = max(stats.newest_beat_at or beat_at, beat_at)
    for name, (counts, total) in timed.items():
        cumulative = list(accumulate(counts))
        stats.latencies[name] = Latencies(tuple(cumulative[:-1]), cumulative[-1], total[0])
    # The stored totals (kept equal to the steps by `books`): a row per persona and day, not one per step.
    spend = select(DayTotalRow.persona, func.sum(DayTotalRow.cost_usd)).group_by(DayTotalRow.persona)
    spent = {persona: total or Decimal(0) for persona, total in session.execute(spend)}
    stats.spend_usd = {persona: Decimal(0) for persona, _ in stats.posts} | spent  # free steps book no total row
    return stats
