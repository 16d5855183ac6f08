"""Comments on a post: a thread written from the desk, the API and the CLI; resolved and opened again; counted
in the queue; @mentions of people with an account announced once; the audit log keeps every step."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from beatdesk.notify.sender import flush
from beatdesk.settings import get_settings
from beatdesk.store import comments as comment_rows
from beatdesk.store import forget_stores, open_store, repo
from beatdesk.store.schema import utcnow
from beatdesk_cli.main import app
from tests.conftest import run_cli
from tests.desk_client import Desk, desk_home, form_token, log_in
from tests.fake_notify import Receiver, json_receiver


@pytest.fixture(params=["sqlite", "postgres"])
def desk(request: pytest.FixtureRequest, cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    if request.param == "postgres":
        monkeypatch.setenv("BEATDESK_DATABASE_URL", request.getfixturevalue("pg_url"))
        get_settings.cache_clear()
        forget_stores()
    with desk_home(cli, home, items=2) as made:
        yield made


def thread_of(desk: Desk, post_id: int) -> list[tuple[str, str, bool]]:
    with desk.store.session() as session:
        return [(c.author, c.body, c.resolved) for c in comment_rows.thread(session, post_id=post_id)]


def audit_of(desk: Desk, post_id: int) -> list[tuple[str, str, str | None]]:
    with desk.store.session() as session:
        post = repo.get_post(session, post_id)
    return [(e.actor, e.action, e.note) for e in post.events if "comment" in e.action]


def test_a_thread_on_the_desk_counted_in_the_queue_resolved_and_opened_again(desk: Desk) -> None:
    client = log_in(desk.client())
    token = form_token(client, "/posts/1")
    said = client.post("/posts/1/comments", data={"csrftoken": token, "text": "Is the 6,000-token figure\nfrom the source, @ada? <script>x</script>"},
                       follow_redirects=False)  # fmt: skip
    assert said.status_code == 303 and said.headers["location"].endswith("#comments")
    page = client.get(said.headers["location"]).text
    assert "Comment added, telling @ada" in page
    article = re.search(r'<article class="comment" id="comment-(\d+)">(.*?)</article>', page, re.S)
    assert article is not None
    assert '<span class="mention">@ada</span>' in article[2] and "&lt;script&gt;x&lt;/script&gt;" in article[2]
    assert "<script>x" not in page
    assert "1 open" in page
    assert "1 open comment" in client.get("/?status=").text  # the queue's count, on post 1's row
    assert thread_of(desk, 1) == [
        ("rita", "Is the 6,000-token figure\nfrom the source, @ada? <script>x</script>", False)
    ]

    comment_id = int(article[1])
    client.post(f"/posts/1/comments/{comment_id}/resolve", data={"csrftoken": token})
    page = client.get("/posts/1").text
    assert "resolved by rita" in page and "Open again" in page and "0 open, 1 resolved" in page
    assert "open comment" not in client.get("/?status=").text
    client.post(f"/posts/1/comments/{comment_id}/reopen", data={"csrftoken": token})
    assert thread_of(desk, 1)[0][2] is False
    assert [(actor, action) for actor, action, _ in audit_of(desk, 1)] == [
        ("rita", "comment"),
        ("rita", "resolve comment"),
        ("rita", "reopen comment"),
    ]


def test_bad_comments_are_one_line_and_write_nothing(desk: Desk) -> None:
    client = log_in(desk.client())
    token = form_token(client, "/posts/1")
    empty = client.post("/posts/1/comments", data={"csrftoken": token, "text": "  \n "})
    assert "the comment is empty: write what you want to say" in empty.text
    long = client.post("/posts/1/comments", data={"csrftoken": token, "text": "word " * 1000})
    assert "a comment holds at most 4,000 characters; this one has 4,999" in long.text
    assert client.post("/posts/1/comments", data={"text": "no token"}).status_code == 403  # CSRF
    assert client.post("/posts/99/comments", data={"csrftoken": token, "text": "x"}).status_code == 404
    assert client.post("/posts/1/comments/7/resolve", data={"csrftoken": token}).status_code == 404
    assert client.post("/posts/1/comments/0/resolve", data={"csrftoken": token}).status_code == 400
    stranger = desk.client()
    refused = stranger.post("/posts/1/comments", data={"text": "drive-by"}, follow_redirects=False)
    assert refused.status_code in (303, 403)
    assert thread_of(desk, 1) == []
    with desk.store.session() as session:  # a comment of post 1 is not post 2's to resolve
        other = comment_rows.add(session, post_id=2, author="ada", body="on post 2", mentions=[], at=utcnow())
    assert client.post(f"/posts/1/comments/{other.id}/resolve", data={"csrftoken": token}).status_code == 404
    assert thread_of(desk, 2) == [("ada", "on post 2", False)]


def test_the_api_reads_for_a_read_token_and_writes_for_a_review_token(desk: Desk) -> None:
    api = TestClient(desk.client().app, base_url="http://testserver/api")
    review = {"Authorization": f"Bearer {desk.token('rita', 'review')}"}
    read = {"Authorization": f"Bearer {desk.token('rita', 'read')}"}
    made = api.post("/posts/2/comments", headers=review, json={"text": "Tighten the hook, @rita."})
    assert made.status_code == 201
    assert made.json()["mentions"] == ["rita"] and made.json()["author"] == "rita"
    assert api.post("/posts/2/comments", headers=read, json={"text": "x"}).status_code == 403
    assert api.post("/posts/2/comments", headers=review, json={"text": ""}).json() == {
        "detail": "the comment is empty: write what you want to say"
    }
    assert api.get("/posts/99/comments", headers=read).status_code == 404
    assert api.post("/posts/2/comments", headers={}, json={"text": "x"}).status_code == 401
    resolved = api.post(f"/posts/2/comments/{made.json()['id']}/resolve", headers=review).json()
    assert resolved["resolved_by"] == "rita" and resolved["resolved_at"]
    (listed,) = api.get("/posts/2/comments", headers=read).json()
    assert listed["body"] == "Tighten the hook, @rita." and listed["resolved_by"] == "rita"


def test_the_cli_writes_lists_and_resolves_in_the_personas_zone(desk: Desk, cli: CliRunner) -> None:
    written = cli.invoke(app, ["post", "comment", "1", "Source for the figure? cc @ada.", "--as", "sam"])
    assert written.exit_code == 0
    head = r"#\d+ sam · \w{3} \d\d \w{3} \d{4} \d\d:\d\d \S+ \(Europe/Berlin\) · open · tells @ada\n"
    assert re.fullmatch(head + r"  Source for the figure\? cc @ada\.\n", written.stdout)
    listed = run_cli(cli, "post", "comments", "1", "--json")
    (comment,) = listed
    assert comment["author"] == "sam" and comment["mentions"] == ["ada"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+0[12]:00", comment["at"])  # Berlin's offset
    text = cli.invoke(app, ["post", "comments", "1"]).stdout
    assert "sam" in text and "(Europe/Berlin) · open · tells @ada" in text and "Source for the figure? cc @ada." in text
    resolved = run_cli(cli, "post", "resolve-comment", "1", str(comment["id"]), "--json")
    assert resolved["resolved_by"] and resolved["resolved_at"].endswith(("+01:00", "+02:00"))
    run_cli(cli, "post", "comment", "1", "  ", code=1)
    run_cli(cli, "post", "resolve-comment", "2", str(comment["id"]), code=1)  # post 2 has no such comment
    assert len(thread_of(desk, 1)) == 1


def test_a_mention_is_told_once_and_a_comment_without_one_is_not(
    cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with json_receiver() as receiver:
        monkeypatch.setenv("BEATDESK_NOTIFY_URLS", receiver.url)
        with desk_home(cli, home, items=1):
            run_cli(cli, "post", "comment", "1", "Looks good to me.", "--as", "sam")
            run_cli(
                cli, "post", "comment", "1", "@ada can you approve? Not @nobody, not mail@ada.example.", "--as", "sam"
            )
            assert flush(60) == 0
            told = _mentions(receiver)
    assert len(told) == 1
    assert told[0]["title"] == "sam mentioned @ada on post 1 of @ash"
    assert told[0]["message"].startswith("@ada can you approve?")
    assert told[0]["message"].endswith("Reply: http://127.0.0.1:8000/posts/1#comments")


def _mentions(receiver: Receiver) -> list[dict[str, str]]:
    with receiver.lock:
        return [m for m in receiver.messages if "mentioned" in m["title"]]


def test_comments_come_with_a_database_copy(desk: Desk, cli: CliRunner, tmp_path: Path) -> None:
    run_cli(cli, "post", "comment", "1", "kept across the copy", "--as", "sam")
    target = tmp_path / "copy.db"
    run_cli(cli, "db", "copy", "--to", f"sqlite:///{target}")
    with open_store(f"sqlite:///{target}").session() as session:
        assert [c.body for c in comment_rows.thread(session, post_id=1)] == ["kept across the copy"]
