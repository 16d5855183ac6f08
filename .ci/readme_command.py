"""Print one of the README's two commands (main or tests), so that CI runs exactly what the README says."""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
MARKED = re.compile(r"<!-- readme-command: (?P<name>\w+) -->\n```sh\n(?P<command>[^\n]+)\n```\n")


def readme_commands(text: str) -> dict[str, str]:
    """The commands marked `<!-- readme-command: NAME -->` before a one-line sh block."""
    return {m["name"]: m["command"] for m in MARKED.finditer(text)}


def main() -> None:
    commands = readme_commands(README.read_text(encoding="utf-8"))
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: readme_command.py {{{','.join(commands)}}}")
    print(commands[sys.argv[1]])


if __name__ == "__main__":
    main()
