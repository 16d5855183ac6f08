"""Each channel against a server on 127.0.0.1 that speaks its API: the right fields, media, keys and
facets; a lost answer or a 429 never makes a second post; a revoked token blocks only its channel."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image
from typer.testing import CliRunner

from beatdesk.settings import get_settings
from beatdesk.store import open_store, repo
from publishers.bluesky import facets
from publishers.http import PublishRefused
from publishers.media import shrink_image
from publishers.webhook import signature
from tests.conftest import run_cli
from tests.fake_channels import APP_PASSWORD, TOKEN, WEBHOOK_SECRET, ChannelServer, channel_server

NOW = "2099-01-05T09:00:00+00:00"
CREDENTIALS = {
    "BEATDESK_ASH_MASTODON_TOKEN": TOKEN, "BEATDESK_ASH_BLUESKY_APP_PASSWORD": APP_PASSWORD,
    "BEATDESK_ASH_X_TOKEN": TOKEN, "BEATDESK_ASH_LINKEDIN_TOKEN": TOKEN, "BEATDESK_ASH_WEBHOOK_SECRET": WEBHOOK_SECRET,
}  # fmt: skip


def channels_toml(url: str) -> str:
    return f"""
[[channels]]
name = "mastodon"
url = "{url}"

[[channels]]
name = "bluesky"
account = "ash.test"
url = "{url}"
video_url = "{url}"

[[channels]]
name = "x"
url = "{url}"

[[channels]]
name = "linkedin"
account = "urn:li:person:ash"
url = "{url}"

[[channels]]
name = "webhook"
url = "{url}hook"
"""


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


def installation_id() -> str:
    """The id the store made for this installation (the test's home and database)."""
    with open_store(get_settings().effective_database_url).session() as session:
        return repo.installation_id(session)


def approved_post(cli: CliRunner, video: int = 0) -> int:
    out = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "1", "--video", str(video), "--json")
    post_id = out["posts"][0]["id"]
    run_cli(cli, "review", "approve", str(post_id), "--at", "2099-01-05T08:30")
    return post_id


def publish(cli: CliRunner) -> list[int]:
    return run_cli(cli, "publish", "due", "--now", NOW, "--json")["published"]


