"""Fixtures: a fresh home per test, real PostgreSQL and Redis, and no network beyond this machine."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from beatdesk.home import init_home
from beatdesk.models import Persona
from beatdesk.personas import load_persona
from beatdesk.settings import get_settings
from beatdesk.store import forget_stores
from beatdesk_cli.main import app
from tests.redis_server import RedisServer, redis_server

PG_ADMIN_URL = os.environ.get("BEATDESK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = host == "localhost"
        if not local:
            raise RuntimeError(f"tests may not reach the network: connect to {address!r} blocked")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    """Real providers are never called from tests: only loopback connections go through."""
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh BEATDESK_HOME with embedded defaults; settings and engines re-read per test."""
    for name in list(os.environ):
        if (name.startswith("BEATDESK_") and not name.startswith("BEATDESK_TEST_")) or name == "FAL_KEY":
            monkeypatch.delenv(name)
    path = tmp_path / "home"
    monkeypatch.setenv("BEATDESK_HOME", str(path))
    # Every fake (channels, fal, feeds, pages) is a server on 127.0.0.1, which the default refuses;
    # tests of that refusal set it back to 0.
    monkeypatch.setenv("BEATDESK_ALLOW_PRIVATE_URLS", "1")
    monkeypatch.chdir(tmp_path)  # no stray .env from the checkout
    get_settings.cache_clear()
    forget_stores()
    yield path
    get_settings.cache_clear()
    forget_stores()
    root = logging.getLogger()  # a command that configured logging (serve, scheduler) leaves it to itself
    for handler in [h for h in root.handlers if getattr(h, "beatdesk", False)]:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def ash(tmp_path_factory: pytest.TempPathFactory) -> Persona:
    """The example persona, as `beatdesk init` writes it."""
    folder = tmp_path_factory.mktemp("ash-home")
    init_home(folder)
    return load_persona(folder, "ash")


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner(env={"COLUMNS": "160"})  # wide enough that Rich tables do not wrap what tests look for


def run_cli(runner: CliRunner, *args: str, code: int = 0) -> Any:
    """Invoke the CLI; check its exit code; return parsed JSON when --json was given."""
    get_settings.cache_clear()
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return json.loads(result.stdout) if "--json" in args and code == 0 else result


@contextmanager
def _new_pg_database() -> Iterator[str]:
    name = f"beatdesk_test_{uuid.uuid4().hex[:10]}"
    admin = make_url(PG_ADMIN_URL)
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    yield url
    forget_stores()
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A new, empty PostgreSQL database on the local server, dropped afterwards."""
    with _new_pg_database() as url:
        yield url


@pytest.fixture
def another_pg_url() -> Iterator[str]:
    """A second one, for what goes from one database to another."""
    with _new_pg_database() as url:
        yield url


@pytest.fixture(scope="session")
def _suite_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """The suite's own redis-server on a free port: a shared server's databases are never touched."""
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_url(_suite_redis: RedisServer) -> Iterator[str]:
    """An empty Redis database on the suite's own server."""
    client = redis.Redis.from_url(_suite_redis.url)
    client.flushdb()
    yield _suite_redis.url
    client.flushdb()
    client.close()
