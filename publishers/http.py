"""What every API channel shares: one HTTP client, and answers sorted into retry, stop, or refuse."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

import httpx

from beatdesk import net
from beatdesk.errors import BeatdeskError, ChannelBlocked, TransientError


class TransientPublishError(TransientError):
    """429, 5xx, a timeout, a dropped connection, or a refusal the API itself calls temporary ("try again"):
    retried with backoff (after a look for the earlier post), never a block."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


GRAPH_AUTH_CODES = frozenset({102, 190})
"""Meta's Graph API (Threads, Instagram): the session or access token is invalid or expired."""
GRAPH_TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 341, 613})
"""Graph API codes its documentation calls temporary: unknown or service errors, and rate limits."""


class PublishAuthError(ChannelBlocked):
    """The channel refused the credentials: retrying will not help until someone sets new ones."""


class PublishRefused(BeatdeskError):
    """The channel refused the post itself (a 4xx other than auth): retrying will not help."""


class ChannelAddressRefused(BeatdeskError):
    """A channel URL that would carry credentials over plain http, or reach an internal address."""


@lru_cache(maxsize=1)
def shared_client() -> httpx.Client:
    """One pooled client per process: publishers share its connections rather than open (and leak) their own.
    Guarded like any untrusted URL: a channel's address comes from a persona file."""
    return net.client(timeout=httpx.Timeout(30, connect=10), headers={"User-Agent": "beatdesk"})


def send(channel: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One exchange with a channel, read whole within the publishing deadline; a URL that would carry the
    credentials in the clear, or reach an internal address, is refused before anything is sent.

    Raises net.FetchError for a bound hit (the deadline, an oversized answer), httpx.HTTPError otherwise."""
    from beatdesk.settings import get_settings

    if net.plain_http_to_elsewhere(url):
        raise ChannelAddressRefused(
            f"{channel}: {url} is plain http to another machine, which would send the credentials in the clear; "
            "use its https:// address in the persona file"
        )
    try:
        return net.request(shared_client(), method, url, max_bytes=net.API_ANSWER_MAX_BYTES,
                           deadline_s=get_settings().publish_timeout_s, **kwargs)  # fmt: skip
    except net.AddressRefused as err:
        raise ChannelAddressRefused(f"{channel}: {err}") from None


class ChannelApi:
    """A channel's requests: its name for messages, and the headers (auth) every request carries."""

    def __init__(self, channel: str, headers: dict[str, str] | None = None) -> None:
        self.channel, self.headers = channel, headers or {}

    def __call__(
        self, method: str, url: str, *, ok: tuple[int, ...] = (), headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return call(self.channel, method, url, ok=ok, headers=self.headers | (headers or {}), **kwargs)


def call(channel: str, method: str, url: str, *, ok: tuple[int, ...] = (), **kwargs: Any) -> httpx.Response:
    """One request, sent once; an error answer (unless listed in `ok`) raised as the right kind, with the
    channel's message and its Retry-After (the publication's one retry policy, `retries.CHANNELS`, waits it)."""
    try:
        response = send(channel, method, url, **kwargs)
    except ChannelAddressRefused as err:
        raise PublishRefused(str(err)) from None
    except net.FetchError as err:  # past the deadline, or an oversized answer: a retry looks for the post first
        raise TransientPublishError(f"{channel}: {method} {err}") from err
    except httpx.HTTPError as err:
        raise TransientPublishError(f"{channel}: {method} {url}: {type(err).__name__}") from err
    status = response.status_code
    if status < 400 or status in ok:
        return response
    detail = _detail(response)
    graph_code = _graph_code(response)
    if status in (401, 403) or graph_code in GRAPH_AUTH_CODES:
        raise PublishAuthError(f"{channel} refused the credentials ({status}: {detail}); set fresh ones and retry")
    if status in (408, 425, 429) or status >= 500:
        raise TransientPublishError(f"{channel} answered {status}: {detail}", retry_after(response))
    if temporary(detail) or graph_code in GRAPH_TRANSIENT_CODES or _graph_says_transient(response):
        raise TransientPublishError(f"{channel} asked to try again ({status}: {detail})")
    raise PublishRefused(f"{channel} refused the post ({status}: {detail})")


def _graph_error(response: httpx.Response) -> dict[str, Any]:
    """The Graph API's error object ({"error": {"message", "code", "is_transient", …}}), or {}."""
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _graph_code(response: httpx.Response) -> int | None:
    code = _graph_error(response).get("code")
    return code if isinstance(code, int) else None


def _graph_says_transient(response: httpx.Response) -> bool:
    return _graph_error(response).get("is_transient") is True


def temporary(detail: str) -> bool:
    """A refusal the API itself calls temporary, e.g. Mastodon's 422 "…not finished processing. Try again in a
    moment!" for media still being processed, or Instagram's "The media is not ready for publishing, please
    wait for a moment"."""
    text = detail.lower()
    return any(words in text for words in ("try again", "not finished processing", "please wait", "not ready"))


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date), or None when absent or unreadable."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        if isinstance(body.get("error"), dict) and body["error"].get("message"):  # the Graph API's error object
            return str(body["error"]["message"])[:200]
        for key in ("error_description", "message", "error", "detail", "title"):
            if body.get(key):
                return str(body[key])[:200]
        if body.get("errors"):
            return str(body["errors"])[:200]
    return str(body)[:200]
