"""A corpus of malformed input: persona files, messages, flags, sources, environment and the web forms.

Each case must end in a non-zero exit (or a refusal on the web), one line naming the problem, no
traceback, and the store exactly as it was. The CLI cases run through the console script's `main()`,
the way a person's typing reaches it; the web cases through FastAPI's TestClient against the review desk.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from rich.text import Text
from typer.testing import CliRunner

from beatdesk.settings import get_settings, load_settings
from beatdesk.store import forget_stores, open_store, repo
from beatdesk_cli.main import main
from beatdesk_cli.terminal import TerminalConsole, clean
from review_web.app import create_app

PASSWORD = "correct horse battery"
Setup = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    needles: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    setup: Setup | None = None
    stdin: str | None = None
    code: int | None = None
    """The exit code when it matters (2 for usage errors); otherwise any non-zero."""


def persona_edit(old: str, new: str, *, count: int = 1) -> Setup:
    """Replace text in the home's personas/ash.toml (the example persona as `beatdesk init` wrote it)."""

    def setup(home: Path) -> None:
        path = home / "personas" / "ash.toml"
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, count), encoding="utf-8")

    return setup


def persona_append(text: str) -> Setup:
    """Add text at the end of the home's personas/ash.toml."""

    def setup(home: Path) -> None:
        path = home / "personas" / "ash.toml"
        path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")

    return setup


def extra_beats(count: int) -> str:
    return "".join(f'\n[[beats]]\nkey = "extra_{i}"\ntitle = "Extra beat {i}"\n' for i in range(count))


def write(name: str, content: str | bytes) -> Setup:
    """A file beside the home (the test's working folder), as a person would have one lying around."""

    def setup(home: Path) -> None:
        path = home.parent / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))

    return setup


def damage_database(home: Path) -> None:
    (home / "beatdesk.db").write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (home / f"beatdesk.db{suffix}").unlink(missing_ok=True)


BATCH = ("batch", "run", "--persona", "ash", "--items", "1", "--video", "0")
NOTE = "+++\ntitle = 'A note'\npublished = 2026-11-20\n+++\nSmall models fine-tuned on tickets beat large ones.\n"

