"""The docs tell the truth about the code: the CLI reference matches the commands, every setting is documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from beatdesk.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_the_cli_reference_matches_the_commands() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "cli_reference.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert "## `beatdesk batch run`" in page and "| `--persona <str>` | option |" in page


def test_a_stale_cli_reference_is_said_in_one_line(tmp_path: Path) -> None:
    script = (ROOT / ".ci" / "cli_reference.py").read_text(encoding="utf-8")
    (tmp_path / ".ci").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / ".ci" / "cli_reference.py").write_text(script, encoding="utf-8")
    (tmp_path / "docs" / "cli.md").write_text("# CLI reference\n\nbeatdesk frobnicate\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(tmp_path / ".ci" / "cli_reference.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "docs/cli.md is out of date: run .venv/bin/python .ci/cli_reference.py"


def test_every_setting_is_documented_with_its_default() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line for line in page.splitlines() if line.startswith("| `")}
    for name, field in Settings.model_fields.items():
        variable = "`FAL_KEY`" if name == "fal_key" else f"`BEATDESK_{name.upper()}`"
        assert variable in rows, f"{variable} is not in docs/configuration.md"
        default = field.default
        shown = "unset" if default is None else str(default).lower() if isinstance(default, bool) else str(default)
        cell = rows[variable].split("|")[2]
        assert f"`{shown}`" in cell or (default is None and "unset" in cell), (variable, shown, cell)


def test_every_persona_field_is_documented() -> None:
    from beatdesk.models import BatchDefaults, BatchSchedule, Beat, Budgets, CardStyle, Channel, DraftRules, Persona

    page = (ROOT / "docs" / "personas.md").read_text(encoding="utf-8")
    for model in (Persona, Beat, Channel, Budgets, BatchDefaults, BatchSchedule, DraftRules, CardStyle):
        for name in model.model_fields:
            assert f"`{name}`" in page, f"{model.__name__}.{name} is not in docs/personas.md"


def test_the_readme_stays_short_and_links_to_pages_that_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 150
    links = re.findall(r"\]\((docs/[^)#]*)\)", readme)
    assert "docs/configuration.md" in links and "docs/cli.md" in links
    for link in links:
        assert (ROOT / link).exists(), f"README links to {link}, which does not exist"
