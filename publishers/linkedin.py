"""LinkedIn's posts API: an image through the images API, then one post as the author (no threads).

LinkedIn takes no idempotency key, so a retry reads the author's latest posts first and takes the
one with the same commentary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from beatdesk.models import Channel
from publishers.base import Outgoing, Published
from publishers.credentials import Credentials
from publishers.http import ChannelApi, PublishRefused
from publishers.media import MediaLimits, media_for

LIMITS = MediaLimits(image_bytes=8 * 1024 * 1024, images=1)
VERSION = "202510"


class LinkedInPublisher:
    channel = "linkedin"

    def __init__(self, channel: Channel, credentials: Credentials, work_dir: Path) -> None:
        if not channel.account.startswith(("urn:li:person:", "urn:li:organization:")):
            raise PublishRefused(
                f"linkedin: account must be the author's URN (urn:li:person:…), got {channel.account!r}"
            )
        self.base = (channel.url or "https://api.linkedin.com").rstrip("/")
        self.author, self.work_dir = channel.account, work_dir
        headers = {"Authorization": f"Bearer {credentials['token']}", "LinkedIn-Version": VERSION,
                   "X-Restli-Protocol-Version": "2.0.0"}  # fmt: skip
        self.api = ChannelApi(self.channel, headers)

    def publish(self, outgoing: Outgoing) -> Published:
        text = outgoing.text
        latest = self.api("GET", f"{self.base}/rest/posts",
                      params={"q": "author", "author": self.author, "count": 10}).json()  # fmt: skip
        for element in latest.get("elements") or []:
            if element.get("commentary") == text:
                return self._published(str(element["id"]))
        body: dict[str, Any] = {
            "author": self.author, "commentary": text, "visibility": "PUBLIC", "lifecycleState": "PUBLISHED",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []},
            "isReshareDisabledByAuthor": False,
        }  # fmt: skip
        images = media_for(self.channel, outgoing.media, LIMITS, self.work_dir)
        if images:
            body["content"] = {"media": {"id": self._upload(images[0]), "altText": outgoing.alt[:4000]}}
        answer = self.api("POST", f"{self.base}/rest/posts", json=body)
        urn = answer.headers.get("x-restli-id")
        if not urn:
            raise PublishRefused("linkedin accepted the post but named no id (x-restli-id header missing)")
        return self._published(urn)

    def _upload(self, path: Path) -> str:
        started = self.api("POST", f"{self.base}/rest/images",
                       params={"action": "initializeUpload"},
                       json={"initializeUploadRequest": {"owner": self.author}}).json()["value"]  # fmt: skip
        self.api("PUT", started["uploadUrl"], content=path.read_bytes())
        return str(started["image"])

    def _published(self, urn: str) -> Published:
        return Published(remote_id=urn, url=f"https://www.linkedin.com/feed/update/{urn}/")