PERSONA_CASES: dict[str, Case] = {
    "weight-zero": Case(
        BATCH, ("ash.toml", "beats[0].weight", "greater than 0"), setup=persona_edit("weight = 1.4", "weight = 0")
    ),
    "weight-negative": Case(BATCH, ("beats[0].weight",), setup=persona_edit("weight = 1.4", "weight = -2")),
    "weight-text": Case(BATCH, ("beats[0].weight",), setup=persona_edit("weight = 1.4", 'weight = "heavy"')),
    "timezone-unknown": Case(
        BATCH, ("timezone", "IANA time zone", "Mars/Olympus"), setup=persona_edit('"Europe/Berlin"', '"Mars/Olympus"')
    ),
    "timezone-empty": Case(BATCH, ("timezone", "IANA time zone"), setup=persona_edit('"Europe/Berlin"', '""')),
    "timezone-markup": Case(BATCH, ("timezone", "[/red]"), setup=persona_edit('"Europe/Berlin"', '"[/red]"')),
    "timezone-path": Case(BATCH, ("timezone",), setup=persona_edit('"Europe/Berlin"', '"../../etc/passwd"')),
    "font-missing": Case(
        BATCH,
        ("style.font_path", "/no/such/font.ttf"),
        setup=persona_edit('accent = "#f5a524"', 'accent = "#f5a524"\nfont_path = "/no/such/font.ttf"'),
    ),
    "font-not-a-font": Case(
        BATCH,
        ("style.font_path", "/etc/hostname"),
        setup=persona_edit('accent = "#f5a524"', 'accent = "#f5a524"\nfont_path = "/etc/hostname"'),
    ),
    "not-toml": Case(BATCH, ("ash.toml", "not valid TOML"), setup=persona_edit("[budgets]", "[budgets")),
    "handle-without-at": Case(BATCH, ("handle",), setup=persona_edit('handle = "@ash"', 'handle = "ash"')),
    "handle-markup": Case(BATCH, ("handle", "[/red]"), setup=persona_edit('handle = "@ash"', 'handle = "@ash[/red]"')),
    "beats-empty": Case(
        BATCH,
        ("beats",),
        setup=lambda home: (home / "personas" / "ash.toml").write_text(
            (home / "personas" / "ash.toml").read_text(encoding="utf-8").split("[[beats]]")[0] + "beats = []\n",
            encoding="utf-8",
        ),
    ),
    "beat-key-twice": Case(
        BATCH,
        ("appears twice",),
        setup=persona_edit('key = "foundation_models_and_inference_economics"', 'key = "benchmark_skepticism"'),
    ),
    "unknown-field": Case(
        BATCH, ("colour", "Extra inputs"), setup=persona_edit('handle = "@ash"', 'handle = "@ash"\ncolour = "blue"')
    ),
    "cooldown-negative": Case(
        BATCH, ("beats[0].cooldown_days",), setup=persona_edit("cooldown_days = 3", "cooldown_days = -1")
    ),
    "beat-kind": Case(BATCH, ("beats[0].kind",), setup=persona_edit('kind = "evergreen"', 'kind = "weekly"')),
    "hashtag-form": Case(BATCH, ("beats[0].hashtags",), setup=persona_edit('"#AI", "#LLM"', '"#1AI", "#LLM"')),
    "channel-unknown": Case(BATCH, ("channels[0].name",), setup=persona_edit('name = "outbox"', 'name = "myspace"')),
    "channel-plain-http": Case(
        BATCH,
        ("channels[1]", "the webhook channel's url", "plain http", "use https://"),
        setup=persona_edit(
            'name = "outbox"\n',
            'name = "outbox"\n\n[[channels]]\nname = "webhook"\nurl = "http://hooks.example.com/in"\n',
        ),
    ),
    "channel-plain-http-bluesky-video": Case(
        BATCH,
        ("the bluesky channel's video_url", "plain http"),
        setup=persona_edit(
            'name = "outbox"\n',
            'name = "outbox"\n\n[[channels]]\nname = "bluesky"\nvideo_url = "http://video.example.com"\n',
        ),
    ),
    "slot-hour": Case(BATCH, ("slots",), setup=persona_edit('"08:30"', '"25:00"')),
    "slot-cron": Case(
        BATCH,
        ("slot_cron", "cron line"),
        setup=persona_edit('slots = ["08:30"', 'slot_cron = ["every day"]\nslots = ["08:30"'),
    ),
    "budget-negative": Case(
        BATCH, ("budgets.per_batch_usd",), setup=persona_edit('per_batch_usd = "5.00"', 'per_batch_usd = "-5"')
    ),
    "budget-text": Case(
        BATCH, ("budgets.per_batch_usd",), setup=persona_edit('per_batch_usd = "5.00"', 'per_batch_usd = "lots"')
    ),
    "colour": Case(
        BATCH, ("style.background",), setup=persona_edit('background = "#0f1720"', 'background = "dark blue"')
    ),
    "body-words-reversed": Case(
        BATCH,
        ("drafting.body_words", "[least, most]", "[450, 80]"),
        setup=persona_edit("body_words = [80, 450]", "body_words = [450, 80]"),
    ),
    "hashtag-range-reversed": Case(
        BATCH, ("drafting.hashtags", "[least, most]"), setup=persona_edit("hashtags = [2, 5]", "hashtags = [5, 2]")
    ),
    "caption-limit": Case(
        BATCH, ("drafting.caption_max_chars",), setup=persona_edit("caption_max_chars = 500", "caption_max_chars = 10")
    ),
    "video-seconds": Case(
        BATCH, ("drafting.video_max_seconds",), setup=persona_edit("video_max_seconds = 60", "video_max_seconds = 0")
    ),
    "batch-items": Case(BATCH, ("batch.items",), setup=persona_edit("items = 5", "items = 0")),
    "display-name-empty": Case(
        BATCH, ("display_name",), setup=persona_edit('display_name = "Ash Moreau"', 'display_name = ""')
    ),
    "not-utf8": Case(
        BATCH,
        ("ash.toml", "not UTF-8"),
        setup=lambda home: (home / "personas" / "ash.toml").write_bytes(b'handle = "@ash\xff"\n'),
    ),
    "nested-10000": Case(
        BATCH, ("ash.toml", "nested too deeply"), setup=persona_append("\nz = " + "[" * 10_000 + "]" * 10_000 + "\n")
    ),
    "nested-40": Case(BATCH, ("ash.toml", "zz[0]", "16 levels"), setup=persona_append("\nzz = " + "[" * 40 + "]" * 40)),
    "dotted-key-deep": Case(
        BATCH, ("ash.toml", "nested more than 16"), setup=persona_append("\n" + ".".join(["k"] * 5000) + " = 1\n")
    ),
    "too-many-beats": Case(
        BATCH, ("ash.toml", "beats", "at most 1000 items", "not 1106"), setup=persona_append(extra_beats(1_100))
    ),
    "too-many-angles": Case(
        BATCH,
        ("ash.toml", "beats[0].angles", "at most 50 items"),
        setup=persona_edit("angles = [", "angles = [" + '"an angle", ' * 60),
    ),
    "angle-too-long": Case(
        BATCH,
        ("ash.toml", "beats[0].angles[0]", "at most 500 characters"),
        setup=persona_edit("angles = [", 'angles = ["' + "long " * 120 + '", '),
    ),
    "file-too-big": Case(
        BATCH, ("ash.toml", "1,048,576-byte limit"), setup=persona_append("#" + "padding " * 140_000 + "\n")
    ),
    "file-huge-sparse": Case(
        BATCH,
        ("ash.toml", "67,108,864 bytes"),
        setup=lambda home: os.truncate(home / "personas" / "ash.toml", 64 * 1024**2),  # sparse: no disk used
    ),
}

MESSAGE_CASES: dict[str, Case] = {
    "no-counts": Case(("batch", "run", "--persona", "ash", "--message", "make it pop"), ("no counts",)),
    "markup-no-counts": Case(
        ("batch", "run", "--persona", "ash", "--message", "[/red] items [bold]"), ("[/red] items [bold]", "no counts")
    ),
    "more-videos-than-items": Case(
        ("batch", "run", "--persona", "ash", "--message", "5 items: 6 videos"), ("6 video", "out of 5")
    ),
    "sum-mismatch": Case(
        (
            "batch",
            "run",
            "--persona",
            "ash",
            "--message",
            "Generate exactly 5 items: 1 with content_format='video' and 5 with content_format='hero_text'.",
        ),
        ("5 items in all",),
    ),
    "contradicts-video-flag": Case(
        ("batch", "run", "--persona", "ash", "--video", "1", "--message", "six posts, two of them videos"),
        ("--video 1 contradicts the message",),
    ),
    "contradicts-items-flag": Case(
        ("batch", "run", "--persona", "ash", "--items", "2", "--message", "six posts, two of them videos"),
        ("contradicts",),
    ),
    "zero-items": Case(("batch", "run", "--persona", "ash", "--message", "zero posts"), ("at least one item",)),
    "too-many": Case(("batch", "run", "--persona", "ash", "--message", "5000 posts"), ("less than or equal to 1000",)),
    "plan-no-counts": Case(("plan", "--persona", "ash", "--message", "[red]loud[/red]"), ("[red]loud[/red]",)),
}

