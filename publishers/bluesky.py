"""Bluesky over atproto XRPC: a session from the app password, image blobs or a video, posts with facets
for links and hashtags, a thread as replies.

Each part's record key is derived from the post and the installation (a TID), so a retry asks the
repo for that record first and creates only the parts that are not there yet: a lost answer never
posts twice, and another installation's post 1 is never taken for this one's.

A video goes through Bluesky's video service, as its documentation describes: a service-auth token
from the PDS (`com.atproto.server.getServiceAuth`, audience the PDS's did:web, method
`com.atproto.repo.uploadBlob`), `app.bsky.video.uploadVideo` to the video service, then
`app.bsky.video.getJobStatus` polled until JOB_STATE_COMPLETED gives the blob for an
`app.bsky.embed.video` (with the WebVTT captions beside the MP4 as a caption track). The job id is
stored as soon as the upload answers and the blob once the job completes, so a retry never uploads
the video again.

A first comment is a reply to the thread's last part, at a record key of its own; its uri is kept in the ledger.
"""

from __future__ import annotations

import json
import re
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PIL import Image

from beatdesk.channels import URL
from beatdesk.models import Channel, Post
from publishers.base import Outgoing, Published
from publishers.credentials import Credentials
from publishers.http import ChannelApi, PublishRefused
from publishers.ledger import MediaLedger, StoreLedger, commented_once
from publishers.media import MediaLimits, content_type, is_video, media_for
from publishers.polling import PROCESSING_TIMEOUT_S, poll

LIMITS = MediaLimits(image_bytes=1_000_000, video_bytes=50_000_000)
"""app.bsky.embed.video takes an MP4 of at most 50 MB."""
VIDEO_SERVICE = "https://video.bsky.app"
CAPTION_BYTES = 20_000
"""app.bsky.embed.video#caption: a text/vtt blob of at most 20 kB."""
COLLECTION = "app.bsky.feed.post"
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_TAG = re.compile(r"(?<![\w#])#([^\s#]*[^\s#.,;:!?)\]'\"])")


