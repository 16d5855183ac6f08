"""The desk's calendar: a persona's week or month of approved, scheduled and published posts and its free slots,
in the persona's zone; moving a post to a free slot and taking it off the calendar, through the store (SQLite and
PostgreSQL), the desk's forms, the JSON API, the CLI, and in headless Chromium at 1280 and 390 px."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import event, insert, select, text
from typer.testing import CliRunner

from beatdesk.errors import BeatdeskError
from beatdesk.home import init_home
from beatdesk.models import BatchSpec, ContentFormat, Persona, PostStatus
from beatdesk.rescheduling import MAX_FREE_SLOTS, free_slots_between, local_label, move_post, unschedule_post
from beatdesk.review import approve
from beatdesk.settings import get_settings
from beatdesk.store import Store, forget_stores, open_store, repo
from beatdesk.store.calendar import SlotPost, posts_between
from beatdesk.store.schema import EventRow, PostRow, PublicationRow
from drafter.edit import edit_draft
from review_web.calendar_grid import days_of, span
from tests.conftest import run_cli
from tests.desk_client import PASSWORD, Desk, desk_home, form_token, log_in, served_desk
from tests.test_review_web import ARTIFACTS, browser  # noqa: F401  (fixture)

BERLIN = ZoneInfo("Europe/Berlin")
PLAN = {"beat_key": "b", "beat_title": "B", "content_format": "hero_text", "title": "Plan title", "angle": "a",
        "button": "b", "why_beat": "w", "why_format": "w", "freshness": "f"}  # fmt: skip


def next_monday() -> date:
    """Monday of next week in Berlin (ash's zone): a week wholly in the future, whatever the day today."""
    today = datetime.now(BERLIN).date()
    return today + timedelta(days=7 - today.weekday())


def berlin(day: date, hour: int, minute: int = 30) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN).astimezone(UTC)


# --- the store, on SQLite and PostgreSQL -----------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, home: Path) -> Iterator[Store]:
    init_home(home)  # ash's persona file: its zone and slots
    url = f"sqlite:///{home / 'beatdesk.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    yield open_store(url)
    forget_stores()


def add_posts(store: Store, rows: list[dict[str, Any]]) -> list[int]:
    """Posts as the rows give them (status, slot_at, persona, draft title), in one batch; their ids in order."""
    with store.session() as session:
        batch = repo.create_batch(session, spec=BatchSpec(persona="ash", counts={ContentFormat.hero_text: 1}))
        now = datetime.now(UTC)
        first = (session.scalar(select(PostRow.id).order_by(PostRow.id.desc()).limit(1)) or 0) + 1
        session.execute(insert(PostRow), [
            {"batch_id": batch, "persona": "ash", "beat_key": "b", "content_format": "hero_text",
             "status_changed_at": now, "created_at": now, "plan": PLAN, "checks": [], "draft": None} | row
            for row in rows
        ])  # fmt: skip
        return list(session.scalars(select(PostRow.id).where(PostRow.id >= first).order_by(PostRow.id)))


