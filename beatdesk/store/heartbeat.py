"""Running steps say they are alive: one thread per process writes a beat on the steps it is running.

A step whose beat has gone stale (its worker died, or it gave up and handed the step to a retry that
never came) is taken over by the next worker or reconciler that sees it. One statement per beat per
process, however many threads of renders it runs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import update

from beatdesk.models import StepStatus
from beatdesk.store.schema import StepRow, utcnow

if TYPE_CHECKING:
    from beatdesk.store.engine import Store

log = logging.getLogger(__name__)

_lock = threading.Lock()
_running: dict[int, Store] = {}
"""Steps running in this process right now, and the store each belongs to."""
_thread_pid: int | None = None


def worker_name() -> str:
    """host:pid of this process (a forked worker child gets its own)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def is_stale(beat_at: datetime | None, *, stale_after_s: float, now: datetime | None = None) -> bool:
    return beat_at is None or beat_at < (now or utcnow()) - timedelta(seconds=stale_after_s)


def running_here(step_id: int) -> bool:
    with _lock:
        return step_id in _running


@contextmanager
def beating(store: Store, step_id: int, *, every_s: float) -> Iterator[None]:
    """While the block runs, the step's beat is renewed every `every_s`."""
    global _thread_pid
    with _lock:
        _running[step_id] = store
        start = _thread_pid != os.getpid()  # after a fork the parent's thread is gone: start one here
        _thread_pid = os.getpid()
    if start:
        threading.Thread(target=_beat_forever, args=(every_s,), name="beatdesk-heartbeat", daemon=True).start()
    try:
        yield
    finally:
        with _lock:
            _running.pop(step_id, None)


def forget(store: Store | None = None) -> None:
    """Beat no more to `store` (or to any): its engine is being disposed."""
    with _lock:
        for step_id in [i for i, s in _running.items() if store is None or s is store]:
            del _running[step_id]


def _beat_forever(every_s: float) -> None:
    wake = threading.Event()
    while not wake.wait(every_s):
        with _lock:
            by_store: dict[int, tuple[Store, list[int]]] = {}
            for step_id, store in _running.items():
                by_store.setdefault(id(store), (store, []))[1].append(step_id)
        for store, step_ids in by_store.values():
            try:
                with store.session() as session:
                    session.execute(
                        update(StepRow)
                        .where(StepRow.id.in_(step_ids), StepRow.status == StepStatus.running)
                        .values(beat_at=utcnow())
                    )
            except Exception as err:  # the database is away: the steps look stale until it is back, never lost
                log.warning("heartbeat not written: %s", " ".join(str(err).split())[:200])