FLAG_CASES: dict[str, Case] = {
    "items-zero": Case(("batch", "run", "--persona", "ash", "--items", "0"), ("items",)),
    "items-negative": Case(("batch", "run", "--persona", "ash", "--items", "-1"), ("items",)),
    "items-word": Case(("batch", "run", "--persona", "ash", "--items", "five"), ("'--items'", "integer"), code=2),
    "items-huge": Case(("batch", "run", "--persona", "ash", "--items", "5000"), ("1000",)),
    "video-negative": Case(("batch", "run", "--persona", "ash", "--items", "2", "--video", "-1"), ("video",)),
    "video-over-items": Case(
        ("batch", "run", "--persona", "ash", "--items", "2", "--video", "3"),
        ("--video (3) cannot be larger than --items (2)",),
    ),
    "max-cost-negative": Case((*BATCH, "--max-cost", "-5"), ("--max-cost", "above 0", "-5")),
    "max-cost-zero": Case((*BATCH, "--max-cost", "0"), ("--max-cost", "above 0")),
    "max-cost-garbage": Case((*BATCH, "--max-cost", "a lot"), ("'--max-cost'",), code=2),
    "max-cost-nan": Case((*BATCH, "--max-cost", "NaN"), ("'--max-cost'",), code=2),
    "max-cost-decimals": Case((*BATCH, "--max-cost", "0.0000000001"), ("--max-cost", "decimal")),
    "persona-unknown": Case(("batch", "run", "--persona", "bob"), ("unknown persona 'bob'", "known personas: ash")),
    "persona-markup": Case(("batch", "run", "--persona", "[/red]"), ("unknown persona '[/red]'",)),
    "persona-empty": Case(("batch", "run", "--persona", ""), ("unknown persona ''",)),
    "persona-path": Case(("batch", "run", "--persona", "../../etc/passwd"), ("unknown persona",)),
    "persona-missing": Case(("batch", "run"), ("Missing option '--persona'",), code=2),
    "unknown-command": Case(("publishh",), ("No such command",), code=2),
    "status-unknown": Case(("queue", "list", "--status", "[/red]"), ("'--status'", "[/red]"), code=2),
    "queue-persona-unknown": Case(("queue", "list", "--persona", "[bold]x"), ("unknown persona '[bold]x'",)),
    "post-id-word": Case(("post", "show", "first"), ("'post_id'", "integer"), code=2),
    "post-unknown": Case(("post", "show", "999"), ("no post with id 999",)),
    "approve-at-word": Case(
        ("review", "approve", "1", "--at", "tomorrow [9am]"), ("--at 'tomorrow [9am]'", "ISO time")
    ),
    "approve-at-past": Case(("review", "approve", "1", "--at", "2001-01-01T09:30"), ("in the past",)),
    "approve-unknown": Case(("review", "approve", "999"), ("no post with id 999",)),
    "reject-empty-reason": Case(("review", "reject", "1", "--reason", "  "), ("needs a reason",)),
    "reject-no-reason": Case(("review", "reject", "1"), ("a rejection needs a reason",)),
    "publish-now-word": Case(("publish", "due", "--now", "soon"), ("--now 'soon'",)),
    "scheduler-now-word": Case(("scheduler", "--once", "--now", "[/]"), ("--now '[/]'",)),
    "sources-list-unknown-persona": Case(("sources", "list", "--persona", "bob"), ("unknown persona 'bob'",)),
    "sources-add-no-targets": Case(("sources", "add", "--persona", "ash"), ("Missing argument",), code=2),
    "sources-kind": Case(("sources", "add", "x.md", "--persona", "ash", "--kind", "poem"), ("'--kind'",), code=2),
    "users-add-script": Case(
        ("users", "add", "<script>", "--password-stdin"),
        ("user name '<script>'", "letters, digits"),
        stdin=PASSWORD + "\n",
    ),
    "users-add-space": Case(
        ("users", "add", "rita smith", "--password-stdin"), ("user name 'rita smith'",), stdin=PASSWORD + "\n"
    ),
    "users-add-markup": Case(
        ("users", "add", "[/red]", "--password-stdin"), ("user name '[/red]'",), stdin=PASSWORD + "\n"
    ),
    "users-add-long": Case(("users", "add", "a" * 41, "--password-stdin"), ("user name",), stdin=PASSWORD + "\n"),
    "users-add-exists": Case(
        ("users", "add", "rita", "--password-stdin"), ("a user named 'rita' exists already",), stdin=PASSWORD + "\n"
    ),
    "users-add-short-password": Case(
        ("users", "add", "tom", "--password-stdin"), ("at least 10 characters",), stdin="short\n"
    ),
    "users-add-common-password": Case(
        ("users", "add", "tom", "--password-stdin"), ("too easy to guess", "very common password"), stdin="password12\n"
    ),
    "users-add-own-name": Case(  # strong enough for zxcvbn alone, not once it knows the name
        ("users", "add", "tomasz", "--password-stdin"), ("too easy to guess",), stdin="tomasz-1987\n"
    ),
    "users-password-keyboard": Case(
        ("users", "password", "rita", "--password-stdin"), ("too easy to guess",), stdin="qwertyuiop1234\n"
    ),
    "users-reset-common": Case(
        ("users", "reset-password", "rita", "--password-stdin"), ("too easy to guess",), stdin="password12\n"
    ),
    "users-add-no-terminal": Case(("users", "add", "tom"), ("--password-stdin",)),
    "users-add-role": Case(
        ("users", "add", "tom", "--role", "god", "--password-stdin"), ("'--role'",), stdin=PASSWORD + "\n", code=2
    ),
    "users-token-unknown": Case(("users", "token", "nobody"), ("no user named 'nobody'",)),
    "schedule-unknown-persona": Case(("schedule", "show", "--persona", "bob"), ("unknown persona 'bob'",)),
    "worker-no-broker": Case(("worker",), ("BEATDESK_BROKER_URL is not set",)),
    "serve-open-host": Case(("serve", "--host", "0.0.0.0"), ("BEATDESK_SECRET_KEY",)),
    "secret-key-sequence": Case(
        ("serve", "--port", "1"),
        ("BEATDESK_SECRET_KEY", "too easy to guess", "token_urlsafe"),
        env={"BEATDESK_SECRET_KEY": "0123456789abcdef0123456789abcdef"},
    ),
    "secret-key-repeat": Case(
        ("serve", "--port", "1"),
        ("BEATDESK_SECRET_KEY", "too easy to guess", "token_urlsafe"),
        env={"BEATDESK_SECRET_KEY": "a" * 48},
    ),
    "secret-key-keyboard": Case(
        ("up", "--port", "1"),
        ("BEATDESK_SECRET_KEY", "too easy to guess", "token_urlsafe"),
        env={"BEATDESK_SECRET_KEY": "qwertyuiopasdfghjklzxcvbnm1234567890"},
    ),
    "secret-key-short": Case(
        ("up", "--port", "1"),
        ("BEATDESK_SECRET_KEY", "too short", "token_urlsafe"),
        env={"BEATDESK_SECRET_KEY": "Kq8-vN2pZ"},
    ),
    "up-open-host": Case(("up", "--host", "0.0.0.0"), ("BEATDESK_SECRET_KEY",)),
    "rerender-unknown-model": Case(("post", "rerender", "1", "--model", "acme:x"), ("acme",)),
    "redraft-unknown": Case(("post", "redraft", "999"), ("999",)),
}

