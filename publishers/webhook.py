"""A webhook: the post as JSON, signed with HMAC-SHA256 so the receiver knows it came from here.

Signature: `X-Beatdesk-Signature: sha256=<hex>` over `<X-Beatdesk-Timestamp>.<body>` with the shared
secret; `Idempotency-Key` is the same on every retry, for the receiver to drop a repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

from beatdesk.models import Channel
from publishers.base import Outgoing, Published
from publishers.credentials import Credentials
from publishers.http import ChannelApi
from publishers.media import content_type


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookPublisher:
    channel = "webhook"

    def __init__(self, channel: Channel, credentials: Credentials, work_dir: Path) -> None:
        assert channel.url is not None  # the persona file requires it
        self.url, self.secret = channel.url, credentials["secret"]
        self.api = ChannelApi(self.channel)

    def publish(self, outgoing: Outgoing) -> Published:
        post = outgoing.post
        payload = {
            "id": outgoing.key(), "post_id": post.id, "persona": post.persona, "title": post.title,
            "content_format": post.content_format.value, "parts": list(outgoing.parts), "alt": outgoing.alt,
            "slot_at": post.slot_at.isoformat() if post.slot_at else None,
            "media": [{"name": p.name, "content_type": content_type(p), "size_bytes": p.stat().st_size,
                       "sha256": hashlib.sha256(p.read_bytes()).hexdigest()} for p in outgoing.media],
        }  # fmt: skip
        body = json.dumps(payload, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": outgoing.key(),
            "X-Beatdesk-Timestamp": timestamp,
            "X-Beatdesk-Signature": signature(self.secret, timestamp, body),
        }
        answer = self.api("POST", self.url, content=body, headers=headers)
        try:
            remote = answer.json()
        except ValueError:
            remote = {}
        remote_id = str(remote.get("id") or outgoing.key()) if isinstance(remote, dict) else outgoing.key()
        url = remote.get("url") if isinstance(remote, dict) else None
        return Published(remote_id=remote_id, url=url)
