"""One active scheduler: beat sends tasks only while it holds a lock in Redis, renewed on every tick.

Start two `beatdesk scheduler`s and one sends, the other stands by and takes over within the lock's
time to live if the first stops. The batches themselves are also keyed by their due time in the
store, so even two schedulers that both sent would make one batch.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import redis
from celery.beat import PersistentScheduler

LOCK_NAME = "beatdesk:scheduler:leader"
TTL_S = 30.0
STANDBY_TICK_S = 5.0


class LeaderLock:
    def __init__(self, client: redis.Redis, *, ttl_s: float = TTL_S) -> None:
        self.lock = client.lock(LOCK_NAME, timeout=ttl_s, blocking=False)

    def hold(self) -> bool:
        """Keep the lock if this process has it, take it if nobody has; False while another scheduler does."""
        if self.lock.owned():
            try:
                self.lock.reacquire()
                return True
            except redis.exceptions.LockError:  # it expired and someone else took it
                return False
        return bool(self.lock.acquire(blocking=False))

    def release(self) -> None:
        if self.lock.owned():
            self.lock.release()


class LeaderScheduler(PersistentScheduler):  # type: ignore[misc]
    """Celery beat's persistent scheduler, active only while it is the leader."""

    @cached_property
    def leader(self) -> LeaderLock:
        return LeaderLock(redis.Redis.from_url(self.app.conf.broker_url))

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self.leader.hold():
            return STANDBY_TICK_S
        return min(float(super().tick(*args, **kwargs)), TTL_S / 3)  # renew well before the lock runs out

    def close(self) -> None:
        self.leader.release()
        super().close()
