"""LinkedIn: the Community Management API's member post statistics, `GET /rest/memberCreatorPostAnalytics`
with the `entity` finder (one post, `aggregation=TOTAL`), once per metric: IMPRESSION (reach), REACTION
(approval), RESHARE (redistribution), COMMENT (conversation). It needs the `r_member_postAnalytics` scope and
reads a member's own posts (urn:li:person authors; a page's posts are not read); a token without the scope is
refused with 403, which marks the channel stale with that reason. LinkedIn reports no saves here. A deleted post
answers 404."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote

from beatdesk.models import Channel
from publishers.credentials import Credentials
from publishers.linkedin import VERSION
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
)

METRICS = {"IMPRESSION": "reach", "REACTION": "approval", "RESHARE": "redistribution", "COMMENT": "conversation"}
SCOPE = "r_member_postAnalytics"


class LinkedInMetrics:
    channel = "linkedin"
    batch_size = 1  # the entity finder reads one post

    def __init__(self, channel: Channel, credentials: Credentials) -> None:
        if channel.account.startswith("urn:li:organization:"):  # a page's posts have another API and scope
            raise MetricsAuthError("linkedin: numbers for organization pages are not read (member posts only)")
        self.base = (channel.url or "https://api.linkedin.com").rstrip("/")
        self.headers = {"Authorization": f"Bearer {credentials['token']}", "LinkedIn-Version": VERSION,
                        "X-Restli-Protocol-Version": "2.0.0"}  # fmt: skip

    def fetch(self, targets: Sequence[Target], *, now: datetime) -> dict[int, Counts | Gone]:
        found: dict[int, Counts | Gone] = {}
        for target in targets:
            kind = target.remote_id.split(":")[2] if target.remote_id.count(":") >= 3 else ""
            if kind not in ("share", "ugcPost"):
                raise MetricsError(f"linkedin: {target.remote_id!r} is not a share or ugcPost URN")
            # Rest.li 2.0: the entity is a record, its URN percent-encoded inside it (and the query string is built
            # by hand, so httpx does not encode the parentheses and colon again).
            entity = f"({kind}:{quote(target.remote_id, safe='')})"
            raw: dict[str, int] = {}
            for metric in METRICS:
                query = f"q=entity&entity={entity}&queryType={metric}&aggregation=TOTAL"
                try:
                    answer = get(self.channel, f"{self.base}/rest/memberCreatorPostAnalytics?{query}", now=now,
                                 headers=self.headers, ok=(404,))  # fmt: skip
                except MetricsAuthError as err:
                    raise MetricsAuthError(f"{err}; post analytics need the {SCOPE} scope") from None
                if answer.status_code == 404:
                    found[target.publication_id] = Gone("linkedin: the post is gone (404: deleted)")
                    break
                body = parsed(self.channel, answer)
                elements = (body.get("elements") if isinstance(body, dict) else None) or []
                value = count(elements[0].get("count")) if elements and isinstance(elements[0], dict) else None
                if value is not None:
                    raw[metric] = value
            else:
                found[target.publication_id] = Counts(raw, groups(**{METRICS[m]: raw.get(m) for m in METRICS}))
        return found
