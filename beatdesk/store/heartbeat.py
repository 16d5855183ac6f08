"""Running steps say they are alive: a runner's heartbeat writes a beat on the steps it is running.

A step whose beat has gone stale (its worker died, or it gave up and handed the step to a retry that
never came) is taken over by the next worker or reconciler that sees it. Each runner owns one
`Heartbeat`, at its own interval: one thread while it runs steps (none when idle), one statement per
beat, however many threads of renders it runs.
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


def worker_name() -> str:
    """host:pid of this process (a forked worker child gets its own)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def is_stale(beat_at: datetime | None, *, stale_after_s: float, now: datetime | None = None) -> bool:
    return beat_at is None or beat_at < (now or utcnow()) - timedelta(seconds=stale_after_s)


class Heartbeat:
    """The beats of one runner's running steps, renewed every `every_s` by a thread that runs while any does."""

    def __init__(self, store: Store, *, every_s: float) -> None:
        self.store, self.every_s = store, every_s
        self._lock = threading.Lock()
        self._running: set[int] = set()
        self._pid: int | None = None
        """The process whose thread beats; after a fork the parent's thread (and its steps) are not the child's."""
        self._beating = False

    def running_here(self, step_id: int) -> bool:
        with self._lock:
            return self._pid == os.getpid() and step_id in self._running

    @contextmanager
    def beating(self, step_id: int) -> Iterator[None]:
        """While the block runs, the step's beat is renewed."""
        with self._lock:
            if self._pid != os.getpid():
                self._pid, self._running, self._beating = os.getpid(), set(), False
            self._running.add(step_id)
            start, self._beating = not self._beating, True
        if start:
            threading.Thread(target=self._beat_while_running, name="beatdesk-heartbeat", daemon=True).start()
        try:
            yield
        finally:
            with self._lock:
                self._running.discard(step_id)

    def _beat_while_running(self) -> None:
        wake = threading.Event()
        while not wake.wait(self.every_s):
            with self._lock:
                if not self._running:  # idle: the thread ends; the next step started starts another
                    self._beating = False
                    return
                step_ids = sorted(self._running)
            try:
                with self.store.session() as session:
                    session.execute(
                        update(StepRow)
                        .where(StepRow.id.in_(step_ids), StepRow.status == StepStatus.running)
                        .values(beat_at=utcnow())
                    )
            except Exception as err:  # the database is away: the steps look stale until it is back, never lost
                log.warning("heartbeat not written: %s", " ".join(str(err).split())[:200])
