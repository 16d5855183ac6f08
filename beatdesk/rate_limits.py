"""Rate limits counted where every process sees them: in Redis when there is a broker, in this process otherwise.

N desks or N workers on one broker then allow the rate once, not N times. The counting is the `limits` library's
(moving window); `RateLimiter` puts it behind LangChain's `BaseRateLimiter`, so a chat model takes it as it would
take LangChain's own in-memory limiter.
"""

from __future__ import annotations

import asyncio
import time
from fractions import Fraction
from functools import lru_cache
from typing import cast

from langchain_core.rate_limiters import BaseRateLimiter
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from beatdesk.settings import Settings

KEY_PREFIX = "beatdesk:limits"
"""Every key the limits write in Redis starts with this, beside Celery's keys on the same database."""
MAX_NAP_S = 0.25
"""Longest sleep between two tries of a blocked acquire: a freed place is taken soon after it frees."""


def limits_storage(settings: Settings) -> Storage:
    """The broker's Redis when one is configured, else this process's memory (the embedded default)."""
    if settings.broker_url:
        return redis_storage(settings.broker_url)
    return MemoryStorage()


@lru_cache(maxsize=8)
def redis_storage(url: str, key_prefix: str = KEY_PREFIX) -> Storage:
    """One storage (one connection pool) per Redis URL and prefix in a process."""
    # redis:// is the synchronous storage; its errors come wrapped as limits' StorageError, one type to catch.
    return cast(Storage, storage_from_string(url, key_prefix=key_prefix, wrap_exceptions=True))


def per_second(rate: float) -> RateLimitItem:
    """`rate` requests a second as a whole number of requests per whole number of seconds (0.5 -> 1 per 2 s)."""
    if rate <= 0:
        raise ValueError(f"a rate must be above 0 requests a second, not {rate}")
    share = Fraction(rate).limit_denominator(60)
    if share == 0:  # slower than one request a minute
        return RateLimitItemPerSecond(1, max(1, round(1 / rate)))
    return RateLimitItemPerSecond(share.numerator, share.denominator)


class RateLimiter(BaseRateLimiter):
    """`requests_per_second` for all holders of `name` on `storage`: one limit however many processes share it."""

    def __init__(self, *, requests_per_second: float, storage: Storage, name: str = "llm") -> None:
        self.item, self.name = per_second(requests_per_second), name
        self.limiter = MovingWindowRateLimiter(storage)

    def _wait_s(self) -> float:
        reset = self.limiter.get_window_stats(self.item, self.name).reset_time
        return min(max(reset - time.time(), 0.01), MAX_NAP_S)

    def acquire(self, *, blocking: bool = True) -> bool:
        while not self.limiter.hit(self.item, self.name):
            if not blocking:
                return False
            time.sleep(self._wait_s())
        return True

    async def aacquire(self, *, blocking: bool = True) -> bool:
        # The storage is synchronous; a thread keeps a Redis round trip off the event loop.
        while not await asyncio.to_thread(self.limiter.hit, self.item, self.name):
            if not blocking:
                return False
            await asyncio.sleep(await asyncio.to_thread(self._wait_s))
        return True
