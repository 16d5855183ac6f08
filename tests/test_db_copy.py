"""Moving a store: `db copy` into an empty database, `db dump` / `db restore`, what each refuses."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from beatdesk.archive import decode, encode
from beatdesk.store import open_store
from beatdesk.store.engine import engine_for
from beatdesk.store.search import matching_ids
from beatdesk.transfer import read_rows, tables
from beatdesk_cli.main import app
from tests.conftest import run_cli
from tests.drafts import answer
from tests.fake_openai import chat_server


def _history(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Two batches (the second drafted by a priced model, so costs have digits), an approval into a slot,
    a rejection with a code, a user with an API token."""
    run_cli(cli, "init")
    first = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "3", "--video", "0", "--json")
    with monkeypatch.context() as patch, chat_server(answer) as server:
        for name, value in {"BEATDESK_LLM": "openai:gpt-4.1-mini", "BEATDESK_LLM_BASE_URL": server.url,
                            "BEATDESK_LLM_API_KEY": "test-key"}.items():  # fmt: skip
            patch.setenv(name, value)
        second = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "2", "--video", "0", "--json")
    assert Decimal(second["total_cost_usd"]) > 0
    ids = [post["id"] for post in first["posts"] + second["posts"]]
    run_cli(cli, "review", "approve", str(ids[0]))
    run_cli(cli, "review", "reject", str(ids[3]), "--reason-code", "too_close")
    added = cli.invoke(
        app, ["users", "add", "rita", "--role", "admin", "--password-stdin"], input="a long passphrase\n"
    )
    assert added.exit_code == 0, added.stderr
    run_cli(cli, "users", "token", "rita", "--name", "chat")
    return ids


def _views(cli: CliRunner, ids: list[int]) -> dict[str, Any]:
    """What people and programs see of the store, through the CLI."""
    return {
        "posts": [run_cli(cli, "post", "show", str(post_id), "--json") for post_id in ids],
        "queue": run_cli(cli, "queue", "list", "--json"),
        "evals": run_cli(cli, "evals", "--json"),
        "users": run_cli(cli, "users", "list", "--json"),
        "tokens": run_cli(cli, "tokens", "list", "--json"),
    }


