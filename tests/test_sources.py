"""Sources: notes, digests and feeds from files and from a feed server on 127.0.0.1, kept once each."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import run_cli
from tests.loopback import serving

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Model notes</title>
<item><title>Lab cuts prices for cached input tokens</title><link>https://example.org/a</link>
<pubDate>Mon, 16 Nov 2026 09:00:00 GMT</pubDate>
<description>&lt;p&gt;Cached input tokens now cost a tenth of fresh ones, which changes the bill for long prompts.&lt;/p&gt;</description></item>
<item><title>New agent benchmark released</title><link>https://example.org/b</link>
<pubDate>Tue, 17 Nov 2026 09:00:00 GMT</pubDate>
<description>An agent benchmark of 300 multi-step tool tasks, with step limits and error budgets.</description></item>
</channel></rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Weights</title><id>urn:x</id><updated>2026-11-18T00:00:00Z</updated>
<entry><title>Open weights model pinned to a tokenizer</title><id>urn:1</id><updated>2026-11-18T00:00:00Z</updated>
<link href="https://example.org/c"/><summary>The release pins its tokenizer and publishes its data mix.</summary></entry>
</feed>
"""


@pytest.fixture
def ready(cli: CliRunner, home: Path) -> Path:
    run_cli(cli, "init")
    return home


