"""Needs attention: a failed post and a blocked publication are listed (a refused token named as such), the header
counts them, the calendar marks them; Retry now queues the channel again and the next sweep publishes it; Skip
this channel and Publish now; the forms need the review role and the CSRF token."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect
from typer.testing import CliRunner

from beatdesk.models import PostStatus, StepStatus
from beatdesk.settings import get_settings
from beatdesk.store import open_store, repo
from beatdesk.store.attention import attention_count, attention_items
from beatdesk.users import add_user
from tests.conftest import run_cli
from tests.desk_client import PASSWORD, Desk, form_token, log_in, served_desk
from tests.fake_channels import TOKEN, ChannelServer, channel_server
from tests.test_review_desk_pages import shot
from tests.test_review_web import browser  # noqa: F401  (fixture)
from tests.test_review_web import log_in as browser_log_in


@pytest.fixture
def server(cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChannelServer]:
    """ash publishes to the outbox and to a Mastodon on 127.0.0.1."""
    run_cli(cli, "init")
    persona = home / "personas" / "ash.toml"
    with channel_server() as state:
        persona.write_text(persona.read_text() + f'\n[[channels]]\nname = "mastodon"\nurl = "{state.url}"\n')
        monkeypatch.setenv("BEATDESK_ASH_MASTODON_TOKEN", TOKEN)
        yield state


@pytest.fixture
def desk(cli: CliRunner, home: Path, server: ChannelServer) -> Desk:
    run_cli(cli, "batch", "run", "--persona", "ash", "--items", "3", "--video", "0")
    store = open_store(get_settings().effective_database_url)
    with store.session() as session:
        add_user(session, name="rita", role="reviewer", password=PASSWORD)
    return Desk(home=home, store=store)


@pytest.fixture
def desk_url(cli: CliRunner, home: Path) -> Iterator[str]:
    with served_desk(cli, home, video=0) as url:
        yield url


def _past_due(cli: CliRunner, desk: Desk, post_id: int) -> None:
    """Approved, its slot an hour ago: the sweep's to publish, late if it does not."""
    run_cli(cli, "review", "approve", str(post_id))
    with desk.store.session() as session:
        repo.set_slot(session, post_id=post_id, slot_at=datetime.now(UTC) - timedelta(hours=1))


def _blocked_and_failed(cli: CliRunner, desk: Desk, server: ChannelServer) -> None:
    """Post 1 out on the outbox and blocked on Mastodon (its token refused); post 2 failed."""
    _past_due(cli, desk, 1)
    server.revoked.add("mastodon")
    run_cli(cli, "publish", "due", "--json", code=1)  # blocked: said, and exit 1
    run_cli(cli, "review", "approve", "2")
    with desk.store.session() as session:
        repo.set_slot(session, post_id=2, slot_at=datetime.now(UTC) - timedelta(hours=1, minutes=1))
        repo.fail_post(session, post_id=2, actor="reconciler", reason="the publisher gave up")


def test_a_failed_post_and_a_blocked_publication_need_attention(cli: CliRunner, desk: Desk,
                                                                 server: ChannelServer) -> None:  # fmt: skip
    _blocked_and_failed(cli, desk, server)
    with desk.store.session() as session:
        assert attention_count(session) == 2
        kinds = {(t.post_id, t.kind, t.channel) for t in attention_items(session)}
    assert kinds == {(1, "blocked", "mastodon"), (2, "failed", None)}

    client = log_in(desk.client())
    page = client.get("/attention").text
    assert 'id="attention-count">2<' in page
    assert 'data-post="1" data-channel="mastodon"' in page and "refused the credentials" in page
    assert "@ash on <strong>mastodon</strong>: the channel refused its credentials" in page
    assert "the publisher gave up" in page
    day = (datetime.now(UTC) - timedelta(hours=1)).astimezone(ZoneInfo("Europe/Berlin")).date()
    calendar = client.get(f"/calendar?persona=ash&view=week&start={day.isoformat()}").text
    assert 'class="cal-post status-approved late" data-post="1"' in calendar
    assert 'class="cal-held cal-failed" data-post="2"' in calendar