def test_every_channel_gets_its_own_request_shape(cli: CliRunner, server: ChannelServer) -> None:
    post_id = approved_post(cli)
    assert publish(cli) == [post_id]
    post = run_cli(cli, "post", "show", str(post_id), "--json")
    assert post["status"] == "published"
    assert {p["channel"] for p in post["publications"]} == {"mastodon", "bluesky", "x", "linkedin", "webhook"}

    # Mastodon: the image first, then a thread of statuses, each with its own stable Idempotency-Key.
    statuses = server.sent("POST", "/api/v1/statuses")
    assert len(server.sent("POST", "/api/v2/media")) == 1 and len(statuses) >= 2
    installation = installation_id()
    assert [s.headers["idempotency-key"] for s in statuses] == [
        f"beatdesk-{installation}-post-{post_id}-{i}" for i in range(len(statuses))
    ]
    assert statuses[0].json()["media_ids"] and "media_ids" not in statuses[1].json()
    assert statuses[1].json()["in_reply_to_id"] == server.posts["mastodon"][0]["id"]
    assert all(len(s.json()["status"]) <= 500 for s in statuses)

    # Bluesky: a session from the app password, the image as a blob, replies pointing at root and parent.
    records = [r.json() for r in server.sent("POST", "/xrpc/com.atproto.repo.createRecord")]
    first, second = records[0]["record"], records[1]["record"]
    assert first["embed"]["$type"] == "app.bsky.embed.images" and first["embed"]["images"][0]["alt"]
    assert second["reply"]["root"]["uri"].endswith(records[0]["rkey"])
    last = records[-1]["record"]
    tags = [f for f in last["facets"] if f["features"][0]["$type"] == "app.bsky.richtext.facet#tag"]
    assert tags, last["text"]  # the hashtags close the thread, each a tag facet at its byte offsets
    for facet in tags:
        raw = last["text"].encode()[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()
        assert raw == "#" + facet["features"][0]["tag"]

    # X: the image uploaded, then a chain of replies.
    tweets = [r.json() for r in server.sent("POST", "/2/tweets")]
    assert len(server.sent("POST", "/2/media/upload")) == 1 and tweets[0]["media"]["media_ids"]
    assert tweets[1]["reply"]["in_reply_to_tweet_id"] == server.posts["x"][0]["id"]

    # LinkedIn: versioned headers, the author, the image by its URN, one post.
    (li,) = server.sent("POST", "/rest/posts")
    assert li.headers["linkedin-version"] and li.headers["x-restli-protocol-version"] == "2.0.0"
    assert li.json()["author"] == "urn:li:person:ash" and li.json()["content"]["media"]["id"] == "urn:li:image:0"
    assert li.json()["commentary"] == post["draft"]["caption"]
    assert len(server.sent("PUT", "/upload/img0")) == 1

    # The webhook: signed JSON the receiver can check.
    (hook,) = server.sent("POST", "/hook")
    assert hook.headers["x-beatdesk-signature"] == signature(WEBHOOK_SECRET, hook.headers["x-beatdesk-timestamp"],
                                                              hook.body)  # fmt: skip
    assert hook.json()["post_id"] == post_id and hook.json()["media"][0]["sha256"]
    assert hook.headers["idempotency-key"] == f"beatdesk-{installation}-post-{post_id}-0"

    assert publish(cli) == [] and len(server.sent("POST", "/hook")) == 1  # published posts are left alone


@pytest.mark.parametrize("channel", ["mastodon", "bluesky", "x", "linkedin", "webhook"])
def test_a_lost_answer_then_a_retry_makes_one_remote_post(cli: CliRunner, server: ChannelServer, channel: str) -> None:
    post_id = approved_post(cli)
    server.lose_answers[channel] = 1  # the channel takes the first post, and the answer is lost
    assert publish(cli) == [post_id]
    shown = server.posts[channel]
    texts = [p.get("status") or p.get("text") or p.get("commentary") or p.get("parts") for p in shown]
    assert len(texts) == len({json.dumps(t) for t in texts})  # nothing posted twice
    post = run_cli(cli, "post", "show", str(post_id), "--json")
    assert len([p for p in post["publications"] if p["channel"] == channel]) == 1


def test_a_429_burst_is_retried_with_backoff(cli: CliRunner, server: ChannelServer) -> None:
    post_id = approved_post(cli)
    server.create_errors["x"] = [429, 503]
    assert publish(cli) == [post_id]
    assert len(server.posts["x"]) == len(server.sent("POST", "/2/tweets")) - 2


def test_a_revoked_token_blocks_its_channel_with_a_message(cli: CliRunner, server: ChannelServer) -> None:
    post_id = approved_post(cli)
    server.revoked.add("linkedin")
    sweep = json.loads(
        run_cli(cli, "publish", "due", "--now", NOW, "--json", code=1).stdout
    )  # a blocked channel: exit 1
    assert sweep["published"] == [] and sweep["failed"] == [] and sweep["retrying"] == []
    (blocked,) = sweep["blocked"]
    assert blocked["post"] == post_id and blocked["channel"] == "linkedin" and "401" in blocked["reason"]
    post = run_cli(cli, "post", "show", str(post_id), "--json")
    assert post["status"] == "approved"  # four channels done, one to go
    assert {p["channel"] for p in post["publications"]} == {"mastodon", "bluesky", "x", "webhook"}
    step = [s for s in post["steps"] if s["name"] == "publish_linkedin"][-1]
    assert step["status"] == "blocked" and "refused the credentials" in step["error"]
    tries = len(server.sent("GET", "/rest/posts"))
    assert tries == 1  # an auth error is not retried

    from datetime import datetime

    from publishers.due import publish_due

    settings = get_settings()
    sweep_again = publish_due(open_store(settings.effective_database_url), home=settings.home,
                              now=datetime.fromisoformat(NOW))  # fmt: skip
    assert sweep_again.published == [] and len(server.sent("GET", "/rest/posts")) == tries  # left blocked
    assert [t.state.channel.name for t in sweep_again.blocked] == ["linkedin"]  # and still said

    server.revoked.clear()  # someone set a fresh token, then publishes by hand
    assert publish(cli) == [post_id]
    post = run_cli(cli, "post", "show", str(post_id), "--json")
    assert post["status"] == "published" and len(server.posts["mastodon"]) == len(
        server.sent("POST", "/api/v1/statuses")
    )
    assert [c["status"] for c in post["channels"]] == ["published"] * 5 if "channels" in post else True


def test_a_channel_without_credentials_is_not_connected_and_the_others_publish(
    cli: CliRunner, server: ChannelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BEATDESK_ASH_MASTODON_TOKEN")
    post_id = approved_post(cli)
    sweep = json.loads(run_cli(cli, "publish", "due", "--now", NOW, "--json", code=1).stdout)
    (blocked,) = sweep["blocked"]
    assert blocked["channel"] == "mastodon" and blocked["reason"].startswith("not connected")
    assert "BEATDESK_ASH_MASTODON_TOKEN" in blocked["reason"]
    assert server.sent("POST", "/api/v1/statuses") == []
    post = run_cli(cli, "post", "show", str(post_id), "--json")
    assert {p["channel"] for p in post["publications"]} == {"bluesky", "x", "linkedin", "webhook"}

    text = run_cli(cli, "publish", "due", "--now", NOW, code=1)
    assert f"post {post_id} mastodon: blocked: not connected" in text.stderr


def test_credentials_may_come_from_the_secrets_file(cli: CliRunner, server: ChannelServer, home: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.delenv("BEATDESK_ASH_WEBHOOK_SECRET")
    (home / "secrets.toml").write_text(f'[ash.webhook]\nsecret = "{WEBHOOK_SECRET}"\n')
    post_id = approved_post(cli)
    assert publish(cli) == [post_id]


def test_a_webhook_url_must_be_http(cli: CliRunner, server: ChannelServer, home: Path) -> None:
    persona = home / "personas" / "ash.toml"
    persona.write_text(persona.read_text().replace(f'url = "{server.url}hook"', 'url = "ftp://example.org/hook"'))
    result = run_cli(cli, "publish", "due", code=1)
    assert "channels[4]" in result.stderr and "http(s)" in result.stderr


def test_an_image_too_large_is_shrunk_or_refused_with_the_limit(tmp_path: Path) -> None:
    noisy = tmp_path / "hero.png"
    Image.effect_noise((1600, 2000), 120).convert("RGB").save(noisy)
    assert noisy.stat().st_size > 1_000_000
    smaller = shrink_image("bluesky", noisy, 1_000_000, tmp_path / "work")
    assert smaller != noisy and smaller.stat().st_size <= 1_000_000 and noisy.exists()
    with pytest.raises(PublishRefused, match="under the channel's 200 bytes"):
        shrink_image("bluesky", noisy, 200, tmp_path / "work")


def test_facets_count_utf8_bytes() -> None:
    text = "Ünïcode first — see https://example.org/a?b=1. #Inference #evals"
    found = facets(text)
    spans = [text.encode()[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in found]
    assert spans == ["https://example.org/a?b=1", "#Inference", "#evals"]


def test_a_video_post_sends_its_video_where_the_channel_takes_one(cli: CliRunner, server: ChannelServer) -> None:
    post_id = approved_post(cli, video=1)
    assert publish(cli) == [post_id]
    post = run_cli(cli, "post", "show", str(post_id), "--json")
    video = Path(next(s["artifact"]["path"] for s in post["steps"] if s["name"] == "video"))

    # X: the chunked upload, processing waited for, the video alone on the post.
    (init,) = server.sent("POST", "/2/media/upload/initialize")
    assert init.json() == {
        "media_type": "video/mp4",
        "total_bytes": video.stat().st_size,
        "media_category": "tweet_video",
    }
    media_id = next(iter(server.videos))
    assert server.videos[media_id]["appended"] >= video.stat().st_size and server.videos[media_id]["status_calls"] == 2
    assert server.sent("POST", "/2/media/upload") == []  # no image next to the video
    assert server.sent("POST", "/2/tweets")[0].json()["media"]["media_ids"] == [media_id]

    # Mastodon: one attachment, the MP4, processed before the status went out.
    (upload,) = server.sent("POST", "/api/v2/media")
    assert b"video/mp4" in upload.body and b"image/png" not in upload.body

    # Bluesky: a service-auth token, the video service's job polled to completion, its blob in a video embed,
    # with the WebVTT captions as a caption track.
    (auth,) = server.sent("GET", "/xrpc/com.atproto.server.getServiceAuth")
    assert auth.query["lxm"] == ["com.atproto.repo.uploadBlob"] and auth.query["aud"][0].startswith("did:web:")
    (sent,) = server.sent("POST", "/xrpc/app.bsky.video.uploadVideo")
    assert sent.body == video.read_bytes() and sent.query["name"] == [video.name]
    assert len(server.sent("GET", "/xrpc/app.bsky.video.getJobStatus")) == server.processing_polls + 1
    embed = server.sent("POST", "/xrpc/com.atproto.repo.createRecord")[0].json()["record"]["embed"]
    (job,) = server.bluesky_jobs.values()
    assert embed["$type"] == "app.bsky.embed.video" and embed["video"] == job["blob"]
    assert embed["aspectRatio"] == {"width": 1080, "height": 1920}
    assert embed["captions"][0]["lang"] == "en" and embed["captions"][0]["file"]["mimeType"] == "text/vtt"

    # LinkedIn: the Videos API (initialize, every part PUT, finalize with the ETags), AVAILABLE, then the post.
    ((urn, uploaded),) = server.linkedin_videos.items()
    assert uploaded["finalized"] and uploaded["taken"] == video.stat().st_size
    (li,) = server.sent("POST", "/rest/posts")
    assert li.json()["content"]["media"]["id"] == urn
    assert len(server.sent("GET", "/rest/videos/" + quote(urn, safe=""))) == server.processing_polls + 1
