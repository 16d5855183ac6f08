"""The review desk over a home with a small batch and a reviewer: in-process (FastAPI's TestClient, with an
admin too), or served by `beatdesk serve` on 127.0.0.1 for a browser."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from beatdesk.settings import get_settings
from beatdesk.store import Store, open_store
from beatdesk.users import Scope, add_user, issue_token
from review_web.app import create_app
from tests.conftest import run_cli
from tests.servers import answers, free_port, running

PASSWORD = "correct horse battery"


@dataclass
class Desk:
    home: Path
    store: Store

    def client(self, *, public: bool = False, base_url: str = "http://testserver", **kwargs: Any) -> TestClient:
        return TestClient(create_app(get_settings(), public=public), base_url=base_url, **kwargs)

    def token(self, name: str, scope: Scope = "review", lifetime: timedelta | None = None) -> str:
        with self.store.session() as session:
            return issue_token(session, name=name, scope=scope, lifetime=lifetime)


def form_token(client: TestClient, path: str = "/login") -> str:
    """The CSRF token of the forms on `path`, as a browser would read it from the page."""
    return client.get(path).text.split('name="csrftoken" value="')[1].split('"')[0]


def log_in(client: TestClient, name: str = "rita", password: str = PASSWORD) -> TestClient:
    answer = client.post("/login", data={"name": name, "password": password, "csrftoken": form_token(client)},
                         follow_redirects=False)  # fmt: skip
    assert answer.status_code == 303, answer.text
    return client


@contextmanager
def desk_home(cli: CliRunner, home: Path, *, items: int = 2) -> Iterator[Desk]:
    run_cli(cli, "init")
    run_cli(cli, "batch", "run", "--persona", "ash", "--items", str(items), "--video", "0")
    store = open_store(get_settings().effective_database_url)
    with store.session() as session:
        add_user(session, name="rita", role="reviewer", password=PASSWORD)
        add_user(session, name="ada", role="admin", password=PASSWORD)
    yield Desk(home=home, store=store)


@contextmanager
def served_desk(cli: CliRunner, home: Path, *, video: int) -> Iterator[str]:
    """`beatdesk serve` on 127.0.0.1 over a home with a batch of three posts (`video` of them videos) and the
    reviewer rita, added through the CLI as a person would; its URL."""
    run_cli(cli, "init")
    run_cli(cli, "batch", "run", "--persona", "ash", "--items", "3", "--video", str(video))
    env = os.environ | {"BEATDESK_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "beatdesk_cli.main", "users", "add", "rita", "--password-stdin"],
                   input=PASSWORD + "\n", text=True, env=env, check=True, capture_output=True)  # fmt: skip
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running(["serve", "--port", str(port)], env=env, log=home.parent / "serve.log",
                 ready=lambda: answers(f"{url}/login")):  # fmt: skip
        yield url