PRIVATE_OFF = {"BEATDESK_ALLOW_PRIVATE_URLS": "0"}
"""The default; the test fixtures allow loopback for the fake servers."""

SOURCE_CASES: dict[str, Case] = {
    "missing-file": Case(("sources", "add", "nope.md", "--persona", "ash"), ("nope.md", "no such file")),
    "missing-markup-name": Case(("sources", "add", "[/red].md", "--persona", "ash"), ("[/red].md", "no such file")),
    "empty-file": Case(
        ("sources", "add", "empty.md", "--persona", "ash"), ("empty.md", "empty"), setup=write("empty.md", "")
    ),
    "binary-file": Case(
        ("sources", "add", "blob.md", "--persona", "ash"),
        ("blob.md", "binary"),
        setup=write("blob.md", b"\x89PNG\x00\x00\x01"),
    ),
    "not-utf8": Case(
        ("sources", "add", "latin.md", "--persona", "ash"),
        ("latin.md", "not UTF-8"),
        setup=write("latin.md", "caf\xe9".encode("latin-1")),
    ),
    "over-limit": Case(
        ("sources", "add", "big.md", "--persona", "ash"),
        ("big.md", "BEATDESK_SOURCE_MAX_BYTES", "1,000,000-byte limit"),
        setup=write("big.md", "word " * 250_001),
    ),
    "over-set-limit": Case(
        ("sources", "add", "note.md", "--persona", "ash"),
        ("note.md", "BEATDESK_SOURCE_MAX_BYTES", "50-byte"),
        env={"BEATDESK_SOURCE_MAX_BYTES": "50"},
        setup=write("note.md", NOTE),
    ),
    "front-matter-unclosed": Case(
        ("sources", "add", "open.md", "--persona", "ash"),
        ("open.md", "never closed"),
        setup=write("open.md", "+++\ntitle = 'x'\nbody\n"),
    ),
    "front-matter-toml": Case(
        ("sources", "add", "bad.md", "--persona", "ash"),
        ("bad.md",),
        setup=write("bad.md", "+++\ntitle = \n+++\nbody text\n"),
    ),
    "front-matter-nested": Case(
        ("sources", "add", "deep.md", "--persona", "ash"),
        ("deep.md", "nested too deeply"),
        setup=write("deep.md", "+++\nx = " + "[" * 5000 + "]" * 5000 + "\n+++\nA note.\n"),
    ),
    "front-matter-only": Case(
        ("sources", "add", "bare.md", "--persona", "ash"),
        ("bare.md", "no text after the front matter"),
        setup=write("bare.md", "+++\ntitle = 'x'\n+++\n"),
    ),
    "front-matter-beat": Case(
        ("sources", "add", "beat.md", "--persona", "ash"),
        ("unknown beat 'cooking'",),
        setup=write("beat.md", "+++\nbeats = ['cooking']\n+++\nA note.\n"),
    ),
    "front-matter-date": Case(
        ("sources", "add", "date.md", "--persona", "ash"),
        ("date.md", "published"),
        setup=write("date.md", "+++\npublished = 'last week'\n+++\nA note.\n"),
    ),
    "beat-flag": Case(
        ("sources", "add", "note.md", "--persona", "ash", "--beat", "[cooking]"),
        ("--beat", "unknown beat '[cooking]'"),
        setup=write("note.md", NOTE),
    ),
    "one-bad-among-good": Case(
        ("sources", "add", "note.md", "nope.md", "--persona", "ash"),
        ("nope.md", "no such file"),
        setup=write("note.md", NOTE),
    ),
    "a-folder": Case(("sources", "add", ".", "--persona", "ash"), ("no such file",)),
    "feed-not-xml": Case(
        ("sources", "add", "feed.xml", "--persona", "ash", "--kind", "feed"),
        ("feed.xml",),
        setup=write("feed.xml", "not a feed at all"),
    ),
    "feed-no-items": Case(
        ("sources", "add", "feed.xml", "--persona", "ash"),
        ("feed.xml",),
        setup=write("feed.xml", "<?xml version='1.0'?><rss><channel><title>t</title></channel></rss>"),
    ),
    "unknown-persona": Case(
        ("sources", "add", "note.md", "--persona", "bob"), ("unknown persona 'bob'",), setup=write("note.md", NOTE)
    ),
    # Refused before any connection (nothing listens on port 9; the cloud metadata address is never reached).
    "url-loopback": Case(
        ("sources", "add", "http://127.0.0.1:9/internal", "--persona", "ash"),
        ("127.0.0.1 is an internal address", "BEATDESK_ALLOW_PRIVATE_URLS=1"),
        env=PRIVATE_OFF,
    ),
    "url-ipv4-mapped": Case(
        ("sources", "add", "http://[::ffff:127.0.0.1]:9/", "--persona", "ash"), ("internal address",), env=PRIVATE_OFF
    ),
    "url-ipv6-loopback": Case(
        ("sources", "add", "http://[::1]:9/", "--persona", "ash"), ("internal address",), env=PRIVATE_OFF
    ),
    "url-metadata": Case(
        ("sources", "add", "http://169.254.169.254/latest/meta-data/", "--persona", "ash"),
        ("169.254.169.254 is an internal address",),
        env=PRIVATE_OFF,
    ),
    "url-private": Case(
        ("sources", "add", "http://10.0.0.8/wiki", "--persona", "ash"), ("internal address",), env=PRIVATE_OFF
    ),
    "url-unspecified": Case(
        ("sources", "add", "http://0.0.0.0:9/", "--persona", "ash"), ("internal address",), env=PRIVATE_OFF
    ),
}

