"""Rankings and learning over the real readings store: posts published on two channels, their readings kept
by the metrics store, then `beatdesk metrics` and `beatdesk plan` read them back (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

import beatdesk.store.metrics as store_metrics
from beatdesk.engagement import GROUPS, Group, Reading
from beatdesk.models import BatchSpec, ContentFormat, Plan
from beatdesk.personas import load_persona
from beatdesk.settings import get_settings
from beatdesk.store import open_store, repo
from beatdesk.store.schema import PublicationRow, StepRow
from planner.selection import standings
from planner.spec import build_spec
from planner.stage import planning_context
from tests.conftest import run_cli

T0 = datetime(2026, 11, 2, 7, 30, tzinfo=UTC)  # Mondays, 08:30 in Berlin
FAVOURED, PLAIN = "evaluation_in_production", "open_weights"


def publish(store, *, beat: str, at: datetime, cost: str, boost: int) -> None:  # type: ignore[no-untyped-def]
    """A post of @ash on `beat` that went out on Mastodon and X at `at`, read a day later."""
    plan = Plan(beat_key=beat, beat_title=beat, content_format=ContentFormat.hero_text, title=f"{beat} {at:%d}",
                angle=f"{beat} on {at:%Y-%m-%d}", button="b", why_beat="w", why_format="w", freshness="f")  # fmt: skip
    with store.session() as session:
        batch_id = repo.create_batch(session, spec=BatchSpec(persona="ash", counts={ContentFormat.hero_text: 1}))
        post_id = repo.add_planned_post(session, batch_id=batch_id, persona="ash", plan=plan, steps=())
        session.execute(insert(StepRow), [{"post_id": post_id, "batch_id": batch_id, "persona": "ash", "position": 0,
                                           "name": "draft", "status": "done", "cost_usd": Decimal(cost), "started_at": at}])  # fmt: skip
        for channel in ("mastodon", "x"):
            pub_id = session.execute(insert(PublicationRow).returning(PublicationRow.id), [
                {"post_id": post_id, "channel": channel, "remote_id": f"{channel}-{post_id}", "published_at": at}
            ]).scalar_one()  # fmt: skip
            counts: dict[str, int] = (
                {"approval": 12, "redistribution": 2 * boost, "conversation": 3} if channel == "mastodon"
                else {"reach": 9000, "approval": 90, "redistribution": 10 * boost, "conversation": 8, "saves": 4 * boost}
            )  # fmt: skip
            groups: dict[Group, int | None] = {g: counts.get(g) for g in GROUPS}
            store_metrics.add_reading(session, Reading(pub_id, channel, at + timedelta(days=7), groups, counts))


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_metrics_and_the_planner_read_the_stored_readings(  # type: ignore[no-untyped-def]
    cli: CliRunner, home, database: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if database == "postgres":
        monkeypatch.setenv("BEATDESK_DATABASE_URL", request.getfixturevalue("pg_url"))
    run_cli(cli, "init")
    store = open_store(get_settings().effective_database_url)
    for week in range(5):
        at = T0 + timedelta(weeks=week)
        publish(store, beat=FAVOURED, at=at, cost="0.04", boost=3)
        publish(store, beat=PLAIN, at=at + timedelta(hours=9), cost="0", boost=1)

    shown = run_cli(cli, "metrics", "--persona", "ash", "--json")
    beats = shown["per_post"]["beat"]
    assert shown["scored_posts"] == shown["published_posts"] == 10
    assert [(b["key"], b["posts"]) for b in beats] == [(FAVOURED, 5), (PLAIN, 5)]
    assert beats[0]["cost_usd"] == "0.2" and beats[1]["score_per_usd"] == "free"
    assert [h["key"] for h in shown["per_post"]["hour"]] == ["08:00", "17:00"] and shown["suggested_times"] == ["08:00"]
    assert run_cli(cli, "metrics", "--since", "2026-11-30", "--json")["published_posts"] == 2

    ash = load_persona(home, "ash")
    context = planning_context(store, home=home, persona=ash, spec=build_spec(ash, items=2, video=0), seed=7)
    assert {key: len(scores) for key, scores in context.observed.items()} == {FAVOURED: 5, PLAIN: 5}
    table = standings(context)
    assert table[FAVOURED].draw.posts == 5 and table[FAVOURED].draw.mean > 1 > table[PLAIN].draw.mean  # type: ignore[union-attr]
    assert "audience: 5 posts scored" in table[FAVOURED].draw.describe()  # type: ignore[union-attr]
