"""Log lines: one JSON object a line with BEATDESK_LOG_FORMAT=json, carrying the post, batch and step the runner
was on; plain text (with the same ids) otherwise; a one-shot command stays quiet unless asked to log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _batch(home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {"BEATDESK_HOME": str(home)} | env
    command = [sys.executable, "-m", "beatdesk_cli.main"]
    subprocess.run([*command, "init"], env=environment, check=True, capture_output=True)
    args = ["batch", "run", "--persona", "ash", "--items", "2", "--video", "0", "--json"]
    return subprocess.run([*command, *args], env=environment, check=True, capture_output=True, text=True)


def test_json_lines_carry_the_post_batch_and_step(home: Path) -> None:
    ran = _batch(home, BEATDESK_LOG_FORMAT="json")
    lines = [json.loads(line) for line in ran.stderr.splitlines() if line.startswith("{")]
    assert lines and all({"timestamp", "level", "logger", "message"} <= set(line) for line in lines)
    done = [line for line in lines if line["message"].startswith("draft done")]
    assert len(done) == 2
    assert all(isinstance(line[key], int) for line in done for key in ("post_id", "batch_id", "step_id"))
    assert {line["step"] for line in done} == {"draft"} and len({line["post_id"] for line in done}) == 2
    planned = [line for line in lines if line.get("step") == "plan"]
    assert all("batch_id" in line for line in planned)
    assert json.loads(ran.stdout)  # stdout stays the command's JSON


def test_text_lines_by_default_and_quiet_unless_asked(home: Path, tmp_path: Path) -> None:
    ran = _batch(home, BEATDESK_LOG_LEVEL="info")
    drafted = [line for line in ran.stderr.splitlines() if " INFO beatdesk.runner: draft done" in line]
    assert len(drafted) == 2 and all("post_id=" in line and "step=draft" in line for line in drafted)
    quiet = _batch(tmp_path / "other")
    assert "beatdesk.runner" not in quiet.stderr
