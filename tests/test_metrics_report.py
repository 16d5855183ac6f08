"""`beatdesk metrics`, the persona page's rankings and the planner read engagement through one call
(`beatdesk.audience.read_engagement` -> `beatdesk.store.metrics.engagement`); here the store's answer is given
as a fake of that function, so what a person sees is checked without a channel to read from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

import beatdesk.store.metrics
from beatdesk.engagement import GROUPS, Group, PostEngagement, Reading
from tests.conftest import run_cli
from tests.desk_client import desk_home, log_in

START = datetime(2026, 11, 2, 7, 30, tzinfo=UTC)  # a Monday, 08:30 in Berlin (winter time for all six weeks)
FAVOURED, PLAIN = "evaluation_in_production", "open_weights"


def _reading(channel: str, at: datetime, **counts: int) -> Reading:
    groups: dict[Group, int | None] = {g: counts.get(g) for g in GROUPS}
    return Reading(publication_id=1, channel=channel, fetched_at=at + timedelta(days=7), groups=groups, raw={})


def published() -> list[PostEngagement]:
    """Six weeks of @ash: the favoured beat's posts get three times the reposts, at 08:30; the plain one at 17:30.
    Each post on Mastodon (no saves reported) and on X (reach and bookmarks)."""
    out = []
    for week in range(6):
        for n, (beat, at, boost) in enumerate(((FAVOURED, START, 3), (PLAIN, START + timedelta(hours=9), 1))):
            when = at + timedelta(weeks=week)
            out.append(PostEngagement(
                post_id=100 + 2 * week + n, persona="ash", beat_key=beat, content_format="hero_text",
                angle=f"<script>alert('{beat}')</script> week {week}" if n else f"{beat} week {week}", published_at=when,
                cost_usd=Decimal("0") if n else Decimal("0.04"),
                latest={"mastodon": _reading("mastodon", when, approval=12, redistribution=2 * boost, conversation=3),
                        "x": _reading("x", when, reach=9000 + 100 * week, approval=90, redistribution=10 * boost,
                                      conversation=8, saves=4 * boost)},
            ))  # fmt: skip
    return out


@pytest.fixture
def readings(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str | None, datetime | None]]:
    """The store answers with six weeks of @ash's numbers; the calls it got are kept."""
    calls: list[tuple[str | None, datetime | None]] = []

    def engagement(session: object, *, persona: str | None, since: datetime | None) -> list[PostEngagement]:
        calls.append((persona, since))
        return [p for p in published() if (persona in (None, p.persona)) and (since is None or p.published_at >= since)]

    monkeypatch.setattr(beatdesk.store.metrics, "engagement", engagement)
    return calls