def test_a_month_is_read_in_one_query_by_persona_and_slot_at_10k_posts(store: Store) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    statuses = ["approved", "scheduled", "published", "in_review", "failed"]
    rows = [{"persona": "ash" if i % 4 else "bea", "status": statuses[i % 5],
             "slot_at": start + timedelta(hours=7 * i) if i % 7 else None,
             "draft": {"title": f"Draft <{i}>"} if i % 3 else None}
            for i in range(10_000)]  # fmt: skip
    ids = add_posts(store, rows)
    with store.session() as session:
        session.execute(insert(PublicationRow), [
            {"post_id": post_id, "channel": channel, "remote_id": f"r{post_id}", "url": f"https://social.example/{post_id}",
             "published_at": start} for post_id, row in zip(ids, rows, strict=True) if row["status"] == "published"
            for channel in ("mastodon", "bluesky")
        ])  # fmt: skip
    month = (datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
    expected = [(post_id, row) for post_id, row in zip(ids, rows, strict=True)
                if row["persona"] == "ash" and row["slot_at"] and month[0] <= row["slot_at"] < month[1]]  # fmt: skip
    assert len(expected) > 50

    statements: list[str] = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731  (conn, cursor, statement, …)
    event.listen(store.engine, "before_cursor_execute", listen)
    try:
        with store.session() as session:
            found = posts_between(session, persona="ash", start=month[0], end=month[1])
    finally:
        event.remove(store.engine, "before_cursor_execute", listen)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1

    assert [p.id for p in found] == [post_id for post_id, _ in expected]  # by slot, which follows the id here
    for post, (_, row) in zip(found, expected, strict=True):
        assert post.slot_at == row["slot_at"] and post.status == row["status"]
        assert post.title == (row["draft"]["title"] if row["draft"] else "Plan title")
        if row["status"] == "published":
            assert [(link.channel, link.url) for link in post.links] == [
                ("bluesky", f"https://social.example/{post.id}"),
                ("mastodon", f"https://social.example/{post.id}"),
            ]
            assert not post.movable
        else:
            assert post.links == () and post.movable == (row["status"] == "approved")
    if store.engine.dialect.name == "sqlite":  # the range is walked on the index, never the whole table
        with store.engine.connect() as conn:
            plan = conn.execute(text("EXPLAIN QUERY PLAN SELECT id FROM posts WHERE persona = 'ash' "
                                     "AND slot_at >= '2026-06-01' AND slot_at < '2026-07-01'")).all()  # fmt: skip
        assert "ix_posts_persona_slot_at" in " ".join(str(row[-1]) for row in plan)


def events_of(store: Store, post_id: int) -> list[tuple[str, str | None]]:
    with store.session() as session:
        return [(e.action, e.note) for e in session.scalars(
            select(EventRow).where(EventRow.post_id == post_id).order_by(EventRow.id))]  # fmt: skip


def slot_and_status(store: Store, post_id: int) -> tuple[datetime | None, str]:
    with store.session() as session:
        post = repo.get_post(session, post_id)
    return post.slot_at, post.status


def test_moves_and_unschedules_follow_the_state_table_and_refuse_with_one_line(store: Store, home: Path) -> None:
    monday = next_monday()
    a, b, busy, out, in_review = add_posts(store, [
        {"status": "approved", "slot_at": berlin(monday, 8)},
        {"status": "approved", "slot_at": berlin(monday, 12)},
        {"status": "scheduled", "slot_at": berlin(monday, 17)},
        {"status": "approved", "slot_at": berlin(monday + timedelta(days=1), 8)},
        {"status": "in_review", "slot_at": None},
    ])  # fmt: skip
    with store.session() as session:
        repo.add_publication(session, post_id=out, channel="mastodon", remote_id="1", url="https://m.example/1")

    def refused(action: Any, **kwargs: Any) -> str:
        with pytest.raises(BeatdeskError) as err, store.session() as session:
            action(session, home=home, actor="rita", **kwargs)
        assert "\n" not in str(err.value)
        return str(err.value)

    wednesday = monday + timedelta(days=2)
    with store.session() as session:  # a naive time is the persona's local time
        placed = move_post(session, post_id=a, home=home, actor="rita", to=datetime.combine(wednesday, time(17, 30)))
    assert placed.slot_at == berlin(wednesday, 17) and slot_and_status(store, a) == (berlin(wednesday, 17), "approved")
    assert events_of(store, a)[-1] == (
        "move", f"slot {berlin(monday, 8).astimezone(BERLIN).isoformat(timespec='minutes')} → "
                f"{berlin(wednesday, 17).astimezone(BERLIN).isoformat(timespec='minutes')} (Europe/Berlin)")  # fmt: skip

    taken = refused(move_post, post_id=b, to=berlin(wednesday, 17))
    assert taken == f"{local_label(berlin(wednesday, 17), BERLIN)} is taken by post {a}; pick a free slot"
    assert slot_and_status(store, b) == (berlin(monday, 12), "approved") and events_of(store, b) == []  # nothing kept
    assert "is in the past; pick a future slot" in refused(
        move_post, post_id=b, to=datetime.now(UTC) - timedelta(hours=1)
    )
    assert "is being published now (scheduled)" in refused(move_post, post_id=busy, to=berlin(wednesday, 8))
    assert "already out on mastodon" in refused(move_post, post_id=out, to=berlin(wednesday, 8))
    assert "only an approved post can be moved" in refused(move_post, post_id=in_review, to=berlin(wednesday, 8))
    assert "no post with id 999999" in refused(move_post, post_id=999999, to=berlin(wednesday, 8))

    with store.session() as session:
        placed = unschedule_post(session, post_id=b, home=home, actor="rita")
    assert placed.previous == berlin(monday, 12) and slot_and_status(store, b) == (None, "in_review")
    assert events_of(store, b)[-1][0] == "unschedule" and "is free again" in (events_of(store, b)[-1][1] or "")
    # The state table speaks: a publisher holds a scheduled post, a published one is out.
    assert refused(unschedule_post, post_id=busy) == (
        f"post {busy} is scheduled; it cannot become in_review (allowed from scheduled: approved, failed, published)"
    )
    assert "already out on mastodon; it stays on the calendar" in refused(unschedule_post, post_id=out)
    assert "it cannot become in_review" in refused(unschedule_post, post_id=in_review)
    with store.session() as session:  # the freed slot is the persona's next free one again
        approve(session, post_id=b, home=home, actor="rita", at=berlin(monday, 12))
    assert slot_and_status(store, b) == (berlin(monday, 12), "approved")


def test_two_moves_onto_one_slot_at_once_land_one_post(store: Store, home: Path) -> None:
    monday = next_monday()
    first, second = add_posts(store, [{"status": "approved", "slot_at": berlin(monday, 8)},
                                      {"status": "approved", "slot_at": berlin(monday, 12)}])  # fmt: skip
    target = berlin(monday + timedelta(days=3), 12)
    ready = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def move(post_id: int) -> None:
        ready.wait()
        try:
            with store.session() as session:
                move_post(session, post_id=post_id, home=home, actor="rita", to=target)
            outcomes[post_id] = "moved"
        except BeatdeskError as err:
            outcomes[post_id] = str(err)

    threads = [threading.Thread(target=move, args=(post_id,)) for post_id in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    moved = [post_id for post_id, outcome in outcomes.items() if outcome == "moved"]
    assert len(moved) == 1, outcomes
    assert outcomes[first + second - moved[0]].endswith(f"is taken by post {moved[0]}; pick a free slot")
    with store.session() as session:
        assert session.scalars(select(PostRow.id).where(PostRow.slot_at == target)).all() == moved


# --- the desk's pages and forms, the JSON API and the CLI (TestClient, in-process) ------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def desk(request: pytest.FixtureRequest, cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    """Three posts in review for @ash (Europe/Berlin; slots 08:30, 12:30, 17:30), a reviewer and an admin."""
    if request.param == "postgres":
        monkeypatch.setenv("BEATDESK_DATABASE_URL", request.getfixturevalue("pg_url"))
    with desk_home(cli, home, items=3) as made:
        yield made


def plan_week(desk: Desk) -> date:
    """Next week: #1 on Tuesday 08:30, #2 on Tuesday 12:30 (approved), #3 on Wednesday 08:30, published on
    Mastodon (and on a channel whose stored URL is no http link); #1's title holds markup."""
    monday = next_monday()
    with desk.store.session() as session:
        edit_draft(
            session, post_id=1, home=desk.home, actor="rita", changes={"title": "<script>alert(1)</script> Evals"}
        )
        for post_id, at in ((1, berlin(monday + timedelta(days=1), 8)), (2, berlin(monday + timedelta(days=1), 12)),
                            (3, berlin(monday + timedelta(days=2), 8))):  # fmt: skip
            approve(session, post_id=post_id, home=desk.home, actor="rita", at=at)
    with desk.store.session() as session:
        repo.transition(session, post_id=3, to=PostStatus.scheduled, actor="publisher", action="publishing")
        repo.add_publication(session, post_id=3, channel="mastodon", remote_id="1", url="https://masto.example/@ash/1")
        repo.add_publication(session, post_id=3, channel="webhook", remote_id="2", url="javascript:alert(2)")
        repo.transition(session, post_id=3, to=PostStatus.published, actor="publisher", action="publish")
    return monday


def page_of(answer: Any) -> Any:
    assert answer.status_code == 200, answer.text[:300]
    return lxml.html.fromstring(answer.text)


def one_line(answer: Any) -> str:
    """The desk's error page's reason, or the API's `detail`: one line."""
    if answer.headers.get("content-type", "").startswith("application/json"):
        detail = answer.json()["detail"]
    else:
        detail = page_of_any(answer).xpath("//section/p")[0].text_content()
    assert isinstance(detail, str) and detail and "\n" not in detail
    return detail


def page_of_any(answer: Any) -> Any:
    return lxml.html.fromstring(answer.text)


def said(answer: Any) -> dict[str, str]:
    """The done/error line a calendar form redirects with."""
    assert answer.status_code == 303, answer.text[:300]
    return dict(parse_qsl(urlsplit(answer.headers["location"]).query))


def test_the_week_shows_posts_and_free_slots_in_the_personas_zone(desk: Desk) -> None:
    monday = plan_week(desk)
    client = log_in(desk.client())
    doc = page_of(client.get("/calendar", params={"persona": "ash", "start": (monday + timedelta(days=4)).isoformat()}))
    assert doc.xpath("string(//h1[@id='cal-title'])") == f"@ash · Week of {monday:%a %d %b %Y}"
    assert "Times in Europe/Berlin (" in doc.xpath("string(//p[@id='cal-zone'])")
    assert [d.get("data-day") for d in doc.xpath("//section[contains(@class, 'cal-day')]")] == [
        (monday + timedelta(days=n)).isoformat() for n in range(7)
    ]

    tuesday = doc.xpath(f"//section[@data-day='{monday + timedelta(days=1)}']")[0]
    times = [(li.get("class").split()[0], li.xpath("string(.//span[@class='cal-time'])"))
             for li in tuesday.xpath(".//li")]  # fmt: skip
    assert times == [("cal-post", "08:30"), ("cal-post", "12:30"), ("cal-free", "17:30")]  # local, not UTC
    first = tuesday.xpath(".//li[@data-post='1']")[0]
    assert first.xpath("string(.//a[@class='cal-title'])") == "<script>alert(1)</script> Evals"  # shown as text
    assert "<script>alert(1)" not in client.get("/calendar", params={"start": monday.isoformat()}).text
    assert first.get("draggable") == "true" and "(Europe/Berlin)" in first.get("title")
    published = doc.xpath("//li[@data-post='3']")[0]
    assert published.get("draggable") is None and "status-published" in published.get("class")
    assert [a.get("href") for a in published.xpath(".//a[@class='cal-out']")] == ["https://masto.example/@ash/1"]
    assert "on webhook" in published.text_content()  # a stored URL that is no http link is shown, never linked
    assert not published.xpath(".//form")  # nothing to move or unschedule once out

    free = doc.xpath("//li[@class='cal-free']")
    assert len(free) == 7 * 3 - 3
    options = doc.xpath("//select[@id='move-slot']/option")
    assert [o.get("value") for o in options] == [li.get("data-slot") for li in free]
    assert options[0].text_content().endswith("(Europe/Berlin)")
    assert [o.get("value") for o in doc.xpath("//select[@id='move-post']/option")] == ["1", "2"]
    assert doc.xpath("//header//a[@href='/calendar']")  # the nav leads here

    month = page_of(client.get("/calendar", params={"persona": "@ash", "view": "month",
                                                    "start": monday.isoformat()}))  # fmt: skip
    assert month.xpath("string(//h1[@id='cal-title'])") == f"@ash · {monday:%B %Y}"
    assert len(month.xpath("//li[@data-post]")) == 3
    prev = urlsplit(month.xpath("//a[@id='cal-prev']")[0].get("href"))
    assert dict(parse_qsl(prev.query)) == {"persona": "ash", "view": "month",
                                           "start": (monday.replace(day=1) - timedelta(days=1)).replace(day=1).isoformat()}  # fmt: skip
    nxt = dict(parse_qsl(urlsplit(doc.xpath("//a[@id='cal-next']")[0].get("href")).query))
    assert nxt["start"] == (monday + timedelta(days=7)).isoformat() and nxt["view"] == "week"
    other = dict(parse_qsl(urlsplit(doc.xpath("//a[@id='cal-other']")[0].get("href")).query))
    assert other == {"persona": "ash", "view": "month", "start": (monday + timedelta(days=3)).isoformat()}

    past = page_of(client.get("/calendar", params={"persona": "ash", "start": "2020-01-08", "move": "1"}))
    assert past.xpath("string(//h1[@id='cal-title'])") == "@ash · Week of Mon 06 Jan 2020"
    assert not past.xpath("//li[@data-post]") and not past.xpath("//li[@class='cal-free']")  # nothing free in the past
    picked = past.xpath("//select[@id='move-post']/option")  # #1, picked with "move…" in another week
    assert [(o.get("value"), o.get("selected") is not None) for o in picked] == [("1", True)]
    offered = [datetime.fromisoformat(o.get("value")) for o in past.xpath("//select[@id='move-slot']/option")]
    assert (
        len(offered) == 12 and offered[0] > datetime.now(UTC) and berlin(monday + timedelta(days=1), 8) not in offered
    )
    assert "these are the next free ones" in past.text_content()
    assert dict(parse_qsl(urlsplit(past.xpath("//a[@id='cal-next']")[0].get("href")).query))["move"] == "1"

    assert "unknown persona 'nobody'" in one_line(client.get("/calendar", params={"persona": "nobody"}))
    assert client.get("/calendar", params={"start": "2026-02-30"}).status_code == 400
    assert client.get("/calendar", params={"view": "year"}).status_code == 400
    assert client.get("/calendar", params={"start": "0001-01-01"}).status_code == 400


def test_posts_move_and_come_off_the_calendar_through_its_forms(desk: Desk) -> None:
    monday = plan_week(desk)
    client = log_in(desk.client())
    here = f"/calendar?persona=ash&view=week&start={monday}"
    token = form_token(client, here)
    thursday_evening = berlin(monday + timedelta(days=3), 17)

    no_csrf = client.post("/calendar/move", data={"post_id": "1", "slot": thursday_evening.isoformat()})
    assert no_csrf.status_code == 403 and "CSRF token" in one_line(no_csrf)
    moved = said(client.post("/calendar/move", follow_redirects=False, data={
        "csrftoken": token, "post_id": "1", "slot": thursday_evening.isoformat(), "back": here}))  # fmt: skip
    assert moved["done"] == f"Moved #1 “<script>alert(1)</script> Evals” to {local_label(thursday_evening, BERLIN)}"
    assert slot_and_status(desk.store, 1) == (thursday_evening, "approved")
    assert events_of(desk.store, 1)[-1][0] == "move"

    taken = said(client.post("/calendar/move", follow_redirects=False, data={
        "csrftoken": token, "post_id": "2", "slot": thursday_evening.isoformat(), "back": here}))  # fmt: skip
    assert taken["error"].endswith("is taken by post 1; pick a free slot")
    past = said(client.post("/calendar/move", follow_redirects=False, data={
        "csrftoken": token, "post_id": "2", "slot": "2020-01-01T08:30", "back": here}))  # fmt: skip
    assert past["error"] == "Wed 01 Jan 2020 08:30 CET (Europe/Berlin) is in the past; pick a future slot"
    garbage = said(client.post("/calendar/move", follow_redirects=False, data={
        "csrftoken": token, "post_id": "2", "slot": "tomorrow-ish", "back": "//evil.example/"}))  # fmt: skip
    assert garbage["error"] == "the slot 'tomorrow-ish' is not an ISO time such as 2026-12-01T09:30"
    assert slot_and_status(desk.store, 2) == (berlin(monday + timedelta(days=1), 12), "approved")
    published = said(client.post("/calendar/unschedule", follow_redirects=False, data={
        "csrftoken": token, "post_id": "3", "back": here}))  # fmt: skip
    assert published["error"] == "post 3 is already out on mastodon, webhook; it stays on the calendar"

    answer = client.post("/calendar/unschedule", data={"csrftoken": token, "post_id": "2", "back": here})
    doc = page_of(answer)  # followed back to the same week
    assert doc.xpath("string(//p[@id='done'])").startswith("Took #2 “")
    assert slot_and_status(desk.store, 2) == (None, "in_review")
    assert not doc.xpath("//li[@data-post='2']") and doc.xpath("//li[@data-post='1']")
    missing = client.post("/calendar/unschedule", data={"csrftoken": token, "post_id": "99"}, follow_redirects=False)
    assert missing.status_code == 404 and one_line(missing) == "no post with id 99"

    with desk.store.session() as session:  # a long title is cut in the line the calendar comes back with
        edit_draft(session, post_id=2, home=desk.home, actor="rita", changes={"title": "Long " * 32})
        approve(session, post_id=2, home=desk.home, actor="rita", at=berlin(monday + timedelta(days=5), 8))
    doc = page_of(client.post("/calendar/move", data={"csrftoken": token, "post_id": "2", "back": here,
                                                      "slot": berlin(monday + timedelta(days=5), 12).isoformat()}))  # fmt: skip
    assert doc.xpath("string(//p[@id='done'])").startswith("Moved #2 “Long Long")
    assert "Long…” to " in doc.xpath("string(//p[@id='done'])")
    assert slot_and_status(desk.store, 2) == (berlin(monday + timedelta(days=5), 12), "approved")


def test_the_api_reads_the_calendar_and_moves_with_a_review_token(desk: Desk) -> None:
    monday = plan_week(desk)
    api = TestClient(desk.client().app, base_url="http://testserver/api")
    read = {"Authorization": f"Bearer {desk.token('rita', 'read')}"}
    review = {"Authorization": f"Bearer {desk.token('rita', 'review')}"}
    week = api.get("/calendar", headers=read, params={"persona": "ash", "start": monday.isoformat()}).json()
    assert week["timezone"] == "Europe/Berlin" and len(week["free_slots"]) == 18
    assert [(p["id"], p["status"], p["movable"]) for p in week["posts"]] == [
        (1, "approved", True),
        (2, "approved", True),
        (3, "published", False),
    ]
    assert week["posts"][2]["links"] == {"mastodon": "https://masto.example/@ash/1", "webhook": None}
    assert week["posts"][0]["slot_local"] == local_label(berlin(monday + timedelta(days=1), 8), BERLIN)
    assert " 08:30 CE" in week["posts"][0]["slot_local"] and week["posts"][0]["slot_local"].endswith("(Europe/Berlin)")

    target = week["free_slots"][-1]
    assert api.post("/posts/1/move", json={"slot": target}).status_code == 401
    assert api.post("/posts/1/move", headers=read, json={"slot": target}).status_code == 403
    moved = api.post("/posts/1/move", headers=review, json={"slot": target})
    assert moved.status_code == 200 and moved.json()["slot_at"] == target.replace("+00:00", "Z")
    assert slot_and_status(desk.store, 1)[0] == datetime.fromisoformat(target)
    clash = api.post("/posts/2/move", headers=review, json={"slot": target})
    assert clash.status_code == 409 and one_line(clash).endswith("is taken by post 1; pick a free slot")
    local = api.post("/posts/2/move", headers=review, json={"slot": f"{monday + timedelta(days=5)}T12:30"})
    assert local.json()["slot_at"] == berlin(monday + timedelta(days=5), 12).isoformat().replace("+00:00", "Z")
    off = api.post("/posts/2/unschedule", headers=review).json()
    assert off["status"] == "in_review" and off["slot_at"] is None
    again = api.post("/posts/2/unschedule", headers=review)
    assert again.status_code == 409 and "it cannot become in_review" in one_line(again)
    assert api.post("/posts/99/unschedule", headers=review).status_code == 404
    assert (
        api.get("/calendar", headers=read, params={"persona": "ash", "start": "2026-01-01", "days": 400}).status_code
        == 422
    )


@pytest.mark.parametrize("desk", ["sqlite"], indirect=True)
def test_the_cli_moves_and_unschedules(desk: Desk, cli: CliRunner) -> None:
    monday = plan_week(desk)
    friday = monday + timedelta(days=4)
    moved = run_cli(cli, "post", "move", "1", "--slot", f"{friday}T17:30")
    assert moved.stdout.strip() == f"post 1 is approved for {local_label(berlin(friday, 17), BERLIN)}"
    clash = run_cli(cli, "post", "move", "2", "--slot", f"{friday}T17:30", code=1)
    assert (
        clash.stderr.strip() == f"error: {local_label(berlin(friday, 17), BERLIN)} is taken by post 1; pick a free slot"
    )
    bad = run_cli(cli, "post", "move", "2", "--slot", "friday", code=1)
    assert bad.stderr.strip() == "error: --slot 'friday' is not an ISO time such as 2026-12-01T09:30"
    data = run_cli(cli, "post", "unschedule", "2", "--json")
    assert data["status"] == "in_review" and data["slot_at"] is None
    assert run_cli(cli, "post", "unschedule", "3", code=1).stderr.startswith("error: post 3 is already out on mastodon")


# --- in headless Chromium, against `beatdesk serve` -------------------------------------------------------------


@pytest.fixture
def served(cli: CliRunner, home: Path) -> Iterator[tuple[str, Store]]:
    """`beatdesk serve` on 127.0.0.1 over a home with three posts in review and the reviewer rita; and its store."""
    with served_desk(cli, home, video=0) as url:
        yield url, open_store(get_settings().effective_database_url)


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_a_post_moved_in_the_calendar_lands_in_its_new_slot(served: tuple[str, Store], browser: Browser) -> None:  # noqa: F811
    url, store = served
    monday = plan_week(Desk(home=get_settings().home, store=store))
    thursday, friday = monday + timedelta(days=3), monday + timedelta(days=4)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in_page(page, url, "/calendar")
    page.goto(f"{url}/calendar?persona=ash&start={monday}")

    expect(page.locator("#cal-zone")).to_contain_text("Times in Europe/Berlin")
    first = page.locator('.cal-post[data-post="1"]')
    expect(first.locator(".cal-time")).to_have_text("08:30")  # 07:30 UTC in winter, 06:30 in summer: never shown
    expect(first.locator(".cal-title")).to_have_text("<script>alert(1)</script> Evals")
    expect(page.locator('.cal-post[data-post="3"] a.cal-out')).to_have_attribute("href", "https://masto.example/@ash/1")

    # Picked from the lists, as without JavaScript.
    page.select_option("#move-post", "1")
    page.select_option("#move-slot", berlin(thursday, 17).isoformat())
    page.click("#move-submit")
    expect(page.locator("#done")).to_contain_text("Moved #1")
    expect(page.locator("#done")).to_contain_text("17:30")
    assert slot_and_status(store, 1) == (berlin(thursday, 17), "approved")
    expect(page.locator(f'section[data-day="{thursday}"] .cal-post[data-post="1"] .cal-time')).to_have_text("17:30")

    # Dragged onto a free slot.
    target = page.locator(f'.cal-free[data-slot="{berlin(friday, 12).isoformat()}"]')
    page.locator('.cal-post[data-post="2"]').drag_to(target)
    expect(page.locator("#done")).to_contain_text("Moved #2")
    assert slot_and_status(store, 2) == (berlin(friday, 12), "approved")
    expect(page.locator(f'section[data-day="{friday}"] .cal-post[data-post="2"] .cal-time')).to_have_text("12:30")
    assert events_of(store, 2)[-1][0] == "move"
    shot(page, "calendar-week.png")

    page.click("#cal-other")
    expect(page.locator("#cal-title")).to_have_text(f"@ash · {thursday:%B %Y}")  # the month holding most of the week
    expect(page.locator(".cal-post")).to_have_count(3)
    shot(page, "calendar-month.png")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{url}/calendar?persona=ash&start={monday}")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    days = page.locator(".cal-day")
    assert days.nth(0).bounding_box()["width"] > 300  # type: ignore[index]  (a list of days, one under another)
    page.locator('.cal-post[data-post="1"] .cal-unschedule').click()
    expect(page.locator("#done")).to_contain_text("Took #1")
    assert slot_and_status(store, 1) == (None, "in_review")
    page.select_option("#move-slot", berlin(monday + timedelta(days=6), 8).isoformat())
    page.click("#move-submit")  # the one post left to move: #2
    expect(page.locator("#done")).to_contain_text("Moved #2")
    assert slot_and_status(store, 2) == (berlin(monday + timedelta(days=6), 8), "approved")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "calendar-390.png")


def log_in_page(page: Page, url: str, path: str) -> None:
    page.goto(f"{url}{path}")
    page.fill("input[name=name]", "rita")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{url}{path}")


@pytest.mark.parametrize("desk", ["sqlite"], indirect=True)
def test_fuzzing_the_calendar_routes_gives_no_500(desk: Desk) -> None:
    plan_week(desk)
    client = log_in(desk.client())
    token = form_token(client, "/calendar")
    api = TestClient(desk.client().app, base_url="http://testserver/api")
    review = {"Authorization": f"Bearer {desk.token('rita', 'review')}"}
    texts = st.one_of(st.text(max_size=40), st.sampled_from(["", "ash", "@ash", "0", "-1", "9" * 30, "2026-02-30",
                      "0001-01-01T00:00", "9999-12-31T23:59", "0001-01-01T00:00+14:00", "9000-12-31", "1970-01-01",
                      "2026-12-03T17:30", "month", "week", "1", "3"]))  # fmt: skip
    fields = st.dictionaries(st.sampled_from(["persona", "view", "start", "move", "post_id", "slot", "back", "days"]),
                             texts, max_size=5)  # fmt: skip

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(["GET /calendar", "POST /calendar/move", "POST /calendar/unschedule", "GET /api/calendar",
                            "POST /api/posts/1/move", "POST /api/posts/2/unschedule"]), fields)  # fmt: skip
    def no_500(route: str, values: dict[str, str]) -> None:
        method, path = route.split(" ")
        if path.startswith("/api/"):
            call = api.get if method == "GET" else api.post
            answer = call(path[4:], headers=review, **({"params": values} if method == "GET" else {"json": values}))
        elif method == "GET":
            answer = client.get(path, params=values, follow_redirects=False)
        else:
            answer = client.post(path, data=values | {"csrftoken": token}, follow_redirects=False)
        assert answer.status_code < 500, (route, values, answer.text[:300])
        if answer.status_code >= 400:
            one_line(answer)

    no_500()


