"""Article pages added by URL: their text, title, author, date and canonical address, not their HTML."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import run_cli
from tests.loopback import serving

DATA = Path(__file__).parent / "data"


@pytest.fixture
def news_site() -> Iterator[str]:
    """A news site on 127.0.0.1: /2026/11/agents (an article page, served without a content type)."""
    page = (DATA / "article-page.html").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/2026/11/agents?utm_source=feed":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url.rstrip("/")


def test_an_article_page_gives_its_text_and_metadata(cli: CliRunner, home: Path, news_site: str) -> None:
    run_cli(cli, "init")
    out = run_cli(cli, "sources", "add", f"{news_site}/2026/11/agents?utm_source=feed", "--persona", "ash", "--json")
    [source] = out["added"]
    assert source["title"] == "Why your agent fails after step ten"
    assert source["author"] == "Priya Natarajan"
    assert source["published"] == date(2026, 11, 21).isoformat()
    assert source["url"] == "https://ledger.example.com/2026/11/agents-step-ten"  # the canonical address
    assert source["origin"] == f"{news_site}/2026/11/agents?utm_source=feed"
    text = source["text"]
    assert text.startswith("When a platform team at a logistics company") and "logs a person can read" in text
    for chrome in ("<p", "Subscribe", "newsletter", "crypto", "Privacy", "window.analytics"):
        assert chrome not in text  # navigation, promos, comments, scripts and footers are left out
    assert source["beats"] == ["agents_in_practice"] and source["beat_score"] > 0
    listed = run_cli(cli, "sources", "list", "--persona", "ash")
    assert "Why your agent fails after step ten" in listed.stdout
