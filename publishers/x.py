"""X (API v2): images through /2/media/upload, posts through /2/tweets, a thread as replies.

X takes no idempotency key, so before each part a retry reads the account's recent posts and
takes the one with the same text (links compared loosely: X rewrites them to t.co).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from beatdesk.models import Channel
from publishers.base import Outgoing, Published
from publishers.credentials import Credentials
from publishers.http import call, client
from publishers.media import MediaLimits, content_type, media_for

LIMITS = MediaLimits(image_bytes=5 * 1024 * 1024)
_URL = re.compile(r"https?://\S+")


def _same_text(a: str, b: str) -> bool:
    return _URL.sub("<link>", a).strip() == _URL.sub("<link>", b).strip()


class XPublisher:
    channel = "x"

    def __init__(self, channel: Channel, credentials: Credentials, work_dir: Path) -> None:
        self.base = (channel.url or "https://api.x.com").rstrip("/")
        self.work_dir = work_dir
        self.http = client()
        self.http.headers["Authorization"] = f"Bearer {credentials['token']}"

    def publish(self, outgoing: Outgoing) -> Published:
        me = call(self.http, self.channel, "GET", f"{self.base}/2/users/me").json()["data"]
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
                found = call(self.http, self.channel, "POST", f"{self.base}/2/tweets", json=body).json()["data"]
            reply_to = str(found["id"])
            first = first or Published(remote_id=reply_to, url=f"https://x.com/{me['username']}/status/{reply_to}")
        assert first is not None
        return first

    def _recent(self, user_id: str) -> list[dict[str, Any]]:
        answer = call(self.http, self.channel, "GET", f"{self.base}/2/users/{user_id}/tweets",
                      params={"max_results": 20}).json()  # fmt: skip
        return list(answer.get("data") or [])

    def _upload(self, path: Path) -> str:
        with path.open("rb") as file:
            answer = call(self.http, self.channel, "POST", f"{self.base}/2/media/upload",
                          files={"media": (path.name, file, content_type(path))},
                          data={"media_category": "tweet_image"}).json()  # fmt: skip
        return str(answer["data"]["id"])
