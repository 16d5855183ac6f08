"""Mastodon: media through /api/v2/media, then statuses (a thread answers itself), each with an
Idempotency-Key, so a retry after a lost answer gets the status it already made instead of a new one."""

from __future__ import annotations

from pathlib import Path

from beatdesk.models import Channel
from publishers.base import Outgoing, Published
from publishers.credentials import Credentials
from publishers.http import ChannelApi
from publishers.media import MediaLimits, content_type, media_for

LIMITS = MediaLimits(image_bytes=16 * 1024 * 1024, video_bytes=99 * 1024 * 1024)


class MastodonPublisher:
    channel = "mastodon"

    def __init__(self, channel: Channel, credentials: Credentials, work_dir: Path) -> None:
        assert channel.url is not None  # the persona file requires it
        self.base = channel.url.rstrip("/")
        self.work_dir = work_dir
        self.api = ChannelApi(self.channel, {"Authorization": f"Bearer {credentials['token']}"})

    def publish(self, outgoing: Outgoing) -> Published:
        media_ids = [self._upload(path, outgoing.alt) for path in media_for(self.channel, outgoing.media, LIMITS,
                                                                                self.work_dir)]  # fmt: skip
        first: Published | None = None
        reply_to = None
        for index, text in enumerate(outgoing.parts):
            body: dict[str, object] = {"status": text, "visibility": "public"}
            if index == 0 and media_ids:
                body["media_ids"] = media_ids
            if reply_to:
                body["in_reply_to_id"] = reply_to
            status = self.api("POST", f"{self.base}/api/v1/statuses", json=body,
                          headers={"Idempotency-Key": outgoing.key(index)}).json()  # fmt: skip
            reply_to = str(status["id"])
            first = first or Published(remote_id=reply_to, url=status.get("url"))
        assert first is not None  # a post has at least one part
        return first

    def _upload(self, path: Path, alt: str) -> str:
        with path.open("rb") as file:
            answer = self.api(
                "POST",
                f"{self.base}/api/v2/media",
                files={"file": (path.name, file, content_type(path))},
                data={"description": alt[:1500]},
            )
        return str(answer.json()["id"])
