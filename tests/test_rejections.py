"""Rejections teach the planner, reasons come from a short list, and a batch keeps what its planner dropped."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from beatdesk.settings import get_settings
from beatdesk.store import open_store, repo
from tests.conftest import run_cli


def test_a_rejected_angle_is_not_proposed_again_and_the_drop_is_kept(cli: CliRunner, home: Path) -> None:
    run_cli(cli, "init")
    first = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "2", "--video", "0", "--json")
    rejected = run_cli(cli, "post", "show", str(first["posts"][0]["id"]), "--json")
    out = run_cli(cli, "review", "reject", str(rejected["id"]), "--reason-code", "too_close", "--json")
    assert (out["status"], out["reason_code"], out["reason"]) == (
        "rejected",
        "too_close",
        "too close to an earlier post",
    )

    plan = run_cli(cli, "plan", "--persona", "ash", "--items", "5", "--video", "0", "--json")
    angles = [p["angle"] for p in plan["plans"]]
    assert rejected["plan"]["angle"] not in angles
    assert any(f"too close to recent post #{rejected['id']}" in note for note in plan["notes"])

    second = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "5", "--video", "0", "--json")
    assert rejected["plan"]["angle"] not in [run_cli(cli, "post", "show", str(p["id"]), "--json")["plan"]["angle"]
                                             for p in second["posts"]]  # fmt: skip
    shown = run_cli(cli, "batch", "show", str(second["batch_id"]), "--json")
    assert shown["dropped"] and any(f"#{rejected['id']}" in line for line in shown["dropped"])
    text = run_cli(cli, "batch", "show", str(second["batch_id"])).stdout
    assert "dropped:" in text and "too close to recent post" in text


def test_reason_codes_come_from_the_list(cli: CliRunner, home: Path) -> None:
    run_cli(cli, "init")
    batch = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "2", "--video", "0", "--json")
    first, second = (p["id"] for p in batch["posts"])
    bad = run_cli(cli, "review", "reject", str(first), "--reason-code", "boring", code=1)
    assert "unknown reason code 'boring'" in bad.stderr and "too_close" in bad.stderr
    none = run_cli(cli, "review", "reject", str(first), code=1)
    assert "a rejection needs a reason" in none.stderr
    with open_store(get_settings().effective_database_url).session() as session:
        assert repo.get_post(session, first).status == "in_review"  # refused: the store is unchanged
    words = run_cli(cli, "review", "reject", str(first), "--reason", "the number is from 2019", "--json")
    assert (words["reason_code"], words["reason"]) == ("other", "the number is from 2019")
    both = run_cli(cli, "review", "reject", str(second), "--reason-code", "wrong_facts", "--reason", "82% is old",
                   "--json")  # fmt: skip
    assert (both["reason_code"], both["reason"]) == ("wrong_facts", "82% is old")
