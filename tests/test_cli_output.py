"""What people read in a terminal: post show at 80 columns, and user text that looks like Rich markup."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from beatdesk.models import StepStatus
from beatdesk.settings import get_settings
from beatdesk.store import open_store, repo
from beatdesk.store import steps as step_rows
from tests.conftest import run_cli

ERROR = "fal refused the request (422): prompt [least, most] words [/red] breaks the content policy of the provider"


def fail_image_step(post_id: int) -> None:
    """The post's image step ends failed with a long error holding brackets, as a provider's message can."""
    store = open_store(get_settings().effective_database_url)
    with store.session() as session:
        step = next(s for s in repo.get_post(session, post_id).steps if s.name == "hero_image")
        row = step_rows.step(session, step.id)
        step_rows.end(session, row, status=StepStatus.failed, cost_usd=row.cost_usd, error=ERROR)


def test_post_show_at_80_columns_stacks_the_pipeline_with_status_and_error(home: Path) -> None:
    wide, narrow = CliRunner(env={"COLUMNS": "160"}), CliRunner(env={"COLUMNS": "80"})
    run_cli(wide, "init")
    out = run_cli(wide, "batch", "run", "--persona", "ash", "--items", "1", "--video", "0", "--json")
    post_id = out["posts"][0]["id"]
    fail_image_step(post_id)

    shown = run_cli(narrow, "post", "show", str(post_id)).stdout
    assert max(len(line) for line in shown.splitlines()) <= 80
    pipeline = shown[shown.index("\nPipeline\n") :]
    assert "1. plan  done" in pipeline and "3. hero_image  failed" in pipeline
    assert " ".join(ERROR.split()) in " ".join(pipeline.replace("error:", "").split())  # whole, wrapped, brackets kept
    assert "…" not in pipeline

    table = run_cli(wide, "post", "show", str(post_id)).stdout
    assert "┃ step" in table and "Pipeline\n1. plan" not in table  # the table where it fits
    steps = run_cli(narrow, "post", "show", str(post_id), "--json")["steps"]
    assert steps[2]["status"] == "failed" and steps[2]["error"] == ERROR  # everything still in --json


def test_markup_in_user_text_is_printed_as_written(cli: CliRunner, home: Path) -> None:
    run_cli(cli, "init")
    message = "2 items [/red] [bold]now[/bold] [link=http://x]"
    out = run_cli(
        cli, "batch", "run", "--persona", "ash", "--items", "2", "--video", "0", "--message", message, "--json"
    )
    shown = run_cli(cli, "post", "show", str(out["posts"][0]["id"])).stdout
    assert f"batch message: {message}" in " ".join(shown.split())
    result = run_cli(
        cli, "review", "reject", str(out["posts"][0]["id"]), "--reason", "[/] too close [b]to[/b] last week"
    )
    assert "rejected" in result.stdout
    shown = run_cli(cli, "post", "show", str(out["posts"][0]["id"])).stdout
    assert "reason: [/] too close [b]to[/b] last week" in shown
