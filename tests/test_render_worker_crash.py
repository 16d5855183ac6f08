"""A worker killed with SIGKILL in the middle of a fal render: the post completes once, paid once."""

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
from tests.fake_fal import FalState, fal_server
from tests.workers import start_worker, stop_worker
from workers.graph import wait_for_batch

pytestmark = pytest.mark.redis


@pytest.fixture
def fal() -> Iterator[FalState]:
    with fal_server() as state:
        yield state


@pytest.fixture
def env(home: Path, redis_url: str, pg_url: str, fal: FalState) -> dict[str, str]:
    values = {
        "BEATDESK_HOME": str(home),
        "BEATDESK_BROKER_URL": redis_url,
        "BEATDESK_DATABASE_URL": pg_url,
        "BEATDESK_IMAGE_RENDERER": "fal:fal-ai/flux-pro/v1.1-ultra",
        "BEATDESK_FAL_URL": fal.url,
        "FAL_KEY": "test-fal-key",
        "BEATDESK_VISIBILITY_TIMEOUT_S": "3",  # a dead worker's task comes back after 3 s
    }
    subprocess.run([sys.executable, "-m", "beatdesk_cli.main", "init"], env=os.environ | values, check=True)
    return os.environ | values


def test_sigkill_mid_render_completes_once_with_one_charge(env: dict[str, str], fal: FalState, tmp_path: Path) -> None:
    fal.latency_s = 6.0
    log = tmp_path / "workers.log"
    first = start_worker(env, log, pool="threads", concurrency=4)
    second = None
    try:
        started = subprocess.run(
            [sys.executable, "-m", "beatdesk_cli.main", "batch", "run", "--persona", "ash", "--items", "1",
             "--video", "0", "--no-wait", "--json"],
            env=env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        batch_id = json.loads(started.stdout)["batch_id"]
        deadline = time.monotonic() + 60
        while not fal.submits:  # the render has been submitted: its request id is stored
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        time.sleep(0.5)
        stop_worker(first, signal.SIGKILL)
        second = start_worker(env, log, pool="threads", concurrency=4)
        batch = wait_for_batch(load_settings(database_url=env["BEATDESK_DATABASE_URL"]), batch_id, timeout_s=90)
        assert batch.status is BatchStatus.done, log.read_text()[-3000:]
        post = batch.posts[0]
        assert post.status is PostStatus.in_review
        images = [s for s in post.steps if s.name == "hero_image"]
        assert [s.status for s in images] == [StepStatus.done]
        assert len(fal.submits) == 1 and fal.charges == 1  # resumed, never submitted twice
        assert post.total_cost_usd == images[0].cost_usd == images[0].cost_usd.__class__("0.06")
    finally:
        stop_worker(first, signal.SIGKILL)
        if second is not None:
            stop_worker(second)
