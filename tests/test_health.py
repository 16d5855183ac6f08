"""/healthz, /readyz and /metrics: probes without a login, readiness naming what is down, and Prometheus
numbers equal to the store's after an offline batch, for a read-scope token only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from beatdesk.settings import get_settings
from beatdesk.store import books, repo
from tests.desk_client import Desk, desk_home
from tests.servers import free_port


@pytest.fixture
def desk(cli: CliRunner, home: Path) -> Iterator[Desk]:
    with desk_home(cli, home, items=3) as made:
        yield made


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_healthz_answers_without_a_login(desk: Desk) -> None:
    answer = desk.client().get("/healthz", follow_redirects=False)
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_readyz_is_ready_with_the_store_at_its_schema(desk: Desk) -> None:
    answer = desk.client().get("/readyz", follow_redirects=False)
    assert answer.status_code == 200 and answer.json() == {"status": "ready"}


def test_readyz_names_a_broker_that_does_not_answer(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEATDESK_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    get_settings.cache_clear()
    answer = desk.client().get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "unavailable" and list(body["down"]) == ["broker"]


def test_readyz_answers_ready_with_a_live_broker(desk: Desk, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEATDESK_BROKER_URL", redis_url)
    get_settings.cache_clear()
    assert desk.client().get("/readyz").json() == {"status": "ready"}


def test_metrics_needs_a_read_scope_token(desk: Desk) -> None:
    client = desk.client()
    missing = client.get("/metrics")
    assert missing.status_code == 401 and "Bearer" in missing.json()["detail"]
    assert client.get("/metrics", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    too_much = client.get("/metrics", headers={"Authorization": f"Bearer {desk.token('rita', 'review')}"})
    assert too_much.status_code == 403 and "--scope read" in too_much.json()["detail"]
    read = client.get("/metrics", headers={"Authorization": f"Bearer {desk.token('rita', 'read')}"})
    assert read.status_code == 200 and read.headers["content-type"].startswith("text/plain")


def test_metrics_equal_the_store_after_an_offline_batch(desk: Desk) -> None:
    scrape = desk.client().get("/metrics", headers={"Authorization": f"Bearer {desk.token('rita', 'read')}"})
    samples = _samples(scrape.text)
    with desk.store.session() as session:
        queue = repo.status_counts(session, persona="ash")
        spend = books.persona_spend(session, persona="ash").total_usd
    posts = {dict(labels)["status"]: value for (name, labels), value in samples.items() if name == "beatdesk_posts"}
    assert posts == queue and sum(posts.values()) == 3
    assert samples[("beatdesk_spend_usd_total", (("persona", "ash"),))] == float(spend)
    steps = {labels: value for (name, labels), value in samples.items() if name == "beatdesk_steps_total"}
    assert steps[(("name", "draft"), ("status", "done"))] == 3
    # Every ended step lands in the +Inf bucket of its name, and the buckets only grow.
    draft_buckets = [value for (name, labels), value in samples.items()
                     if name == "beatdesk_step_seconds_bucket" and ("name", "draft") in labels]  # fmt: skip
    assert draft_buckets == sorted(draft_buckets) and draft_buckets[-1] == 3
    assert samples[("beatdesk_step_seconds_count", (("name", "draft"),))] == 3
    assert samples[("beatdesk_worker_heartbeat_age_seconds", ())] >= 0
    assert not any(name == "beatdesk_publish_failures_total" for name, _ in samples)  # nothing was published
