"""X (API v2): images through /2/media/upload, a video by the chunked upload, posts through /2/tweets,
a thread as replies.

X takes no idempotency key, so before each part a retry reads the account's recent posts and
takes the one with the same text (links compared loosely: X rewrites them to t.co). A first comment is a
reply to the last part, found the same way on a retry; its id is kept in the ledger.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from beatdesk.channels import URL
from beatdesk.models import Channel
from publishers.base import Outgoing, Published
from publishers.credentials import Credentials
from publishers.http import ChannelApi, PublishRefused, TransientPublishError
from publishers.ledger import MediaLedger, StoreLedger, commented_once
from publishers.media import MediaLimits, content_type, is_video, media_for

LIMITS = MediaLimits(image_bytes=5 * 1024 * 1024, video_bytes=512 * 1024 * 1024)
CHUNK = 4 * 1024 * 1024
PROCESSING_TIMEOUT_S = 600


def _same_text(a: str, b: str) -> bool:
    return URL.sub("<link>", a).strip() == URL.sub("<link>", b).strip()


class XPublisher:
    channel = "x"

    def __init__(
        self, channel: Channel, credentials: Credentials, work_dir: Path, *, ledger: MediaLedger | None = None
    ) -> None:
        self.base = (channel.url or "https://api.x.com").rstrip("/")
        self.work_dir = work_dir
        self.ledger = ledger or StoreLedger()
        self.api = ChannelApi(self.channel, {"Authorization": f"Bearer {credentials['token']}"})

    def publish(self, outgoing: Outgoing) -> Published:
        me = self.api("GET", f"{self.base}/2/users/me").json()["data"]
        recent = self._recent(me["id"])
        first: Published | None = None
        reply_to = None
        for index, text in enumerate(outgoing.parts):
            found = next((t for t in recent if _same_text(t["text"], text)), None)
            if found is None:
                body: dict[str, Any] = {"text": text}
                if index == 0:
                    media_ids = [self._upload(path) for path in media_for(self.channel, outgoing.media, LIMITS,
                                                                          self.work_dir)]  # fmt: skip
                    if media_ids:
                        body["media"] = {"media_ids": media_ids}
                if reply_to:
                    body["reply"] = {"in_reply_to_tweet_id": reply_to}
                found = self.api("POST", f"{self.base}/2/tweets", json=body).json()["data"]
            reply_to = str(found["id"])
            first = first or Published(remote_id=reply_to, url=f"https://x.com/{me['username']}/status/{reply_to}")
        assert first is not None and reply_to is not None
        comment = outgoing.first_comment(self.channel)
        if comment:  # a reply to the last part; a lost answer is found among the recent posts by its text
            commented_once(self.ledger, post_id=outgoing.post.id, channel=self.channel,
                           comment=lambda: self._reply_once(comment, reply_to, recent))  # fmt: skip
        return first

    def _reply_once(self, text: str, reply_to: str, recent: list[dict[str, Any]]) -> str:
        found = next((t for t in recent if _same_text(t["text"], text)), None)
        if found is None:
            body = {"text": text, "reply": {"in_reply_to_tweet_id": reply_to}}
            found = self.api("POST", f"{self.base}/2/tweets", json=body).json()["data"]
        return str(found["id"])

    def _recent(self, user_id: str) -> list[dict[str, Any]]:
        answer = self.api("GET", f"{self.base}/2/users/{user_id}/tweets",
                      params={"max_results": 20}).json()  # fmt: skip
        return list(answer.get("data") or [])

    def _upload(self, path: Path) -> str:
        if is_video(path):
            return self._upload_video(path)
        with path.open("rb") as file:
            answer = self.api("POST", f"{self.base}/2/media/upload",
                          files={"media": (path.name, file, content_type(path))},
                          data={"media_category": "tweet_image"}).json()  # fmt: skip
        return str(answer["data"]["id"])

    def _upload_video(self, path: Path) -> str:
        """Chunked: initialize, append each piece, finalize, then wait while X processes the video."""
        size = path.stat().st_size
        init = self.api("POST", f"{self.base}/2/media/upload/initialize",
                    json={"media_type": content_type(path), "total_bytes": size,
                          "media_category": "tweet_video"}).json()["data"]  # fmt: skip
        media_id = str(init["id"])
        with path.open("rb") as file:
            for index, chunk in enumerate(iter(lambda: file.read(CHUNK), b"")):
                self.api("POST", f"{self.base}/2/media/upload/{media_id}/append",
                     files={"media": ("chunk", chunk, "application/octet-stream")},
                     data={"segment_index": str(index)})  # fmt: skip
        done = self.api("POST", f"{self.base}/2/media/upload/{media_id}/finalize").json()
        info = done["data"].get("processing_info")
        deadline = time.monotonic() + PROCESSING_TIMEOUT_S
        while info and info.get("state") in ("pending", "in_progress"):
            if time.monotonic() > deadline:
                raise TransientPublishError(
                    f"x: the video {media_id} is still processing after {PROCESSING_TIMEOUT_S}s"
                )
            time.sleep(min(float(info.get("check_after_secs", 1)), 10.0))
            status = self.api("GET", f"{self.base}/2/media/upload",
                          params={"command": "STATUS", "media_id": media_id}).json()  # fmt: skip
            info = status["data"].get("processing_info")
        if info and info.get("state") == "failed":
            reason = (info.get("error") or {}).get("message", "no reason given")
            raise PublishRefused(f"x could not process the video {path.name}: {reason}")
        return media_id
