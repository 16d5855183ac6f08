"""What every metrics fetcher shares: the interface, the answers it gives, and one GET that turns the
channel's refusals into the three cases the collector acts on (wait until a reset, stale, gone)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from beatdesk import net
from beatdesk.engagement import GROUPS, Group
from beatdesk.errors import BeatdeskError
from publishers.http import ChannelAddressRefused, send

DEFAULT_WAIT = timedelta(minutes=15)
"""A 429 that names no reset time: the usual rate-limit window of these APIs."""
EPOCH_FLOOR = 1_000_000_000
"""A reset header above this is a Unix time (X, Bluesky); below, seconds to wait (the IETF draft)."""
MAX_WAIT = timedelta(days=1)
"""The longest a 429 stops a channel: a reset further off (year 9999, milliseconds read as seconds) is not believed."""
MAX_COUNT = 2**31 - 1
"""The most a count can be (the 32-bit integer columns on PostgreSQL): a larger one is unknown, not a failed write."""


@dataclass(frozen=True)
class Target:
    """One publication to read: its id in the store and on the channel."""

    publication_id: int
    remote_id: str
    published_at: datetime
    own_replies: int = 0
    """Replies to it that are the post's own thread (its second part): not the audience's conversation."""


@dataclass(frozen=True)
class Counts:
    """What the channel reported for one publication: its own named counts and the groups they make."""

    raw: Mapping[str, int]
    groups: Mapping[Group, int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Gone:
    """The channel no longer has the post (deleted)."""

    reason: str


class MetricsError(BeatdeskError):
    """A fetch that failed for a reason that passes (5xx, timeout, an answer that does not parse): tried next time."""


class MetricsAuthError(BeatdeskError):
    """The channel refused the credentials (revoked, expired, a scope the token lacks): the channel goes stale."""


class RateLimited(BeatdeskError):
    """The channel said to slow down (429): nothing more is fetched from it before `until`."""

    def __init__(self, message: str, until: datetime) -> None:
        super().__init__(message)
        self.until = until


class MetricsFetcher(Protocol):
    channel: str
    batch_size: int
    """How many publications one `fetch` takes (the API's own limit per request)."""

    def fetch(self, targets: Sequence[Target], *, now: datetime) -> dict[int, Counts | Gone]:
        """Each target's numbers by publication id; a target left out was not answered for (tried next time)."""
        ...


def groups(**counts: int | None) -> dict[Group, int | None]:
    """Every group, None where the channel gave nothing for it (unknown, never 0)."""
    unknown = set(counts) - set(GROUPS)
    if unknown:
        raise ValueError(f"not engagement groups: {sorted(unknown)}")
    return {group: counts.get(group) for group in GROUPS}


def total(*counts: int | None) -> int | None:
    """A sum of counts, unknown when none of them is known."""
    known = [c for c in counts if c is not None]
    return sum(known) if known else None


def count(value: Any) -> int | None:
    """A count from JSON: a non-negative integer, else unknown."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT else None


def get(channel: str, url: str, *, now: datetime, ok: tuple[int, ...] = (), **kwargs: Any) -> httpx.Response:
    """One GET (or a POST through `method=`) for metrics; never sleeps on a 429, which stops the channel instead."""
    method = kwargs.pop("method", "GET")
    try:
        response = send(channel, method, url, **kwargs)
    except (ChannelAddressRefused, net.FetchError) as err:
        raise MetricsError(str(err)) from None
    except httpx.HTTPError as err:
        raise MetricsError(f"{channel}: {method} {url}: {type(err).__name__}") from err
    status = response.status_code
    if status < 400 or status in ok:
        return response
    detail = _detail(response)
    if status == 429:
        until = reset_time(response.headers, now)
        raise RateLimited(f"{channel} is rate-limited until {until:%Y-%m-%d %H:%M} UTC ({detail})", until)
    if status in (401, 403):
        raise MetricsAuthError(f"{channel} refused the token ({status}: {detail})")
    raise MetricsError(f"{channel} answered {status}: {detail}")


def parsed(channel: str, response: httpx.Response) -> Any:
    """The answer's JSON. One that does not parse (a proxy's or a maintenance page, answered 200) is the channel
    having a bad day, like a 5xx: the rest of the run would only get the same page."""
    try:
        return response.json()
    except ValueError:
        raise MetricsError(f"{channel} answered {response.status_code} without JSON: {_detail(response)}") from None


def reset_time(headers: Mapping[str, str], now: datetime) -> datetime:
    """When a rate limit ends, from whichever header the channel sends: Retry-After (seconds or an HTTP date),
    x-rate-limit-reset (X: Unix time), ratelimit-reset (Bluesky: Unix time; the IETF draft: seconds),
    X-RateLimit-Reset (Mastodon: an ISO 8601 time). None readable: DEFAULT_WAIT; at most MAX_WAIT."""
    return min(_named_reset(headers, now), now + MAX_WAIT)


def _named_reset(headers: Mapping[str, str], now: datetime) -> datetime:
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in ("retry-after", "x-rate-limit-reset", "ratelimit-reset", "x-ratelimit-reset"):
        value = (lowered.get(name) or "").strip()
        if not value:
            continue
        if value.isascii() and value.isdigit():  # not "²", which isdigit() takes and int() refuses
            number = int(value)
            try:
                return datetime.fromtimestamp(number, UTC) if number > EPOCH_FLOOR else now + timedelta(seconds=number)
            except (OverflowError, OSError, ValueError):  # past datetime's end: as far off as any wait may be
                return now + MAX_WAIT
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                continue
        if when.tzinfo is not None:
            return when.astimezone(UTC)
    return now + DEFAULT_WAIT


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return (response.text[:200] or response.reason_phrase).strip()
    if isinstance(body, dict):
        for key in ("error_description", "message", "detail", "error", "title"):
            if body.get(key):
                return str(body[key])[:200]
    return str(body)[:200]
