"""One active scheduler: beat sends tasks only while it holds a lock in Redis, renewed on every tick.

Start two `beatdesk scheduler`s and one sends, the other stands by and takes over within the lock's
time to live if the first stops. The batches themselves are also keyed by their due time in the
store, so even two schedulers that both sent would make one batch.

A broker that goes away does not stop the scheduler: it says so once, asks again every few seconds,
and says when it is back (Redis restarted without its data loses the lock, which is simply taken again).
"""

from __future__ import annotations

import contextlib
import logging
from functools import cached_property
from typing import Any

import kombu.exceptions
import redis
from celery.beat import PersistentScheduler, ScheduleEntry

from beatdesk.outage import Outage

log = logging.getLogger(__name__)
LOCK_NAME = "beatdesk:scheduler:leader"
TTL_S = 30.0
STANDBY_TICK_S = 5.0
AWAY_TICK_S = 2.0
"""How often a scheduler whose broker is away asks again."""
BROKER_AWAY = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, kombu.exceptions.OperationalError)


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
    """Celery beat's persistent scheduler, active only while it is the leader and its broker answers."""

    @cached_property
    def leader(self) -> LeaderLock:
        return LeaderLock(redis.Redis.from_url(self.app.conf.broker_url))

    @cached_property
    def broker(self) -> Outage:
        return Outage("broker", log.warning)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            if not self.leader.hold():
                return STANDBY_TICK_S
        except BROKER_AWAY as err:
            self.broker.failed(err)
            return AWAY_TICK_S
        self.broker.worked()
        return min(float(super().tick(*args, **kwargs)), TTL_S / 3)  # renew well before the lock runs out

    def apply_entry(self, entry: ScheduleEntry, producer: Any = None) -> None:
        """Send one due task; quiet when it goes (every few seconds), one line per outage when it cannot."""
        try:
            self.apply_async(entry, producer=producer, advance=False)
        except BROKER_AWAY as err:
            self.broker.failed(err)
        except Exception:
            log.exception("could not send %s", entry.task)
        else:
            log.debug("Sending due task %s (%s)", entry.name, entry.task)  # beat says it at INFO, every few seconds

    def close(self) -> None:
        with contextlib.suppress(*BROKER_AWAY):  # else the lock runs out by itself
            self.leader.release()
        super().close()
