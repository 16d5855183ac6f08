"""Bad input: one line that says what to fix, a non-zero exit, and nothing half-written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from beatdesk.store.schema import BatchRow
from tests.conftest import run_cli


def batches_in(home: Path) -> int:
    engine = create_engine(f"sqlite:///{home / 'beatdesk.db'}")
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(BatchRow)).scalar_one()
    engine.dispose()
    return count


def assert_one_line(stderr: str, *needles: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def ready(cli: CliRunner, home: Path) -> Path:
    run_cli(cli, "init")
    return home


def test_unknown_persona_lists_known_ones(cli: CliRunner, ready: Path) -> None:
    result = run_cli(cli, "batch", "run", "--persona", "bob", code=1)
    assert_one_line(result.stderr, "unknown persona 'bob'", "known personas: ash")
    assert batches_in(ready) == 0


def test_persona_file_with_bad_field(cli: CliRunner, ready: Path) -> None:
    path = ready / "personas" / "ash.toml"
    path.write_text(path.read_text().replace("weight = 1.4", "weight = 0"), encoding="utf-8")
    result = run_cli(cli, "batch", "run", "--persona", "ash", code=1)
    assert_one_line(result.stderr, str(path), "beats[0].weight", "greater than 0", "(got 0)")
    assert batches_in(ready) == 0


def test_more_videos_than_items(cli: CliRunner, ready: Path) -> None:
    result = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "2", "--video", "3", code=1)
    assert_one_line(result.stderr, "--video (3) cannot be larger than --items (2)")
    assert batches_in(ready) == 0


def test_message_contradicting_flags(cli: CliRunner, ready: Path) -> None:
    message = "six posts, two of them videos"
    result = run_cli(cli, "batch", "run", "--persona", "ash", "--video", "1", "--message", message, code=1)
    assert_one_line(result.stderr, "--video 1 contradicts the message", message)
    assert batches_in(ready) == 0


def test_non_numeric_count(ready: Path) -> None:
    """Through the installed console script, as a person types it."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("beatdesk")), "batch", "run", "--persona", "ash", "--items", "five"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert_one_line(result.stderr, "Invalid value for '--items'", "integer")
    assert batches_in(ready) == 0


def test_unreachable_broker(cli: CliRunner, ready: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEATDESK_BROKER_URL", "redis://127.0.0.1:1/0")
    result = run_cli(cli, "batch", "run", "--persona", "ash", code=1)
    assert_one_line(result.stderr, "cannot reach the broker at redis://127.0.0.1:1/0", "nothing was started")
    assert batches_in(ready) == 0


def test_unreachable_database(cli: CliRunner, ready: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEATDESK_DATABASE_URL", "postgresql://beatdesk:secret@127.0.0.1:1/nope")
    result = run_cli(cli, "batch", "run", "--persona", "ash", code=1)
    assert_one_line(
        result.stderr, "cannot reach the database at postgresql://beatdesk:***@127.0.0.1:1/nope", "nothing was started"
    )
    assert "secret" not in result.stderr


def test_not_a_database_url(cli: CliRunner, ready: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEATDESK_DATABASE_URL", "not a url")
    result = run_cli(cli, "queue", "list", code=1)
    assert_one_line(result.stderr, "BEATDESK_DATABASE_URL is not a database URL")


def test_unknown_renderer_lists_known(cli: CliRunner, ready: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEATDESK_IMAGE_RENDERER", "dalle")
    result = run_cli(cli, "batch", "run", "--persona", "ash", code=1)
    assert_one_line(result.stderr, "unknown image renderer 'dalle'", "known: fal, local")
    assert batches_in(ready) == 0


def test_fal_without_key_names_the_variable(cli: CliRunner, ready: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEATDESK_IMAGE_RENDERER", "fal:fal-ai/flux-pro/v1.1-ultra")
    result = run_cli(cli, "batch", "run", "--persona", "ash", code=1)
    assert_one_line(result.stderr, "FAL_KEY is not set")


def test_bad_setting_value(cli: CliRunner, ready: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEATDESK_WORKER_CONCURRENCY", "lots")
    result = run_cli(cli, "config", "show", code=1)
    assert_one_line(result.stderr, "BEATDESK_WORKER_CONCURRENCY", "'lots'")


def test_unknown_post_and_bad_time(cli: CliRunner, ready: Path) -> None:
    assert_one_line(run_cli(cli, "post", "show", "42", code=1).stderr, "no post with id 42")
    run_cli(cli, "batch", "run", "--persona", "ash", "--items", "1", "--video", "0")
    assert_one_line(run_cli(cli, "review", "approve", "1", "--at", "soon", code=1).stderr, "--at 'soon' is not an ISO")
    assert_one_line(run_cli(cli, "review", "approve", "1", "--at", "2001-01-01T00:00", code=1).stderr, "in the past")
    assert_one_line(run_cli(cli, "review", "reject", "1", "--reason", " ", code=1).stderr, "needs a reason")


def test_worker_needs_a_broker(cli: CliRunner, ready: Path) -> None:
    assert_one_line(run_cli(cli, "worker", code=1).stderr, "BEATDESK_BROKER_URL is not set")


def test_config_show_masks_secrets(cli: CliRunner, ready: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAL_KEY", "fal-secret-123")
    monkeypatch.setenv("BEATDESK_BROKER_URL", "redis://:hunter2@127.0.0.1:6379/0")
    shown = run_cli(cli, "config", "show", "--json")
    text = str(shown)
    assert "fal-secret-123" not in text and "hunter2" not in text
    assert shown["fal_key"] == "********" and shown["broker_url"] == "redis://:***@127.0.0.1:6379/0"
    assert shown["home"] == str(ready) and shown["mode"] == "celery workers"
    assert shown["effective_database_url"] == f"sqlite:///{ready / 'beatdesk.db'}"


def test_a_read_command_outside_the_home_names_the_home_and_makes_nothing(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.delenv("BEATDESK_HOME")
    monkeypatch.chdir(elsewhere)
    result = run_cli(cli, "queue", "list", code=1)
    assert result.stderr.strip() == (
        f"error: no beatdesk home here ({elsewhere / '.beatdesk'}): run this where you ran `beatdesk init`, "
        "set BEATDESK_HOME to your home, or run `beatdesk init` to start one here"
    )
    assert list(elsewhere.iterdir()) == []  # no empty store left behind
    run_cli(cli, "init")  # init starts one here, and then the queue reads it
    assert "0 posts" in run_cli(cli, "queue", "list").stdout


@pytest.mark.parametrize(
    "command",
    [("queue", "list"), ("post", "show", "1"), ("batch", "show", "1"), ("evals",), ("schedule", "show"),
     ("users", "list"), ("audit",), ("metrics", "report")],
)  # fmt: skip
def test_read_commands_on_a_home_without_a_store_name_where_they_looked_and_make_none(
    cli: CliRunner, home: Path, command: tuple[str, ...]
) -> None:
    home.mkdir()  # BEATDESK_HOME names a folder with no store in it (a home not yet started, or the wrong one)
    result = run_cli(cli, *command, code=1)
    assert_one_line(result.stderr, f"no beatdesk store in {home} (looked for {home / 'beatdesk.db'})")
    assert list(home.iterdir()) == []
