"""`beatdesk up`: the desk's processes start together, log under their names, and stop together on one signal."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import workers
from tests.conftest import run_cli
from tests.servers import answers, free_port, running


def started_pids(log: str) -> dict[str, int]:
    return {m[1]: int(m[2]) for m in re.finditer(r"^up +\| started (\w+) \(pid (\d+)\)", log, re.MULTILINE)}


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def stop_and_check(process: subprocess.Popen[bytes], sig: int, log: Path, names: set[str]) -> str:
    """One signal to `up` alone (as a terminal's Ctrl-C reaches it) stops every child, and `up` exits 0."""
    os.kill(process.pid, sig)
    assert process.wait(timeout=90) == 0, log.read_text()
    text = log.read_text()
    pids = started_pids(text)
    assert set(pids) == names, text
    assert all(gone(pid) for pid in pids.values()), text
    assert text.rstrip().endswith("up        | stopped"), text
    return text


def test_up_on_the_embedded_default_stops_on_ctrl_c(cli: CliRunner, home: Path) -> None:
    run_cli(cli, "init")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = home.parent / "up.log"
    env = os.environ | {"BEATDESK_HOME": str(home), "BEATDESK_SCHEDULER_TICK_S": "1"}

    def ready() -> bool:  # the desk answers and the scheduler has made its first pass
        return answers(f"{url}/login") and "\nscheduler | " in log.read_text()

    with running(["up", "--port", str(port)], env=env, log=log, ready=ready) as up:
        text = stop_and_check(up, signal.SIGINT, log, {"serve", "scheduler"})
    assert not answers(f"{url}/login")
    assert re.search(r"^scheduler \| .*UTC: 0 batch\(es\) started", text, re.MULTILINE), text  # prefixed, interleaved


@pytest.mark.redis
def test_up_with_redis_runs_a_worker_and_stops_on_sigterm(cli: CliRunner, home: Path, redis_url: str) -> None:
    run_cli(cli, "init")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = home.parent / "up.log"
    env = os.environ | {"BEATDESK_HOME": str(home), "BEATDESK_BROKER_URL": redis_url}

    def ready() -> bool:
        return answers(f"{url}/login") and bool(workers.answering(redis_url))  # an app of its own: no stale pool

    with running(["up", "--port", str(port), "--concurrency", "1"], env=env, log=log, ready=ready) as up:
        stop_and_check(up, signal.SIGTERM, log, {"serve", "worker", "scheduler"})
    assert not answers(f"{url}/login")


def test_a_child_that_dies_stops_the_others(cli: CliRunner, home: Path) -> None:
    """The desk's port is taken: serve exits, and `up` stops the scheduler and exits non-zero."""
    run_cli(cli, "init")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "beatdesk_cli.main", "up", "--port", str(port)],
            env=os.environ | {"BEATDESK_HOME": str(home)},
            capture_output=True,
            text=True,
            timeout=180,
            start_new_session=True,
        )
    assert result.returncode != 0, result.stdout
    assert "serve exited with code" in result.stdout and "stopping scheduler" in result.stdout, result.stdout
    assert all(gone(pid) for pid in started_pids(result.stdout).values())
