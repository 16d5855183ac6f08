"""A server on 127.0.0.1 that answers the metrics endpoints beatdesk reads, as each API documents them:
Mastodon `GET /api/v1/statuses/:id`, Bluesky `app.bsky.feed.getPosts` (after `createSession`), X
`GET /2/tweets` with `tweet.fields`, and LinkedIn `GET /rest/memberCreatorPostAnalytics` (entity finder).

Per test: the counts each post shows, deleted posts, a revoked token (401), a token without the scope
(Mastodon and LinkedIn 403; X refuses the non-public field), and 429 with each API's own reset header.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.loopback import serving

TOKEN = "metrics-token"
APP_PASSWORD = "app-pass-metrics"
LINKEDIN_METRIC_TYPE = "com.linkedin.adsexternalapi.memberanalytics.v1.CreatorPostAnalyticsMetricTypeV1"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    raw_query: str
    headers: dict[str, str]


@dataclass
class MetricsServer:
    url: str = ""
    counts: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    """channel -> remote id -> the counts it shows (the API's own names)."""
    created: dict[str, datetime] = field(default_factory=dict)
    """X post id -> when it was created (non-public metrics only within 30 days)."""
    deleted: set[str] = field(default_factory=set)
    revoked: set[str] = field(default_factory=set)
    """Channels whose token is revoked: 401."""
    no_scope: set[str] = field(default_factory=set)
    """Channels whose token lacks the read scope (Mastodon read:statuses, LinkedIn r_member_postAnalytics: 403;
    X: a token that may not read non_public_metrics)."""
    down: set[str] = field(default_factory=set)
    """Channels answering 503 (a server having a bad day)."""
    limited: dict[str, dict[str, str]] = field(default_factory=dict)
    """Channels answering 429, with the reset headers sent."""
    garbled: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Channels answering every request with this status and an HTML page (a proxy's or a maintenance page)."""
    requests: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sent(self, channel: str) -> list[Seen]:
        return [r for r in self.requests if _channel_of(r.path) == channel and "createSession" not in r.path]


@contextmanager
def metrics_server() -> Iterator[MetricsServer]:
    state = MetricsServer()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length", 0) or 0)
            body = self.rfile.read(length) if length else b""
            seen = Seen(method, parts.path, parse_qs(parts.query), parts.query,
                        {k.lower(): v for k, v in self.headers.items()})  # fmt: skip
            channel = _channel_of(parts.path)
            with state.lock:
                state.requests.append(seen)
                if channel in state.down:
                    self._send(503, {"error": "Service Unavailable"})
                    return
                if channel in state.garbled:
                    status, page = state.garbled[channel]
                    data = page.encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if channel in state.limited:
                    self._send(429, _rate_limit_body(channel), state.limited[channel])
                    return
                if parts.path.endswith("com.atproto.server.createSession"):
                    given = json.loads(body or b"{}")
                    if channel in state.revoked or given != {"identifier": "ash.test", "password": APP_PASSWORD}:
                        self._send(
                            401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
                        )
                    else:
                        self._send(200, {"did": "did:plc:ash", "handle": "ash.test", "accessJwt": "bsky-metrics-jwt"})
                    return
                token = "bsky-metrics-jwt" if channel == "bluesky" else TOKEN
                if channel in state.revoked or seen.headers.get("authorization") != f"Bearer {token}":
                    self._send(401, {"error": "The access token was revoked"} if channel == "mastodon" else
                               {"error": "invalid_token", "message": "The access token is invalid"})  # fmt: skip
                    return
                self._send(*getattr(self, f"_{channel}")(seen))

        def _mastodon(self, r: Seen) -> tuple[int, Any]:
            if "mastodon" in state.no_scope:
                return 403, {"error": "This action is outside the authorized scopes"}
            status_id = r.path.removeprefix("/api/v1/statuses/")
            shown = state.counts.get("mastodon", {}).get(status_id)
            if r.method != "GET" or shown is None or status_id in state.deleted:
                return 404, {"error": "Record not found"}
            return 200, {"id": status_id, "url": f"{state.url}@ash/{status_id}", "content": "<p>post</p>",
                         "favourites_count": 0, "reblogs_count": 0, "replies_count": 0} | shown  # fmt: skip

        def _bluesky(self, r: Seen) -> tuple[int, Any]:
            uris = r.query.get("uris", [])
            if not r.path.endswith("app.bsky.feed.getPosts") or not uris or len(uris) > 25:
                return 400, {"error": "InvalidRequest", "message": "uris must hold 1 to 25 at-uris"}
            posts = []
            for uri in uris:  # a deleted (or unknown) post is simply not in the answer
                shown = state.counts.get("bluesky", {}).get(uri)
                if shown is not None and uri not in state.deleted:
                    posts.append({"uri": uri, "cid": "bafy" + uri[-8:], "indexedAt": "2026-11-29T00:00:00Z",
                                  "author": {"did": "did:plc:ash", "handle": "ash.test"},
                                  "record": {"$type": "app.bsky.feed.post", "text": "post"}} | shown)  # fmt: skip
            return 200, {"posts": posts}

        def _x(self, r: Seen) -> tuple[int, Any]:
            ids = (r.query.get("ids") or [""])[0].split(",")
            fields = (r.query.get("tweet.fields") or [""])[0].split(",")
            if r.path != "/2/tweets" or not ids[0] or len(ids) > 100:
                return 400, {"title": "Invalid Request", "detail": "ids: 1 to 100 ids"}
            data, errors = [], []
            for tweet_id in ids:
                shown = state.counts.get("x", {}).get(tweet_id)
                if shown is None or tweet_id in state.deleted:
                    errors.append({"value": tweet_id, "detail": f"Could not find tweet with ids: [{tweet_id}].",
                                   "title": "Not Found Error", "resource_type": "tweet", "parameter": "ids",
                                   "resource_id": tweet_id,
                                   "type": "https://api.twitter.com/2/problems/resource-not-found"})  # fmt: skip
                    continue
                old = datetime.now(UTC) - state.created.get(tweet_id, datetime.now(UTC)) > timedelta(days=30)
                if "non_public_metrics" in fields and ("x" in state.no_scope or old):
                    errors.append({"value": tweet_id, "resource_id": tweet_id, "resource_type": "tweet",
                                   "parameter": "non_public_metrics", "section": "data",
                                   "title": "Field Authorization Error",
                                   "detail": f"Sorry, you are not authorized to access 'non_public_metrics' on the "
                                             f"Tweet with ids: [{tweet_id}].",
                                   "type": "https://api.twitter.com/2/problems/not-authorized-for-field"})  # fmt: skip
                    continue
                tweet: dict[str, Any] = {"id": tweet_id, "text": "post", "edit_history_tweet_ids": [tweet_id]}
                if "public_metrics" in fields:
                    tweet["public_metrics"] = {k: v for k, v in shown.items() if not k.startswith("np_")}
                if "non_public_metrics" in fields:
                    tweet["non_public_metrics"] = {k[3:]: v for k, v in shown.items() if k.startswith("np_")}
                data.append(tweet)
            answer: dict[str, Any] = {"data": data} if data else {}
            return 200, answer | ({"errors": errors} if errors else {})

        def _linkedin(self, r: Seen) -> tuple[int, Any]:
            if r.headers.get("x-restli-protocol-version") != "2.0.0" or not r.headers.get("linkedin-version"):
                return 400, {"status": 400, "message": "LinkedIn-Version and X-Restli-Protocol-Version 2.0.0 needed"}
            if "linkedin" in state.no_scope:
                return 403, {
                    "status": 403,
                    "serviceErrorCode": 100,
                    "code": "ACCESS_DENIED",
                    "message": "Not enough permissions to access: memberCreatorPostAnalytics.FINDER-entity",
                }
            query = {k: v[0] for k, v in r.query.items()}
            entity = query.get("entity", "")
            # Rest.li 2.0: entity=(share:urn%3Ali%3Ashare%3A7) arrives with its URN still encoded once.
            raw_entity = next((p.split("=", 1)[1] for p in r.raw_query.split("&") if p.startswith("entity=")), "")
            if (r.path != "/rest/memberCreatorPostAnalytics" or query.get("q") != "entity"
                    or query.get("aggregation") != "TOTAL" or "%3A" not in raw_entity
                    or not entity.startswith(("(share:", "(ugcPost:")) or not entity.endswith(")")):  # fmt: skip
                return 400, {"status": 400, "message": f"bad entity finder request: {r.raw_query}"}
            urn = unquote(entity[1:-1].split(":", 1)[1])
            shown = state.counts.get("linkedin", {}).get(urn)
            if shown is None or urn in state.deleted:
                return 404, {"status": 404, "message": f"Entity {urn} not found"}
            metric = query.get("queryType", "")
            if metric not in shown:
                return 200, {"paging": {"start": 0, "count": 10, "links": []}, "elements": []}
            element = {"count": shown[metric], "metricType": {LINKEDIN_METRIC_TYPE: metric},
                       "targetEntity": {urn.split(":")[2]: urn}}  # fmt: skip
            return 200, {"paging": {"start": 0, "count": 10, "links": []}, "elements": [element]}

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        state.url = url
        yield state


def _rate_limit_body(channel: str) -> Any:
    if channel == "x":
        return {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
    if channel == "bluesky":
        return {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
    return {"error": "Too many requests"}


def _channel_of(path: str) -> str:
    if path.startswith("/api/"):
        return "mastodon"
    if path.startswith("/xrpc/"):
        return "bluesky"
    if path.startswith("/2/"):
        return "x"
    return "linkedin"
