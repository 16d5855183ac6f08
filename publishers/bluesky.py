"""Bluesky over atproto XRPC: a session from the app password, image blobs, posts with facets for links
and hashtags, a thread as replies.

Each part's record key is derived from the post (a TID), so a retry asks the repo for that record
first and creates only the parts that are not there yet: a lost answer never posts twice.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image

from beatdesk.channels import URL
from beatdesk.models import Channel, Post
from publishers.base import Outgoing, Published
from publishers.credentials import Credentials
from publishers.http import ChannelApi, PublishRefused
from publishers.media import MediaLimits, content_type, media_for

LIMITS = MediaLimits(image_bytes=1_000_000)
COLLECTION = "app.bsky.feed.post"
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_TAG = re.compile(r"(?<![\w#])#([^\s#]*[^\s#.,;:!?)\]'\"])")


def tid(micros: int, clock: int) -> str:
    """atproto's timestamp identifier: 53 bits of microseconds and 10 of clock id, base32-sortable."""
    value = (micros << 10) | (clock & 0x3FF)
    return "".join(_TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def record_key(post: Post, part: int) -> str:
    at = post.slot_at or post.status_changed_at
    micros = int(at.timestamp()) * 1_000_000 + (post.id % 100_000) * 10 + part
    return tid(micros, post.id // 100_000)


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

    def __init__(self, channel: Channel, credentials: Credentials, work_dir: Path) -> None:
        self.base = (channel.url or "https://bsky.social").rstrip("/") + "/xrpc/"
        self.handle = channel.account.lstrip("@")
        if not self.handle:
            raise PublishRefused("bluesky: set account to the Bluesky handle (e.g. ash.bsky.social)")
        self.password, self.work_dir = credentials["app_password"], work_dir
        self.api = ChannelApi(self.channel)

    def publish(self, outgoing: Outgoing) -> Published:
        session = self.api("POST", self.base + "com.atproto.server.createSession",
                       json={"identifier": self.handle, "password": self.password}).json()  # fmt: skip
        did, auth = session["did"], {"Authorization": f"Bearer {session['accessJwt']}"}
        root = parent = None
        embed = None
        first: Published | None = None
        for index, text in enumerate(outgoing.parts):
            rkey = record_key(outgoing.post, index)
            ref = self._existing(did, rkey, auth)
            if ref is None:
                if index == 0:
                    embed = self._images(outgoing, auth)
                created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                record: dict[str, Any] = {
                    "$type": COLLECTION,
                    "text": text,
                    "createdAt": created,
                    "facets": facets(text),
                }
                if embed and index == 0:
                    record["embed"] = embed
                if root and parent:
                    record["reply"] = {"root": root, "parent": parent}
                ref = self.api(
                    "POST",
                    self.base + "com.atproto.repo.createRecord",
                    headers=auth,
                    json={"repo": did, "collection": COLLECTION, "rkey": rkey, "record": record},
                ).json()
                ref = {"uri": ref["uri"], "cid": ref["cid"]}
            root = root or ref
            parent = ref
            first = first or Published(remote_id=ref["uri"], url=f"https://bsky.app/profile/{self.handle}/post/{rkey}")
        assert first is not None
        return first

    def _existing(self, did: str, rkey: str, auth: dict[str, str]) -> dict[str, str] | None:
        response = self.api("GET", self.base + "com.atproto.repo.getRecord", headers=auth,
                        params={"repo": did, "collection": COLLECTION, "rkey": rkey}, ok=(400,))  # fmt: skip
        if response.status_code == 400:
            if "RecordNotFound" in response.text:
                return None
            raise PublishRefused(f"bluesky: looking for record {rkey} failed: {response.text[:200]}")
        found = response.json()
        return {"uri": found["uri"], "cid": found["cid"]}

    def _images(self, outgoing: Outgoing, auth: dict[str, str]) -> dict[str, Any] | None:
        images = []
        for path in media_for(self.channel, outgoing.media, LIMITS, self.work_dir):
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