@pytest.fixture
def feed_server() -> Iterator[str]:
    """A small feed server on 127.0.0.1: /rss, /atom, /page (HTML), anything else 404."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            bodies = {
                "/rss": (RSS, "application/rss+xml"),
                "/atom": (ATOM, "application/atom+xml"),
                "/page": ("<html><body>hi</body></html>", "text/html"),
            }
            if self.path not in bodies:
                self.send_error(404)
                return
            text, kind = bodies[self.path]
            data = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url.rstrip("/")


def add(cli: CliRunner, *args: str, code: int = 0) -> dict:
    return run_cli(cli, "sources", "add", *args, "--persona", "ash", "--json", code=code)


def test_init_notes_are_synced_on_first_plan(cli: CliRunner, ready: Path) -> None:
    run_cli(cli, "plan", "--persona", "ash", "--items", "1", "--video", "0", "--json")
    listed = run_cli(cli, "sources", "list", "--persona", "ash", "--json")
    assert len(listed) == 5
    assert listed[0]["id"] == "2026-11-16-open-weights-release" and listed[0]["beats"] == ["open_weights"]


def test_rss_and_atom_files(cli: CliRunner, ready: Path, tmp_path: Path) -> None:
    (tmp_path / "models.rss").write_text(RSS)
    (tmp_path / "weights.atom").write_text(ATOM)
    out = add(cli, str(tmp_path / "models.rss"), str(tmp_path / "weights.atom"))
    assert len(out["added"]) == 3 and out["already_known"] == 0
    first = out["added"][0]
    assert first["kind"] == "feed" and first["published"] == "2026-11-16" and first["url"] == "https://example.org/a"
    assert "<p>" not in first["text"] and first["text"].startswith("Cached input tokens")
    # tagged by what the text is about
    assert "foundation_models_and_inference_economics" in first["beats"]
    assert "open_weights" in out["added"][2]["beats"]
    again = add(cli, str(tmp_path / "models.rss"))
    assert again["added"] == [] and again["already_known"] == 2


def test_digest_one_source_per_bullet(cli: CliRunner, ready: Path, tmp_path: Path) -> None:
    path = tmp_path / "weekly-digest.md"
    path.write_text(
        "+++\npublished = 2026-11-20\n+++\n# This week\n\n- Eval sets leak into training data more often than teams think.\n"
        "- Prompt caching halves the bill\n  for long system prompts.\n* Small models win on narrow tasks.\n"
    )
    out = add(cli, str(path), "--beat", "evaluation_in_production")
    texts = [s["text"] for s in out["added"]]
    assert texts == [
        "Eval sets leak into training data more often than teams think.",
        "Prompt caching halves the bill for long system prompts.",
        "Small models win on narrow tasks.",
    ]
    assert {s["kind"] for s in out["added"]} == {"digest"}
    assert all(s["beats"] == ["evaluation_in_production"] and s["published"] == "2026-11-20" for s in out["added"])
    paragraphs = tmp_path / "notes.txt"
    paragraphs.write_text("First insight about agents and step limits.\n\nSecond insight about open weights.\n")
    assert len(add(cli, str(paragraphs), "--kind", "digest")["added"]) == 2


def test_changed_note_is_updated_not_duplicated(cli: CliRunner, ready: Path, tmp_path: Path) -> None:
    note = tmp_path / "cost-note.md"
    note.write_text("Batching requests raised GPU utilisation from 30% to 70%.")
    add(cli, str(note))
    note.write_text("Batching requests raised GPU utilisation from 30% to 75%.")
    assert len(add(cli, str(note))["added"]) == 1
    listed = run_cli(cli, "sources", "list", "--persona", "ash", "--json")
    assert [s["text"] for s in listed if s["id"] == "cost-note"] == [
        "Batching requests raised GPU utilisation from 30% to 75%."
    ]


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("empty.md", b"  \n", "the file is empty"),
        ("blob.md", b"\x89PNG\r\n\x1a\n\x00\x00", "a binary file, not text"),
        ("latin.md", "caf\xe9".encode("latin-1"), "not UTF-8 text"),
        ("broken.rss", b'<?xml version="1.0"?>\n<rss><channel>\n<item><title>x</title>\n</channel>', "not a valid RSS"),
        ("open.md", b"+++\ntitle = 'x'\nbody", "front matter opened with +++ is never closed"),
        ("tagged.md", b"+++\nbeats = ['crypto']\n+++\nSome text.", "unknown beat 'crypto' for persona ash"),
    ],
)
def test_bad_source_files_store_nothing(
    cli: CliRunner, ready: Path, tmp_path: Path, name: str, content: bytes, error: str
) -> None:
    good = tmp_path / "good.md"
    good.write_text("A perfectly fine note about inference costs.")
    bad = tmp_path / name
    bad.write_bytes(content)
    result = run_cli(cli, "sources", "add", str(good), str(bad), "--persona", "ash", code=1)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and error in lines[0] and str(bad) in lines[0], result.stderr
    assert run_cli(cli, "sources", "list", "--persona", "ash", "--json") == []


def test_broken_feed_names_the_line(cli: CliRunner, ready: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.rss"
    bad.write_text('<?xml version="1.0"?>\n<rss><channel>\n<item><title>x</title>\n</channel>')
    result = run_cli(cli, "sources", "add", str(bad), "--persona", "ash", code=1)
    assert "(line 4)" in result.stderr


def test_unknown_beat_flag(cli: CliRunner, ready: Path, tmp_path: Path) -> None:
    (tmp_path / "n.md").write_text("text")
    result = run_cli(cli, "sources", "add", str(tmp_path / "n.md"), "--persona", "ash", "--beat", "nope", code=1)
    assert "--beat: unknown beat 'nope'" in result.stderr and "benchmark_skepticism" in result.stderr


def test_feed_urls_from_a_local_server(cli: CliRunner, ready: Path, feed_server: str) -> None:
    out = add(cli, f"{feed_server}/rss", f"{feed_server}/atom")
    assert len(out["added"]) == 3 and out["unreachable"] == []
    assert out["added"][0]["origin"] == f"{feed_server}/rss"

    missing = run_cli(cli, "sources", "add", f"{feed_server}/gone", "--persona", "ash", code=1)
    assert "skipped:" in missing.stderr and "answered 404" in missing.stderr

    page = run_cli(cli, "sources", "add", f"{feed_server}/page", "--persona", "ash", code=1)
    assert "no article text found on the page" in page.stderr


def test_unreachable_url_is_skipped_and_said(cli: CliRunner, ready: Path, tmp_path: Path) -> None:
    note = tmp_path / "n.md"
    note.write_text("A note about open weights and serving costs.")
    out = add(cli, "http://127.0.0.1:1/feed.xml", str(note))
    assert len(out["added"]) == 1
    assert out["unreachable"] and "http://127.0.0.1:1/feed.xml: cannot fetch it" in out["unreachable"][0]


def test_list_filters_by_beat(cli: CliRunner, ready: Path, tmp_path: Path) -> None:
    (tmp_path / "models.rss").write_text(RSS)
    add(cli, str(tmp_path / "models.rss"))
    listed = run_cli(cli, "sources", "list", "--persona", "ash", "--beat", "agents_in_practice", "--json")
    assert [s["title"] for s in listed] == ["New agent benchmark released"]
    human = run_cli(cli, "sources", "list", "--persona", "ash")
    assert "Lab cuts prices for cached input tokens" in human.stdout


def test_sources_folder_skips_links_out_and_bad_files_and_plans_on(cli: CliRunner, ready: Path, tmp_path: Path) -> None:
    folder = ready / "personas" / "ash" / "sources"
    secret = tmp_path / "secret.md"
    secret.write_text("+++\ntitle = 'Outside'\n+++\nThe deploy key is SECRET-OUTSIDE and must stay put.\n")
    (folder / "leak.md").symlink_to(secret)
    (folder / "inside-link.md").symlink_to(folder / "2026-11-05-token-bill.md")  # a link that stays inside: read
    (folder / "dangling.md").symlink_to(tmp_path / "gone.md")
    (folder / "loop.md").symlink_to(folder / "loop.md")
    big = folder / "huge.md"
    with big.open("wb") as file:
        file.truncate(1024**3)  # 1 GB, sparse: no disk used
    (folder / "blob.md").write_bytes(b"\x89PNG\x00\x00\x01")

    planned = run_cli(cli, "plan", "--persona", "ash", "--items", "2", "--video", "0", "--json")

    assert len(planned["plans"]) == 2
    warnings = planned["warnings"]
    assert len(warnings) == 5, warnings
    said = {name: next((w for w in warnings if f"{name}:" in w), "") for name in
            ("leak.md", "dangling.md", "loop.md", "huge.md", "blob.md")}  # fmt: skip
    assert "outside the sources folder" in said["leak.md"] and str(secret) in said["leak.md"]
    assert "cannot read it" in said["dangling.md"] and "cannot read it" in said["loop.md"]
    assert "1,073,741,824 bytes" in said["huge.md"] and "BEATDESK_SOURCE_MAX_BYTES" in said["huge.md"]
    assert "binary" in said["blob.md"]
    listed = run_cli(cli, "sources", "list", "--persona", "ash", "--json")
    assert len(listed) == 5  # the notes `init` wrote; the link inside names one of them again
    assert not any("SECRET-OUTSIDE" in json.dumps(source) for source in listed)


def test_an_oversized_folder_file_is_read_no_further_than_the_cap(ready: Path) -> None:
    from beatdesk.personas import load_persona
    from planner.sources import folder_sources

    big = ready / "personas" / "ash" / "sources" / "huge.md"
    with big.open("wb") as file:
        file.truncate(1024**3)
    tracemalloc.start()
    try:
        sources, warnings = folder_sources(ready, load_persona(ready, "ash"), max_bytes=1_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(sources) == 5 and len(warnings) == 1 and "huge.md" in warnings[0]
    assert peak < 20 * 1024**2  # a read of the cap (1 MB), not of the 1 GB file
