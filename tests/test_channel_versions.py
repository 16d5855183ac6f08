"""A reviewer's own text for one channel and a first comment, from `beatdesk post edit` to what the channels'
servers on 127.0.0.1 receive: the own text is what goes out, the comment answers the last part, once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from beatdesk.store.schema import ChannelVersionRow
from tests.conftest import run_cli
from tests.fake_channels import ChannelServer, channel_server
from tests.test_cli_errors import assert_one_line
from tests.test_publish_channels import CREDENTIALS, NOW, channels_toml

OWN = "Your prompt is most of your inference bill. Trim it first; the model can wait."
COMMENT = "Where the numbers come from: the cost study linked in my profile."


@pytest.fixture
def server(cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChannelServer]:
    run_cli(cli, "init")
    persona = home / "personas" / "ash.toml"
    text = persona.read_text().replace('[[channels]]\nname = "outbox"\n', "")
    with channel_server() as state:
        persona.write_text(text + channels_toml(state.url))
        for name, value in CREDENTIALS.items():
            monkeypatch.setenv(name, value)
        yield state


def post_in_review(cli: CliRunner) -> int:
    out = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "1", "--video", "0", "--json")
    return int(out["posts"][0]["id"])


def approve_and_publish(cli: CliRunner, post_id: int) -> list[int]:
    run_cli(cli, "review", "approve", str(post_id), "--at", "2099-01-05T08:30", "--reason", "read by a person")
    return list(run_cli(cli, "publish", "due", "--now", NOW, "--json")["published"])


def comment_everywhere(cli: CliRunner, post_id: int) -> None:
    for channel in ("mastodon", "bluesky", "x", "linkedin"):
        run_cli(cli, "post", "edit", str(post_id), "--channel", channel, "--first-comment", COMMENT)


def test_an_own_text_is_what_mastodon_receives_and_the_comment_answers_the_last_part(
    cli: CliRunner, server: ChannelServer
) -> None:
    post_id = post_in_review(cli)
    done = run_cli(cli, "post", "edit", str(post_id), "--channel", "mastodon", "--text", OWN, "--json")
    assert done["channels"] == [f"mastodon: own text ({OWN[:80]})"]
    assert {"name": "channel_versions", "level": "ok", "detail": "mastodon: own text"} in done["checks"]
    comment_everywhere(cli, post_id)
    post = run_cli(cli, "post", "show", str(post_id), "--json")
    assert post["channel_versions"]["mastodon"] == {"text": OWN, "first_comment": COMMENT}
    assert next(e["note"] for e in post["events"] if e["action"] == "edit_channel").startswith("mastodon: own text")

    assert approve_and_publish(cli, post_id) == [post_id]
    # Mastodon: the own text as one status (the generated thread is not sent), then the comment as its reply.
    statuses = [s.json() for s in server.sent("POST", "/api/v1/statuses")]
    assert [s["status"] for s in statuses] == [OWN, COMMENT]
    assert statuses[1]["in_reply_to_id"] == server.posts["mastodon"][0]["id"]

    # Bluesky and X: the generated thread, then the comment answering its last part.
    bluesky = server.posts["bluesky"]
    assert len(bluesky) >= 3 and bluesky[-1]["text"] == COMMENT
    records = [r.json() for r in server.sent("POST", "/xrpc/com.atproto.repo.createRecord")]
    assert bluesky[-1]["reply"]["parent"]["uri"].endswith("/" + records[-2]["rkey"])
    assert bluesky[-1]["reply"]["root"]["uri"].endswith("/" + records[0]["rkey"])
    tweets = server.posts["x"]
    assert tweets[-1]["text"] == COMMENT and tweets[-1]["reply"]["in_reply_to_tweet_id"] == tweets[-2]["id"]

    # LinkedIn: the post, then a comment on it by its author.
    ((urn, comments),) = server.comments.items()
    assert urn == server.posts["linkedin"][0]["id"]
    assert [(c["actor"], c["message"]["text"]) for c in comments] == [("urn:li:person:ash", COMMENT)]


@pytest.mark.parametrize("channel", ["mastodon", "bluesky", "x", "linkedin"])
def test_a_first_comment_whose_answer_is_lost_is_posted_once(
    cli: CliRunner, server: ChannelServer, channel: str
) -> None:
    post_id = post_in_review(cli)
    comment_everywhere(cli, post_id)
    server.lose_texts["linkedin_comment" if channel == "linkedin" else channel] = COMMENT
    assert approve_and_publish(cli, post_id) == [post_id]
    assert not server.lose_texts  # the comment was taken and its answer lost
    if channel == "linkedin":
        shown = [c["message"]["text"] for c in server.comments[server.posts["linkedin"][0]["id"]]]
    else:
        shown = [str(p.get("status") or p.get("text")) for p in server.posts[channel]]
    assert shown.count(COMMENT) == 1

    asked = len(server.requests)  # a later sweep finds the post published and asks nothing
    assert run_cli(cli, "publish", "due", "--now", NOW, "--json")["published"] == []
    assert len(server.requests) == asked


def versions_in(home: Path) -> int:
    engine = create_engine(f"sqlite:///{home / 'beatdesk.db'}")
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(ChannelVersionRow)).scalar_one()
    engine.dispose()
    return count


def test_bad_edits_are_one_line_and_write_nothing(cli: CliRunner, server: ChannelServer, home: Path) -> None:
    post_id = str(post_in_review(cli))
    before = run_cli(cli, "post", "show", post_id, "--json")
    cases = [
        (["--channel", "tiktok", "--text", "hi"], ["'tiktok' is not one of @ash's channels", "mastodon, bluesky"]),
        (["--channel", "linkedin", "--text", "word " * 700], ["linkedin: the text is 3499 characters", "over its 3000"]),
        (["--title", "A better title", "--channel", "mastodon", "--first-comment", "y" * 501],
         ["mastodon: the first comment is 501 characters, over the 500"]),
        (["--channel", "webhook", "--first-comment", "hello"], ["webhook takes no first comment"]),
        (["--text", "no channel named"], ["need --channel NAME"]),
        (["--title", "ab"], ["title", "at least 3 characters"]),
        ([], ["nothing to change"]),
    ]  # fmt: skip
    for args, needles in cases:
        result = run_cli(cli, "post", "edit", post_id, *args, code=1)
        assert_one_line(result.stderr, *needles)
    after = run_cli(cli, "post", "show", post_id, "--json")
    assert after["draft"] == before["draft"] and after["events"] == before["events"] and versions_in(home) == 0

    run_cli(cli, "review", "approve", post_id, "--at", "2099-01-05T08:30", "--reason", "fine")
    result = run_cli(cli, "post", "edit", post_id, "--channel", "x", "--text", "late", code=1)
    assert_one_line(result.stderr, f"post {post_id} is approved", "unschedule")
    assert versions_in(home) == 0


def test_a_reset_goes_back_to_the_generated_text(cli: CliRunner, server: ChannelServer, home: Path) -> None:
    post_id = str(post_in_review(cli))
    run_cli(cli, "post", "edit", post_id, "--channel", "x", "--text", OWN)
    assert versions_in(home) == 1
    done = run_cli(cli, "post", "edit", post_id, "--channel", "x", "--reset", "--json")
    assert done["channels"] == ["x: reset to the generated text"] and versions_in(home) == 0
    assert "channel_versions" not in {c["name"] for c in done["checks"]}


def test_draft_fields_and_alt_text_from_the_cli(cli: CliRunner, server: ChannelServer) -> None:
    post_id = str(post_in_review(cli))
    done = run_cli(cli, "post", "edit", post_id, "--hashtags", "#Inference #Costs", "--alt-text",
                   "A bar chart: prompt tokens dwarf output tokens.", "--json")  # fmt: skip
    assert set(done["changed"]) == {"caption", "hashtags", "alt_text"}
    post = run_cli(cli, "post", "show", post_id, "--json")
    assert post["draft"]["hashtags"] == ["#Inference", "#Costs"]
    assert post["draft"]["caption"].endswith("\n\n#Inference #Costs")
    assert next(c for c in done["checks"] if c["name"] == "hashtags_at_end")["level"] == "ok"
    assert approve_and_publish(cli, int(post_id)) == [int(post_id)]
    (upload,) = server.sent("POST", "/api/v2/media")
    assert b"A bar chart: prompt tokens dwarf output tokens." in upload.body


def test_a_redraft_drops_the_versions_written_from_the_old_draft(
    cli: CliRunner, server: ChannelServer, home: Path
) -> None:
    post_id = str(post_in_review(cli))
    run_cli(cli, "post", "edit", post_id, "--channel", "x", "--text", OWN, "--first-comment", COMMENT)
    run_cli(cli, "post", "redraft", post_id, "--note", "warmer")
    post = run_cli(cli, "post", "show", post_id, "--json")
    assert post["channel_versions"] == {} and versions_in(home) == 0
    assert any(e["note"] == "dropped with the old draft: x" for e in post["events"])
