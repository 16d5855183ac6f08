"""LinkedIn's posts API: an image through the images API or a video through the videos API, then one
post as the author (no threads).

LinkedIn takes no idempotency key, so a retry reads the author's latest posts first and takes the
one with the same commentary. An uploaded image or video is stored by its URN as soon as LinkedIn
holds it whole, so a retry attaches it instead of uploading again.

A first comment goes through the Comments API (`socialActions/{post}/comments`, at most 1,250 characters);
a retry reads the post's comments for the author's with the same text, and its URN is kept in the ledger.

A video, as the Videos API documents it: `initializeUpload` (owner and size) answers with the video's
URN and upload instructions (one URL per byte range); each part is PUT and its ETag kept;
`finalizeUpload` with the ETags in order; then the video is polled until its status is AVAILABLE.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from beatdesk.models import Channel
from publishers.base import Outgoing, Published
from publishers.credentials import Credentials
from publishers.http import ChannelApi, PublishRefused
from publishers.ledger import MediaLedger, StoreLedger, commented_once, uploaded_once
from publishers.media import MediaLimits, is_video, media_for
from publishers.polling import PROCESSING_TIMEOUT_S, poll

LIMITS = MediaLimits(image_bytes=8 * 1024 * 1024, video_bytes=500 * 1024 * 1024, images=1)
VERSION = "202510"


class LinkedInPublisher:
    channel = "linkedin"

    def __init__(
        self,
        channel: Channel,
        credentials: Credentials,
        work_dir: Path,
        *,
        ledger: MediaLedger | None = None,
        processing_timeout_s: float = PROCESSING_TIMEOUT_S,
    ) -> None:
        if not channel.account.startswith(("urn:li:person:", "urn:li:organization:")):
            raise PublishRefused(
                f"linkedin: account must be the author's URN (urn:li:person:…), got {channel.account!r}"
            )
        self.base = (channel.url or "https://api.linkedin.com").rstrip("/")
        self.author, self.work_dir = channel.account, work_dir
        self.ledger = ledger or StoreLedger()
        self.processing_timeout_s = processing_timeout_s
        headers = {"Authorization": f"Bearer {credentials['token']}", "LinkedIn-Version": VERSION,
                   "X-Restli-Protocol-Version": "2.0.0"}  # fmt: skip
        self.api = ChannelApi(self.channel, headers)

    def publish(self, outgoing: Outgoing) -> Published:
        published = self._post_once(outgoing)
        comment = outgoing.first_comment(self.channel)
        if comment:
            commented_once(self.ledger, post_id=outgoing.post.id, channel=self.channel,
                           comment=lambda: self._comment_once(published.remote_id, comment))  # fmt: skip
        return published

    def _comment_once(self, urn: str, text: str) -> str:
        """The author's comment on the post: the one a lost answer made, found by its text, else a new one."""
        where = f"{self.base}/rest/socialActions/{quote(urn, safe='')}/comments"
        for element in self.api("GET", where).json().get("elements") or []:
            if element.get("actor") == self.author and (element.get("message") or {}).get("text") == text:
                return str(element.get("$URN") or element["id"])
        body = {"actor": self.author, "object": urn, "message": {"text": text}}
        made = self.api("POST", where, json=body)
        found = made.headers.get("x-restli-id") or (made.json() if made.content else {}).get("$URN")
        if not found:
            raise PublishRefused("linkedin accepted the comment but named no id")
        return str(found)

    def _post_once(self, outgoing: Outgoing) -> Published:
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
        files = media_for(self.channel, outgoing.media, LIMITS, self.work_dir)
        if files:
            path = files[0]
            upload = self._upload_video if is_video(path) else self._upload
            urn, _ = uploaded_once(self.ledger, post_id=outgoing.post.id, channel=self.channel, artifact=path,
                                   upload=lambda: upload(path))  # fmt: skip
            if is_video(path):
                self._wait_until_available(urn, path)
                body["content"] = {"media": {"id": urn, "title": outgoing.post.title[:200]}}
            else:
                body["content"] = {"media": {"id": urn, "altText": outgoing.alt[:4000]}}
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

    def _upload_video(self, path: Path) -> str:
        size = path.stat().st_size
        started = self.api("POST", f"{self.base}/rest/videos", params={"action": "initializeUpload"},
                           json={"initializeUploadRequest": {"owner": self.author, "fileSizeBytes": size,
                                                             "uploadCaptions": False,
                                                             "uploadThumbnail": False}}).json()["value"]  # fmt: skip
        etags: list[str] = []
        with path.open("rb") as file:
            for part in started["uploadInstructions"]:
                file.seek(int(part["firstByte"]))
                chunk = file.read(int(part["lastByte"]) - int(part["firstByte"]) + 1)
                answer = self.api("PUT", part["uploadUrl"], content=chunk,
                                  headers={"Content-Type": "application/octet-stream"})  # fmt: skip
                etag = answer.headers.get("etag")
                if not etag:
                    raise PublishRefused(f"linkedin took part {len(etags) + 1} of {path.name} but sent no ETag")
                etags.append(etag)
        urn = str(started["video"])
        self.api("POST", f"{self.base}/rest/videos", params={"action": "finalizeUpload"},
                 json={"finalizeUploadRequest": {"video": urn, "uploadToken": started.get("uploadToken", ""),
                                                 "uploadedPartIds": etags}})  # fmt: skip
        return urn

    def _wait_until_available(self, urn: str, path: Path) -> None:
        def available() -> bool | None:
            status = self.api("GET", f"{self.base}/rest/videos/{quote(urn, safe='')}").json().get("status")
            if status == "PROCESSING_FAILED":
                raise PublishRefused(f"linkedin could not process the video {path.name} ({urn})")
            return True if status == "AVAILABLE" else None

        poll(available, what=f"linkedin: the video {urn}", timeout_s=self.processing_timeout_s)

    def _published(self, urn: str) -> Published:
        return Published(remote_id=urn, url=f"https://www.linkedin.com/feed/update/{urn}/")