def test_metrics_with_nothing_read_yet_says_so(cli: CliRunner, home: Path) -> None:
    run_cli(cli, "init")
    assert "no engagement yet" in run_cli(cli, "metrics").stdout
    assert "no engagement yet" in run_cli(cli, "metrics", "report", "--persona", "@ash").stdout
    shown = run_cli(cli, "metrics", "--persona", "ash", "--json")
    assert (shown["persona"], shown["zone"], shown["scored_posts"], shown["per_post"]["beat"]) == (
        "ash", "Europe/Berlin", 0, [])  # fmt: skip


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("metrics", "--since", "last week"), "--since 'last week' is not an ISO time"),
        (("metrics", "report", "--persona", "zed"), "unknown persona 'zed'; known personas: ash"),
    ],
)
def test_metrics_bad_input_is_one_line(cli: CliRunner, home: Path, args: tuple[str, ...], says: str) -> None:
    run_cli(cli, "init")
    result = run_cli(cli, *args, code=1)
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_metrics_ranks_beats_times_and_dollars(cli: CliRunner, home: Path, readings: list) -> None:
    run_cli(cli, "init")
    shown = run_cli(cli, "metrics", "--persona", "ash", "--since", "2026-10-01", "--json")
    assert readings == [("ash", datetime(2026, 10, 1, tzinfo=UTC))]
    beats = shown["per_post"]["beat"]
    assert [b["key"] for b in beats] == [FAVOURED, PLAIN] and [b["posts"] for b in beats] == [6, 6]
    assert beats[0]["mean_score"] > 1 > beats[1]["mean_score"] and beats[0]["score_95"][0] > 1
    assert beats[0]["cost_usd"] == "0.24" and beats[0]["score_per_usd"] > 0 and beats[1]["score_per_usd"] == "free"
    assert [b["key"] for b in shown["per_dollar"]["beat"]] == [PLAIN, FAVOURED]  # free first
    assert [h["key"] for h in shown["per_post"]["hour"]] == ["08:00", "17:00"]  # Berlin, not UTC
    assert shown["suggested_times"] == ["08:00"] and shown["zone"] == "Europe/Berlin"
    assert [w["key"] for w in shown["per_post"]["weekday"]] == ["Mon"]

    text = run_cli(cli, "metrics", "report", "--persona", "ash").stdout
    assert "12 of 12 published posts scored" in text
    assert text.index(FAVOURED) < text.index(PLAIN) and "free" in text
    assert "posting hour (Europe/Berlin)" in text and "posting times that did best (Europe/Berlin): 08:00" in text
    assert "does not learn" not in text

    everyone = run_cli(cli, "metrics", "--json")
    assert everyone["persona"] is None and everyone["zone"] is None and everyone["scored_posts"] == 12


def test_the_planner_learns_from_the_same_numbers_unless_switched_off(
    cli: CliRunner, home: Path, readings: list
) -> None:
    run_cli(cli, "init")
    plans = run_cli(cli, "plan", "--persona", "ash", "--items", "6", "--video", "0", "--json")["plans"]
    favoured = next(p for p in plans if p["beat_key"] == FAVOURED)
    assert "audience: 6 posts scored, mean 1." in favoured["why_beat"] and "sampled" in favoured["why_beat"]
    unseen = next(p for p in plans if p["beat_key"] == "agents_in_practice")
    assert "no posts scored yet" in unseen["why_beat"]
    assert readings and readings[-1][0] == "ash"

    path = home / "personas" / "ash.toml"
    path.write_text(path.read_text().replace("learn_from_audience = true", "learn_from_audience = false"))
    readings.clear()
    plans = run_cli(cli, "plan", "--persona", "ash", "--items", "6", "--video", "0", "--json")["plans"]
    assert all("audience:" not in p["why_beat"] for p in plans)
    assert readings == []  # switched off: not even read
    said = run_cli(cli, "metrics", "--persona", "ash").stdout
    assert "the planner does not learn from these: learn_from_audience = false in personas/ash.toml" in said


def test_the_persona_page_ranks_them_escaped(cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answer: Callable[[], list[PostEngagement]] = list
    monkeypatch.setattr(beatdesk.store.metrics, "engagement", lambda session, **_: answer())
    with desk_home(cli, home, items=1) as desk:
        client = log_in(desk.client())
        page = client.get("/personas/ash").text
        assert 'id="no-engagement"' in page and "No engagement yet" in page

        answer = published
        page = client.get("/personas/ash").text
        assert "12 of 12 published posts scored" in page
        beats = page.split('id="engagement-beat"')[1].split("</table>")[0]
        assert beats.index("Evaluation in production") < beats.index("Open weights")  # titles, best first
        assert "free" in beats and "0.24" in beats
        angles = page.split('id="engagement-angle"')[1].split("</table>")[0]
        assert "<script>" not in angles and "&lt;script&gt;" in angles
        assert "Posting times that did best (Europe/Berlin): <strong>08:00</strong>" in page
        assert "The planner blends these scores into each beat" in page

        path = home / "personas" / "ash.toml"
        path.write_text(path.read_text().replace("learn_from_audience = true", "learn_from_audience = false"))
        assert "The planner does not learn from these" in client.get("/personas/ash").text