ENV_CASES: dict[str, Case] = {
    "home-empty": Case(("queue", "list"), ("BEATDESK_HOME", "empty"), env={"BEATDESK_HOME": ""}),
    "home-blank": Case(("init",), ("BEATDESK_HOME", "empty"), env={"BEATDESK_HOME": "   "}),
    "home-a-file": Case(("queue", "list"), ("BEATDESK_HOME", "is a file"), env={"BEATDESK_HOME": "/etc/hostname"}),
    "home-under-a-file": Case(
        ("init",), ("BEATDESK_HOME", "cannot write there"), env={"BEATDESK_HOME": "/etc/hostname/home"}
    ),
    "home-unwritable": Case(
        ("queue", "list"), ("no beatdesk store in /sys/beatdesk-home",), env={"BEATDESK_HOME": "/sys/beatdesk-home"}
    ),
    "home-unwritable-batch": Case(
        BATCH, ("BEATDESK_HOME", "cannot write there"), env={"BEATDESK_HOME": "/sys/beatdesk-home"}
    ),
    "database-damaged": Case(
        ("queue", "list"), ("beatdesk.db", "not a usable SQLite database", "move it aside"), setup=damage_database
    ),
    "database-damaged-batch": Case(BATCH, ("not a usable SQLite database",), setup=damage_database),
    "database-url": Case(
        ("queue", "list"), ("BEATDESK_DATABASE_URL is not a database URL",), env={"BEATDESK_DATABASE_URL": "not a url"}
    ),
    "database-unreachable": Case(
        ("queue", "list"),
        ("cannot reach the database", "127.0.0.1:1"),
        env={"BEATDESK_DATABASE_URL": "postgresql://u:hunter2@127.0.0.1:1/x"},
    ),
    "database-password-hidden": Case(
        ("queue", "list"), ("u:***@",), env={"BEATDESK_DATABASE_URL": "postgresql://u:hunter2@[bad"}
    ),
    "broker-scheme": Case(
        ("config", "show"),
        ("BEATDESK_BROKER_URL is not a Redis URL",),
        env={"BEATDESK_BROKER_URL": "http://127.0.0.1:6379"},
    ),
    "broker-unreachable": Case(
        BATCH, ("cannot reach the broker",), env={"BEATDESK_BROKER_URL": "redis://127.0.0.1:1/0"}
    ),
    "llm-base-url": Case(
        ("config", "show"),
        ("BEATDESK_LLM_BASE_URL is not an http(s) URL", "'::::'"),
        env={"BEATDESK_LLM_BASE_URL": "::::"},
    ),
    "llm-base-url-scheme": Case(
        ("config", "show"), ("BEATDESK_LLM_BASE_URL",), env={"BEATDESK_LLM_BASE_URL": "ftp://example.org/v1"}
    ),
    "llm-base-url-port": Case(
        ("config", "show"), ("BEATDESK_LLM_BASE_URL",), env={"BEATDESK_LLM_BASE_URL": "http://127.0.0.1:port/v1"}
    ),
    "fal-url": Case(("config", "show"), ("BEATDESK_FAL_URL",), env={"BEATDESK_FAL_URL": "queue.fal.run"}),
    "llm-unknown-provider": Case(BATCH, ("acme",), env={"BEATDESK_LLM": "acme:big-model"}),
    "image-renderer-unknown": Case(BATCH, ("bogus",), env={"BEATDESK_IMAGE_RENDERER": "bogus"}),
    "fal-without-key": Case(BATCH, ("FAL_KEY is not set",), env={"BEATDESK_IMAGE_RENDERER": "fal:fal-ai/flux/schnell"}),
    "worker-concurrency-word": Case(
        ("config", "show"), ("BEATDESK_WORKER_CONCURRENCY", "'lots'"), env={"BEATDESK_WORKER_CONCURRENCY": "lots"}
    ),
    "worker-concurrency-zero": Case(
        ("config", "show"), ("BEATDESK_WORKER_CONCURRENCY",), env={"BEATDESK_WORKER_CONCURRENCY": "0"}
    ),
    "freshness-threshold": Case(
        ("config", "show"), ("BEATDESK_FRESHNESS_THRESHOLD",), env={"BEATDESK_FRESHNESS_THRESHOLD": "2"}
    ),
    "source-max-bytes-zero": Case(
        ("config", "show"), ("BEATDESK_SOURCE_MAX_BYTES",), env={"BEATDESK_SOURCE_MAX_BYTES": "0"}
    ),
    "source-max-bytes-word": Case(
        ("config", "show"), ("BEATDESK_SOURCE_MAX_BYTES",), env={"BEATDESK_SOURCE_MAX_BYTES": "1MB"}
    ),
    "batch-timeout": Case(("config", "show"), ("BEATDESK_BATCH_TIMEOUT_S",), env={"BEATDESK_BATCH_TIMEOUT_S": "-1"}),
    "llm-temperature": Case(("config", "show"), ("BEATDESK_LLM_TEMPERATURE",), env={"BEATDESK_LLM_TEMPERATURE": "hot"}),
    "scheduler-tick": Case(("config", "show"), ("BEATDESK_SCHEDULER_TICK_S",), env={"BEATDESK_SCHEDULER_TICK_S": "0"}),
    "llm-cache": Case(("config", "show"), ("BEATDESK_LLM_CACHE",), env={"BEATDESK_LLM_CACHE": "sometimes"}),
    "allow-private-word": Case(
        ("config", "show"), ("BEATDESK_ALLOW_PRIVATE_URLS",), env={"BEATDESK_ALLOW_PRIVATE_URLS": "intranet"}
    ),
    "source-fetch-timeout": Case(
        ("config", "show"), ("BEATDESK_SOURCE_FETCH_TIMEOUT_S",), env={"BEATDESK_SOURCE_FETCH_TIMEOUT_S": "0"}
    ),
    "publish-timeout": Case(
        ("config", "show"), ("BEATDESK_PUBLISH_TIMEOUT_S",), env={"BEATDESK_PUBLISH_TIMEOUT_S": "-5"}
    ),
}

