"""Threads and Instagram through Meta's Graph API: a media container, its status polled until FINISHED,
then published; a Threads thread as replies.

Both fetch media from a public URL rather than take an upload, so the channel's `media_url` names
where $BEATDESK_HOME/artifacts/ is served. Instagram takes JPEG images only (a PNG goes as a JPEG copy
beside it) and a video as a Reel.

Neither takes an idempotency key. A container's id is stored as soon as it is created, per post,
channel and part, so a retry polls and publishes that container instead of creating another; and
before each part a retry reads the account's latest posts and takes the one with the same text
(a lost answer after publishing).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from beatdesk.models import Channel
from publishers.base import Outgoing, Published
from publishers.credentials import Credentials
from publishers.http import ChannelApi, PublishRefused
from publishers.ledger import MediaLedger, StoreLedger
from publishers.media import MediaLimits, is_video, media_for
from publishers.polling import PROCESSING_TIMEOUT_S, poll


@dataclass(frozen=True)
class GraphDialect:
    """Where Threads and Instagram differ: endpoints, field names, media types."""

    channel: str
    base: str
    create: str
    publish: str
    text_field: str
    status_field: str
    image_type: str | None
    video_type: str
    text_type: str | None
    """None: the channel takes no post without media."""
    recent_fields: str
    limits: MediaLimits
    jpeg_only: bool = False


THREADS = GraphDialect(
    channel="threads", base="https://graph.threads.net/v1.0", create="threads", publish="threads_publish",
    text_field="text", status_field="status", image_type="IMAGE", video_type="VIDEO", text_type="TEXT",
    recent_fields="id,text,permalink", limits=MediaLimits(image_bytes=8 * 1024 * 1024,
                                                           video_bytes=1024 * 1024 * 1024, images=1),
)  # fmt: skip
INSTAGRAM = GraphDialect(
    channel="instagram", base="https://graph.instagram.com/v21.0", create="media", publish="media_publish",
    text_field="caption", status_field="status_code", image_type=None, video_type="REELS", text_type=None,
    recent_fields="id,caption,permalink", limits=MediaLimits(image_bytes=8 * 1024 * 1024,
                                                             video_bytes=300 * 1024 * 1024, images=1),
    jpeg_only=True,
)  # fmt: skip


class GraphPublisher:
    """One Graph API channel; see ThreadsPublisher and InstagramPublisher."""

    dialect: GraphDialect

    def __init__(
        self,
        channel: Channel,
        credentials: Credentials,
        work_dir: Path,
        *,
        ledger: MediaLedger | None = None,
        processing_timeout_s: float = PROCESSING_TIMEOUT_S,
    ) -> None:
        self.channel = self.dialect.channel
        self.base = (channel.url or self.dialect.base).rstrip("/")
        self.user = channel.account or "me"
        self.media_url = channel.media_url.rstrip("/") + "/" if channel.media_url else None
        self.work_dir, self.ledger = work_dir, ledger or StoreLedger()
        self.processing_timeout_s = processing_timeout_s
        self.api = ChannelApi(self.channel, {"Authorization": f"Bearer {credentials['token']}"})

    def publish(self, outgoing: Outgoing) -> Published:
        files = media_for(self.channel, outgoing.media, self.dialect.limits, self.work_dir)
        if not files and self.dialect.text_type is None:
            raise PublishRefused(f"{self.channel} takes no post without an image or a video")
        recent = self._recent()
        first: Published | None = None
        reply_to = None
        for index, text in enumerate(outgoing.parts):
            found = next((item for item in recent if item.get(self.dialect.text_field) == text), None)
            media_id = str(found["id"]) if found else self._post(outgoing, index, text, files, reply_to)
            reply_to = media_id
            if first is None:
                link = found.get("permalink") if found else self._permalink(media_id)
                first = Published(remote_id=media_id, url=link)
        assert first is not None  # a post has at least one part
        return first

    def _post(self, outgoing: Outgoing, index: int, text: str, files: tuple[Path, ...], reply_to: str | None) -> str:
        """Create (or resume) this part's container, wait for FINISHED, publish it; the published media's id."""
        media = files[0] if index == 0 and files else None
        slot = media or Path(f"part-{index}")  # the ledger's key: the file, or the part of a text thread
        post_id, channel = outgoing.post.id, self.channel
        container = self.ledger.recall(post_id=post_id, channel=channel, artifact=slot)
        if container is not None and self._status(container)[0] in ("EXPIRED", "ERROR"):
            self.ledger.forget(post_id=post_id, channel=channel, artifact=slot)  # containers live 24 hours
            container = None
        if container is None:
            container = self._container(text, media, reply_to)
            # Stored before waiting: a retry resumes this container instead of creating another.
            self.ledger.remember(post_id=post_id, channel=channel, artifact=slot, media_id=container)
        self._wait_until_finished(container)
        answer = self.api("POST", f"{self.base}/{self.user}/{self.dialect.publish}", params={"creation_id": container})
        return str(answer.json()["id"])

    def _container(self, text: str, media: Path | None, reply_to: str | None) -> str:
        params: dict[str, str] = {self.dialect.text_field: text}
        if media is None:
            assert self.dialect.text_type is not None  # publish() refused media-less posts on Instagram
            params["media_type"] = self.dialect.text_type
        elif is_video(media):
            params |= {"media_type": self.dialect.video_type, "video_url": self._public_url(media)}
        else:
            if self.dialect.image_type:
                params["media_type"] = self.dialect.image_type
            params["image_url"] = self._public_url(self._jpeg(media) if self.dialect.jpeg_only else media)
        if reply_to:
            params["reply_to_id"] = reply_to
        answer = self.api("POST", f"{self.base}/{self.user}/{self.dialect.create}", params=params)
        return str(answer.json()["id"])

    def _status(self, container: str) -> tuple[str, str]:
        """The container's status, and the reason the API gives for an error."""
        field = self.dialect.status_field
        answer = self.api("GET", f"{self.base}/{container}", params={"fields": f"{field},error_message"}).json()
        return str(answer.get(field)), str(answer.get("error_message") or "no reason given")

    def _wait_until_finished(self, container: str) -> None:
        def finished() -> bool | None:
            status, reason = self._status(container)
            if status in ("ERROR", "EXPIRED"):
                raise PublishRefused(f"{self.channel} could not prepare the post ({status}): {reason}")
            return True if status in ("FINISHED", "PUBLISHED") else None

        poll(finished, what=f"{self.channel}: container {container}", timeout_s=self.processing_timeout_s)

    def _recent(self) -> list[dict[str, Any]]:
        answer = self.api("GET", f"{self.base}/{self.user}/{self.dialect.create}",
                          params={"fields": self.dialect.recent_fields, "limit": 25}).json()  # fmt: skip
        return list(answer.get("data") or [])

    def _permalink(self, media_id: str) -> str | None:
        answer = self.api("GET", f"{self.base}/{media_id}", params={"fields": "permalink"}).json()
        link = answer.get("permalink")
        return str(link) if link else None

    def _public_url(self, path: Path) -> str:
        """The file's address under `media_url`, which serves the artifacts folder."""
        if self.media_url is None:
            raise PublishRefused(f"{self.channel} fetches media from a public URL: set media_url on the channel "
                                 "to where $BEATDESK_HOME/artifacts/ is served")  # fmt: skip
        parts = path.resolve().parts
        if "artifacts" not in parts:
            raise PublishRefused(f"{self.channel}: {path.name} is not under the artifacts folder that media_url serves")
        below = parts[len(parts) - parts[::-1].index("artifacts") :]
        return self.media_url + "/".join(below)

    def _jpeg(self, path: Path) -> Path:
        """Instagram takes JPEG only: a JPEG copy beside the image (so media_url serves it too)."""
        if path.suffix.lower() in (".jpg", ".jpeg"):
            return path
        target = path.with_name(f"{path.stem}-{self.channel}.jpg")
        if not target.exists():
            with Image.open(path) as original:
                original.convert("RGB").save(target, format="JPEG", quality=90)
        return target


class ThreadsPublisher(GraphPublisher):
    dialect = THREADS


class InstagramPublisher(GraphPublisher):
    dialect = INSTAGRAM
