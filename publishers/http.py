"""What every API channel shares: one HTTP client, and answers sorted into retry, stop, or refuse."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import httpx

from beatdesk.errors import BeatdeskError


class TransientPublishError(BeatdeskError):
    """429, 5xx, a timeout, a dropped connection: retried with backoff (after a look for the earlier post)."""


class PublishAuthError(BeatdeskError):
    """The channel refused the credentials: retrying will not help until someone sets new ones."""


class PublishRefused(BeatdeskError):
    """The channel refused the post itself (a 4xx other than auth): retrying will not help."""


@lru_cache(maxsize=1)
def shared_client() -> httpx.Client:
    """One pooled client per process: publishers share its connections rather than open (and leak) their own."""
    return httpx.Client(timeout=httpx.Timeout(30, connect=10), headers={"User-Agent": "beatdesk"})


class ChannelApi:
    """A channel's requests: its name for messages, and the headers (auth) every request carries."""

    def __init__(self, channel: str, headers: dict[str, str] | None = None) -> None:
        self.channel, self.headers = channel, headers or {}

    def __call__(
        self, method: str, url: str, *, ok: tuple[int, ...] = (), headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return call(self.channel, method, url, ok=ok, headers=self.headers | (headers or {}), **kwargs)


def call(channel: str, method: str, url: str, *, ok: tuple[int, ...] = (), **kwargs: Any) -> httpx.Response:
    """One request; an error answer (unless listed in `ok`) raised as the right kind, with the channel's message."""
    try:
        response = shared_client().request(method, url, **kwargs)
    except httpx.HTTPError as err:
        raise TransientPublishError(f"{channel}: {method} {url}: {type(err).__name__}") from err
    status = response.status_code
    if status < 400 or status in ok:
        return response
    detail = _detail(response)
    if status in (401, 403):
        raise PublishAuthError(f"{channel} refused the credentials ({status}: {detail}); set fresh ones and retry")
    if status in (408, 425, 429) or status >= 500:
        raise TransientPublishError(f"{channel} answered {status}: {detail}")
    raise PublishRefused(f"{channel} refused the post ({status}: {detail})")


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        for key in ("error_description", "message", "error", "detail", "title"):
            if body.get(key):
                return str(body[key])[:200]
        if body.get("errors"):
            return str(body["errors"])[:200]
    return str(body)[:200]
