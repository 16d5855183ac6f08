"""Off the pipeline's path: one daemon thread per process runs queued notification jobs, and Apprise sends.

A job that fails is logged in one line and the next goes on; nothing here ever raises into a step. At exit
(a short CLI command) what is queued is flushed with a bounded wait; a forked child starts with an empty queue.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from beatdesk.notify.urls import shown

log = logging.getLogger(__name__)

CAPACITY = 1000
"""Jobs waiting at most; past it a notice is dropped with a log line (a flood must not eat the memory)."""
FLUSH_AT_EXIT_S = 15.0
"""How long a process that ends waits for its notices: Apprise's own timeouts (4 s to connect, 4 s to read)."""


class Sender:
    """A queue of jobs drained by one daemon thread, started on the first job in each process."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._pending = 0
        self._idle = threading.Condition()
        self._pid: int | None = None

    def put(self, job: Callable[[], None]) -> None:
        with self._idle:
            if self._pending >= CAPACITY:
                log.warning("notification dropped: %d already waiting to be sent", self._pending)
                return
            self._pending += 1
            start, self._pid = self._pid != os.getpid(), os.getpid()
        self._jobs.put(job)
        if start:
            threading.Thread(target=self._drain, name="beatdesk-notify", daemon=True).start()

    def flush(self, timeout_s: float) -> int:
        """Wait until every queued job ran, at most `timeout_s`; return how many are still waiting."""
        with self._idle:
            self._idle.wait_for(lambda: self._pending == 0, timeout=timeout_s)
            return self._pending

    def _drain(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except Exception as err:  # a notifier never takes the process down, nor stops the next notice
                log.warning("notification not sent: %s", " ".join(str(err).split())[:300])
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()


SENDER = Sender()
os.register_at_fork(after_in_child=SENDER._reset)  # the parent's queue and its lock do not cross a fork


@atexit.register
def _flush_at_exit() -> None:
    """A backstop: an entry point flushes before the interpreter shuts down (`beatdesk_cli.main.main`); Apprise 2
    cannot start its threads from here."""
    left = SENDER.flush(FLUSH_AT_EXIT_S)
    if left:
        log.warning("%d notification(s) not sent: the process ended first", left)


def flush(timeout_s: float = FLUSH_AT_EXIT_S) -> int:
    """Wait for this process's queued notices (bounded); return how many are still waiting."""
    return SENDER.flush(timeout_s)


@dataclass(frozen=True)
class Delivery:
    url: str
    """As Apprise prints it with its secrets hidden, without its query."""
    error: str | None = None
    """Why it failed, or None when the service took it."""


def deliver(urls: Sequence[str], *, title: str, body: str) -> list[Delivery]:
    """Send one message to each URL on its own, so each one's outcome is known."""
    import apprise  # about a second to load its plugins: only where something is sent

    # Apprise's own lines are folded into ours (one line per notice that failed), not printed beside them.
    logging.getLogger("apprise").propagate = False
    asset = apprise.AppriseAsset(async_mode=False)  # one service at a time: this is the sender's own thread
    deliveries = []
    for url in urls:
        notifier = apprise.Apprise(asset=asset)
        if not notifier.add(url):
            deliveries.append(Delivery(shown(url), "Apprise does not know this service, or the URL lacks a part"))
            continue
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
            sent = notifier.notify(title=title, body=body)
        said = [line for line in captured.getvalue().splitlines() if line.strip()]
        reason = None if sent else (said[0] if said else "the service did not take it")
        # Apprise's privacy URL, less the options it adds to every URL (?method=POST&overflow=upstream&…).
        deliveries.append(Delivery(str(notifier.urls(privacy=True)[0]).partition("?")[0], reason))
    return deliveries