CLI_CASES = {
    f"{group}:{name}": case
    for group, cases in (
        ("persona", PERSONA_CASES),
        ("message", MESSAGE_CASES),
        ("flag", FLAG_CASES),
        ("source", SOURCE_CASES),
        ("env", ENV_CASES),
    )
    for name, case in cases.items()
}


def beatdesk(*args: str, home: Path, stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "beatdesk_cli.main", *args],
        env=os.environ | {"BEATDESK_HOME": str(home)},
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return result.stdout


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with one batch of two posts in review, a reviewer (rita) and an admin (ada): copied per case."""
    home = tmp_path_factory.mktemp("malformed") / "home"
    beatdesk("init", home=home)
    beatdesk("batch", "run", "--persona", "ash", "--items", "2", "--video", "0", home=home)
    beatdesk("users", "add", "rita", "--password-stdin", home=home, stdin=PASSWORD + "\n")
    beatdesk("users", "add", "ada", "--role", "admin", "--password-stdin", home=home, stdin=PASSWORD + "\n")
    return home


@pytest.fixture
def desk_home(prepared: Path, home: Path) -> Path:
    shutil.copytree(prepared, home)
    return home


def snapshot(home: Path) -> tuple[object, ...]:
    """Every row of every table (or the file's bytes when it is not a database), and the persona files."""
    path = home / "beatdesk.db"
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            rows: object = {
                t: sorted(map(repr, db.execute(f'SELECT {_kept_columns(db, t)} FROM "{t}"'))) for t in tables
            }
        finally:
            db.close()
    except sqlite3.DatabaseError:
        rows = path.read_bytes()
    personas = {p.name: p.read_bytes() for p in sorted((home / "personas").glob("*.toml"))}
    return rows, personas


USE_STAMPS = {("api_tokens", "last_used_at")}
"""Columns that record that something was used (a token, refused or not), not what a request changed."""


def _kept_columns(db: sqlite3.Connection, table: str) -> str:
    names = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]
    return ", ".join(f'"{name}"' for name in names if (table, name) not in USE_STAMPS)


def run_main(args: tuple[str, ...], *, env: dict[str, str], stdin: str | None) -> tuple[int, str, str]:
    """The console script in this process: exit code, stdout, stderr."""
    get_settings.cache_clear()
    forget_stores()
    code: int | str | None = 0
    argv = sys.argv
    with CliRunner().isolation(input=stdin, env=env) as (out, err, _):
        sys.argv = ["beatdesk", *args]
        try:
            main()
        except SystemExit as exit_:
            code = exit_.code
        finally:
            sys.argv = argv
            forget_stores()
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    return int(code or 0), stdout, stderr


@pytest.mark.parametrize("case", list(CLI_CASES.values()), ids=list(CLI_CASES))
def test_cli_refuses_in_one_line(case: Case, desk_home: Path) -> None:
    if case.setup:
        case.setup(desk_home)
    before = snapshot(desk_home)
    code, out, err = run_main(case.args, env=case.env, stdin=case.stdin)
    assert code != 0 and (case.code is None or code == case.code), f"exit {code}\nstdout: {out}\nstderr: {err}"
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for needle in case.needles:
        assert needle in lines[0], lines[0]
    assert "hunter2" not in err  # a password in a URL is never shown
    assert snapshot(desk_home) == before


# --- the review desk's forms and API ----------------------------------------------------------------


@pytest.fixture
def client(desk_home: Path) -> Iterator[TestClient]:
    """The review desk in this process, logged in as ada (an admin)."""
    app = create_app(load_settings(home=desk_home))
    with TestClient(app) as http:
        token = csrf(http, "/login")
        answer = http.post(
            "/login", data={"name": "ada", "password": PASSWORD, "csrftoken": token}, follow_redirects=False
        )
        assert answer.status_code == 303, answer.text
        yield http
    forget_stores()


def csrf(http: TestClient, path: str) -> str:
    match = re.search(r'name="csrftoken" value="([^"]+)"', http.get(path).text)
    assert match, path
    return match[1]


@dataclass(frozen=True)
class Form:
    path: str
    data: dict[str, str | list[str]]
    needle: str
    page: str = "/"
    """A page whose form carries a CSRF token for this post."""
    with_token: bool = True


