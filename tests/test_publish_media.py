"""Media that reaches each channel once, against loopback servers that follow each API's documentation:
Mastodon's 202/206 processing and its 422 for unprocessed media, retries that never upload twice,
temporary refusals retried rather than blocked, and idempotency keys that are this installation's own."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from beatdesk import retries
from beatdesk.settings import get_settings
from beatdesk.store import forget_stores
from tests.conftest import run_cli
from tests.fake_channels import ChannelServer
from tests.test_publish_channels import approved_post, installation_id, publish, server

__all__ = ["server"]  # the fixture, shared with the channel tests


def test_mastodon_waits_for_the_video_to_be_processed_then_posts(cli: CliRunner, server: ChannelServer) -> None:
    server.processing_polls = 3
    post_id = approved_post(cli, video=1)
    assert publish(cli) == [post_id]
    assert len(server.sent("POST", "/api/v2/media")) == 1
    (media_id,) = server.mastodon_media
    polls = server.sent("GET", f"/api/v1/media/{media_id}")
    assert len(polls) == 4  # three 206 answers, then 200
    statuses = server.sent("POST", "/api/v1/statuses")
    assert len(statuses) == 1 and statuses[0].json()["media_ids"] == [media_id]  # never refused with 422
    assert server.mastodon_media[media_id]["status"] == server.posts["mastodon"][0]["id"]


def test_a_lost_answer_after_the_upload_retries_without_a_second_upload(cli: CliRunner, server: ChannelServer) -> None:
    post_id = approved_post(cli, video=1)
    server.lose_answers["mastodon"] = 1  # the status is made with the video, and its answer is lost
    assert publish(cli) == [post_id]
    assert len(server.sent("POST", "/api/v2/media")) == 1  # the retry attached the stored media id
    assert len(server.sent("POST", "/api/v1/statuses")) == 2 and len(server.posts["mastodon"]) == 1
    post = run_cli(cli, "post", "show", str(post_id), "--json")
    assert [p["channel"] for p in post["publications"]].count("mastodon") == 1


def test_a_lost_upload_answer_uploads_again_and_posts_once(cli: CliRunner, server: ChannelServer) -> None:
    post_id = approved_post(cli)
    server.lose_answers["mastodon_media"] = 1  # the instance keeps the file, beatdesk never learns its id
    assert publish(cli) == [post_id]
    uploads = server.sent("POST", "/api/v2/media")
    assert len(uploads) == 2  # nothing was stored, so nothing could be reused: the one upload that answered is used
    first = server.sent("POST", "/api/v1/statuses")[0].json()
    assert first["media_ids"] == [list(server.mastodon_media)[1]]


def test_mastodons_422_for_unprocessed_media_is_retried_not_blocked(cli: CliRunner, server: ChannelServer) -> None:
    post_id = approved_post(cli)
    server.create_errors["mastodon"] = [422]
    assert publish(cli) == [post_id]
    post = run_cli(cli, "post", "show", str(post_id), "--json")
    assert not [c for c in post["checks"] if c["name"] == "publish_mastodon"]
    assert len(server.sent("POST", "/api/v2/media")) == 1  # the retry reused the upload


def test_a_429_with_retry_after_is_sent_again_after_the_wait(cli: CliRunner, server: ChannelServer) -> None:
    post_id = approved_post(cli)
    server.create_errors["mastodon"] = [429, 429]
    server.retry_after = "0"
    assert publish(cli) == [post_id]
    statuses = server.sent("POST", "/api/v1/statuses")
    assert len(statuses) == len(server.posts["mastodon"]) + 2
    events = run_cli(cli, "post", "show", str(post_id), "--json")["events"]
    assert not [e for e in events if e["action"] in ("publish_retry_later", "publish_blocked")]


def test_a_reset_database_never_gets_an_earlier_posts_status(cli: CliRunner, server: ChannelServer, home: Path) -> None:
    """Post 1 of a fresh database must not be answered with post 1 of the database before it."""
    post_id = approved_post(cli)
    assert publish(cli) == [post_id]
    before = installation_id()
    first_status = server.posts["mastodon"][0]["id"]

    forget_stores()
    Path(get_settings().effective_database_url.removeprefix("sqlite:///")).unlink()
    run_cli(cli, "init")
    assert approved_post(cli) == post_id  # the same post id again
    assert installation_id() != before
    assert publish(cli) == [post_id]
    again = run_cli(cli, "post", "show", str(post_id), "--json")
    mastodon = next(p for p in again["publications"] if p["channel"] == "mastodon")
    assert mastodon["remote_id"] != first_status  # a new status, not the earlier post's


def test_bluesky_resumes_its_video_job_instead_of_uploading_again(cli: CliRunner, server: ChannelServer) -> None:
    post_id = approved_post(cli, video=1)
    server.create_errors["bluesky_job"] = [503]  # the video service stumbles on the first job poll
    assert publish(cli) == [post_id]
    assert len(server.sent("POST", "/xrpc/app.bsky.video.uploadVideo")) == 1 and len(server.bluesky_jobs) == 1
    (record,) = [r for r in server.posts["bluesky"] if "embed" in r]
    assert record["embed"]["video"] == next(iter(server.bluesky_jobs.values()))["blob"]

    # Published: a second sweep finds the record by its key and uploads nothing.
    assert publish(cli) == [] and len(server.sent("POST", "/xrpc/app.bsky.video.uploadVideo")) == 1


def test_linkedin_uploads_a_video_in_parts_once(cli: CliRunner, server: ChannelServer) -> None:
    server.linkedin_part_bytes = 300_000
    post_id = approved_post(cli, video=1)
    server.create_errors["linkedin"] = [503]  # the post itself fails once, after the video is AVAILABLE
    assert publish(cli) == [post_id]
    assert len([r for r in server.sent("POST", "/rest/videos") if r.query["action"] == ["initializeUpload"]]) == 1
    ((urn, video),) = server.linkedin_videos.items()
    assert len(video["parts"]) >= 2 and video["finalized"] and video["taken"] == video["size"]
    (shown,) = server.posts["linkedin"]
    assert shown["content"]["media"]["id"] == urn


def test_the_outbox_keeps_a_videos_caption_files(cli: CliRunner, home: Path) -> None:
    run_cli(cli, "init")
    post_id = approved_post(cli, video=1)
    assert publish(cli) == [post_id]
    folder = home / "outbox" / f"post-{post_id}"
    names = sorted(p.suffix for p in folder.iterdir())
    assert names.count(".mp4") == 1 and ".srt" in names and ".vtt" in names
    assert (folder / next(p.name for p in folder.iterdir() if p.suffix == ".vtt")).read_text().startswith("WEBVTT")


@pytest.mark.parametrize("status", [429, 503])
def test_a_channel_that_keeps_asking_to_wait_gets_the_post_as_often_as_the_channels_policy_says(
    cli: CliRunner, server: ChannelServer, status: int
) -> None:
    """Retry-After 0 on every answer: one publication sends the status CHANNELS.attempts times (no retry of a
    request inside the retry of the publication), then the channel waits its turn for a later sweep."""
    post_id = approved_post(cli)
    server.create_errors["mastodon"] = [status] * 100
    server.retry_after = "0"
    assert publish(cli) == []
    assert len(server.sent("POST", "/api/v1/statuses")) == retries.CHANNELS.attempts and not server.posts.get(
        "mastodon"
    )
    events = run_cli(cli, "post", "show", str(post_id), "--json")["events"]
    assert [e["action"] for e in events if e["action"].startswith("publish_")] == ["publish_retry_later"]