def tid(micros: int, clock: int) -> str:
    """atproto's timestamp identifier: 53 bits of microseconds and 10 of clock id, base32-sortable."""
    value = (micros << 10) | (clock & 0x3FF)
    return "".join(_TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def record_key(post: Post, part: int, installation: str = "", *, comment: bool = False) -> str:
    """A part's record key; the first comment's differs from every part's in the clock id's top bit."""
    at = post.slot_at or post.status_changed_at
    micros = int(at.timestamp()) * 1_000_000 + (post.id % 100_000) * 10 + part
    clock = (post.id // 100_000 + zlib.crc32(installation.encode())) & 0x3FF
    return tid(micros, clock ^ 0x200 if comment else clock)


def facets(text: str) -> list[dict[str, Any]]:
    """Links and hashtags as rich-text facets; offsets are UTF-8 bytes, as atproto counts them."""

    def span(start: int, end: int) -> dict[str, int]:
        return {"byteStart": len(text[:start].encode()), "byteEnd": len(text[:end].encode())}

    found = []
    for match in URL.finditer(text):
        url = match.group().rstrip(".,;:!?)]'\"")
        found.append({"index": span(match.start(), match.start() + len(url)),
                      "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}]})  # fmt: skip
    for match in _TAG.finditer(text):
        if any(m.start() <= match.start() < m.end() for m in URL.finditer(text)):
            continue  # a fragment inside a link is not a hashtag
        found.append({"index": span(match.start(), match.end()),
                      "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": match.group(1)}]})  # fmt: skip
    return sorted(found, key=lambda facet: facet["index"]["byteStart"])


class BlueskyPublisher:
    channel = "bluesky"

    def __init__(
        self,
        channel: Channel,
        credentials: Credentials,
        work_dir: Path,
        *,
        ledger: MediaLedger | None = None,
        processing_timeout_s: float = PROCESSING_TIMEOUT_S,
    ) -> None:
        pds = (channel.url or "https://bsky.social").rstrip("/")
        self.base = pds + "/xrpc/"
        self.pds_did = "did:web:" + urlsplit(pds).netloc.replace(":", "%3A")
        self.video_base = (channel.video_url or VIDEO_SERVICE).rstrip("/") + "/xrpc/"
        self.ledger = ledger or StoreLedger()
        self.processing_timeout_s = processing_timeout_s
        self.handle = channel.account.lstrip("@")
        if not self.handle:
            raise PublishRefused("bluesky: set account to the Bluesky handle (e.g. ash.bsky.social)")
        self.password, self.work_dir = credentials["app_password"], work_dir
        self.api = ChannelApi(self.channel)

    def publish(self, outgoing: Outgoing) -> Published:
        session = self.api("POST", self.base + "com.atproto.server.createSession",
                       json={"identifier": self.handle, "password": self.password}).json()  # fmt: skip
        did, auth = session["did"], {"Authorization": f"Bearer {session['accessJwt']}"}
        root: dict[str, str] | None = None
        parent: dict[str, str] | None = None
        first: Published | None = None
        installation = outgoing.installation or self.ledger.installation()
        for index, text in enumerate(outgoing.parts):
            rkey = record_key(outgoing.post, index, installation)
            embed = (lambda: self._embed(outgoing, did, auth)) if index == 0 else None
            parent = self._post_once(did, auth, rkey, text, reply=(root, parent) if root and parent else None,
                                     embed=embed)  # fmt: skip
            root = root or parent
            first = first or Published(
                remote_id=parent["uri"], url=f"https://bsky.app/profile/{self.handle}/post/{rkey}"
            )
        assert first is not None and root is not None and parent is not None
        comment = outgoing.first_comment(self.channel)
        if comment:  # a reply to the last part, at its own record key: a retry finds it there
            rkey = record_key(outgoing.post, 0, installation, comment=True)
            replied = (root, parent)
            commented_once(self.ledger, post_id=outgoing.post.id, channel=self.channel,
                           comment=lambda: self._post_once(did, auth, rkey, comment, reply=replied)["uri"])  # fmt: skip
        return first

    def _post_once(
        self,
        did: str,
        auth: dict[str, str],
        rkey: str,
        text: str,
        *,
        reply: tuple[dict[str, str], dict[str, str]] | None,
        embed: Callable[[], dict[str, Any] | None] | None = None,
    ) -> dict[str, str]:
        """The record at `rkey`: an earlier attempt's, else a new post (a reply to `reply`'s root and parent)."""
        ref = self._existing(did, rkey, auth, text)
        if ref is not None:
            return ref
        record: dict[str, Any] = {
            "$type": COLLECTION,
            "text": text,
            "createdAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "facets": facets(text),
        }
        media = embed() if embed else None
        if media:
            record["embed"] = media
        if reply:
            record["reply"] = {"root": reply[0], "parent": reply[1]}
        made = self.api(
            "POST",
            self.base + "com.atproto.repo.createRecord",
            headers=auth,
            json={"repo": did, "collection": COLLECTION, "rkey": rkey, "record": record},
        ).json()
        return {"uri": made["uri"], "cid": made["cid"]}

    def _existing(self, did: str, rkey: str, auth: dict[str, str], text: str) -> dict[str, str] | None:
        response = self.api("GET", self.base + "com.atproto.repo.getRecord", headers=auth,
                        params={"repo": did, "collection": COLLECTION, "rkey": rkey}, ok=(400,))  # fmt: skip
        if response.status_code == 400:
            if "RecordNotFound" in response.text:
                return None
            raise PublishRefused(f"bluesky: looking for record {rkey} failed: {response.text[:200]}")
        found = response.json()
        if (found.get("value") or {}).get("text", text) != text:
            raise PublishRefused(f"bluesky: record {rkey} holds another post's text; not taken for this one")
        return {"uri": found["uri"], "cid": found["cid"]}

    def _embed(self, outgoing: Outgoing, did: str, auth: dict[str, str]) -> dict[str, Any] | None:
        files = media_for(self.channel, outgoing.media, LIMITS, self.work_dir)
        if files and is_video(files[0]):
            return self._video_embed(outgoing, files[0], did, auth)
        return self._images(outgoing, files, auth)

    def _video_embed(self, outgoing: Outgoing, path: Path, did: str, auth: dict[str, str]) -> dict[str, Any]:
        embed: dict[str, Any] = {"$type": "app.bsky.embed.video", "video": self._video_blob(outgoing, path, did, auth),
                                 "alt": outgoing.alt[:1000]}  # fmt: skip
        ratio = _video_ratio(outgoing)
        if ratio:
            embed["aspectRatio"] = ratio
        captions = path.with_suffix(".vtt")
        if captions.is_file() and captions.stat().st_size <= CAPTION_BYTES:
            blob = self.api("POST", self.base + "com.atproto.repo.uploadBlob", content=captions.read_bytes(),
                            headers=auth | {"Content-Type": "text/vtt"}).json()["blob"]  # fmt: skip
            embed["captions"] = [{"lang": "en", "file": blob}]
        return embed

    def _video_blob(self, outgoing: Outgoing, path: Path, did: str, auth: dict[str, str]) -> dict[str, Any]:
        """The processed video's blob: stored from an earlier attempt, or its stored job waited on, or a new upload."""
        post_id = outgoing.post.id
        known = self.ledger.recall(post_id=post_id, channel=self.channel, artifact=path)
        if known and known.startswith("{"):
            return dict(json.loads(known))
        job = known.removeprefix("job:") if known else None
        if job is None:
            job = self._upload_video(path, did, auth)
            # Stored before waiting: a retry resumes this job instead of uploading again.
            self.ledger.remember(post_id=post_id, channel=self.channel, artifact=path, media_id=f"job:{job}")
        blob = self._wait_for_job(job, path)
        self.ledger.remember(post_id=post_id, channel=self.channel, artifact=path, media_id=json.dumps(blob))
        return blob

    def _upload_video(self, path: Path, did: str, auth: dict[str, str]) -> str:
        token = self.api("GET", self.base + "com.atproto.server.getServiceAuth", headers=auth,
                         params={"aud": self.pds_did, "lxm": "com.atproto.repo.uploadBlob",
                                 "exp": int(time.time()) + 1800}).json()["token"]  # fmt: skip
        answer = self.api(
            "POST",
            self.video_base + "app.bsky.video.uploadVideo",
            params={"did": did, "name": path.name},
            content=path.read_bytes(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "video/mp4"},
            ok=(409,),  # the service has this video already: its answer names the job
        ).json()
        status = answer.get("jobStatus") or answer
        if not status.get("jobId"):
            raise PublishRefused(f"bluesky's video service named no job for {path.name}: {str(answer)[:200]}")
        return str(status["jobId"])

    def _wait_for_job(self, job: str, path: Path) -> dict[str, Any]:
        def completed() -> dict[str, Any] | None:
            answer = self.api("GET", self.video_base + "app.bsky.video.getJobStatus", params={"jobId": job}).json()
            status = answer.get("jobStatus") or answer
            if status.get("state") == "JOB_STATE_COMPLETED" and status.get("blob"):
                return dict(status["blob"])
            if status.get("state") == "JOB_STATE_FAILED":
                reason = status.get("error") or status.get("message") or status.get("failureCode") or "no reason given"
                raise PublishRefused(f"bluesky could not process the video {path.name}: {reason}")
            return None

        return poll(completed, what=f"bluesky: the video job {job}", timeout_s=self.processing_timeout_s)

    def _images(self, outgoing: Outgoing, files: tuple[Path, ...], auth: dict[str, str]) -> dict[str, Any] | None:
        images = []
        for path in files:
            blob = self.api(
                "POST",
                self.base + "com.atproto.repo.uploadBlob",
                content=path.read_bytes(),
                headers=auth | {"Content-Type": content_type(path)},
            ).json()
            with Image.open(path) as image:
                ratio = {"width": image.width, "height": image.height}
            images.append({"alt": outgoing.alt, "image": blob["blob"], "aspectRatio": ratio})
        return {"$type": "app.bsky.embed.images", "images": images} if images else None


def _video_ratio(outgoing: Outgoing) -> dict[str, int] | None:
    """The video's width and height, as the render recorded them."""
    for step in outgoing.post.steps:
        if step.name == "video" and step.artifact and step.artifact.width and step.artifact.height:
            return {"width": step.artifact.width, "height": step.artifact.height}
    return None
