"""Long-running `beatdesk` processes for tests: ready when a probe answers, and always stopped, group and all."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

READY_DEADLINE_S = 180.0
"""Generous: on a loaded machine a Python process with FastAPI or Celery takes many seconds to start."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> bool:
    """The desk is up when its login page answers."""
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def stop_group(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, *, timeout: float = 30) -> None:
    """Signal the process's whole group, wait, and kill what is left; a no-op for a group already gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # children the leader left behind


@contextlib.contextmanager
def running(
    args: list[str], *, env: dict[str, str], log: Path, ready: Callable[[], bool]
) -> Iterator[subprocess.Popen[bytes]]:
    """`beatdesk ARGS` in its own process group, its output in `log`; yielded once `ready()` holds."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "beatdesk_cli.main", *args],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + READY_DEADLINE_S
        while not ready():
            if process.poll() is not None:
                raise AssertionError(f"beatdesk {' '.join(args)} exited with {process.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"beatdesk {' '.join(args)} not ready in {READY_DEADLINE_S:g}s:\n{log.read_text()}"
                )
            time.sleep(0.3)
        yield process
    finally:
        stop_group(process)
