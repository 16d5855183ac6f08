"""Every publisher's network calls end at the publishing deadline, whatever the server does: against a server on
127.0.0.1 that answers every request a byte a second, each channel's publish ends in a transient error that
names the deadline (retried later, never a block), not after the server has finished."""

from __future__ import annotations

import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from typer.testing import CliRunner

from beatdesk.personas import load_persona
from beatdesk.settings import get_settings
from beatdesk.store import open_store, repo
from publishers.base import Outgoing
from publishers.http import TransientPublishError
from publishers.stage import publisher_for
from tests.conftest import run_cli
from tests.loopback import serving
from tests.test_publish_channels import CREDENTIALS, approved_post, channels_toml

CHANNELS = ("mastodon", "bluesky", "x", "linkedin", "webhook")


class Trickle(BaseHTTPRequestHandler):
    """Any request: a status line, then a byte a second, for far longer than any deadline in these tests."""

    def _trickle(self) -> None:
        try:
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + b" " * 60 + b"{}":
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(1)
        except ConnectionError:  # the client gave up: what a deadline does
            pass

    do_GET = do_POST = do_PUT = _trickle

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def trickling(cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    run_cli(cli, "init")
    persona = home / "personas" / "ash.toml"
    text = persona.read_text().replace('[[channels]]\nname = "outbox"\n', "")
    with serving(Trickle) as url:
        persona.write_text(text + channels_toml(url))
        for name, value in CREDENTIALS.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("BEATDESK_PUBLISH_TIMEOUT_S", "1")
        get_settings.cache_clear()
        yield url


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_trickling_server_holds_no_publisher_past_the_deadline(cli: CliRunner, trickling: str, channel: str) -> None:
    post_id = approved_post(cli)
    settings = get_settings()
    with open_store(settings.effective_database_url).session() as session:
        post = repo.get_post(session, post_id)
    persona = load_persona(settings.home, "ash")
    publisher = publisher_for(persona, next(c for c in persona.channels if c.name == channel), settings.home)
    with pytest.raises(TransientPublishError, match="no complete answer within 1 s"):
        publisher.publish(Outgoing(post=post, parts=("A short post.",), media=()))