WEB_CASES: dict[str, Form] = {
    "approve-time-word": Form("/posts/1/approve", {"at": "tomorrow [9am]"}, "ISO time", page="/posts/1"),
    "approve-time-past": Form("/posts/1/approve", {"at": "2001-01-01T09:30"}, "in the past", page="/posts/1"),
    "approve-unknown-post": Form("/posts/999/approve", {"at": ""}, "999"),
    "approve-post-id-word": Form("/posts/first/approve", {"at": ""}, "post_id"),
    "reject-empty-reason": Form("/posts/1/reject", {"reason": "   "}, "needs a reason", page="/posts/1"),
    "edit-title-short": Form(
        "/posts/1/edit", {"title": "T", "caption": "A caption", "hashtags": "#AI #LLM"}, "title", page="/posts/1"
    ),
    "edit-missing-title": Form("/posts/1/edit", {"caption": "c", "hashtags": "#AI"}, "title", page="/posts/1"),
    "bulk-ids-word": Form("/bulk/approve", {"post_ids": ["one"]}, "post_ids"),
    "user-name-script": Form(
        "/admin/users", {"name": "<script>", "role": "reviewer", "password": PASSWORD}, "user name", page="/admin/users"
    ),
    "user-name-markup": Form(
        "/admin/users", {"name": "[/red]", "role": "reviewer", "password": PASSWORD}, "user name", page="/admin/users"
    ),
    "user-role": Form(
        "/admin/users", {"name": "tom", "role": "god", "password": PASSWORD}, "unknown role", page="/admin/users"
    ),
    "user-short-password": Form(
        "/admin/users", {"name": "tom", "role": "reviewer", "password": "short"}, "10 characters", page="/admin/users"
    ),
    "user-common-password": Form(
        "/admin/users",
        {"name": "tom", "role": "reviewer", "password": "password12"},
        "too easy to guess",
        page="/admin/users",
    ),
    "user-password-own-name": Form(
        "/admin/users",
        {"name": "tomasz", "role": "admin", "password": "tomasz-1987"},
        "too easy to guess",
        page="/admin/users",
    ),
    "user-password-reset-common": Form(
        "/admin/users/rita/password", {"password": "password12"}, "too easy to guess", page="/admin/users"
    ),
    "user-exists": Form(
        "/admin/users",
        {"name": "rita", "role": "reviewer", "password": PASSWORD},
        "exists already",
        page="/admin/users",
    ),
    "persona-not-toml": Form(
        "/admin/personas/ash", {"text": "handle = "}, "not valid TOML", page="/admin/personas/ash"
    ),
    "persona-timezone": Form(
        "/admin/personas/ash",
        {
            "text": 'handle = "@ash"\ndisplay_name = "A"\nvoice = "v"\ntimezone = "Mars/Olympus"\n[[beats]]\nkey = "ab"\ntitle = "abc"\n'
        },
        "timezone",
        page="/admin/personas/ash",
    ),
    "persona-nested": Form(
        "/admin/personas/ash",
        {"text": 'handle = "@ash"\nz = ' + "[" * 10_000 + "]" * 10_000},
        "nested too deeply",
        page="/admin/personas/ash",
    ),
    "persona-too-many-beats": Form(
        "/admin/personas/ash",
        {"text": 'handle = "@ash"\ndisplay_name = "A"\nvoice = "v"\n' + extra_beats(2_500)},
        "at most 1000 items",
        page="/admin/personas/ash",
    ),
    "persona-new-key": Form(
        "/admin/personas/new",
        {"text": 'handle = "@x"', "new_key": "../evil"},
        "persona key",
        page="/admin/personas/ash",
    ),
    "no-csrf-token": Form("/posts/1/reject", {"reason": "no token"}, "", with_token=False),
}


@pytest.mark.parametrize("form", list(WEB_CASES.values()), ids=list(WEB_CASES))
def test_web_form_refuses(form: Form, client: TestClient, desk_home: Path) -> None:
    data = dict(form.data)
    if form.with_token:
        data["csrftoken"] = csrf(client, form.page)
    before = snapshot(desk_home)
    answer = client.post(form.path, data=data, follow_redirects=False)
    assert answer.status_code < 500, answer.text
    if answer.status_code == 303:  # the desk's way: back to the page, the error shown on it
        error = parse_qs(urlsplit(answer.headers["location"]).query).get("error", [""])[0]
        assert error and "\n" not in error and form.needle in error, answer.headers["location"]
    else:
        assert 400 <= answer.status_code < 500, answer.status_code
        assert form.needle in answer.text, answer.text[:2000]
    assert "Traceback" not in answer.text
    assert snapshot(desk_home) == before


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    status: int
    needle: str
    body: dict[str, object] | None = None
    auth: bool = True


API_CASES: dict[str, Call] = {
    "no-token": Call("GET", "/api/posts", 401, "Bearer", auth=False),
    "approve-time-word": Call("POST", "/api/posts/1/approve", 422, "at", {"at": "tomorrow"}),
    "approve-unknown": Call("POST", "/api/posts/999/approve", 404, "999", {}),
    "reject-no-reason": Call("POST", "/api/posts/1/reject", 422, "reason", {}),
    "reject-blank-reason": Call("POST", "/api/posts/1/reject", 422, "needs a reason or a code", {"reason": "  "}),
    "search-short": Call("GET", "/api/search?q=a", 422, "2 characters"),
    "reference-no-body": Call("POST", "/api/posts/1/references", 422, "bot", {}),
    "post-id-word": Call("GET", "/api/posts/first", 422, "post_id"),
}


@pytest.mark.parametrize("call", list(API_CASES.values()), ids=list(API_CASES))
def test_api_refuses(call: Call, desk_home: Path) -> None:
    token = beatdesk("users", "token", "rita", home=desk_home).strip()
    before = snapshot(desk_home)
    with TestClient(create_app(load_settings(home=desk_home))) as http:
        headers = {"Authorization": f"Bearer {token}"} if call.auth else {}
        answer = http.request(call.method, call.path, json=call.body, headers=headers)
    forget_stores()
    assert answer.status_code == call.status, answer.text
    assert call.needle in answer.text
    assert snapshot(desk_home) == before