def _rows(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, as the column types read them (Decimal, aware datetime, JSON)."""
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            return {t.name: [row for chunk in read_rows(connection, t) for row in chunk] for t in tables()}
    finally:
        engine.dispose()


def test_an_embedded_home_moves_to_postgresql(
    cli: CliRunner, home: Path, pg_url: str, another_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _history(cli, monkeypatch)
    before = _views(cli, ids)
    source = f"sqlite:///{home / 'beatdesk.db'}"
    target = make_url(pg_url).set(password="s3cret").render_as_string(hide_password=False)  # local trust: ignored

    out = run_cli(cli, "db", "copy", "--to", target).stdout
    assert "counts equal" in out and "BEATDESK_DATABASE_URL=postgresql+psycopg://postgres:***@" in out
    assert "s3cret" not in out
    assert _rows(pg_url) == _rows(source)  # ids, money, times and JSON (SQL NULL apart from JSON null) exact

    monkeypatch.setenv("BEATDESK_DATABASE_URL", pg_url)
    assert _views(cli, ids) == before
    assert run_cli(cli, "audit", "--json")["ok"]
    with open_store(pg_url).session() as session:  # the search index (a tsvector outside the ORM) came along
        word = before["posts"][1]["plan"]["title"].split()[-1]
        assert before["posts"][1]["id"] in matching_ids(session, word, limit=10)
    new = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "1", "--video", "0", "--json")
    assert new["batch_id"] == 3 and new["posts"][0]["id"] == max(ids) + 1

    run_cli(cli, "db", "copy", "--to", another_pg_url)  # PostgreSQL to PostgreSQL, the same way
    assert _rows(another_pg_url) == _rows(pg_url)

    monkeypatch.delenv("BEATDESK_DATABASE_URL")
    again = run_cli(cli, "db", "copy", "--to", pg_url, code=1)
    assert again.stderr.count("\n") == 1 and "already holds beatdesk data" in again.stderr


def test_a_copy_the_target_refuses_leaves_nothing_behind(
    cli: CliRunner, home: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _history(cli, monkeypatch)
    with sqlite3.connect(home / "beatdesk.db") as db:  # SQLite keeps what PostgreSQL's VARCHAR(16) refuses
        db.execute("UPDATE batches SET status = ? WHERE id = 2", ("x" * 40,))
    refused = run_cli(cli, "db", "copy", "--to", pg_url, code=1)
    assert "nothing was kept" in refused.stderr and refused.stderr.count("\n") == 1
    assert all(not rows for name, rows in _rows(pg_url).items() if name != "installation")
    with sqlite3.connect(home / "beatdesk.db") as db:
        db.execute("UPDATE batches SET status = 'done' WHERE id = 2")
    run_cli(cli, "db", "copy", "--to", pg_url)  # a migrated, empty target is still empty


def test_sqlite_to_sqlite_for_backups_and_a_source_behind_the_schema(
    cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _history(cli, monkeypatch)
    backup = home.parent / "backup.db"
    run_cli(cli, "db", "copy", "--to", f"sqlite:///{backup}")
    assert _rows(f"sqlite:///{backup}") == _rows(f"sqlite:///{home / 'beatdesk.db'}")
    assert run_cli(cli, "db", "copy", "--to", f"sqlite:///{home / 'beatdesk.db'}", code=1).stderr.count("\n") == 1
    assert max(ids) == 5
    nowhere = run_cli(cli, "db", "dump", str(home.parent / "no" / "such" / "dir.zip"), code=1).stderr
    assert "cannot write" in nowhere and nowhere.count("\n") == 1

    with sqlite3.connect(home / "beatdesk.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '0019'")
    behind = run_cli(cli, "db", "copy", "--to", f"sqlite:///{home.parent / 'other.db'}", code=1).stderr
    assert "beatdesk db migrate" in behind and not (home.parent / "other.db").exists()
    bad = run_cli(cli, "db", "copy", "--to", "mysql://x@localhost/y", code=1).stderr
    assert "postgresql://" in bad and bad.count("\n") == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_dump_and_restore_round_trip(
    cli: CliRunner, home: Path, backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "postgres":
        source, target = request.getfixturevalue("pg_url"), request.getfixturevalue("another_pg_url")
        monkeypatch.setenv("BEATDESK_DATABASE_URL", source)
    else:
        source, target = f"sqlite:///{home / 'beatdesk.db'}", f"sqlite:///{home.parent / 'restored.db'}"
    ids = _history(cli, monkeypatch)
    before = [run_cli(cli, "post", "show", str(post_id), "--json") for post_id in ids]
    archive = home.parent / "beatdesk-dump.zip"
    assert "written to" in run_cli(cli, "db", "dump", str(archive)).stdout
    with zipfile.ZipFile(archive) as zipped:
        manifest = json.loads(zipped.read("manifest.json"))
    assert manifest["tables"]["posts"] == 5 and manifest["revision"]

    assert "counts equal" in run_cli(cli, "db", "restore", str(archive), "--to", target).stdout
    assert _rows(target) == _rows(source)
    monkeypatch.setenv("BEATDESK_DATABASE_URL", target)
    assert [run_cli(cli, "post", "show", str(post_id), "--json") for post_id in ids] == before
    assert run_cli(cli, "audit", "--json")["ok"]

    again = run_cli(cli, "db", "restore", str(archive), code=1).stderr  # into the filled store itself
    assert "already holds beatdesk data" in again and again.count("\n") == 1


def test_archived_values_come_back_exactly() -> None:
    at = datetime(2026, 12, 5, 18, 0, 0, 123456, tzinfo=UTC)
    for value in (Decimal("0.000000001"), Decimal("12.340000000"), at, date(2026, 12, 5), b"\x00\xff", 2**40, 0.1):
        assert decode(json.loads(json.dumps(encode(value, json_column=False))), json_column=False) == value
    for stored in (None, JSON.NULL, {"a": [1, None]}, [], "text"):
        back = decode(json.loads(json.dumps(encode(stored, json_column=True))), json_column=True)
        assert back is stored if stored is None or stored is JSON.NULL else back == stored


def test_restore_refuses_another_schema_revision_and_a_broken_file(
    cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _history(cli, monkeypatch)
    archive = home.parent / "beatdesk-dump.zip"
    run_cli(cli, "db", "dump", str(archive))
    older = home.parent / "older.zip"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(older, "w") as copy:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "manifest.json":
                data = json.dumps({**json.loads(data), "revision": ["0019"]}).encode()
            copy.writestr(item, data)
    target = home.parent / "restored.db"
    refused = run_cli(cli, "db", "restore", str(older), "--to", f"sqlite:///{target}", code=1).stderr
    assert "schema revision 0019" in refused and refused.count("\n") == 1 and not target.exists()
    (home.parent / "junk.zip").write_text("not a zip")
    junk = run_cli(cli, "db", "restore", str(home.parent / "junk.zip"), "--to", f"sqlite:///{target}", code=1)
    assert junk.stderr.count("\n") == 1
