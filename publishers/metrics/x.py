"""X (API v2): `GET /2/tweets?ids=…&tweet.fields=public_metrics` (up to 100 ids a request) gives like_count,
retweet_count, quote_count, reply_count, and where X shows them publicly impression_count and bookmark_count.
For the account's own posts of the last 30 days a user-context token may also read `non_public_metrics`
(impression_count, url_link_clicks, user_profile_clicks); X answers a field the token may not read with a
"not-authorized-for-field" error and leaves the post out, so those posts are asked again for public metrics
only, and the rest of the run asks for public metrics alone. A deleted post comes back as a
"resource-not-found" error (HTTP 200)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from beatdesk.models import Channel
from publishers.credentials import Credentials
from publishers.metrics.base import Counts, Gone, MetricsError, Target, count, get, groups, parsed, total

PRIVATE_FOR = timedelta(days=30)
"""X serves non-public metrics only for posts created within the last 30 days."""
PUBLIC = ("like_count", "retweet_count", "quote_count", "reply_count", "impression_count", "bookmark_count")
PRIVATE = ("impression_count", "url_link_clicks", "user_profile_clicks")
GONE_TYPES = ("resource-not-found", "not-authorized-for-resource")


class XMetrics:
    channel = "x"
    batch_size = 100  # GET /2/tweets takes at most 100 ids

    def __init__(self, channel: Channel, credentials: Credentials) -> None:
        self.base = (channel.url or "https://api.x.com").rstrip("/")
        self.headers = {"Authorization": f"Bearer {credentials['token']}"}
        self.private = True
        """Whether to ask for non-public metrics; off for the run once X says the token may not read them."""

    def fetch(self, targets: Sequence[Target], *, now: datetime) -> dict[int, Counts | Gone]:
        recent = [t for t in targets if now - t.published_at < PRIVATE_FOR]
        found: dict[int, Counts | Gone] = {}
        refused: list[Target] = []
        if self.private and recent:
            refused = self._read(recent, private=True, now=now, found=found)
            if refused:
                self.private = False
        rest = [t for t in targets if t not in recent or t in refused]
        if rest:
            self._read(rest, private=False, now=now, found=found)
        return found

    def _read(self, targets: Sequence[Target], *, private: bool, now: datetime,
              found: dict[int, Counts | Gone]) -> list[Target]:  # fmt: skip
        """Read `targets` into `found`; return those left out because a private field was refused."""
        fields = "public_metrics,non_public_metrics" if private else "public_metrics"
        answer = parsed(self.channel, get(self.channel, f"{self.base}/2/tweets", now=now, headers=self.headers,
                        params={"ids": ",".join(t.remote_id for t in targets), "tweet.fields": fields}))  # fmt: skip
        if not isinstance(answer, dict):
            raise MetricsError(f"x: /2/tweets answered {str(answer)[:100]}")
        posts = {str(p.get("id")): p for p in answer.get("data") or [] if isinstance(p, dict)}
        problems: dict[str, dict[str, Any]] = {}
        for error in answer.get("errors") or []:
            if isinstance(error, dict):
                problems.setdefault(str(error.get("resource_id") or error.get("value")), error)
        refused = []
        for target in targets:
            post, problem = posts.get(target.remote_id), problems.get(target.remote_id) or {}
            kind = str(problem.get("type", "")).rsplit("/", 1)[-1]
            if post is not None:
                found[target.publication_id] = _counts(post)
            elif kind in GONE_TYPES:
                found[target.publication_id] = Gone(f"x: {problem.get('detail') or 'the post is gone'} ({kind})")
            elif kind == "not-authorized-for-field" and private:
                refused.append(target)
        return refused


def _counts(post: dict[str, Any]) -> Counts:
    public = post.get("public_metrics") or {}
    private = post.get("non_public_metrics") or {}
    raw = {name: value for name in PUBLIC if (value := count(public.get(name))) is not None}
    raw |= {f"non_public_{name}": value for name in PRIVATE if (value := count(private.get(name))) is not None}
    reach = raw.get("impression_count", raw.get("non_public_impression_count"))
    return Counts(raw, groups(
        reach=reach,
        approval=raw.get("like_count"),
        redistribution=total(raw.get("retweet_count"), raw.get("quote_count")),
        conversation=raw.get("reply_count"),
        saves=raw.get("bookmark_count"),
    ))  # fmt: skip
