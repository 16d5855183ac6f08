"""`beatdesk up`: the desk's processes start together, log under their names, and stop together on one signal."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from beatdesk.models import PostStatus
from beatdesk.store import open_store, repo
from beatdesk_cli.up import Backoff
from tests import workers
from tests.conftest import run_cli
from tests.fake_fal import fal_server
from tests.redis_server import redis_server
from tests.servers import answers, free_port, running
from tests.tcp_proxy import proxy


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
        return answers(f"{url}/login") and "\nscheduler | every" in log.read_text()

    with running(["up", "--port", str(port)], env=env, log=log, ready=ready) as up:
        text = stop_and_check(up, signal.SIGINT, log, {"serve", "scheduler"})
    assert not answers(f"{url}/login")
    assert re.search(r"^scheduler \| every 1s: due batches and due posts", text, re.MULTILINE), text  # prefixed
    assert "batch(es) started" not in text  # quiet while nothing happens


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


def test_the_wait_before_a_restart_doubles_to_its_cap_and_starts_over_after_a_good_run() -> None:
    backoff = Backoff(first_s=1, max_s=30, reset_after_s=60)
    assert [backoff.wait_s(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_taken_port_is_one_line_and_nothing_starts(cli: CliRunner, home: Path) -> None:
    run_cli(cli, "init")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "beatdesk_cli.main", "up", "--port", str(port)],
            env=os.environ | {"BEATDESK_HOME": str(home)}, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    assert result.returncode == 1, result.stdout
    assert result.stderr.strip().splitlines() == [
        f"error: port {port} on 127.0.0.1 is taken by another process (an earlier `beatdesk up`?); stop it or "
        "give another --port"
    ], result.stderr
    assert "started" not in result.stdout


def live(pid: int) -> bool:
    """Running, not a zombie waiting for its parent to read its exit."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def wait_until(condition: Callable[[], bool], *, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_a_child_that_dies_is_restarted_and_a_killed_up_leaves_none(cli: CliRunner, home: Path) -> None:
    """A child killed is started again; SIGKILL of `up` itself takes every child with it, and a second `up`
    starts on the same port. A channel without credentials is said once and stops nothing."""
    run_cli(cli, "init")
    persona = home / "personas" / "ash.toml"
    persona.write_text(persona.read_text().replace('name = "outbox"', 'name = "outbox"\n\n[[channels]]\n'
                                                   'name = "mastodon"\nurl = "https://mastodon.example"'))  # fmt: skip
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = home.parent / "up.log"
    env = os.environ | {
        "BEATDESK_HOME": str(home),
        "BEATDESK_SCHEDULER_TICK_S": "1",
        "BEATDESK_RESTART_BACKOFF_S": "0.2",
    }

    def ready() -> bool:
        return answers(f"{url}/login") and "\nscheduler | every" in log.read_text()

    with running(["up", "--port", str(port)], env=env, log=log, ready=ready) as up:
        first = started_pids(log.read_text())
        os.kill(first["scheduler"], signal.SIGKILL)
        restarted = re.compile(r"^up +\| restarted scheduler \(pid (\d+)\) after it was killed by SIGKILL$", re.M)
        wait_until(lambda: bool(restarted.search(log.read_text())), within_s=60, what=log.read_text())
        again = int(restarted.search(log.read_text())[1])  # type: ignore[index]
        wait_until(lambda: live(again), within_s=10, what="restarted scheduler not running")
        os.kill(up.pid, signal.SIGKILL)
        up.wait(timeout=10)
        children = [first["serve"], again]
        wait_until(lambda: not any(live(pid) for pid in children), within_s=10, what=f"children left: {children}")
    text = log.read_text()
    assert text.count("not connected: ash/mastodon (set BEATDESK_ASH_MASTODON_TOKEN)") == 1, text

    second = home.parent / "up-again.log"
    with running(["up", "--port", str(port)], env=env, log=second, ready=lambda: answers(f"{url}/login")) as up:
        stop_and_check(up, signal.SIGTERM, second, {"serve", "scheduler"})


