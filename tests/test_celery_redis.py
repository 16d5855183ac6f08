"""The same batch through a real Redis broker and real `beatdesk worker` processes, checked in the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from beatdesk.models import BatchStatus, PostStatus, StepStatus
from beatdesk.settings import load_settings
from tests.workers import start_worker, stop_worker
from workers.graph import wait_for_batch

pytestmark = pytest.mark.redis


@pytest.fixture
def env(home: Path, redis_url: str, pg_url: str) -> dict[str, str]:
    """Workers on Redis with the store on PostgreSQL: the at-scale column of the design."""
    values = {"BEATDESK_HOME": str(home), "BEATDESK_BROKER_URL": redis_url, "BEATDESK_DATABASE_URL": pg_url}
    subprocess.run([sys.executable, "-m", "beatdesk_cli.main", "init"], env=os.environ | values, check=True)
    return os.environ | values


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = start_worker(env, tmp_path / "worker.log")
    try:
        yield process
    finally:
        stop_worker(process)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "beatdesk_cli.main", *args], env=env, capture_output=True, text=True, timeout=240
    )


def test_batch_runs_on_workers_not_in_the_cli(env: dict[str, str], worker: subprocess.Popen[bytes]) -> None:
    started = cli(env, "batch", "run", "--persona", "ash", "--items", "5", "--video", "1", "--no-wait", "--json")
    assert started.returncode == 0, started.stderr
    batch_id = json.loads(started.stdout)["batch_id"]  # the CLI has exited; only the worker can finish the batch

    batch = wait_for_batch(load_settings(database_url=env["BEATDESK_DATABASE_URL"]), batch_id, timeout_s=120)
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


def test_two_schedulers_one_sends_and_the_scheduled_batch_is_made_once(
    env: dict[str, str], worker: subprocess.Popen[bytes], home: Path, tmp_path: Path
) -> None:
    import signal
    import time

    from sqlalchemy import select

    from beatdesk.store import open_store
    from beatdesk.store.schema import BatchRow

    persona = home / "personas" / "ash.toml"
    persona.write_text(persona.read_text() + '\n[[schedule]]\ncron = "* * * * *"\nitems = 1\nvideo = 0\n')
    fast = env | {"BEATDESK_SCHEDULER_TICK_S": "1"}
    logs = [tmp_path / "scheduler-1.log", tmp_path / "scheduler-2.log"]
    schedulers = [
        subprocess.Popen(
            [sys.executable, "-m", "beatdesk_cli.main", "scheduler", "--loglevel", "DEBUG"],
            env=fast,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for log in logs
    ]
    store = open_store(env["BEATDESK_DATABASE_URL"])
    try:
        deadline = time.monotonic() + 60
        while True:
            with store.session() as session:
                batches = session.scalars(select(BatchRow)).all()
            if any(b.status == BatchStatus.done for b in batches):
                break
            assert time.monotonic() < deadline, "no scheduled batch was made:\n" + logs[0].read_text()
            time.sleep(0.5)
        time.sleep(3)  # a few more ticks from both
        # Counted while both run: once the leader stops, the other rightly takes over.
        sending = [log.read_text().count("Sending due task") for log in logs]  # said at DEBUG
    finally:
        for process in schedulers:
            os.killpg(process.pid, signal.SIGTERM)
        for process in schedulers:
            process.wait(timeout=30)
    assert sorted(sending)[0] == 0 and sorted(sending)[1] >= 2, sending  # one leader sends, the other stands by
    with store.session() as session:
        keys = [b.schedule_key for b in session.scalars(select(BatchRow)).all()]
    assert keys and all(k and k.startswith("ash:0:") for k in keys) and len(keys) == len(set(keys))
