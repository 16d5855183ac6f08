"""Mastodon: media through /api/v2/media, waited on until processed, then statuses (a thread answers
itself), each with an Idempotency-Key, so a retry after a lost answer gets the status it already made.
The text is fitted to the instance's own limit, which it gives at /api/v2/instance.

Since Mastodon 4, `POST /api/v2/media` answers 202 while a video (or a large image) is processed, and
`GET /api/v1/media/:id` answers 206 until it is ready and 200 once it is; a status that attaches it
before then is refused with 422 ("…not finished processing. Try again in a moment!"). So each upload
is polled, with a deadline, before the status goes out. The media id is stored as soon as the upload
answers, and a retry attaches it instead of uploading the file again.

A first comment is a reply to the thread's last part, with its own key; its id is kept in the ledger.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from beatdesk.models import Channel
from publishers.base import Outgoing, Published
from publishers.credentials import Credentials
from publishers.http import ChannelApi
from publishers.ledger import MediaLedger, StoreLedger, commented_once, uploaded_once
from publishers.media import MediaLimits, content_type, media_for
from publishers.polling import PROCESSING_TIMEOUT_S, poll

LIMITS = MediaLimits(image_bytes=16 * 1024 * 1024, video_bytes=99 * 1024 * 1024)


class MastodonPublisher:
    channel = "mastodon"

    def __init__(
        self,
        channel: Channel,
        credentials: Credentials,
        work_dir: Path,
        *,
        ledger: MediaLedger | None = None,
        processing_timeout_s: float = PROCESSING_TIMEOUT_S,
    ) -> None:
        assert channel.url is not None  # the persona file requires it
        self.base = channel.url.rstrip("/")
        self.work_dir = work_dir
        self.ledger = ledger or StoreLedger()
        self.processing_timeout_s = processing_timeout_s
        self.api = ChannelApi(self.channel, {"Authorization": f"Bearer {credentials['token']}"})

    def publish(self, outgoing: Outgoing) -> Published:
        files = media_for(self.channel, outgoing.media, LIMITS, self.work_dir)
        media_ids = [self._media(outgoing, path) for path in files]
        first: Published | None = None
        reply_to = None
        for index, text in enumerate(outgoing.parts):
            media = media_ids if index == 0 else []
            status = self._status(text, outgoing.key(index), reply_to=reply_to, media_ids=media)
            reply_to = str(status["id"])
            first = first or Published(remote_id=reply_to, url=status.get("url"))
        assert first is not None and reply_to is not None  # a post has at least one part
        comment = outgoing.first_comment(self.channel)
        if comment:  # a reply to the thread's last part; its key makes a retry get the same status back
            last, key = reply_to, outgoing.key("comment")
            commented_once(self.ledger, post_id=outgoing.post.id, channel=self.channel,
                           comment=lambda: str(self._status(comment, key, reply_to=last)["id"]))  # fmt: skip
        return first

    def _status(self, text: str, key: str, *, reply_to: str | None, media_ids: list[str] | None = None
                ) -> dict[str, Any]:  # fmt: skip
        body: dict[str, object] = {"status": text, "visibility": "public"}
        if media_ids:
            body["media_ids"] = media_ids
        if reply_to:
            body["in_reply_to_id"] = reply_to
        answer = self.api("POST", f"{self.base}/api/v1/statuses", json=body, headers={"Idempotency-Key": key})
        return dict(answer.json())

    def max_characters(self) -> int | None:
        """The instance's own limit (`configuration.statuses.max_characters` of /api/v2/instance; Mastodon 4+),
        or None where the instance does not say (an older one answers 404)."""
        answer = self.api("GET", f"{self.base}/api/v2/instance", ok=(404,))
        if answer.status_code == 404:
            return None
        limit = answer.json().get("configuration", {}).get("statuses", {}).get("max_characters")
        return limit if isinstance(limit, int) and limit > 0 else None

    def _media(self, outgoing: Outgoing, path: Path) -> str:
        """The file's media id on the instance, uploaded at most once per post, and processed."""
        media_id, _ = uploaded_once(self.ledger, post_id=outgoing.post.id, channel=self.channel, artifact=path,
                                    upload=lambda: self._upload(path, outgoing.alt))  # fmt: skip
        self._wait_until_processed(media_id, path)
        return media_id

    def _upload(self, path: Path, alt: str) -> str:
        # Bytes, not an open file: a request sent again after Retry-After must carry the whole file again.
        answer = self.api(
            "POST",
            f"{self.base}/api/v2/media",
            files={"file": (path.name, path.read_bytes(), content_type(path))},
            data={"description": alt[:1500]},
        )
        return str(answer.json()["id"])

    def _wait_until_processed(self, media_id: str, path: Path) -> None:
        """Poll the media until it is processed (200), within the deadline.

        206: still processing. 404: the instance shows no unattached media by that id, which after a lost
        answer means an earlier attempt's status already holds it; the status's Idempotency-Key then
        returns that status. 422 (processing failed) is a refusal, raised by the call."""

        def processed() -> bool | None:
            answer = self.api("GET", f"{self.base}/api/v1/media/{media_id}", ok=(206, 404))
            return True if answer.status_code in (200, 404) else None

        poll(processed, what=f"mastodon: {path.name} (media {media_id})", timeout_s=self.processing_timeout_s)
