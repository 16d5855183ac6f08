"""Bluesky: `app.bsky.feed.getPosts` (up to 25 at:// URIs a request, through the PDS with a session from the app
password) gives likeCount, repostCount, replyCount and quoteCount (and bookmarkCount where the App View counts
them). Bluesky reports no reach. A deleted post is simply left out of the answer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from beatdesk.models import Channel
from publishers.credentials import Credentials
from publishers.metrics.base import (
    Counts,
    Gone,
    MetricsAuthError,
    MetricsError,
    Target,
    count,
    get,
    groups,
    parsed,
    total,
)

FIELDS = ("likeCount", "repostCount", "replyCount", "quoteCount", "bookmarkCount")


class BlueskyMetrics:
    channel = "bluesky"
    batch_size = 25  # getPosts takes at most 25 URIs

    def __init__(self, channel: Channel, credentials: Credentials) -> None:
        self.base = (channel.url or "https://bsky.social").rstrip("/") + "/xrpc/"
        self.handle = channel.account.lstrip("@")
        self.password = credentials["app_password"]
        self._auth: dict[str, str] | None = None

    def fetch(self, targets: Sequence[Target], *, now: datetime) -> dict[int, Counts | Gone]:
        answer = parsed(self.channel, get(self.channel, self.base + "app.bsky.feed.getPosts", now=now,
                        headers=self._session(now), params=[("uris", t.remote_id) for t in targets]))  # fmt: skip
        posts = answer.get("posts") if isinstance(answer, dict) else None
        if not isinstance(posts, list):
            raise MetricsError(f"bluesky: getPosts answered without posts: {str(answer)[:100]}")
        by_uri: dict[str, dict[str, Any]] = {p["uri"]: p for p in posts if isinstance(p, dict) and "uri" in p}
        found: dict[int, Counts | Gone] = {}
        for target in targets:
            post = by_uri.get(target.remote_id)
            if post is None:
                found[target.publication_id] = Gone("bluesky: the post is gone (getPosts no longer returns it)")
                continue
            raw = {name: value for name in FIELDS if (value := count(post.get(name))) is not None}
            found[target.publication_id] = Counts(raw, groups(
                approval=raw.get("likeCount"),
                redistribution=total(raw.get("repostCount"), raw.get("quoteCount")),
                conversation=raw.get("replyCount"),
                saves=raw.get("bookmarkCount"),
            ))  # fmt: skip
        return found

    def _session(self, now: datetime) -> dict[str, str]:
        """One session per collection run (createSession is itself rate-limited per account)."""
        if self._auth is None:
            if not self.handle:
                raise MetricsAuthError("bluesky: set account to the Bluesky handle (e.g. ash.bsky.social)")
            session = parsed(self.channel, get(self.channel, self.base + "com.atproto.server.createSession", now=now,
                             method="POST", json={"identifier": self.handle, "password": self.password}))  # fmt: skip
            token = session.get("accessJwt") if isinstance(session, dict) else None
            if not isinstance(token, str) or not token:
                raise MetricsError(f"bluesky: createSession answered without an accessJwt: {str(session)[:100]}")
            self._auth = {"Authorization": f"Bearer {token}"}
        return self._auth
