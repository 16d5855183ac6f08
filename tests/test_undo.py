"""Undo a decision for 30 s (approve, reject, move, in bulk), refused later or after someone else moved the post;
a rejected post reopened from the desk, the CLI and the API; both kept in the audit log."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import update
from typer.testing import CliRunner

from beatdesk.errors import BeatdeskError
from beatdesk.models import PostStatus
from beatdesk.rescheduling import move_post
from beatdesk.store import repo
from beatdesk.store.schema import EventRow
from beatdesk.undo import UNDO_SECONDS, undo_decision
from tests.conftest import run_cli
from tests.desk_client import Desk, desk_home, form_token, log_in
from tests.test_review_desk_pages import shot
from tests.test_review_web import browser, desk  # noqa: F401  (fixtures)
from tests.test_review_web import log_in as browser_log_in


@pytest.fixture
def home_desk(cli: CliRunner, home: Path) -> Iterator[Desk]:
    with desk_home(cli, home, items=3) as made:
        yield made


def _undo_offer(location: str) -> str:
    return parse_qs(urlsplit(location).query)["undo"][0]


def _status(made: Desk, post_id: int) -> PostStatus:
    with made.store.session() as session:
        return repo.post_status(session, post_id)


def _age(made: Desk, event_ids: str, seconds: int) -> None:
    """Time passes for these decisions: their audit entries are dated `seconds` earlier."""
    with made.store.session() as session:
        for each in event_ids.split(","):
            row = session.get(EventRow, int(each))
            assert row is not None
            row.at -= timedelta(seconds=seconds)


def test_an_approval_is_undone_within_30_s_and_its_slot_is_free_again(home_desk: Desk) -> None:
    client = log_in(home_desk.client())
    token = form_token(client, "/posts/1")
    approved = client.post("/posts/1/approve", data={"csrftoken": token}, follow_redirects=False)
    offer = _undo_offer(approved.headers["location"])
    shown = client.get(approved.headers["location"]).text
    assert 'action="/undo"' in shown and f'value="{offer}"' in shown
    with home_desk.store.session() as session:
        slot = repo.get_post(session, 1).slot_at
        assert slot in repo.taken_slots(session, persona="ash")

    undone = client.post("/undo", data={"csrftoken": token, "events": offer}, follow_redirects=False)
    assert undone.headers["location"].startswith("/posts/1?done=Undid")
    with home_desk.store.session() as session:
        post = repo.get_post(session, 1)
        assert post.status is PostStatus.in_review and post.slot_at is None
        assert slot not in repo.taken_slots(session, persona="ash")
        assert [e.action for e in post.events][-2:] == ["approve", "undo"]
        assert repo.list_decisions(session) == []  # an undone decision is not counted by the evals
    again = client.post("/undo", data={"csrftoken": token, "events": offer}, follow_redirects=False)
    assert "error=" in again.headers["location"] and _status(home_desk, 1) is PostStatus.in_review


def test_a_rejection_and_a_bulk_approval_are_undone(home_desk: Desk) -> None:
    client = log_in(home_desk.client())
    token = form_token(client, "/posts/1")
    rejected = client.post("/posts/1/reject", data={"csrftoken": token, "reason": "dull"}, follow_redirects=False)
    client.post("/undo", data={"csrftoken": token, "events": _undo_offer(rejected.headers["location"])})
    with home_desk.store.session() as session:
        post = repo.get_post(session, 1)
        assert post.status is PostStatus.in_review and post.reason is None

    bulk = client.post("/bulk/approve", data={"csrftoken": token, "post_ids": [1, 2, 3], "back": "/"},
                       follow_redirects=False)  # fmt: skip
    offer = _undo_offer(bulk.headers["location"])
    assert len(offer.split(",")) == 3
    undone = client.post("/undo", data={"csrftoken": token, "events": offer}, follow_redirects=False)
    assert "Undid+3+decisions" in undone.headers["location"]
    assert {_status(home_desk, n) for n in (1, 2, 3)} == {PostStatus.in_review}


def test_an_undo_after_30_s_is_refused(home_desk: Desk) -> None:
    client = log_in(home_desk.client())
    token = form_token(client, "/posts/1")
    approved = client.post("/posts/1/approve", data={"csrftoken": token}, follow_redirects=False)
    offer = _undo_offer(approved.headers["location"])
    _age(home_desk, offer, UNDO_SECONDS + 1)
    late = client.post("/undo", data={"csrftoken": token, "events": offer}, follow_redirects=False)
    assert "ran+out+after+30+s" in late.headers["location"]
    assert _status(home_desk, 1) is PostStatus.approved


def test_an_undo_is_the_deciders_own_and_refused_once_another_person_moved_the_post(home_desk: Desk) -> None:
    client = log_in(home_desk.client())
    token = form_token(client, "/posts/1")
    approved = client.post("/posts/1/approve", data={"csrftoken": token}, follow_redirects=False)
    offer = _undo_offer(approved.headers["location"])
    with home_desk.store.session() as session:
        with pytest.raises(BeatdeskError, match=r"no decision .* of yours"):
            undo_decision(session, event_id=int(offer), actor="ada")
        slot = repo.get_post(session, 1).slot_at
        assert slot is not None
    with home_desk.store.session() as session:
        move_post(session, post_id=1, home=home_desk.home, actor="ada", to=slot + timedelta(days=3, minutes=7))
    refused = client.post("/undo", data={"csrftoken": token, "events": offer}, follow_redirects=False)
    assert "changed+since+%28move+by+ada%29" in refused.headers["location"]
    assert _status(home_desk, 1) is PostStatus.approved


def test_a_move_is_undone_to_its_old_slot_unless_it_was_taken(home_desk: Desk) -> None:
    client = log_in(home_desk.client())
    token = form_token(client, "/posts/1")
    for post_id in (1, 2):
        client.post(f"/posts/{post_id}/approve", data={"csrftoken": token})
    with home_desk.store.session() as session:
        old = repo.get_post(session, 1).slot_at
        assert old is not None
    target = (old + timedelta(days=5, minutes=11)).isoformat()
    moved = client.post("/calendar/move", data={"csrftoken": token, "post_id": 1, "slot": target,
                                                "back": "/calendar"}, follow_redirects=False)  # fmt: skip
    offer = _undo_offer(moved.headers["location"])
    client.post("/undo", data={"csrftoken": token, "events": offer})
    with home_desk.store.session() as session:
        assert repo.get_post(session, 1).slot_at == old
        assert repo.get_post(session, 1).events[-1].action == "undo"

    moved = client.post("/calendar/move", data={"csrftoken": token, "post_id": 1, "slot": target,
                                                "back": "/calendar"}, follow_redirects=False)  # fmt: skip
    offer = _undo_offer(moved.headers["location"])
    with home_desk.store.session() as session:  # post 2 takes the freed slot; the move's entry is still the newest
        session.execute(update(repo.PostRow).where(repo.PostRow.id == 2).values(slot_at=old))
    refused = client.post("/undo", data={"csrftoken": token, "events": offer}, follow_redirects=False)
    assert "is+taken+by+post+2" in refused.headers["location"]


def test_undo_needs_the_review_role_and_the_csrf_token(home_desk: Desk) -> None:
    client = log_in(home_desk.client())
    token = form_token(client, "/posts/1")
    approved = client.post("/posts/1/approve", data={"csrftoken": token}, follow_redirects=False)
    offer = _undo_offer(approved.headers["location"])
    assert client.post("/undo", data={"events": offer}).status_code == 403
    reader = home_desk.token("rita", scope="read")
    anon = home_desk.client()
    denied = anon.post("/undo", data={"events": offer}, headers={"Authorization": f"Bearer {reader}"})
    assert denied.status_code == 403
    assert _status(home_desk, 1) is PostStatus.approved


def test_a_rejected_post_is_reopened_from_the_desk_the_cli_and_the_api(cli: CliRunner, home_desk: Desk) -> None:
    for post_id in (1, 2, 3):
        run_cli(cli, "review", "reject", str(post_id), "--reason", "not now")
    client = log_in(home_desk.client())
    token = form_token(client, "/posts/1")
    assert 'action="/posts/1/reopen"' in client.get("/posts/1").text
    assert client.post("/posts/1/reopen", data={"csrftoken": token}).status_code == 200
    out = run_cli(cli, "review", "reopen", "2", "--json")
    assert out["status"] == "in_review"
    api = home_desk.client()
    bearer = {"Authorization": f"Bearer {home_desk.token('rita')}"}
    assert api.post("/api/posts/3/reopen", headers=bearer).json()["status"] == "in_review"
    assert api.post("/api/posts/3/reopen", headers=bearer).status_code == 409  # not rejected any more
    with home_desk.store.session() as session:
        for post_id in (1, 2, 3):
            post = repo.get_post(session, post_id)
            assert post.status is PostStatus.in_review and post.reason is None
            assert post.events[-1].action == "reopen"
    reader = home_desk.token("rita", scope="read")
    assert api.post("/api/posts/1/reopen", headers={"Authorization": f"Bearer {reader}"}).status_code == 403


def test_undo_in_the_browser(desk: str, browser: Browser) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    browser_log_in(page, desk, "/posts/1")
    page.fill("#reject-reason", "not this week")
    page.click("#reject")
    expect(page.locator("#done")).to_contain_text("Rejected #1")
    expect(page.locator("#undo button")).to_be_visible()
    shot(page, "undo-notice.png")
    page.click("#undo button")
    expect(page).to_have_url(re.compile(r"/posts/1\?done=Undid"))
    expect(page.locator("#status")).to_have_text("in_review")
    expect(page.locator("#audit")).to_contain_text("undo")
    shot(page, "undo-done.png")