def test_retry_now_queues_the_channel_again_and_the_sweep_publishes_it(cli: CliRunner, desk: Desk,
                                                                       server: ChannelServer) -> None:  # fmt: skip
    _blocked_and_failed(cli, desk, server)
    client = log_in(desk.client())
    token = form_token(client, "/attention")
    retried = client.post("/attention/retry", data={"csrftoken": token, "post_id": 1, "channel": "mastodon"},
                          follow_redirects=False)  # fmt: skip
    assert "refused+the+credentials" in retried.headers["location"]  # still refused: said on the page
    with desk.store.session() as session:
        post = repo.get_post(session, 1)
    last = [s for s in post.steps if s.name == "publish_mastodon"][-1]
    assert last.status is StepStatus.blocked
    assert ("publish_retry", "rita") in [(e.action, e.actor) for e in post.events]

    server.revoked.clear()  # a fresh token: Retry now sends it at once
    again = client.post("/attention/retry", data={"csrftoken": token, "post_id": 1, "channel": "mastodon"},
                        follow_redirects=False)  # fmt: skip
    assert "mastodon%3A+published" in again.headers["location"]
    with desk.store.session() as session:
        post = repo.get_post(session, 1)
        assert post.status is PostStatus.published and len(post.publications) == 2
        assert [t.post_id for t in attention_items(session)] == [2]

    again = client.post("/attention/retry", data={"csrftoken": token, "post_id": 2}, follow_redirects=False)
    assert "done=" in again.headers["location"]
    with desk.store.session() as session:
        assert repo.post_status(session, 2) is not PostStatus.failed
        assert attention_count(session) == 0


def test_skip_this_channel_and_publish_now(cli: CliRunner, desk: Desk, server: ChannelServer) -> None:
    _blocked_and_failed(cli, desk, server)
    client = log_in(desk.client())
    token = form_token(client, "/attention")
    client.post("/attention/skip", data={"csrftoken": token, "post_id": 1, "channel": "mastodon"})
    with desk.store.session() as session:
        post = repo.get_post(session, 1)
        assert post.status is PostStatus.published and [p.channel for p in post.publications] == ["outbox"]
        assert "publish_skip" in [e.action for e in post.events]

    server.revoked.clear()
    run_cli(cli, "review", "approve", "3")  # its slot is still to come: Publish now sends it at once
    published = client.post("/attention/publish", data={"csrftoken": token, "post_id": 3}, follow_redirects=False)
    assert "published+on+every+channel" in published.headers["location"]
    with desk.store.session() as session:
        assert repo.post_status(session, 3) is PostStatus.published
    refused = client.post("/attention/publish", data={"csrftoken": token, "post_id": 3}, follow_redirects=False)
    assert "only+an+approved+post" in refused.headers["location"]


def test_the_actions_need_the_review_role_and_the_csrf_token(cli: CliRunner, desk: Desk,
                                                            server: ChannelServer) -> None:  # fmt: skip
    _blocked_and_failed(cli, desk, server)
    client = log_in(desk.client())
    form = {"post_id": "1", "channel": "mastodon"}
    assert client.post("/attention/retry", data=form).status_code == 403  # no CSRF token
    assert client.post("/attention/skip", data=form | {"csrftoken": "forged"}).status_code == 403
    reader = {"Authorization": f"Bearer {desk.token('rita', scope='read')}"}  # a token that may only read
    assert desk.client().get("/attention", headers=reader).status_code == 200
    assert desk.client().post("/attention/retry", data=form, headers=reader).status_code == 403
    assert desk.client().post("/attention/publish", data={"post_id": "1"}, headers=reader).status_code == 403
    with desk.store.session() as session:
        assert [t.kind for t in attention_items(session) if t.post_id == 1] == ["blocked"]


def test_the_attention_page_in_the_browser(cli: CliRunner, desk_url: str, browser: Browser) -> None:  # noqa: F811
    store = open_store(get_settings().effective_database_url)
    run_cli(cli, "review", "approve", "1")
    run_cli(cli, "review", "approve", "2")
    with store.session() as session:
        repo.set_slot(session, post_id=1, slot_at=datetime.now(UTC) - timedelta(hours=1))
        repo.fail_post(session, post_id=2, actor="reconciler", reason="the video provider gave up")
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    browser_log_in(page, desk_url, "/attention")
    expect(page.locator("#attention-count")).to_have_text("2")
    expect(page.locator("tr.kind-late")).to_contain_text("not out yet")
    expect(page.locator("#failed")).to_contain_text("the video provider gave up")
    shot(page, "attention.png")
    page.click("tr.kind-late button.publish")
    expect(page.locator("#done")).to_contain_text("#1: published on every channel")
    expect(page.locator("#attention-count")).to_have_text("1")
