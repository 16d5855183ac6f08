"""Threads and Instagram against a loopback server that follows the Graph API's container flow: a
container per post, its status polled until FINISHED, then published; a retry resumes the stored
container and never publishes twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from beatdesk.models import Channel, Post, StepStatus
from beatdesk.settings import get_settings
from beatdesk.store import open_store, repo
from publishers.base import Outgoing, Published
from publishers.channel_text import channel_parts
from publishers.credentials import Credentials
from publishers.graph import GraphPublisher, InstagramPublisher, ThreadsPublisher
from publishers.http import PublishAuthError, PublishRefused, TransientPublishError
from tests.fake_channels import TOKEN, ChannelServer
from tests.test_publish_channels import approved_post, server

__all__ = ["server"]  # the fixture, shared with the channel tests


def stored_post(post_id: int) -> Post:
    with open_store(get_settings().effective_database_url).session() as session:
        return repo.get_post(session, post_id)


def outgoing_for(post: Post, channel: Channel) -> Outgoing:
    media = {s.name: Path(s.artifact.path) for s in post.steps
             if s.artifact and s.artifact.path and s.status is StepStatus.done}  # fmt: skip
    return Outgoing(post=post, parts=tuple(channel_parts(post, channel)), media=tuple(media.values()), alt=post.title)


def channel(server: ChannelServer, name: str, *, media: bool = True) -> Channel:
    prefix = "threads-api" if name == "threads" else "ig-api"
    return Channel(name=name, url=f"{server.url}{prefix}",  # type: ignore[arg-type]
                   media_url=f"{server.url}media/" if media else None)  # fmt: skip


def publish_with_retries(publisher: GraphPublisher, outgoing: Outgoing, tries: int = 4) -> Published:
    """What the publish stage does: a transient error is tried again."""
    for attempt in range(tries):
        try:
            return publisher.publish(outgoing)
        except TransientPublishError:
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def test_threads_posts_a_thread_with_the_image_first(cli: CliRunner, server: ChannelServer, tmp_path: Path) -> None:
    post = stored_post(approved_post(cli))
    threads = channel(server, "threads")
    outgoing = outgoing_for(post, threads)
    assert len(outgoing.parts) >= 2  # a hero_text body goes out as a thread on Threads
    published = ThreadsPublisher(threads, Credentials({"token": TOKEN}), tmp_path).publish(outgoing)
    shown = server.posts["threads"]
    assert [m["text"] for m in shown] == list(outgoing.parts)
    first = server.containers[shown[0]["container"]]["params"]
    assert first["media_type"] == "IMAGE" and first["image_url"].endswith(".png")
    assert first["image_url"].startswith(f"{server.url}media/batch-")  # where media_url serves the artifacts
    assert all(server.containers[m["container"]]["params"]["media_type"] == "TEXT" for m in shown[1:])
    assert [m["reply_to_id"] for m in shown[1:]] == [m["id"] for m in shown[:-1]]
    assert published.remote_id == shown[0]["id"] and published.url == shown[0]["permalink"]
    polls = [r for r in server.requests if r.method == "GET" and r.path.startswith("/threads-api/c")]
    assert len(polls) >= len(shown)  # every container's status read before it was published


def test_instagram_posts_a_reel_after_processing(cli: CliRunner, server: ChannelServer, tmp_path: Path) -> None:
    server.processing_polls = 3
    post = stored_post(approved_post(cli, video=1))
    instagram = channel(server, "instagram")
    outgoing = outgoing_for(post, instagram)
    published = InstagramPublisher(instagram, Credentials({"token": TOKEN}), tmp_path).publish(outgoing)
    ((cid, container),) = server.containers.items()
    assert container["params"]["media_type"] == "REELS" and container["params"]["video_url"].endswith(".mp4")
    assert container["params"]["caption"] == outgoing.parts[0] and container["status"] == "PUBLISHED"
    polls = server.sent("GET", f"/ig-api/{cid}")
    assert len(polls) == 4 and polls[0].query["fields"][0].startswith("status_code")
    assert published.remote_id == server.posts["instagram"][0]["id"]


def test_instagram_gets_a_jpeg_copy_of_a_png(cli: CliRunner, server: ChannelServer, tmp_path: Path) -> None:
    post = stored_post(approved_post(cli))
    instagram = channel(server, "instagram")
    InstagramPublisher(instagram, Credentials({"token": TOKEN}), tmp_path).publish(outgoing_for(post, instagram))
    ((_, container),) = server.containers.items()
    url = container["params"]["image_url"]
    assert url.endswith("-instagram.jpg")
    copy = get_settings().home / "artifacts" / url.removeprefix(f"{server.url}media/")
    assert copy.read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG, beside the PNG it was made from


def test_a_lost_publish_answer_is_found_and_not_published_again(
    cli: CliRunner, server: ChannelServer, tmp_path: Path
) -> None:
    post = stored_post(approved_post(cli))
    instagram = channel(server, "instagram")
    server.lose_answers["instagram"] = 1  # published, and the answer never arrives
    publisher = InstagramPublisher(instagram, Credentials({"token": TOKEN}), tmp_path)
    published = publish_with_retries(publisher, outgoing_for(post, instagram))
    assert len(server.posts["instagram"]) == 1 and len(server.containers) == 1
    assert published.remote_id == server.posts["instagram"][0]["id"]


def test_a_failed_publish_resumes_the_stored_container(cli: CliRunner, server: ChannelServer, tmp_path: Path) -> None:
    post = stored_post(approved_post(cli, video=1))
    threads = channel(server, "threads")
    server.create_errors["threads"] = [503]  # threads_publish fails once, after the container is FINISHED
    publisher = ThreadsPublisher(threads, Credentials({"token": TOKEN}), tmp_path)
    publish_with_retries(publisher, outgoing_for(post, threads))
    assert len(server.containers) == 1 and len(server.posts["threads"]) == 1  # one container, one post
    assert len(server.sent("POST", "/threads-api/me/threads_publish")) == 2


def test_graph_channels_need_a_public_media_url(cli: CliRunner, server: ChannelServer, tmp_path: Path) -> None:
    post = stored_post(approved_post(cli))
    threads = channel(server, "threads", media=False)
    with pytest.raises(PublishRefused, match="set media_url"):
        ThreadsPublisher(threads, Credentials({"token": TOKEN}), tmp_path).publish(outgoing_for(post, threads))
    assert server.containers == {}


def test_an_expired_token_is_an_auth_error(cli: CliRunner, server: ChannelServer, tmp_path: Path) -> None:
    """The Graph API answers 400 with code 190 for an expired token: a block for new credentials, not a refusal."""
    post = stored_post(approved_post(cli))
    instagram = channel(server, "instagram")
    with pytest.raises(PublishAuthError, match="Session has expired"):
        InstagramPublisher(instagram, Credentials({"token": "expired"}), tmp_path).publish(
            outgoing_for(post, instagram)
        )