# --- the calendar's shape, across a DST change ------------------------------------------------------------------


def test_a_week_across_the_spring_change_keeps_its_local_slots(ash: Persona) -> None:
    shown = span("week", date(2026, 3, 26), BERLIN)  # clocks go forward on Sunday 29 March 2026, 02:00 -> 03:00
    assert (shown.first, shown.last) == (date(2026, 3, 23), date(2026, 3, 29))
    assert (shown.start, shown.end) == (datetime(2026, 3, 22, 23, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC))
    taken = [berlin(date(2026, 3, 29), 12)]
    free = free_slots_between(ash, start=shown.start, end=shown.end, taken=taken, now=datetime(2026, 3, 1, tzinfo=UTC))
    assert len(free) == 7 * 3 - 1
    post = SlotPost(
        id=9, status=PostStatus.approved, content_format=ContentFormat.hero_text, title="t", slot_at=taken[0]
    )
    days = days_of(shown, posts=[post], free=free, now=datetime(2026, 3, 29, 10, tzinfo=UTC))
    assert [[e.local for e in day.entries] for day in days] == [["08:30", "12:30", "17:30"]] * 7
    sunday = days[-1]
    assert sunday.today and [e.post.id if e.post else None for e in sunday.entries] == [None, 9, None]
    assert sunday.entries[0].at == datetime(2026, 3, 29, 6, 30, tzinfo=UTC)  # CEST: UTC+2 from that morning
    assert days[0].entries[0].at == datetime(2026, 3, 23, 7, 30, tzinfo=UTC)  # CET: UTC+1
    # Slots already past are never offered; the month is whole weeks, Monday to Sunday.
    later = free_slots_between(ash, start=shown.start, end=shown.end, taken=[], now=berlin(date(2026, 3, 29), 9))
    assert later == [berlin(date(2026, 3, 29), 12), berlin(date(2026, 3, 29), 17)]
    month = span("month", date(2026, 3, 15), BERLIN)
    assert (month.first, month.last, month.anchor) == (date(2026, 2, 23), date(2026, 4, 5), date(2026, 3, 1))
    assert (month.previous, month.following, month.title) == (date(2026, 2, 1), date(2026, 4, 1), "March 2026")
    shape = days_of(month, posts=[], free=[], now=datetime(2026, 3, 15, tzinfo=UTC))
    assert len(shape) == 42 and [d.day for d in shape if d.outside][:6] == [date(2026, 2, 23 + n) for n in range(6)]


def test_a_cron_line_of_every_minute_offers_a_readable_number_of_free_slots(ash: Persona) -> None:
    busy = ash.model_copy(update={"slot_cron": ("* * * * *",)})
    month = span("month", date(2026, 3, 15), BERLIN)
    free = free_slots_between(busy, start=month.start, end=month.end, taken=[], now=datetime(2026, 3, 1, tzinfo=UTC))
    assert len(free) == MAX_FREE_SLOTS and free == sorted(free)