# --- hostile text on its way to a terminal ----------------------------------------------------------

SEQUENCES = ("\x1b[2J", "\x1b]0;pwned\x07", "\x9b31m", "\u202e")
"""Clear the screen, set the window title, an 8-bit CSI (red), a right-to-left override."""
WORDS = ("Alpha", "Bravo", "Charlie", "Delta", "Echo")


def hostile(kind: str) -> str:
    """Words of `kind` with a sequence after each but the last: what a source, a persona or a model might send."""
    return " ".join(f"{kind}{word}{seq}" for word, seq in zip(WORDS, (*SEQUENCES, ""), strict=True))


def toml_string(text: str) -> str:
    """A TOML basic string that carries control characters as \\u escapes, as TOML requires."""
    return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in text) + '"'


@pytest.fixture(scope="module")
def hostile_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose beats, a source and a post's model-written title and caption carry escape sequences."""
    home = tmp_path_factory.mktemp("hostile") / "home"
    beatdesk("init", home=home)
    persona = home / "personas" / "ash.toml"
    text = persona.read_text(encoding="utf-8")
    beat_titles = re.findall(r'^title = "([^"]+)"$', text, flags=re.MULTILINE)
    for title in beat_titles:  # every beat, so whichever the planner picks carries them
        text = text.replace(f'title = "{title}"', f"title = {toml_string(title + ' ' + hostile('b'))}")
    persona.write_text(text, encoding="utf-8")
    note = home.parent / "evil.md"
    note.write_text(f"+++\ntitle = {toml_string(hostile('s'))}\npublished = 2026-11-20\n"
                    "beats = ['benchmark_skepticism']\n+++\nPrompt templates moved leaderboard scores by four "
                    "points in a rerun of a public benchmark.\n", encoding="utf-8")  # fmt: skip
    beatdesk("sources", "add", str(note), "--persona", "ash", home=home)
    beatdesk("batch", "run", "--persona", "ash", "--items", "1", "--video", "0", home=home)
    store = open_store(f"sqlite:///{home / 'beatdesk.db'}")
    with store.session() as session:
        post = repo.get_post(session, 1)
        assert post.draft is not None
        draft = post.draft.model_copy(update={"title": hostile("t"), "caption": hostile("c")})
        repo.save_draft(session, post_id=1, draft=draft, checks=post.checks)
    forget_stores()
    return home


TERMINAL_COMMANDS = {
    "plan": (("plan", "--persona", "ash", "--items", "6"), "b"),
    "sources-list": (("sources", "list", "--persona", "ash"), "s"),
    "queue-list": (("queue", "list"), "t"),
    "post-show": (("post", "show", "1"), "t"),
    "post-show-beat": (("post", "show", "1"), "b"),
    "post-show-caption": (("post", "show", "1"), "c"),
    "batch-show": (("batch", "show", "1"), "t"),
}


@pytest.mark.parametrize(("args", "kind"), list(TERMINAL_COMMANDS.values()), ids=list(TERMINAL_COMMANDS))
def test_no_control_sequence_reaches_the_terminal(args: tuple[str, ...], kind: str, hostile_home: Path,
                                                  home: Path) -> None:  # fmt: skip
    shutil.copytree(hostile_home, home)
    code, out, err = run_main(args, env={"COLUMNS": "200"}, stdin=None)
    assert code == 0, err
    for raw in ("\x1b", "\x07", "\x9b", "\u202e", *SEQUENCES):
        assert raw not in out + err, (raw, out)
    for word in WORDS:
        assert f"{kind}{word}" in out, (word, out)
    assert "<U+202E>" in out  # shown, so a reader sees something was there, but it reorders nothing

    code, out, _ = run_main((*args, "--json"), env={}, stdin=None)
    assert code == 0 and "\u202e" not in out and "\x9b" not in out and "\x1b" not in out
    assert any(hostile(kind) in value for value in strings(json.loads(out)))  # escaped, the same text for a program


def strings(data: object) -> set[str]:
    """Every string in parsed JSON."""
    if isinstance(data, str):
        return {data}
    values = data.values() if isinstance(data, dict) else data if isinstance(data, list) else []
    return set().union(*(strings(v) for v in values))


@pytest.mark.parametrize(("raw", "shown"), [
    ("a\x1b[2Jb", "ab"), ("a\x1b]0;title\x07b", "ab"), ("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b", "alinkb"),
    ("a\x9b31mb", "ab"), ("a\x9d0;t\x9cb", "ab"), ("a\x1bPq#0\x1b\\b", "ab"), ("a\x1bcb", "ab"), ("a\x1b(Bb", "ab"),
    ("a\rb\x08\x7f\x85c", "abc"), ("tab\tand\nline", "tab\tand\nline"), ("\u202ecba\u2066x\u2069", "<U+202E>cba<U+2066>x<U+2069>"),
    ("[bold]not markup[/] :smile:", "[bold]not markup[/] :smile:"), ("Zürich, 東京", "Zürich, 東京"),
])  # fmt: skip
def test_terminal_text_keeps_words_and_drops_sequences(raw: str, shown: str) -> None:
    assert clean(raw) == shown
    for styled in (False, True):
        printed = io.StringIO()
        console = TerminalConsole(file=printed, force_terminal=True, color_system="truecolor", width=200)
        console.print(Text.assemble(("x", "bold"), raw) if styled else "x" + raw)
        # Only Rich's own styles are left: without them, the text as shown above.
        plain = Text.from_ansi(printed.getvalue()).plain.rstrip("\n")
        if styled and "\x07" in raw:  # Rich drops BEL from a Text, so a title sequence loses its introducer only
            assert plain.startswith("xa") and plain.endswith("b") and "\x1b" not in plain
        else:
            assert plain == ("x" + shown).expandtabs(8)
