"""Waiting for a channel to finish processing media: one poll loop with a deadline for every channel."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from publishers.http import TransientPublishError

T = TypeVar("T")
PROCESSING_TIMEOUT_S = 600.0
FIRST_POLL_S, LONGEST_POLL_S = 0.25, 5.0


def poll(check: Callable[[], T | None], *, what: str, timeout_s: float = PROCESSING_TIMEOUT_S) -> T:
    """Call `check` until it returns a value, pausing 0.25 s and up to 5 s between calls.

    `check` raises for a failed state (a refusal). Past the deadline the wait ends with a transient error:
    the upload is stored, so the next attempt waits on the same media instead of uploading it again."""
    deadline = time.monotonic() + timeout_s
    pause = FIRST_POLL_S
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() + pause > deadline:
            raise TransientPublishError(f"{what} is still processing after {timeout_s:g}s")
        time.sleep(pause)
        pause = min(pause * 1.5, LONGEST_POLL_S)
