"""Threads and Instagram through Meta's Graph API: a media container, its status polled until FINISHED,
then published; a Threads thread as replies.

Both fetch media from a public URL rather than take an upload, so the channel's `media_url` names
where $BEATDESK_HOME/artifacts/ is served. Instagram takes JPEG images only (a PNG goes as a JPEG copy
beside it) and a video as a Reel.

Neither takes an idempotency key. A container's id is stored as soon as it is created, per post,
channel and part, so a retry polls and publishes that container instead of creating another; and
before each part a retry reads the account's latest posts (and, on Threads, its replies) and takes the
one with the same text (a lost answer after publishing).

A first comment goes out once after the post: on Threads a reply to the thread's last part (a container
of its own, stored like a part's, polled, then published); on Instagram a comment on the published media
(`POST /{ig-media-id}/comments`). Its id is kept in the ledger; a retry first looks for one with the same
text among the account's replies (Threads) or the media's comments (Instagram).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from beatdesk.models import Channel
from publishers.base import Outgoing, Published
from publishers.credentials import Credentials
from publishers.http import ChannelApi, PublishRefused, TransientPublishError
from publishers.ledger import MediaLedger, StoreLedger, commented_once
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
    replies: str | None = None
    """The edge listing the account's replies (a thread's later parts, a first comment), where it has one."""


THREADS = GraphDialect(
    channel="threads", base="https://graph.threads.net/v1.0", create="threads", publish="threads_publish",
    text_field="text", status_field="status", image_type="IMAGE", video_type="VIDEO", text_type="TEXT",
    recent_fields="id,text,permalink", limits=MediaLimits(image_bytes=8 * 1024 * 1024,
                                                           video_bytes=1024 * 1024 * 1024, images=1),
    replies="replies",
)  # fmt: skip
INSTAGRAM = GraphDialect(
    channel="instagram", base="https://graph.instagram.com/v21.0", create="media", publish="media_publish",
    text_field="caption", status_field="status_code", image_type=None, video_type="REELS", text_type=None,
    recent_fields="id,caption,permalink", limits=MediaLimits(image_bytes=8 * 1024 * 1024,
                                                             video_bytes=300 * 1024 * 1024, images=1),
    jpeg_only=True,
)  # fmt: skip


COMMENT_CONTAINER = Path("first-comment-container")
"""The ledger's entry for the container of a Threads first comment (a reply), kept until it is published."""


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
        assert first is not None and reply_to is not None  # a post has at least one part
        comment = outgoing.first_comment(self.channel)
        if comment:
            last = reply_to
            commented_once(self.ledger, post_id=outgoing.post.id, channel=self.channel,
                           comment=lambda: self._comment_once(outgoing, comment, last))  # fmt: skip
        return first

    def _comment_once(self, outgoing: Outgoing, text: str, last: str) -> str:
        """The first comment's id on the post whose last part is `last`: the one a lost answer made, or a new one."""
        raise NotImplementedError

    def _post(self, outgoing: Outgoing, index: int, text: str, files: tuple[Path, ...], reply_to: str | None) -> str:
        """Create (or resume) this part's container, wait for FINISHED, publish it; the published media's id."""
        media = files[0] if index == 0 and files else None
        slot = media or Path(f"part-{index}")  # the ledger's key: the file, or the part of a text thread
        return self._published(outgoing, slot, text, media, reply_to)

    def _published(self, outgoing: Outgoing, slot: Path, text: str, media: Path | None, reply_to: str | None) -> str:
        """Publish the container stored under `slot` (made first, and stored at once, if there is none)."""
        post_id, channel = outgoing.post.id, self.channel
        container = self.ledger.recall(post_id=post_id, channel=channel, artifact=slot)
        status = self._status(container)[0] if container is not None else None
        if status == "PUBLISHED":  # an earlier attempt published it and lost the answer; the account lists it soon
            raise TransientPublishError(f"{channel}: container {container} is published but not yet listed")
        if status in ("EXPIRED", "ERROR"):
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
        """The account's latest posts, and its latest replies where they are listed apart (a thread's later parts)."""
        edges = [self.dialect.create] + ([self.dialect.replies] if self.dialect.replies else [])
        return [item for edge in edges for item in self._listed(f"{self.user}/{edge}", self.dialect.recent_fields)]

    def _listed(self, edge: str, fields: str) -> list[dict[str, Any]]:
        answer = self.api("GET", f"{self.base}/{edge}", params={"fields": fields, "limit": 25}).json()
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

    def _comment_once(self, outgoing: Outgoing, text: str, last: str) -> str:
        """A reply to the last part: found among the account's replies by its text, else published from its own
        container (stored like a part's, so a retry resumes it)."""
        for reply in self._listed(f"{self.user}/replies", "id,text,replied_to"):
            replied_to = (reply.get("replied_to") or {}).get("id")
            if reply.get("text") == text and replied_to in (None, last):
                return str(reply["id"])
        return self._published(outgoing, COMMENT_CONTAINER, text, None, last)


class InstagramPublisher(GraphPublisher):
    dialect = INSTAGRAM

    def _comment_once(self, outgoing: Outgoing, text: str, last: str) -> str:
        """A comment on the published media: found among its comments by its text, else made."""
        where = f"{self.base}/{last}/comments"
        for comment in self._listed(f"{last}/comments", "id,text,timestamp"):
            if comment.get("text") == text:
                return str(comment["id"])
        return str(self.api("POST", where, params={"message": text}).json()["id"])
