"""For load balancers and Prometheus: /healthz (the process answers), /readyz (it can work: store, schema,
broker), /metrics (the pipeline's numbers, read from the store at scrape time, for a read-scope token)."""

# No `from __future__ import annotations` here: FastAPI must see the dependency objects, not strings.
from collections.abc import Iterator
from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from beatdesk.readiness import problems
from beatdesk.store import Store
from beatdesk.store.pipeline_stats import LATENCY_BUCKETS_S, pipeline_stats
from review_web.deps import MetricsReader, SettingsDep, StoreDep

MACHINE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Answered to programs: their errors are JSON, never the desk's HTML error page."""
NOT_CACHED = {"Cache-Control": "no-store"}

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers=NOT_CACHED)


@router.get("/readyz", include_in_schema=False)
def readyz(settings: SettingsDep, store: StoreDep) -> JSONResponse:
    down = problems(settings, store)
    if down:
        return JSONResponse({"status": "unavailable", "down": down}, status_code=503, headers=NOT_CACHED)
    return JSONResponse({"status": "ready"}, headers=NOT_CACHED)


@router.get("/metrics", include_in_schema=False)
def metrics(_: MetricsReader, store: StoreDep) -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PipelineCollector(store))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST, headers=NOT_CACHED)


class PipelineCollector:
    """A prometheus-client collector over the store: every scrape reads it afresh (no counters in this process,
    so every desk process, and a restarted one, reports the same numbers)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        with self.store.session() as session:
            stats = pipeline_stats(session)
        posts = GaugeMetricFamily("beatdesk_posts", "Posts per persona and status (the queue's counts).",
                                  labels=["persona", "status"])  # fmt: skip
        for (persona, status), count in sorted(stats.posts.items()):
            posts.add_metric([persona, status], count)
        yield posts
        steps = CounterMetricFamily("beatdesk_steps", "Pipeline steps per name and status.", labels=["name", "status"])
        for (name, status), count in sorted(stats.steps.items()):
            steps.add_metric([name, status], count)
        yield steps
        seconds = HistogramMetricFamily("beatdesk_step_seconds", "How long ended steps took, per step name.",
                                        labels=["name"])  # fmt: skip
        for name, latencies in sorted(stats.latencies.items()):
            edges = [floatToGoString(bound) for bound in LATENCY_BUCKETS_S]
            buckets = [*zip(edges, latencies.cumulative, strict=True), ("+Inf", latencies.count)]
            seconds.add_metric([name], buckets, sum_value=latencies.total_s)
        yield seconds
        # Prometheus keeps float64: the exact Decimal totals are the store's; a scrape shows them as floats.
        spend = CounterMetricFamily("beatdesk_spend_usd", "What each persona's steps cost, in USD.", labels=["persona"])
        for persona, total in sorted(stats.spend_usd.items()):
            spend.add_metric([persona], float(total))
        yield spend
        failures = CounterMetricFamily("beatdesk_publish_failures", "Failed publish steps per channel.",
                                       labels=["channel"])  # fmt: skip
        for channel, count in sorted(stats.publish_failures.items()):
            failures.add_metric([channel], count)
        yield failures
        if stats.newest_beat_at is not None:  # no step ever ran: no age to tell
            age = (datetime.now(UTC) - stats.newest_beat_at).total_seconds()
            said = "Seconds since a worker last said it was alive on a step."
            yield GaugeMetricFamily("beatdesk_worker_heartbeat_age_seconds", said, value=max(age, 0.0))
