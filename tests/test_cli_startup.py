"""The commands people run most start without loading the heavy libraries only other commands need."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import run_cli

HEAVY = (
    "sklearn",
    "scipy",
    "langchain_core",
    "langchain",
    "celery",
    "fastapi",
    "uvicorn",
    "alembic",
    "PIL",
    "feedparser",
)


def imported_modules(*args: str, home: Path) -> set[str]:
    """Top-level packages a `beatdesk ARGS` process imported, from `python -X importtime`."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "beatdesk_cli.main", *args],
        env=os.environ | {"BEATDESK_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    names = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    assert "typer" in names  # the output was read
    return names


@pytest.mark.parametrize("args", [("--help",), ("queue", "list"), ("post", "show", "1"), ("queue", "--help")])
def test_everyday_commands_skip_heavy_imports(args: tuple[str, ...], cli: CliRunner, home: Path) -> None:
    run_cli(cli, "init")
    run_cli(cli, "batch", "run", "--persona", "ash", "--items", "1", "--video", "0", "--json")
    imported = imported_modules(*args, home=home)
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


def test_a_batch_still_loads_what_it_needs(cli: CliRunner, home: Path) -> None:
    """The deferred imports are reached: planning pulls in SciPy's sparse matrices once a batch runs (and
    never scikit-learn, whose import cost 1.5 s of every batch command's start)."""
    run_cli(cli, "init")
    imported = imported_modules("plan", "--persona", "ash", "--items", "1", "--json", home=home)
    assert "scipy" in imported
    assert "sklearn" not in imported


def test_root_help_lines_match_the_commands() -> None:
    """`beatdesk --help` lists the groups without loading them: the line it shows is the command's own."""
    import typer.main

    from beatdesk_cli.main import GROUPS, app

    root = typer.main.get_command(app)
    ctx = root.make_context("beatdesk", [], resilient_parsing=True)
    for name, (_, _, shown) in GROUPS.items():
        command = root.get_command(ctx, name)
        assert command is not None, name
        own = (command.help or "").strip().split("\n\n")[0]
        assert " ".join(own.split()).startswith(shown.rstrip(".")), (name, own, shown)


def test_root_help_imports_no_command_module(home: Path) -> None:
    imported = imported_modules("--help", home=home)
    assert "beatdesk_cli" in imported
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "beatdesk_cli.main", "--help"],
        env=os.environ | {"BEATDESK_HOME": str(home)}, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert "beatdesk_cli.commands." not in result.stderr
