"""The persona page: "no spend yet" instead of an empty chart, spend per beat and per format equal to the
steps' sums to the last digit, days in the persona's zone, stored text shown as text, usable at 390 px."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select
from typer.testing import CliRunner

from beatdesk.models import BatchSpec, ContentFormat, Plan
from beatdesk.store import Store, books, repo
from beatdesk.store.schema import PostRow, StepRow
from tests.desk_client import Desk, desk_home, log_in
from tests.test_desk_store import store  # noqa: F401  (fixture: SQLite and PostgreSQL)
from tests.test_review_desk_pages import fits_the_width, shot
from tests.test_review_web import browser, desk  # noqa: F401  (fixtures)
from tests.test_review_web import log_in as browser_log_in

COSTS = [Decimal("0.123456789"), Decimal("0.04"), Decimal("1.000000001"), Decimal("0.333333333"), Decimal("2.5")]


@pytest.fixture
def home_desk(cli: CliRunner, home: Path) -> Iterator[Desk]:
    with desk_home(cli, home, items=3) as made:
        yield made


def add_costs(into: Store) -> None:
    """Paid steps on every post (odd amounts, so any float or rounding shows) and a planning step of the batch."""
    now = datetime.now(UTC)
    with into.session() as session:
        posts = session.execute(select(PostRow.id, PostRow.batch_id, PostRow.persona)).all()
        for n, (post_id, batch_id, persona) in enumerate(posts):
            for k, cost in enumerate(COSTS[n % 3 : n % 3 + 3]):
                session.add(StepRow(post_id=post_id, batch_id=batch_id, persona=persona, position=100 + k,
                                    name="hero_image", status="done", cost_usd=cost,
                                    started_at=now - timedelta(hours=5 * k)))  # fmt: skip
        session.add(StepRow(post_id=None, batch_id=posts[0].batch_id, persona=posts[0].persona, position=0,
                            name="plan", status="done", cost_usd=Decimal("0.000000007"), started_at=now))  # fmt: skip
        session.flush()
        books.recount(session, zones={"ash": "Europe/Berlin"})  # written here, not by the runner: totals rebuilt


def sums_from_the_steps(books: Store, persona: str) -> tuple[dict[str, Decimal], dict[str, Decimal], dict[str, int]]:
    """Per beat and per format, summed here in Python from every step row, as the books define them."""
    by_beat: dict[str, Decimal] = defaultdict(Decimal)
    by_format: dict[str, Decimal] = defaultdict(Decimal)
    posts: dict[str, int] = defaultdict(int)
    with books.session() as session:
        owners = {row.id: row for row in session.scalars(select(PostRow).where(PostRow.persona == persona))}
        for row in owners.values():
            posts[row.beat_key] += 1
            by_beat[row.beat_key] += Decimal(0)
            by_format[row.content_format] += Decimal(0)
        for step in session.scalars(select(StepRow).where(StepRow.persona == persona)):
            if step.post_id is not None:
                by_beat[owners[step.post_id].beat_key] += step.cost_usd
                by_format[owners[step.post_id].content_format] += step.cost_usd
    return dict(by_beat), dict(by_format), dict(posts)


def cells(html: str, table: str) -> dict[str, tuple[int, Decimal, Decimal]]:
    """Posts, total and cost per post of each row of a spend table, as the page prints them."""
    body = html.split(f'id="{table}"')[1].split("</table>")[0]
    found = {}
    for key, posts, total, per_post in re.findall(
        r'data-key="([^"]+)">.*?class="num posts"[^>]*>(\d+)<.*?class="num total"[^>]*>([\d.]+)<.*?class="num per-post"[^>]*>([\d.]+)<',
        body,
        re.S,
    ):
        found[key] = (int(posts), Decimal(total), Decimal(per_post))
    return found


def test_no_spend_yet_instead_of_an_empty_chart(home_desk: Desk) -> None:
    client = log_in(home_desk.client())
    html = client.get("/personas/ash").text
    assert 'id="no-spend"' in html and "No spend yet." in html
    assert "<svg" not in html.split('id="costs"')[1].split("</section>")[0]
    assert cells(html, "by-format")["hero_text"][1] == Decimal(0)  # the posts are listed, at 0
    assert "Times in Europe/Berlin" in html


def test_spend_per_beat_and_format_equals_the_steps_sums(home_desk: Desk) -> None:
    add_costs(home_desk.store)
    by_beat, by_format, posts = sums_from_the_steps(home_desk.store, "ash")
    assert sum(by_beat.values()) > 0
    html = log_in(home_desk.client()).get("/personas/ash").text
    assert "No spend" not in html and "<svg" in html
    shown_beats, shown_formats = cells(html, "by-beat"), cells(html, "by-format")
    assert {key: total for key, (_, total, _) in shown_beats.items()} == by_beat
    assert {key: n for key, (n, _, _) in shown_beats.items()} == posts
    assert {key: total for key, (_, total, _) in shown_formats.items()} == by_format
    for n, total, per_post in shown_beats.values():
        assert per_post == (total / n).quantize(Decimal("0.000000001"))
    assert Decimal(html.split('id="planning">')[1].split("<")[0]) == Decimal("0.000000007")
    whole = Decimal(html.split('id="spend-total">')[1].split("<")[0])
    assert whole == sum(by_beat.values()) + Decimal("0.000000007")


def test_a_script_in_a_beat_title_shows_as_text(home_desk: Desk) -> None:
    add_costs(home_desk.store)
    with home_desk.store.session() as session:
        beat = session.scalar(select(PostRow.beat_key).limit(1))
    persona = home_desk.home / "personas" / "ash.toml"
    text = persona.read_text()
    title = re.search(rf'key = "{beat}"\ntitle = "([^"]+)"', text)
    assert title is not None
    persona.write_text(text.replace(f'title = "{title.group(1)}"', 'title = "<script>alert(1)</script> & co"', 1))
    html = log_in(home_desk.client()).get("/personas/ash").text
    assert "<script>alert(1)" not in html
    row = html.split(f'data-key="{beat}">')[1].split("</tr>")[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in row


def test_days_are_the_persona_s_and_sums_are_exact_on_both_stores(store: Store) -> None:  # noqa: F811
    """A step at 20:00 UTC is the next day in Kolkata (+05:30): the SQL CASE and Python agree, in either store."""
    now = datetime.now(UTC)
    with store.session() as session:
        batch_id = repo.create_batch(session, spec=BatchSpec(persona="ash", counts={ContentFormat.hero_text: 1}))
        plan = Plan(beat_key="open_weights", beat_title="Open weights", content_format=ContentFormat.hero_text,
                    title="T", angle="a", button="b", why_beat="w", why_format="w", freshness="f")  # fmt: skip
        post_ids = [
            repo.add_planned_post(session, batch_id=batch_id, persona="ash", plan=plan, steps=[]) for _ in range(3)
        ]
        evening = datetime.combine(now.date() - timedelta(days=3), datetime.min.time(), UTC) + timedelta(hours=20)
        for n, post_id in enumerate(post_ids):
            for k, cost in enumerate(COSTS):
                session.add(StepRow(post_id=post_id, batch_id=batch_id, persona="ash", position=10 + k,
                                    name="draft" if k % 2 else "video", status="done", cost_usd=cost,
                                    started_at=evening - timedelta(hours=7 * k + n)))  # fmt: skip
        for hours in range(0, 30 * 24, 7):  # across the window, DST changes included when it holds one
            session.add(StepRow(post_id=post_ids[0], batch_id=batch_id, persona="ash", position=100 + hours,
                                name="plan", status="done", cost_usd=Decimal("0.000000001") * hours,
                                started_at=now - timedelta(hours=hours)))  # fmt: skip
    with store.session() as session:
        for zone in ("UTC", "Asia/Kolkata", "America/St_Johns", "Europe/Berlin", "Australia/Lord_Howe"):
            in_sql = repo.daily_costs_by_kind(session, persona="ash", days=30, zone=zone)
            assert in_sql == repo.daily_costs(session, persona="ash", days=30, zone=zone), zone
            assert len(in_sql) == 30
        kolkata = dict(repo.daily_costs_by_kind(session, persona="ash", days=30, zone="Asia/Kolkata"))
        utc = dict(repo.daily_costs_by_kind(session, persona="ash", days=30, zone="UTC"))
        three_days_ago: date = evening.date()
        # 20:00 and 19:00 UTC are 01:30 and 00:30 the next morning there; 18:00 UTC is still the same day
        assert kolkata[three_days_ago + timedelta(days=1)]["video"] == COSTS[0] * 2
        assert utc[three_days_ago]["video"] == (COSTS[0] + COSTS[2]) * 3
        books.recount(session, zones={"ash": "Asia/Kolkata"})
        spend = books.persona_spend(session, persona="ash")
    spread = sum((Decimal("0.000000001") * hours for hours in range(0, 30 * 24, 7)), Decimal(0))
    whole = sum(COSTS) * 3 + spread
    assert [(line.key, line.posts, line.total_usd) for line in spend.by_beat] == [("open_weights", 3, whole)]
    assert spend.by_format[0].per_post == (whole / 3).quantize(Decimal("0.000000001")) and spend.total_usd == whole


def test_the_persona_page_in_a_browser_at_1280_and_390(desk: str, browser: Browser, home: Path) -> None:  # noqa: F811
    from beatdesk.settings import get_settings
    from beatdesk.store import open_store

    add_costs(open_store(get_settings().effective_database_url))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    browser_log_in(page, desk, "/personas/ash")
    expect(page.locator("#costs svg.chart")).to_have_count(1)
    expect(page.locator("#by-beat tbody tr")).not_to_have_count(0)
    expect(page.locator("#zone")).to_contain_text("Europe/Berlin")
    shot(page, "persona.png")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#by-format")).to_be_visible()
    assert fits_the_width(page)
    shot(page, "persona-390.png")