@pytest.mark.redis
@pytest.mark.timeout(400)
def test_the_desk_outlives_redis_away_and_the_batch_settles_after(cli: CliRunner, home: Path, tmp_path: Path) -> None:
    """Redis (this test's own) killed mid-batch and started again empty on the same port after 15 s: the desk
    answers throughout, nothing is restarted, and every post reaches review within 60 s of Redis coming back.
    Then `up` is killed outright, and no child is left."""
    run_cli(cli, "init")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = home.parent / "up.log"
    with fal_server() as fal, redis_server(tmp_path / "redis") as broker:
        fal.latency_s = 3.0  # two renders in flight when Redis goes, four queued (and lost with it)
        env = os.environ | {
            "BEATDESK_HOME": str(home), "BEATDESK_BROKER_URL": broker.url, "BEATDESK_RESTART_BACKOFF_S": "0.5",
            "BEATDESK_IMAGE_RENDERER": "fal:fal-ai/flux-pro/v1.1-ultra", "BEATDESK_FAL_URL": fal.url,
            "FAL_KEY": "test-fal-key", "BEATDESK_WORKER_STALE_AFTER_S": "2", "BEATDESK_RECONCILE_EVERY_S": "0.5",
            "BEATDESK_IDLE_AFTER_S": "4", "BEATDESK_SCHEDULER_TICK_S": "1",
        }  # fmt: skip

        def ready() -> bool:
            return answers(f"{url}/login") and bool(workers.answering(broker.url))

        with running(["up", "--port", str(port), "--pool", "threads", "--concurrency", "2"], env=env, log=log,
                     ready=ready) as up:  # fmt: skip
            run = subprocess.run([sys.executable, "-m", "beatdesk_cli.main", "batch", "run", "--persona", "ash",
                                  "--items", "6", "--video", "0", "--no-wait", "--json"],
                                 env=env, capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
            batch_id = json.loads(run.stdout)["batch_id"]
            wait_until(lambda: len(fal.submits) >= 1, within_s=60, what="no render submitted")
            broker.stop()
            down_until = time.monotonic() + 15
            while time.monotonic() < down_until:
                assert answers(f"{url}/login"), log.read_text()
                time.sleep(0.5)
            broker.start()
            back = time.monotonic()
            store = open_store(f"sqlite:///{home / 'beatdesk.db'}")

            def settled() -> bool:
                assert answers(f"{url}/login"), log.read_text()
                with store.session() as session:
                    batch = repo.get_batch(session, batch_id)
                return len(batch.posts) == 6 and all(p.status is PostStatus.in_review for p in batch.posts)

            wait_until(settled, within_s=60, what=f"batch {batch_id} not settled 60 s after Redis came back")
            took = time.monotonic() - back
            assert up.poll() is None
            children = list(started_pids(log.read_text()).values())
            os.kill(up.pid, signal.SIGKILL)  # the worker and the scheduler go with it, as serve does
            up.wait(timeout=10)
            wait_until(lambda: not any(live(pid) for pid in children), within_s=10, what=f"left: {children}")
        text = log.read_text()
    assert not re.search(r"^up +\| restarted", text, re.MULTILINE), text
    assert len(re.findall(r"^scheduler \| .*broker away", text, re.MULTILINE)) == 1, text  # one line per outage
    assert len(re.findall(r"^scheduler \| .*broker back after", text, re.MULTILINE)) == 1, text
    assert "Traceback" not in "\n".join(line for line in text.splitlines() if line.startswith("scheduler")), text
    print(f"settled {took:.1f}s after Redis came back")


@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_the_desk_and_the_scheduler_outlive_the_database_away(cli: CliRunner, home: Path, pg_url: str) -> None:
    """The store cut for 6 s under `up` on in-process tasks: the desk answers, the scheduler says "store away"
    once and "store back" once, and nothing is restarted."""
    url = make_url(pg_url)
    with proxy((url.host or "127.0.0.1", url.port or 5432)) as db:
        through = url.set(host="127.0.0.1", port=db.port).render_as_string(hide_password=False)
        env = os.environ | {"BEATDESK_HOME": str(home), "BEATDESK_DATABASE_URL": through,
                            "BEATDESK_SCHEDULER_TICK_S": "1"}  # fmt: skip
        subprocess.run([sys.executable, "-m", "beatdesk_cli.main", "init"], env=env, check=True, capture_output=True)
        port = free_port()
        login = f"http://127.0.0.1:{port}/login"
        log = home.parent / "up.log"

        def ready() -> bool:
            return answers(login) and "\nscheduler | every" in log.read_text()

        with running(["up", "--port", str(port)], env=env, log=log, ready=ready):
            cut = threading.Thread(target=db.cut, args=(6.0,))
            cut.start()
            while cut.is_alive():
                assert answers(login), log.read_text()
                time.sleep(0.5)
            wait_until(lambda: "scheduler | store back after" in log.read_text(), within_s=30, what=log.read_text())
        text = log.read_text()
    assert len(re.findall(r"^scheduler \| store away: .*; trying again quietly until it answers$", text, re.M)) == 1, (
        text
    )
    assert not re.search(r"^up +\| restarted", text, re.MULTILINE), text
    assert "Traceback" not in text, text


@pytest.mark.redis
def test_the_scheduler_under_up_is_said_only_when_it_acts(cli: CliRunner, home: Path, redis_url: str) -> None:
    """Rounds every second on a broker: a post whose slot comes is published and said; the idle rounds before
    and after it leave no line."""
    run_cli(cli, "init")
    run_cli(cli, "batch", "run", "--persona", "ash", "--items", "1", "--video", "0")
    port = free_port()
    log = home.parent / "up.log"
    env = os.environ | {"BEATDESK_HOME": str(home), "BEATDESK_BROKER_URL": redis_url, "BEATDESK_SCHEDULER_TICK_S": "1"}
    store = open_store(f"sqlite:///{home / 'beatdesk.db'}")

    def published() -> bool:
        with store.session() as session:
            return repo.get_post(session, 1).status == PostStatus.published

    def ready() -> bool:
        return answers(f"http://127.0.0.1:{port}/login") and bool(workers.answering(redis_url))

    with running(["up", "--port", str(port), "--concurrency", "1"], env=env, log=log, ready=ready) as up:
        slot = datetime.now(UTC) + timedelta(seconds=3)
        run_cli(cli, "review", "approve", "1", "--at", slot.isoformat())
        wait_until(published, within_s=60, what=log.read_text())
        wait_until(lambda: "publish_due" in log.read_text(), within_s=10, what=log.read_text())
        text = stop_and_check(up, signal.SIGTERM, log, {"serve", "worker", "scheduler"})
    said = [
        line for line in text.splitlines() if re.search(r"Task beatdesk\.(publish_due|run_schedules|reconcile)\[", line)
    ]
    assert len(said) == 1 and re.search(r"beatdesk\.publish_due\[.*\] succeeded in .*: 1$", said[0]), text
