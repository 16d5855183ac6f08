"""Input at the edges of the new commands (`metrics --since`, `post move|unschedule`): one line, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import run_cli


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("metrics", "--since", "9999-12-31T23:00-05:00"), 1, "--since '9999-12-31T23:00-05:00' is out of range"),
        (("metrics", "report", "--since", "0001-01-01T00:00+05:00"), 1, "is out of range"),
        (("post", "move", "99999999999999999999", "--slot", "2030-01-01T09:00"), 2, "2147483647"),
        (("post", "unschedule", "99999999999999999999"), 2, "2147483647"),
        (("post", "show", "99999999999999999999"), 2, "2147483647"),
        (("batch", "show", "99999999999999999999"), 2, "2147483647"),
        (("evals", "--since", "9999-12-31T23:00-05:00"), 1, "is out of range"),
    ],
)
def test_out_of_range_is_one_line(cli: CliRunner, home: Path, args: tuple[str, ...], code: int, says: str) -> None:
    run_cli(cli, "init")
    result = run_cli(cli, *args, code=code)
    assert says in result.stderr and "Traceback" not in result.stderr and "OverflowError" not in result.stderr
