"""Client links: someone without an account opens one post or one batch, sees it as each channel would,
approves, asks for changes or comments; the link opens nothing else, and an expired or revoked one is refused.
Everything the client does is in the post's audit log under `client:NAME`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from beatdesk import client_links
from beatdesk.settings import get_settings
from beatdesk.store import forget_stores, repo
from beatdesk.store.schema import ClientLinkRow
from tests.conftest import run_cli
from tests.desk_client import Desk, desk_home, form_token, log_in


@pytest.fixture(params=["sqlite", "postgres"])
def desk(request: pytest.FixtureRequest, cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    if request.param == "postgres":
        monkeypatch.setenv("BEATDESK_DATABASE_URL", request.getfixturevalue("pg_url"))
        get_settings.cache_clear()
        forget_stores()
    with desk_home(cli, home, items=3) as made:
        yield made


def make_link(desk: Desk, *, kind: str = "post", target: int = 1, lifetime: timedelta = timedelta(days=7)) -> str:
    with desk.store.session() as session:
        _, token = client_links.create(session, kind=kind, target_id=target, label="acme", actor="rita",
                                       lifetime=lifetime)  # fmt: skip
    return token


def status_and_actions(desk: Desk, post_id: int) -> tuple[str, list[tuple[str, str]]]:
    with desk.store.session() as session:
        post = repo.get_post(session, post_id)
    return post.status, [(e.actor, e.action) for e in post.events if e.actor.startswith("client:")]


def test_a_client_sees_the_post_as_channels_show_it_and_approves_it(desk: Desk) -> None:
    token = make_link(desk)
    client = desk.client()
    page = client.get(f"/c/{token}")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    with desk.store.session() as session:
        title = repo.get_post(session, 1).title
    assert title in page.text and "Shared with acme by rita" in page.text
    assert 'data-channel="outbox"' in page.text  # the persona's channel, as a card
    image = re.search(rf'src="(/c/{token}/media/1/image)"', page.text)
    assert image is not None and client.get(image[1]).headers["content-type"] == "image/png"
    assert "Log out" not in page.text and "/calendar" not in page.text  # nothing of the desk around it

    csrf = form_token(client, f"/c/{token}")
    done = client.post(f"/c/{token}/posts/1/approve", data={"csrftoken": csrf})
    assert "Approved post 1: it goes out at its slot" in done.text
    assert status_and_actions(desk, 1) == ("approved", [("client:acme", "approve")])
    again = client.post(f"/c/{token}/posts/1/approve", data={"csrftoken": csrf})
    assert again.status_code == 409  # decided already: nothing changes twice


def test_asking_for_changes_and_commenting_reach_the_team(desk: Desk) -> None:
    token = make_link(desk, kind="batch", target=1)
    client = desk.client()
    csrf = form_token(client, f"/c/{token}")
    page = client.get(f"/c/{token}").text
    assert all(f'id="post-{n}"' in page for n in (1, 2, 3))  # a batch link shows the batch's posts
    asked = client.post(f"/c/{token}/posts/2/changes", data={"csrftoken": csrf, "note": "Lead with the number."})
    assert "Asked for changes to post 2" in asked.text and "You wrote" in asked.text
    empty = client.post(f"/c/{token}/posts/2/changes", data={"csrftoken": csrf, "note": "  "})
    assert "say what should change: the note is empty" in empty.text
    client.post(f"/c/{token}/posts/3/comment", data={"csrftoken": csrf, "text": "Love the card."})
    status, actions = status_and_actions(desk, 2)
    assert status == "in_review" and ("client:acme", "changes asked") in actions

    reviewer = log_in(desk.client())
    post_page = reviewer.get("/posts/2").text
    assert "Changes asked for: Lead with the number." in post_page and "client:acme" in post_page
    assert "1 open comment" in reviewer.get("/?status=").text


def test_a_link_opens_nothing_else(desk: Desk) -> None:
    token = make_link(desk)
    client = desk.client()
    csrf = form_token(client, f"/c/{token}")
    assert client.get(f"/c/{token}").status_code == 200
    for path in ("/", "/posts/1", "/posts/2", "/calendar", "/admin/users", "/artifacts/x.png", "/evals"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code in (303, 307, 401, 403) and "/login" in answer.headers.get("location", "/login")
    assert client.get(f"/c/{token}/media/2/image").status_code == 404  # post 2 is not this link's
    assert client.post(f"/c/{token}/posts/2/approve", data={"csrftoken": csrf}).status_code == 404
    assert client.post(f"/c/{token}/posts/2/comment", data={"csrftoken": csrf, "text": "x"}).status_code == 404
    assert client.get(f"/c/{token}/media/1/../../beatdesk.db").status_code == 404
    assert client.post(f"/c/{token}/posts/1/approve", data={}).status_code == 403  # CSRF
    api = TestClient(desk.client().app, base_url="http://testserver/api")
    assert api.get("/posts/1", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert status_and_actions(desk, 2) == ("in_review", [])


def test_expired_revoked_and_unknown_links_are_refused_in_one_line(desk: Desk, cli: CliRunner) -> None:
    client = desk.client()
    assert "this link is not known" in client.get("/c/" + "x" * 43).text
    assert client.get("/c/" + "x" * 43).status_code == 404
    assert client.get("/c/short").status_code == 400

    expired = make_link(desk)
    with desk.store.session() as session:
        session.execute(update(ClientLinkRow).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    answer = client.get(f"/c/{expired}")
    assert answer.status_code == 410 and "this link was expired" in answer.text

    live = make_link(desk)
    csrf = form_token(client, f"/c/{live}")
    listed = run_cli(cli, "link", "list", "--json")
    newest = listed[0]
    assert newest["state"] == "live" and newest["for"] == "acme"
    run_cli(cli, "link", "revoke", str(newest["id"]))
    assert client.get(f"/c/{live}").status_code == 410
    assert client.post(f"/c/{live}/posts/1/approve", data={"csrftoken": csrf}).status_code == 410
    assert status_and_actions(desk, 1) == ("in_review", [])
    assert run_cli(cli, "link", "list", "--json")[0]["state"] == "revoked"
    run_cli(cli, "link", "revoke", "999", code=1)


def test_the_cli_and_the_post_page_make_links(desk: Desk, cli: CliRunner) -> None:
    made = run_cli(cli, "link", "create", "--post", "2", "--for", "acme", "--expires", "2d", "--json")
    assert made["url"].startswith("http://127.0.0.1:8000/c/") and made["kind"] == "post"
    assert desk.client().get(made["url"].removeprefix("http://127.0.0.1:8000")).status_code == 200
    run_cli(cli, "link", "create", "--post", "2", "--batch", "1", "--for", "acme", code=1)
    run_cli(cli, "link", "create", "--post", "99", "--for", "acme", code=1)
    run_cli(cli, "link", "create", "--post", "2", "--for", "<b>", code=1)
    run_cli(cli, "link", "create", "--post", "2", "--for", "acme", "--expires", "200d", code=1)

    reviewer = log_in(desk.client())
    csrf = form_token(reviewer, "/posts/3")
    shared = reviewer.post("/posts/3/links", data={"csrftoken": csrf, "label": "beta-client", "expires": "1d"})
    url = re.search(r"Link \d+ for beta-client \(shown once\): http://127\.0\.0\.1:8000(/c/[\w-]+)", shared.text)
    assert url is not None and desk.client().get(url[1]).status_code == 200
    assert "Share for review · 1 link" in shared.text
    link_id = re.search(r'action="/posts/3/links/(\d+)/revoke"', shared.text)
    assert link_id is not None
    reviewer.post(f"/posts/3/links/{link_id[1]}/revoke", data={"csrftoken": csrf})
    assert desk.client().get(url[1]).status_code == 410
    assert reviewer.post("/posts/3/links", data={"label": "x"}).status_code == 403  # CSRF
    with desk.store.session() as session:
        post = repo.get_post(session, 3)
    assert [e.action for e in post.events if "link" in e.action] == ["client link", "client link revoked"]
