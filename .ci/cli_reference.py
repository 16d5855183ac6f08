"""Write docs/cli.md, the CLI reference, from the `beatdesk` command's own Typer definitions (`--check`: compare)."""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path
from typing import Any

import typer.main

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "cli.md"
HEADER = """# CLI reference

Every `beatdesk` command with its arguments and options, as `beatdesk COMMAND --help` gives them.
Generated from the commands by `.ci/cli_reference.py`; do not edit by hand (run `.venv/bin/python
.ci/cli_reference.py` after changing a command; `--check` says whether this page is up to date).
Every command exits non-zero when what it was asked to do did not happen; errors are one line on stderr.
"""


def _cell(text: str) -> str:
    """Text fit for one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _section(command: Any, ctx: Any) -> list[str]:
    """One command's heading, help, usage and parameters, then its subcommands'."""
    lines = [f"## `{ctx.command_path}`", ""]
    if command.help:
        lines += [inspect.cleandoc(command.help), ""]
    usage = " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])
    lines += ["```", usage, "```", ""]
    rows = []
    for param in command.get_params(ctx):
        if getattr(param, "hidden", False) or param.name == "help":
            continue
        record = param.get_help_record(ctx)
        if record is None:  # an argument: click gives arguments no help record of their own
            record = (param.make_metavar(ctx), "")
        names, meaning = record
        kind = "argument" if param.param_type_name == "argument" else "option"
        rows.append(f"| `{_cell(names)}` | {kind} | {_cell(meaning)} |")
    if rows:
        lines += ["| name | kind | meaning |", "|---|---|---|", *rows, ""]
    listed = command.list_commands(ctx) if hasattr(command, "list_commands") else []  # the root loads them lazily
    subcommands = {name: command.get_command(ctx, name) for name in listed}
    shown = [name for name in sorted(subcommands) if not subcommands[name].hidden]
    if shown:
        lines += ["Commands: " + ", ".join(f"`{ctx.command_path} {name}`" for name in shown) + ".", ""]
    for name in shown:
        sub = subcommands[name]
        lines += _section(sub, sub.make_context(name, [], parent=ctx, resilient_parsing=True))
    return lines


def reference() -> str:
    """The whole page, from the command tree the console script runs."""
    from beatdesk_cli.main import app

    root = typer.main.get_command(app)
    ctx = root.make_context("beatdesk", [], resilient_parsing=True)
    return HEADER + "\n" + "\n".join(_section(root, ctx)).rstrip("\n") + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/cli.md differs from the commands")
    args = parser.parse_args()
    text = reference()
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            sys.exit(f"{TARGET.relative_to(ROOT)} is out of date: run .venv/bin/python .ci/cli_reference.py")
        return
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
