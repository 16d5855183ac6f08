"""The pipeline in numbers, for /metrics: posts per persona and status, steps per name and status with their
latencies in histogram buckets, spend per persona, the newest heartbeat.

Three GROUP BY queries, whatever the number of posts and steps: the counting is the database's, and what
comes back is a row per persona and status, per step name and status, per persona.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from beatdesk.store.schema import PostRow, StepRow, money_total

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
    # `latency <= bound` counted per bucket is already cumulative, as Prometheus wants it.
    buckets = [func.sum(case((StepRow.latency_s <= bound, 1), else_=0)) for bound in LATENCY_BUCKETS_S]
    steps = select(
        StepRow.name, StepRow.status, func.count(), func.count(StepRow.latency_s), func.sum(StepRow.latency_s),
        func.max(StepRow.beat_at), *buckets,
    ).group_by(StepRow.name, StepRow.status)  # fmt: skip
    timed: dict[str, list[float]] = {}
    for name, status, count, with_latency, total_s, beat_at, *in_buckets in session.execute(steps):
        stats.steps[(name, status)] = count
        if with_latency:
            sums = timed.setdefault(name, [0.0] * (len(LATENCY_BUCKETS_S) + 2))
            for i, value in enumerate((*in_buckets, with_latency, total_s or 0.0)):
                sums[i] += value or 0
        if beat_at is not None:
            stats.newest_beat_at = max(stats.newest_beat_at or beat_at, beat_at)
    for name, sums in timed.items():
        *cumulative, count, total_s = sums
        stats.latencies[name] = Latencies(tuple(int(c) for c in cumulative), int(count), total_s)
    spend = select(StepRow.persona, money_total(StepRow.cost_usd)).group_by(StepRow.persona)
    stats.spend_usd = {persona: total or Decimal(0) for persona, total in session.execute(spend)}
    return stats
