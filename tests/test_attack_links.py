"""An attacker's pass over client links and comments: what a link holder, a reviewer on the wrong page or a
hostile comment can make the desk do, each refusal said in words the person can act on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from beatdesk import client_links
from beatdesk.store import repo
from beatdesk.users import add_user, remove_user
from tests.desk_client import Desk, desk_home, form_token, log_in
from tests.test_desk_post_page import make_failing
from tests.test_desk_security import _Isolation


@pytest.fixture
def desk(cli: CliRunner, home: Path) -> Iterator[Desk]:
    with desk_home(cli, home, items=3) as made:
        yield made


def make_link(desk: Desk, post_id: int, label: str = "acme") -> tuple[int, str]:
    with desk.store.session() as session:
        link, token = client_links.create(session, kind="post", target_id=post_id, label=label, actor="rita")
    return link.id, token


def test_a_client_is_not_asked_for_a_reason_it_cannot_give(desk: Desk) -> None:
    make_failing(desk, 1)
    _, token = make_link(desk, 1)
    client = desk.client()
    csrf = form_token(client, f"/c/{token}")
    answer = client.post(f"/c/{token}/posts/1/approve", data={"csrftoken": csrf})
    assert "fails its checks (banned_phrases)" in answer.text and "the team" in answer.text
    assert "give a reason" not in answer.text  # the client's page has no field for one
    with desk.store.session() as session:
        assert repo.get_post(session, 1).status == "in_review"


def test_a_note_as_long_as_the_form_allows_is_kept(desk: Desk) -> None:
    _, token = make_link(desk, 1)
    client = desk.client()
    page = client.get(f"/c/{token}").text
    csrf = form_token(client, f"/c/{token}")
    allowed = int(page.split('id="changes-1" name="note" rows="2" maxlength="')[1].split('"')[0])
    asked = client.post(f"/c/{token}/posts/1/changes", data={"csrftoken": csrf, "note": "x" * allowed})
    assert "Asked for changes to post 1" in asked.text
    too_long = client.post(f"/c/{token}/posts/1/changes", data={"csrftoken": csrf, "note": "x" * (allowed + 1)})
    assert f"the note holds at most {allowed:,} characters" in too_long.text


def test_the_share_count_counts_live_links_in_words(desk: Desk) -> None:
    first, _ = make_link(desk, 3)
    make_link(desk, 3, label="beta")
    reviewer = log_in(desk.client())
    csrf = form_token(reviewer, "/posts/3")
    page = reviewer.post(f"/posts/3/links/{first}/revoke", data={"csrftoken": csrf}).text
    assert "Share for review · 1 live link of 2" in page


def test_a_post_page_revokes_only_its_own_links(desk: Desk) -> None:
    other, token = make_link(desk, 1)
    reviewer = log_in(desk.client())
    csrf = form_token(reviewer, "/posts/3")
    assert reviewer.post(f"/posts/3/links/{other}/revoke", data={"csrftoken": csrf}).status_code == 404
    assert desk.client().get(f"/c/{token}").status_code == 200  # post 1's link still works


def test_hostile_comments_are_text(desk: Desk) -> None:
    _, token = make_link(desk, 1)
    client = desk.client()
    csrf = form_token(client, f"/c/{token}")
    evil = '<img src=x onerror="alert(1)"> @rita <script>alert(2)</script>'
    client.post(f"/c/{token}/posts/1/comment", data={"csrftoken": csrf, "text": evil})
    assert "<script>alert(2)" not in client.get(f"/c/{token}").text
    reviewer = log_in(desk.client())
    page = reviewer.get("/posts/1").text
    assert "&lt;script&gt;alert(2)" in page and "<script>alert(2)" not in page and "<img src=x" not in page
    assert '<span class="mention">@rita</span>' in page
    nul = client.post(f"/c/{token}/posts/1/comment", data={"csrftoken": csrf, "text": "a\x00b"})
    assert nul.status_code == 400 and "NUL bytes are not allowed" in nul.text, nul.text


def test_a_client_deciding_after_the_team_is_told_on_its_own_page(desk: Desk) -> None:
    _, token = make_link(desk, 1)
    client = desk.client()
    csrf = form_token(client, f"/c/{token}")  # the client's page is open
    reviewer = log_in(desk.client())
    reviewer.post("/posts/1/approve", data={"csrftoken": form_token(reviewer, "/posts/1")})
    late = client.post(f"/c/{token}/posts/1/approve", data={"csrftoken": csrf})
    assert late.status_code == 200 and "this was decided already" in late.text
    assert "Back to the queue" not in late.text  # a desk page the client cannot open
    with desk.store.session() as session:
        post = repo.get_post(session, 1)
    assert post.status == "approved" and [e.actor for e in post.events if e.action == "approve"] == ["rita"]


def test_a_removed_person_is_not_mentioned_and_the_team_thread_stays_off_the_link(desk: Desk) -> None:
    with desk.store.session() as session:
        add_user(session, name="sam", role="reviewer", password="a long enough password 1")
        remove_user(session, name="sam")
    api = desk.client(base_url="http://testserver/api")
    bearer = {"Authorization": f"Bearer {desk.token('rita')}"}
    made = api.post("/posts/1/comments", json={"text": "Ask @sam and @rita. Internal only."}, headers=bearer)
    assert made.status_code == 201 and made.json()["mentions"] == ["rita"]
    assert api.post("/posts/1/comments", json={"text": "a\x00b"}, headers=bearer).status_code == 422
    assert api.post("/posts/99/comments", json={"text": "x"}, headers=bearer).status_code == 404
    reader = {"Authorization": f"Bearer {desk.token('rita', scope='read')}"}
    assert api.post("/posts/1/comments", json={"text": "x"}, headers=reader).status_code == 403
    _, token = make_link(desk, 1)
    assert "Internal only" not in desk.client().get(f"/c/{token}").text  # a client sees only what it wrote


def test_a_right_to_left_override_in_a_comment_stays_inside_it(desk: Desk) -> None:
    hostile = "Invoice \u202egnp.exe @rita review"
    _, token = make_link(desk, 1)
    client = desk.client()
    client.post(f"/c/{token}/posts/1/comment", data={"csrftoken": form_token(client, f"/c/{token}"), "text": hostile})
    client.post(f"/c/{token}/posts/1/changes", data={"csrftoken": form_token(client, f"/c/{token}"), "note": hostile})
    reviewer = log_in(desk.client())
    for page in (client.get(f"/c/{token}").text, reviewer.get("/posts/1").text):
        found = _Isolation()
        found.feed(page)
        assert found.isolated and not found.exposed, found.exposed


def test_the_post_page_shows_and_revokes_the_batch_link_that_shows_the_post(desk: Desk) -> None:
    with desk.store.session() as session:
        link, token = client_links.create(session, kind="batch", target_id=1, label="acme", actor="rita")
    reviewer = log_in(desk.client())
    page = reviewer.get("/posts/2").text
    assert "Share for review · 1 link" in page and "its whole batch" in page
    csrf = form_token(reviewer, "/posts/2")
    reviewer.post(f"/posts/2/links/{link.id}/revoke", data={"csrftoken": csrf})
    assert desk.client().get(f"/c/{token}").status_code == 410
