"""Publishing through the runner: a refused token and a refused connection said loudly (exit 1, each with its
reason and next try), a transient failure given up past its deadline, a person's retry and skip, and a process
SIGKILLed while Mastodon creates a status: taken over, with no second status."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from beatdesk.models import PostStatus, StepStatus
from beatdesk.recovery import Limits, reconcile
from beatdesk.settings import get_settings
from beatdesk.store import books, open_store, repo
from beatdesk.store.schema import PostRow, StepRow, utcnow
from beatdesk.users import add_user
from publishers.due import retry_channel_now, skip_channel
from publishers.stage import publishing_runner
from tests.conftest import run_cli
from tests.desk_client import PASSWORD, Desk, log_in
from tests.fake_channels import TOKEN, WEBHOOK_SECRET, ChannelServer, channel_server
from tests.servers import free_port

NOW = "2099-01-05T09:00:00+00:00"


def use_channels(home: Path, toml: str) -> None:
    persona = home / "personas" / "ash.toml"
    persona.write_text(persona.read_text().replace('[[channels]]\nname = "outbox"\n', "") + toml)


@pytest.fixture
def server(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChannelServer]:
    run_cli(cli, "init")
    monkeypatch.setenv("BEATDESK_ASH_MASTODON_TOKEN", TOKEN)
    monkeypatch.setenv("BEATDESK_ASH_WEBHOOK_SECRET", WEBHOOK_SECRET)
    with channel_server() as state:
        yield state


def approved_post(cli: CliRunner) -> int:
    out = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "1", "--video", "0", "--json")
    post_id = out["posts"][0]["id"]
    run_cli(cli, "review", "approve", str(post_id), "--at", "2099-01-05T08:30")
    return int(post_id)


def publish_due(cli: CliRunner, *, code: int) -> dict[str, Any]:
    result = run_cli(cli, "publish", "due", "--now", NOW, "--json", code=code)
    return result if code == 0 else json.loads(result.stdout)


def store():  # type: ignore[no-untyped-def]
    return open_store(get_settings().effective_database_url)


def test_a_refused_token_and_a_refused_connection_are_said(cli: CliRunner, server: ChannelServer, home: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there: connections are refused
    use_channels(home, f'[[channels]]\nname = "mastodon"\nurl = "{server.url}"\n\n'
                       f'[[channels]]\nname = "webhook"\nurl = "{closed}"\n')  # fmt: skip
    server.revoked.add("mastodon")
    post_id = approved_post(cli)

    sweep = publish_due(cli, code=1)
    assert sweep["published"] == [] and sweep["failed"] == []
    (blocked,) = sweep["blocked"]
    assert (blocked["post"], blocked["channel"]) == (post_id, "mastodon") and "401" in blocked["reason"]
    (retrying,) = sweep["retrying"]
    assert (retrying["post"], retrying["channel"]) == (post_id, "webhook") and retrying["next_try"]
    assert "ConnectError" in retrying["reason"]

    text = run_cli(cli, "publish", "due", "--now", NOW, code=1).stderr
    assert f"post {post_id} mastodon: blocked: mastodon refused the credentials (401" in text
    assert f"post {post_id} webhook: retrying at " in text and "ConnectError" in text

    (shown,) = run_cli(cli, "schedule", "show", "--json")
    webhook = next(c for c in shown["channels"] if c["channel"] == "webhook")
    assert webhook["status"] == "retrying" and "ConnectError" in webhook["reason"] and webhook["next_try"]
    post = run_cli(cli, "post", "show", str(post_id), "--json")
    assert post["status"] == "scheduled"  # the webhook's step waits for its next try, still the runner's

    # The desk and the API read the same status, reason and next try.
    with store().session() as session:
        add_user(session, name="rita", role="reviewer", password=PASSWORD)
    desk = Desk(home=home, store=store())
    api = desk.client().get(f"/api/posts/{post_id}", headers={"Authorization": f"Bearer {desk.token('rita')}"})
    channels = {c["channel"]: c for c in api.json()["channels"]}
    assert channels["webhook"]["status"] == "retrying" and channels["webhook"]["next_try"] == webhook["next_try"]
    assert channels["mastodon"]["status"] == "blocked" and "401" in channels["mastodon"]["reason"]
    page = log_in(desk.client()).get(f"/posts/{post_id}").text
    publishing = page.split('<details id="publishing"', 1)[1].split("</details>", 1)[0]
    assert "retrying at " in publishing and "ConnectError" in publishing and "refused the credentials" in publishing

    # Past the deadline after its slot, the next try gives the webhook up: failed, with the reason.
    with store().session() as session:
        session.execute(update(PostRow).where(PostRow.id == post_id).values(slot_at=utcnow() - timedelta(hours=7)))
        session.execute(update(StepRow).where(StepRow.post_id == post_id, StepRow.name == "publish_webhook")
                        .values(retry_at=utcnow()))  # fmt: skip
    sweep = json.loads(run_cli(cli, "publish", "due", "--json", code=1).stdout)
    (failed,) = sweep["failed"]
    assert failed["channel"] == "webhook" and failed["reason"].startswith("given up 7.0 h after its slot")
    post = run_cli(cli, "post", "show", str(post_id), "--json")
    assert post["status"] == "approved"  # nothing left to try by itself: back with a person
    actions = [e["action"] for e in post["events"]]
    assert {"publish_blocked", "publish_retry_later", "publish_failed"} <= set(actions)

    # A person mends it: the webhook skipped, fresh credentials for Mastodon, then Retry now.
    settings = get_settings()
    assert (
        skip_channel(store(), home=settings.home, post_id=post_id, channel="webhook", actor="rita").status == "skipped"
    )
    server.revoked.clear()
    state = retry_channel_now(store(), home=settings.home, post_id=post_id, channel="mastodon", actor="rita")
    assert state.status == "published"
    post = run_cli(cli, "post", "show", str(post_id), "--json")
    assert post["status"] == "published" and [p["channel"] for p in post["publications"]] == ["mastodon"]
    # Blocked, parked, given up, skipped and published: every publish step ended through `steps.end`, at 0,
    # so the stored totals still equal the steps and no step holds a reservation.
    with store().session() as session:
        assert books.stored(session) == books.from_steps(session)
        assert not session.scalar(select(func.sum(StepRow.reserved_usd)))


def test_a_worker_killed_while_a_status_is_created_is_taken_over_without_a_duplicate(
    cli: CliRunner, server: ChannelServer, home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_channels(home, f'[[channels]]\nname = "mastodon"\nurl = "{server.url}"\n')
    monkeypatch.setenv("BEATDESK_WORKER_STALE_AFTER_S", "2")  # taken for dead after 2 s (30 s by default)
    post_id = approved_post(cli)
    server.stall_answers["mastodon"] = 1  # the status is made, then the server stalls: no answer comes

    log = tmp_path / "publish.log"
    with log.open("wb") as out:
        first = subprocess.Popen([sys.executable, "-m", "beatdesk_cli.main", "publish", "due", "--now", NOW],
                                 env=dict(os.environ), stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        assert server.stalled.wait(timeout=120), log.read_text()
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    killed_at = time.monotonic()
    with store().session() as session:
        (step,) = [s for s in repo.get_post(session, post_id).steps if s.name == "publish_mastodon"]
    assert step.status is StepStatus.running and len(server.posts["mastodon"]) >= 1  # made, never recorded

    while run_cli(cli, "post", "show", str(post_id), "--json")["status"] != "published":
        assert time.monotonic() - killed_at < 60, "not taken over within a minute"
        publish_due(cli, code=0)  # the sweep: busy while the dead worker's beat is fresh, then takes it over
        time.sleep(0.5)

    statuses = server.sent("POST", "/api/v1/statuses")
    keys = [s.headers["idempotency-key"] for s in statuses]
    assert len(server.posts["mastodon"]) == len(set(keys))  # one status per key: nothing posted twice
    assert keys.count(keys[0]) == 2  # the first status asked twice, answered the second time with the same one
    post = run_cli(cli, "post", "show", str(post_id), "--json")
    (publication,) = post["publications"]
    assert publication["remote_id"] == server.posts["mastodon"][0]["id"]
    (step_json,) = [s for s in post["steps"] if s["name"] == "publish_mastodon"]
    assert step_json["status"] == "done" and step_json["attempts"] == 2


def test_the_reconciler_hands_on_a_publish_step_whose_worker_died(cli: CliRunner, server: ChannelServer,
                                                                  home: Path) -> None:  # fmt: skip
    use_channels(home, f'[[channels]]\nname = "mastodon"\nurl = "{server.url}"\n')
    post_id = approved_post(cli)
    with store().session() as session:
        repo.transition(session, post_id=post_id, to=PostStatus.scheduled, actor="publisher", action="publishing")
        post = repo.get_post(session, post_id)
        session.add(StepRow(post_id=post_id, batch_id=post.batch_id, persona="ash", position=99,
                            name="publish_mastodon", status=StepStatus.running, attempts=1,
                            beat_at=utcnow() - timedelta(seconds=60)))  # fmt: skip
    handed: list[int] = []
    done = reconcile(
        publishing_runner(store(), get_settings()),
        hand_on_post=handed.append,
        hand_on_batch=lambda _: None,
        limits=Limits(),
    )
    assert handed == [post_id] and done.posts == [post_id]
