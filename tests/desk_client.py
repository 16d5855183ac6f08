"""The review desk in-process (FastAPI's TestClient) over a home with a small batch, a reviewer and an admin."""

from __future__ import annotations

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
