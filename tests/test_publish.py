"""Publishing approved posts at their slots to the outbox channel, exactly once."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.conftest import run_cli


def test_due_posts_go_out_once(cli: CliRunner, home: Path) -> None:
    run_cli(cli, "init")
    out = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "2", "--video", "1", "--json")
    first, second = (p["id"] for p in out["posts"])
    run_cli(cli, "review", "approve", str(first), "--at", "2099-01-05T08:30")
    run_cli(cli, "review", "approve", str(second), "--at", "2099-01-06T08:30")
    scheduled = run_cli(cli, "schedule", "show", "--json")
    assert [p["id"] for p in scheduled] == [first, second]
    assert scheduled[0]["slot_at"] == "2099-01-05T07:30:00+00:00"

    assert run_cli(cli, "publish", "due", "--json")["published"] == []  # nothing is due yet
    assert run_cli(cli, "publish", "due", "--now", "2099-01-05T09:00:00+00:00", "--json")["published"] == [first]
    again = run_cli(cli, "publish", "due", "--now", "2099-01-07T09:00:00+00:00", "--json")
    assert again["published"] == [second]  # the first is not published twice

    post = run_cli(cli, "post", "show", str(first), "--json")
    assert post["status"] == "published"
    assert [(p["channel"], p["remote_id"]) for p in post["publications"]] == [("outbox", f"outbox:{first}")]
    folder = home / "outbox" / f"post-{first}"
    meta = json.loads((folder / "post.json").read_text())
    assert meta["post_id"] == first and set(meta["media"]) == {p.name for p in folder.iterdir()} - {
        "post.json",
        "post.txt",
    }
    assert (folder / "post.txt").read_text().startswith(post["draft"]["caption"])
    assert any(name.endswith(".mp4") for name in meta["media"])  # the video post carries its MP4 and cover
    step = next(s for s in post["steps"] if s["name"] == "publish_outbox")
    assert step["status"] == "done" and step["detail"] == f"outbox:{first}"


def test_a_retry_finds_what_an_earlier_attempt_posted(cli: CliRunner, home: Path) -> None:
    """The channel took the post but the answer never got recorded: the retry finds it and posts nothing new."""
    run_cli(cli, "init")
    out = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "1", "--video", "0", "--json")
    post_id = out["posts"][0]["id"]
    run_cli(cli, "review", "approve", str(post_id), "--at", "2099-01-05T08:30")
    folder = home / "outbox" / f"post-{post_id}"
    folder.mkdir(parents=True)  # as if an earlier attempt had posted and then lost its answer
    (folder / "post.txt").write_text("posted earlier\n")
    run_cli(cli, "publish", "due", "--now", "2099-01-05T09:00:00+00:00")
    assert (folder / "post.txt").read_text() == "posted earlier\n"
    post = run_cli(cli, "post", "show", str(post_id), "--json")
    assert post["status"] == "published" and len(post["publications"]) == 1
