"""Notifications through Apprise, to a JSON receiver on 127.0.0.1: said once, off the pipeline's path, and a
notifier that fails never fails the work."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from beatdesk.errors import PersonaFileError
from beatdesk.home import init_home
from beatdesk.notify import events
from beatdesk.notify.sender import flush
from beatdesk.personas import save_persona_text
from beatdesk.recovery import Limits, reconcile
from beatdesk.settings import get_settings
from beatdesk.store import notices, open_store
from beatdesk.store.schema import NoticeRow, utcnow
from beatdesk_cli.main import app
from tests.conftest import run_cli
from tests.fake_channels import TOKEN, ChannelServer, channel_server
from tests.fake_notify import Receiver, json_receiver
from tests.runner_kit import PaidImage, rendering_posts, runner_for, set_budgets
from tests.servers import free_port

NOW = "2099-01-05T09:00:00+00:00"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    with json_receiver() as state:
        monkeypatch.setenv("BEATDESK_NOTIFY_URLS", state.url)
        yield state


def sent(receiver: Receiver, word: str) -> list[dict[str, str]]:
    assert flush(60) == 0, "the sender did not drain its queue"
    with receiver.lock:
        return [m for m in receiver.messages if word in m["title"]]


def test_a_ready_batch_is_announced_once_with_its_counts(cli: CliRunner, receiver: Receiver) -> None:
    run_cli(cli, "init")
    out = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "2", "--video", "0", "--json")
    (message,) = sent(receiver, "ready for review")
    assert message["title"] == f"Batch {out['batch_id']} of @ash is ready for review"
    assert message["message"].startswith("2 post(s) to review (2 hero_text); cost 0 USD")
    assert message["message"].endswith(f"Review: http://127.0.0.1:8000/batches/{out['batch_id']}")

    # Told again (a redelivered task, another process's reconciler): the store says it went out already.
    events.announce_batch_ready(batch_id=out["batch_id"], persona="ash")
    assert len(sent(receiver, "ready for review")) == 1


def test_the_desk_link_follows_the_public_url(
    cli: CliRunner, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEATDESK_PUBLIC_URL", "https://desk.example.com/")
    run_cli(cli, "init")
    out = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "1", "--video", "0", "--json")
    (message,) = sent(receiver, "ready for review")
    assert message["message"].endswith(f"Review: https://desk.example.com/batches/{out['batch_id']}")


def test_the_same_event_within_the_hour_is_sent_once(cli: CliRunner, receiver: Receiver) -> None:
    run_cli(cli, "init")

    def blocked() -> None:
        events.announce_publication_problem(post_id=7, persona="ash", channel="webhook", reason="refused: 422")

    blocked()
    blocked()
    (message,) = sent(receiver, "blocked")
    assert message["title"] == "Post 7 of @ash: webhook blocked" and "refused: 422" in message["message"]

    # An hour on, the same trouble is told again.
    with open_store(get_settings().effective_database_url).session() as session:
        session.execute(update(NoticeRow).values(sent_at=utcnow() - timedelta(hours=1, seconds=1)))
    blocked()
    assert len(sent(receiver, "blocked")) == 2


def test_a_notice_of_a_transaction_rolled_back_is_not_sent(home: Path, receiver: Receiver) -> None:
    store = open_store(get_settings().effective_database_url)
    with pytest.raises(RuntimeError), store.session() as session:
        events.announce_on_commit(session, events.Event.no_live_worker, "workers", title="never", body="rolled back")
        raise RuntimeError("the step's transaction failed")
    with store.session() as session:
        events.announce_on_commit(session, events.Event.no_live_worker, "workers", title="committed", body="told")
    assert [m["title"] for m in sent(receiver, "")] == ["committed"]


@pytest.fixture
def mastodon(cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChannelServer]:
    run_cli(cli, "init")
    persona = home / "personas" / "ash.toml"
    text = persona.read_text().replace('[[channels]]\nname = "outbox"\n', "")
    with channel_server() as state:
        persona.write_text(text + f'\n[[channels]]\nname = "mastodon"\nurl = "{state.url}"\n')
        monkeypatch.setenv("BEATDESK_ASH_MASTODON_TOKEN", TOKEN)
        yield state


def approved_post(cli: CliRunner, at: str) -> int:
    out = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "1", "--video", "0", "--json")
    post_id: int = out["posts"][0]["id"]
    run_cli(cli, "review", "approve", str(post_id), "--at", at)
    return post_id


def publish_due(cli: CliRunner) -> None:
    """`publish due` by hand; its exit code is not what these tests are about."""
    get_settings.cache_clear()
    cli.invoke(app, ["publish", "due", "--now", NOW])


def test_refused_credentials_are_told_once_until_the_channel_recovers(
    cli: CliRunner, mastodon: ChannelServer, receiver: Receiver
) -> None:
    first = approved_post(cli, "2099-01-05T08:30")
    mastodon.revoked.add("mastodon")
    publish_due(cli)
    (message,) = sent(receiver, "refused")
    assert message["title"] == "@ash: mastodon refused the credentials"
    assert f"Post {first} was not published to mastodon" in message["message"] and "401" in message["message"]
    publish_due(cli)  # tried again a minute later, refused again: not told again
    assert len(sent(receiver, "refused")) == 1
    assert sent(receiver, "blocked") == []  # the refusal is told for the channel, not once more per post

    mastodon.revoked.discard("mastodon")  # renewed: the post goes out, and the notice is forgotten
    publish_due(cli)
    assert run_cli(cli, "post", "show", str(first), "--json")["status"] == "published"
    second = approved_post(cli, "2099-01-05T08:45")
    mastodon.revoked.add("mastodon")  # revoked once more: told once more
    publish_due(cli)
    messages = sent(receiver, "refused")
    assert len(messages) == 2 and f"Post {second} " in messages[1]["message"]


def test_a_notifier_that_fails_does_not_fail_the_batch(
    cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    closed = free_port()  # nothing listens there: the connection is refused
    monkeypatch.setenv("BEATDESK_NOTIFY_URLS", f"json://127.0.0.1:{closed}/notify")
    run_cli(cli, "init")
    caplog.set_level(logging.WARNING)
    out = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "1", "--video", "0", "--json")
    assert out["status"] == "done"
    assert flush(60) == 0
    said = [r for r in caplog.records if r.name.startswith("beatdesk")]
    assert len(said) == 1, [r.getMessage() for r in said]
    # Apprise's own line is folded into ours (pytest's capture hooks non-propagating loggers; a process's log does not).
    assert not logging.getLogger("apprise").propagate
    line = said[0].getMessage()
    assert line.startswith(f"notification batch_ready (batch {out['batch_id']}) not sent to json://127.0.0.1:{closed}/")
    assert "\n" not in line


def test_notify_test_says_per_url_whether_it_went(
    cli: CliRunner, home: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_cli(cli, "init")
    result = run_cli(cli, "notify", "test")
    assert result.stdout.startswith(f"ok  {receiver.url}") and "(BEATDESK_NOTIFY_URLS)" in result.stdout
    assert sent(receiver, "test notification")

    closed = f"json://127.0.0.1:{free_port()}/down"
    persona = home / "personas" / "ash.toml"
    persona.write_text(f'notify = ["{closed}"]\n' + persona.read_text())
    result = run_cli(cli, "notify", "test", code=1)
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("ok  ")
    assert lines[1].startswith(f"failed  {closed}") and "(persona ash)" in lines[1]
    out = cli.invoke(app, ["notify", "test", "--json"])
    assert out.exit_code == 1
    assert [(r["source"], r["ok"]) for r in json.loads(out.stdout)["results"]] == [
        ("BEATDESK_NOTIFY_URLS", True),
        ("persona ash", False),
    ]


def test_notify_test_with_nothing_configured_says_so(cli: CliRunner, home: Path) -> None:
    run_cli(cli, "init")
    result = run_cli(cli, "notify", "test", code=1)
    assert result.stderr.count("\n") == 1 and "no notification URLs configured" in result.stderr


def test_bad_urls_are_one_line_that_keeps_their_tokens(
    cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEATDESK_NOTIFY_URLS", "ntfy://topic, slack:/s3cr3t-token")
    result = run_cli(cli, "config", "show", code=1)
    assert result.stderr.startswith("error: BEATDESK_NOTIFY_URLS: URL 2 (slack:…) is not an Apprise URL")
    assert "s3cr3t" not in result.stderr and result.stderr.count("\n") == 1

    monkeypatch.delenv("BEATDESK_NOTIFY_URLS")
    run_cli(cli, "init")
    persona = home / "personas" / "ash.toml"
    persona.write_text('notify = ["tgram//bot-s3cr3t/42"]\n' + persona.read_text())
    result = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "1", code=1)
    assert "notify: URL 1 (tgram/…) is not an Apprise URL: write it as scheme://" in result.stderr
    assert "s3cr3t" not in result.stderr and result.stderr.count("\n") == 1


def test_a_budget_near_its_end_and_exhausted_are_told_once_each(home: Path, receiver: Receiver) -> None:
    init_home(home)
    set_budgets(home, per_batch="10", per_day="0.3")
    store = open_store(get_settings().effective_database_url)
    image = PaidImage(price=Decimal("0.1"))
    runner = runner_for(store, home, image)
    for _, post_id in rendering_posts(store, batches=1, per_batch=5):
        runner.advance(post_id)
    assert image.submits == 3
    near, exhausted = sent(receiver, "Budget at"), sent(receiver, "Budget exhausted")
    assert [m["title"].split(":")[0] for m in near] == ["Budget at 100%"]  # 0.2 of 0.3 is not yet 80%
    assert near[0]["message"] == "0.3 of 0.3 USD reserved or spent."
    (message,) = exhausted  # two steps refused, one notice
    assert message["title"].startswith("Budget exhausted: @ash's day ")
    assert "daily budget of ash: 0.4 USD with this step is over 0.3 USD" in message["message"]


def test_the_reconciler_tells_of_work_no_worker_takes_and_of_what_it_failed(home: Path, receiver: Receiver) -> None:
    init_home(home)
    store = open_store(get_settings().effective_database_url)
    ((batch_id, post_id),) = rendering_posts(store, batches=1, per_batch=1)  # its task lost, no worker running

    def reconcile_at(offset_s: float) -> None:
        reconcile(runner_for(store, home, PaidImage()), hand_on_post=lambda _: None, hand_on_batch=lambda _: None, limits=Limits(),
                  now=utcnow() + timedelta(seconds=offset_s))  # fmt: skip

    reconcile_at(61)  # handed on
    assert sent(receiver, "") == []
    reconcile_at(95)  # handed on in vain: nobody took it, no step beats
    reconcile_at(125)
    (message,) = sent(receiver, "No live worker")
    assert message["message"].startswith("1 post(s) were handed to workers and none took them")
    reconcile_at(901)  # given up
    (failed,) = sent(receiver, "failed")
    assert failed["message"].startswith(f"Failed by the reconciler after no progress and no live worker on them: "
                                        f"post(s) {post_id}.")  # fmt: skip
    (ready,) = sent(receiver, "ready for review")
    assert ready["message"].startswith("0 post(s) to review, 1 failed;")
    assert ready["title"] == f"Batch {batch_id} of @ash is ready for review"


def test_a_short_command_sends_what_it_queued_before_it_exits(home: Path, receiver: Receiver) -> None:
    """`batch run` in its own process: the notice queued as the batch ends goes out before the process does."""
    env = {**os.environ, "BEATDESK_HOME": str(home), "BEATDESK_NOTIFY_URLS": receiver.url}
    for args in (["init"], ["batch", "run", "--persona", "ash", "--items", "1", "--video", "0"]):
        subprocess.run([sys.executable, "-m", "beatdesk_cli.main", *args], env=env, check=True, capture_output=True)
    assert receiver.titles() == ["Batch 1 of @ash is ready for review"]


def test_config_show_hides_the_tokens_of_notify_urls(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEATDESK_NOTIFY_URLS", "tgram://123:s3cr3t/42,json://127.0.0.1:9/hook")
    shown = run_cli(cli, "config", "show", "--json")
    assert shown["notify_urls"] == "tgram://… json://…"


def test_the_desk_saves_a_persona_only_with_urls_apprise_knows(home: Path) -> None:
    init_home(home)
    text = (home / "personas" / "ash.toml").read_text()
    with pytest.raises(PersonaFileError, match=r"notify: URL 2: foos://…: Apprise does not know this service"):
        save_persona_text(home, "ash", 'notify = ["ntfy://ash-desk", "foos://s3cr3t"]\n' + text)
    assert "notify" not in (home / "personas" / "ash.toml").read_text()  # nothing half-written
    assert save_persona_text(home, "ash", 'notify = ["ntfy://ash-desk"]\n' + text).notify == ("ntfy://ash-desk",)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_notice_is_claimed_by_one_process_per_window(
    home: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{home / 'beatdesk.db'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    store, now, hour = open_store(url), utcnow(), timedelta(hours=1)

    def claim(at: datetime, every: timedelta | None = hour) -> bool:
        with store.session() as session:
            return notices.claim(session, event="e", subject="s", every=every, now=at)

    assert claim(now) and not claim(now) and not claim(now + timedelta(minutes=59))
    assert claim(now + timedelta(minutes=61))
    with store.session() as session:
        notices.clear(session, event="e", subject="s")
    assert claim(now, every=None) and not claim(now + 10 * hour, every=None)  # until cleared
