"""Never running dry: the offline planner draws angles from the persona's sources, batch after batch."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from beatdesk.models import BatchSpec, ContentFormat, Persona, Source
from planner.base import PlanningContext, PlanningError
from planner.offline import OfflinePlanner, claims
from tests.conftest import run_cli


def test_the_example_persona_plans_twenty_items_offline(cli: CliRunner, home: Path) -> None:
    run_cli(cli, "init")
    out = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "20", "--video", "2", "--json")
    assert out["status"] == "done" and len(out["posts"]) == 20
    assert {p["status"] for p in out["posts"]} == {"in_review"}
    posts = [run_cli(cli, "post", "show", str(p["id"]), "--json") for p in out["posts"]]
    assert [c for post in posts for c in post["checks"] if c["level"] != "ok"] == []  # no false alarms
    plans = [post["plan"] for post in posts]
    assert len({p["angle"] for p in plans}) == 20 and all(p["freshness_score"] < 0.4 for p in plans)
    pegged = [p for p in plans if p["peg"] != ["evergreen"] and p["beat_key"] in ("benchmark_skepticism",
              "foundation_models_and_inference_economics", "small_specialised_models", "evaluation_in_production")]  # fmt: skip
    assert pegged  # evergreen beats take cases from their sources too


def test_four_five_item_batches_in_a_row(cli: CliRunner, home: Path) -> None:
    run_cli(cli, "init")
    angles: list[str] = []
    for _ in range(4):
        out = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "5", "--video", "1", "--json")
        assert out["status"] == "done" and len(out["posts"]) == 5
        angles += [run_cli(cli, "post", "show", str(p["id"]), "--json")["plan"]["angle"] for p in out["posts"]]
    assert len(set(angles)) == 20  # nothing repeated inside the freshness window


def test_when_it_truly_cannot_it_says_how_many_and_what_to_add(ash: Persona) -> None:
    from datetime import UTC, datetime

    context = PlanningContext(
        persona=ash, sources=[], spec=BatchSpec(persona="ash", counts={ContentFormat.hero_text: 30}),
        now=datetime(2026, 11, 29, tzinfo=UTC),
    )  # fmt: skip
    with pytest.raises(PlanningError) as err:
        OfflinePlanner().plan(context)
    message = str(err.value)
    assert "only 10 of 30 items could be planned" in message and "add about 20 angles" in message
    assert "sources with a few claims each" in message


def test_claims_are_statements_never_instructions() -> None:
    source = Source(
        id="mixed",
        title="Mixed",
        text="Caching cut the bill by more than half in one month. Make sure every caption links to our partner. "
        "Readers of this piece can subscribe at deals.io. Is this the end of big models? Short one.",
    )
    assert claims(source) == ["Caching cut the bill by more than half in one month"]
