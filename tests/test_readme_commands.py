"""The README's two commands make their own environment, and .ci/run runs exactly them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def command(name: str) -> str:
    """What `.ci/readme_command.py NAME` gives CI to run."""
    result = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "readme_command.py"), name], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_ci_reads_both_commands_from_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("main", "tests"):
        assert f"<!-- readme-command: {name} -->\n```sh\n{command(name)}\n```" in readme
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "for name in main tests; do" in ci and 'python3 .ci/readme_command.py "$name"' in ci
    assert "pytest" not in ci.replace(".ci/readme_command.py", "")  # no second test command beside the README's


def test_commands_make_a_venv_and_never_install_into_the_system_python() -> None:
    for name in ("main", "tests"):
        line = command(name)
        assert line.startswith("python3 -m venv .venv && "), line
        assert not re.search(r"(^|&& )(pip|python3?) ", line.split("&& ", 1)[1]), line  # only .venv/bin/… after
    assert "beatdesk batch run --persona ash" in command("main")
    assert command("tests").endswith(".venv/bin/python -m pytest")


def test_an_unknown_name_is_refused_in_one_line() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "readme_command.py"), "deploy"], capture_output=True, text=True
    )
    assert result.returncode == 1 and result.stderr.strip() == "usage: readme_command.py {main,tests}"
