"""Real `beatdesk worker` subprocesses for tests: started until they answer a ping, always stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from celery import Celery


def start_worker(
    env: dict[str, str], log: Path, *, pool: str = "prefork", concurrency: int = 2
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "beatdesk_cli.main", "worker", "--concurrency", str(concurrency), "--pool", pool],
        env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not answering(env["BEATDESK_BROKER_URL"]):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_worker(process, signal.SIGKILL)
            raise AssertionError(f"worker did not start:\n{log.read_text()}")
    return process


def answering(broker_url: str, timeout: float = 1.0) -> int:
    """How many workers on `broker_url` answer a ping, asked through an app of its own (the tests' brokers
    come and go; the app the tasks live on keeps the pool of the first one it used)."""
    with Celery(broker=broker_url, set_as_current=False) as probe:
        return len(probe.control.ping(timeout=timeout) or [])


def stop_worker(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop the worker's whole process group; never leave one behind to take the next test's tasks."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
