"""Mastodon: `GET /api/v1/statuses/:id` gives favourites_count, reblogs_count and replies_count (and
quotes_count on instances with quote posts). Mastodon reports no reach and no saves (bookmarks are private
to each reader), so those stay unknown. A deleted status answers 404."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote

from beatdesk.models import Channel
from publishers.credentials import Credentials
from publishers.metrics.base import Counts, Gone, MetricsError, Target, count, get, groups, parsed, total


class MastodonMetrics:
    channel = "mastodon"
    batch_size = 1  # the statuses API reads one status per request

    def __init__(self, channel: Channel, credentials: Credentials) -> None:
        assert channel.url is not None  # the persona file requires it
        self.base = channel.url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {credentials['token']}"}

    def fetch(self, targets: Sequence[Target], *, now: datetime) -> dict[int, Counts | Gone]:
        found: dict[int, Counts | Gone] = {}
        for target in targets:
            answer = get(self.channel, f"{self.base}/api/v1/statuses/{quote(target.remote_id, safe='')}", now=now,
                         headers=self.headers, ok=(404,))  # fmt: skip
            if answer.status_code == 404:
                found[target.publication_id] = Gone("mastodon: the status is gone (404: deleted)")
                continue
            status = parsed(self.channel, answer)
            if not isinstance(status, dict):
                raise MetricsError(f"mastodon: status {target.remote_id} answered {str(status)[:100]}")
            raw = {name: value for name in ("favourites_count", "reblogs_count", "replies_count", "quotes_count")
                   if (value := count(status.get(name))) is not None}  # fmt: skip
            found[target.publication_id] = Counts(raw, groups(
                approval=raw.get("favourites_count"),
                redistribution=total(raw.get("reblogs_count"), raw.get("quotes_count")),
                conversation=raw.get("replies_count"),
            ))  # fmt: skip
        return found
