"""Limits that hold across processes: counted in the broker's Redis (the suite's own redis-server, never a shared
one), two limiters as two processes would hold them, and two `beatdesk serve` desks over one store and one Redis."""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from limits.storage import MemoryStorage

from beatdesk.rate_limits import RateLimiter, limits_storage, per_second, redis_storage
from beatdesk.settings import Settings
from tests.desk_client import PASSWORD
from tests.servers import answers, free_port, running


def own_storage(redis_url: str):  # type: ignore[no-untyped-def]
    """A Redis storage under a key prefix of this test alone, as another process would open it."""
    return redis_storage(redis_url, key_prefix=f"beatdesk-test:{uuid.uuid4().hex[:8]}")


def test_two_limiters_on_one_redis_share_the_count(redis_url: str) -> None:
    storage = own_storage(redis_url)
    first, second = (RateLimiter(requests_per_second=1 / 60, storage=storage, name="llm") for _ in range(2))
    assert first.acquire(blocking=False)
    assert not second.acquire(blocking=False)  # the second in the minute, whichever process asks
    assert not asyncio.run(first.aacquire(blocking=False))
    other = RateLimiter(requests_per_second=1 / 60, storage=storage, name="another-model")
    assert other.acquire(blocking=False)  # a limit of another name counts apart


def test_limiters_in_memory_count_alone() -> None:
    first, second = (RateLimiter(requests_per_second=1 / 60, storage=MemoryStorage()) for _ in range(2))
    assert first.acquire(blocking=False) and second.acquire(blocking=False)
    assert not first.acquire(blocking=False)


def test_a_blocked_acquire_waits_for_the_window() -> None:
    limiter = RateLimiter(requests_per_second=20, storage=MemoryStorage())
    assert all(limiter.acquire(blocking=False) for _ in range(20))
    assert not limiter.acquire(blocking=False)
    assert limiter.acquire() and asyncio.run(limiter.aacquire())  # both return once a place frees


def test_rates_become_whole_requests_per_whole_seconds() -> None:
    assert (per_second(0.5).amount, per_second(0.5).get_expiry()) == (1, 2)
    assert (per_second(2.5).amount, per_second(2.5).get_expiry()) == (5, 2)
    assert (per_second(0.001).amount, per_second(0.001).get_expiry()) == (1, 1000)


def test_the_broker_chooses_the_storage(redis_url: str, home: Path) -> None:
    assert isinstance(limits_storage(Settings(home=home)), MemoryStorage)
    assert limits_storage(Settings(home=home, broker_url=redis_url)).check()  # answers: Redis is reached


def test_the_llm_limiter_counts_in_redis_with_a_broker(redis_url: str, home: Path) -> None:
    from beatdesk.llm import llm_options

    options = llm_options(Settings(home=home, broker_url=redis_url, llm_requests_per_second=0.5))
    assert isinstance(options["rate_limiter"], RateLimiter)
    assert options["rate_limiter"].limiter.storage is redis_storage(redis_url)


@pytest.fixture
def two_desks(home: Path, pg_url: str, redis_url: str) -> Iterator[tuple[str, str]]:
    """Two `beatdesk serve` on two ports, each with its own home, over one PostgreSQL database and one Redis,
    with the same secret key: as two machines behind one address would run."""
    shared = {"BEATDESK_DATABASE_URL": pg_url, "BEATDESK_BROKER_URL": redis_url,
              "BEATDESK_SECRET_KEY": secrets.token_urlsafe(48)}  # fmt: skip
    envs = [os.environ | shared | {"BEATDESK_HOME": str(home.parent / f"desk-{i}")} for i in (1, 2)]
    subprocess.run([sys.executable, "-m", "beatdesk_cli.main", "init"], env=envs[0], check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "beatdesk_cli.main", "users", "add", "rita", "--password-stdin"],
                   input=PASSWORD + "\n", text=True, env=envs[0], check=True, capture_output=True)  # fmt: skip
    urls = []
    with ExitStack() as stack:
        for i, env in enumerate(envs, start=1):
            url = f"http://127.0.0.1:{free_port()}"
            ready = functools.partial(answers, f"{url}/login")
            stack.enter_context(running(["serve", "--port", url.rsplit(":", 1)[1]], env=env,
                                        log=home.parent / f"serve-{i}.log", ready=ready))  # fmt: skip
            urls.append(url)
        yield urls[0], urls[1]


def attempt(url: str, password: str) -> httpx.Response:
    """One login as a browser makes it: read the form (its token and nonce cookie), post it."""
    with httpx.Client(base_url=url) as client:
        token = client.get("/login").text.split('name="csrftoken" value="')[1].split('"')[0]
        return client.post("/login", data={"name": "rita", "password": password, "csrftoken": token})


def test_a_session_from_one_desk_opens_the_other(two_desks: tuple[str, str]) -> None:
    first, second = two_desks
    logged_in = attempt(first, PASSWORD)
    assert logged_in.status_code == 303
    cookie = logged_in.cookies["beatdesk_session"]
    with httpx.Client(base_url=second, cookies={"beatdesk_session": cookie}) as client:
        queue = client.get("/")
        assert queue.status_code == 200 and "/login" not in str(queue.url)
        assert "rita" in queue.text


def test_the_login_limit_counts_attempts_on_both_desks(two_desks: tuple[str, str]) -> None:
    first, second = two_desks
    codes = [attempt(url, "wrong-password").status_code for url in (first, second, first, second, first)]
    assert codes == [401] * 5
    assert attempt(second, "wrong-password").status_code == 429  # the sixth in the minute, on either desk
    assert attempt(first, PASSWORD).status_code == 429


def test_a_desk_whose_redis_is_away_refuses_logins_in_one_line(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from beatdesk.settings import get_settings
    from review_web.app import create_app
    from tests.redis_server import redis_server

    with redis_server(tmp_path / "gone") as server:
        url = server.url
    monkeypatch.setenv("BEATDESK_BROKER_URL", url)  # a port nobody listens on any more
    get_settings.cache_clear()
    client = TestClient(create_app(get_settings()))
    token = client.get("/login").text.split('name="csrftoken" value="')[1].split('"')[0]
    answer = client.post("/login", data={"name": "rita", "password": "x", "csrftoken": token})
    assert answer.status_code == 503 and "cannot reach Redis" in answer.text


def test_a_chat_model_takes_its_calls_from_the_shared_count(redis_url: str) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    storage = own_storage(redis_url)
    model = FakeListChatModel(responses=["ok"], rate_limiter=RateLimiter(requests_per_second=1 / 60, storage=storage))
    assert model.invoke("hello").content == "ok"
    assert not RateLimiter(requests_per_second=1 / 60, storage=storage).acquire(blocking=False)  # another worker
