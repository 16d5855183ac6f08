"""The same batch through a real Redis broker and real `beatdesk worker` processes, checked in the store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from beatdesk.models import BatchStatus, PostStatus, StepStatus
from beatdesk.settings import load_settings
from beatdesk.store import open_store, repo
from workers.app import configure, workers_answering

pytestmark = pytest.mark.redis


@pytest.fixture
def env(home: Path, redis_url: str, pg_url: str) -> dict[str, str]:
    """Workers on Redis with the store on PostgreSQL: the at-scale column of the design."""
    values = {"BEATDESK_HOME": str(home), "BEATDESK_BROKER_URL": redis_url, "BEATDESK_DATABASE_URL": pg_url}
    subprocess.run([sys.executable, "-m", "beatdesk_cli.main", "init"], env=os.environ | values, check=True)
    return os.environ | values


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "beatdesk_cli.main", "worker", "--concurrency", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        configure(load_settings(broker_url=env["BEATDESK_BROKER_URL"]))
        deadline = time.monotonic() + 60
        while not workers_answering(timeout=1.0):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker did not start:\n{(tmp_path / 'worker.log').read_text()}")
        yield process
    finally:  # never leave a worker behind: it would take the next test's tasks
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "beatdesk_cli.main", *args], env=env, capture_output=True, text=True, timeout=240
    )


def test_batch_runs_on_workers_not_in_the_cli(env: dict[str, str], worker: subprocess.Popen[bytes]) -> None:
    started = cli(env, "batch", "run", "--persona", "ash", "--items", "5", "--video", "1", "--no-wait", "--json")
    assert started.returncode == 0, started.stderr
    batch_id = json.loads(started.stdout)["batch_id"]  # the CLI has exited; only the worker can finish the batch

    store = open_store(env["BEATDESK_DATABASE_URL"])
    deadline = time.monotonic() + 120
    while True:
        with store.session() as session:
            batch = repo.get_batch(session, batch_id)
        if batch.status is BatchStatus.done or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert batch.status is BatchStatus.done, batch
    assert len(batch.posts) == 5
    assert sorted(p.content_format for p in batch.posts) == ["hero_text"] * 4 + ["video"]
    assert {p.status for p in batch.posts} == {PostStatus.in_review}
    workers = set()
    for post in batch.posts:
        assert {s.status for s in post.steps} == {StepStatus.done}
        image = post.steps[2].artifact
        assert image is not None and image.path and Path(image.path).is_file()
        workers |= {s.worker for s in post.steps}
    pids = {int(w.rsplit(":", 1)[1]) for w in workers if w}
    assert os.getpid() not in pids and worker.pid not in pids  # prefork children did the work
    assert pids, "steps record the process that ran them"


def test_batch_run_waits_for_workers_and_prints_json(env: dict[str, str], worker: subprocess.Popen[bytes]) -> None:
    result = cli(env, "batch", "run", "--persona", "ash", "--items", "3", "--video", "1", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["status"] == "done" and len(out["posts"]) == 3
    assert {p["status"] for p in out["posts"]} == {"in_review"}
    listed = json.loads(cli(env, "queue", "list", "--status", "in_review", "--json").stdout)
    assert {p["id"] for p in listed} == {p["id"] for p in out["posts"]}
