"""A first comment on Threads (a reply to the thread's last part, through a container polled until FINISHED)
and on Instagram (a comment on the published media), from `beatdesk post edit` to what the Graph API fake on
127.0.0.1 receives: once, once again after a lost answer, and nothing on a later sweep."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from publishers.credentials import Credentials
from publishers.graph import ThreadsPublisher
from publishers.http import TransientPublishError
from tests.conftest import run_cli
from tests.fake_channels import TOKEN, ChannelServer, channel_server
from tests.test_channel_versions import approve_and_publish, post_in_review
from tests.test_cli_errors import assert_one_line
from tests.test_publish_channels import NOW
from tests.test_publish_graph import channel, outgoing_for, stored_post

COMMENT = "Where the numbers come from: the cost study linked in my profile."


def graph_toml(url: str) -> str:
    return "".join(f'\n[[channels]]\nname = "{name}"\nurl = "{url}{prefix}"\nmedia_url = "{url}media/"\n'
                   for name, prefix in (("threads", "threads-api"), ("instagram", "ig-api")))  # fmt: skip


@pytest.fixture
def server(cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChannelServer]:
    run_cli(cli, "init")
    persona = home / "personas" / "ash.toml"
    text = persona.read_text().replace('[[channels]]\nname = "outbox"\n', "")
    with channel_server() as state:
        persona.write_text(text + graph_toml(state.url))
        monkeypatch.setenv("BEATDESK_ASH_THREADS_TOKEN", TOKEN)
        monkeypatch.setenv("BEATDESK_ASH_INSTAGRAM_TOKEN", TOKEN)
        yield state


def comment_on_both(cli: CliRunner, post_id: int) -> None:
    for name in ("threads", "instagram"):
        run_cli(cli, "post", "edit", str(post_id), "--channel", name, "--first-comment", COMMENT)


def threads_replies(server: ChannelServer) -> list[dict[str, object]]:
    return [m for m in server.posts["threads"] if m["text"] == COMMENT]


def test_the_comment_answers_the_last_part_on_threads_and_the_media_on_instagram(
    cli: CliRunner, server: ChannelServer
) -> None:
    post_id = post_in_review(cli)
    comment_on_both(cli, post_id)
    assert approve_and_publish(cli, post_id) == [post_id]

    *parts, reply = server.posts["threads"]
    assert len(parts) >= 2 and reply["text"] == COMMENT and reply["reply_to_id"] == parts[-1]["id"]
    container = server.containers[str(reply["container"])]
    assert container["params"]["media_type"] == "TEXT" and container["status"] == "PUBLISHED"
    assert server.sent("GET", f"/threads-api/{reply['container']}")  # its status polled before publishing

    (media,) = server.posts["instagram"]
    assert [c["text"] for c in server.comments[media["id"]]] == [COMMENT]
    (made,) = server.sent("POST", f"/ig-api/{media['id']}/comments")
    assert made.query["message"] == [COMMENT]


@pytest.mark.parametrize("kind", ["threads", "instagram_comment"])
def test_a_comment_whose_answer_is_lost_is_posted_once(cli: CliRunner, server: ChannelServer, kind: str) -> None:
    post_id = post_in_review(cli)
    comment_on_both(cli, post_id)
    server.lose_texts[kind] = COMMENT  # taken (the reply published, the comment made), the answer dropped
    assert approve_and_publish(cli, post_id) == [post_id]
    assert not server.lose_texts
    assert len(threads_replies(server)) == 1
    ((_, comments),) = server.comments.items()
    assert [c["text"] for c in comments] == [COMMENT]
    reply_containers = [c for c in server.containers.values() if c["params"].get("text") == COMMENT]
    assert len(reply_containers) == 1  # the retry found the reply; it made no second container

    asked = len(server.requests)  # a later sweep finds the post published and asks nothing
    assert run_cli(cli, "publish", "due", "--now", NOW, "--json")["published"] == []
    assert len(server.requests) == asked


def test_a_failed_reply_publish_resumes_its_stored_container(
    cli: CliRunner, server: ChannelServer, tmp_path: Path
) -> None:
    post_id = post_in_review(cli)
    comment_on_both(cli, post_id)
    run_cli(cli, "review", "approve", str(post_id), "--at", "2099-01-05T08:30", "--reason", "read by a person")
    threads = channel(server, "threads")
    outgoing = outgoing_for(stored_post(post_id), threads)
    publisher = ThreadsPublisher(threads, Credentials({"token": TOKEN}), tmp_path)
    server.create_errors["threads"] = [0] * len(outgoing.parts) + [503]  # the parts go out, the reply's publish fails
    with pytest.raises(TransientPublishError):
        publisher.publish(outgoing)
    assert threads_replies(server) == []
    publisher.publish(outgoing)  # the retry: the parts found by their text, the reply's container resumed
    (reply,) = threads_replies(server)
    assert reply["reply_to_id"] == server.posts["threads"][len(outgoing.parts) - 1]["id"]
    assert len([c for c in server.containers.values() if c["params"].get("text") == COMMENT]) == 1
    assert len(server.posts["threads"]) == len(outgoing.parts) + 1
    publisher.publish(outgoing)  # once more: the ledger holds the reply's id, nothing is sent
    assert len(server.posts["threads"]) == len(outgoing.parts) + 1


def test_a_published_reply_not_yet_listed_is_waited_for_not_sent_again(
    cli: CliRunner, server: ChannelServer, tmp_path: Path
) -> None:
    post_id = post_in_review(cli)
    comment_on_both(cli, post_id)
    run_cli(cli, "review", "approve", str(post_id), "--at", "2099-01-05T08:30", "--reason", "read by a person")
    threads = channel(server, "threads")
    outgoing = outgoing_for(stored_post(post_id), threads)
    publisher = ThreadsPublisher(threads, Credentials({"token": TOKEN}), tmp_path)
    server.lose_texts["threads"] = COMMENT
    with pytest.raises(TransientPublishError):  # the reply published, its answer lost
        publisher.publish(outgoing)
    server.replies_lag = 2  # the next two listings of the account's replies do not show it yet
    with pytest.raises(TransientPublishError, match="published but not yet listed"):
        publisher.publish(outgoing)
    publisher.publish(outgoing)
    assert len(threads_replies(server)) == 1
    assert len(server.sent("POST", "/threads-api/me/threads_publish")) == len(outgoing.parts) + 1  # none sent twice


def test_comment_limits_are_the_channels_own(cli: CliRunner, server: ChannelServer) -> None:
    post_id = str(post_in_review(cli))
    for name, limit in (("threads", 500), ("instagram", 2200)):
        result = run_cli(cli, "post", "edit", post_id, "--channel", name, "--first-comment", "y" * (limit + 1), code=1)
        assert_one_line(result.stderr, f"{name}: the first comment is {limit + 1} characters, over the {limit}")
        done = run_cli(cli, "post", "edit", post_id, "--channel", name, "--first-comment", "y" * limit, "--json")
        assert done["channels"] == [f"{name}: first comment ({'y' * 80})"]
