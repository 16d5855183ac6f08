"""How often one call may be sent: one retry policy per boundary, each applied in exactly one place.

| policy   | retries                                        | applied by                         | sends | deadline  |
|----------|------------------------------------------------|------------------------------------|-------|-----------|
| LLM      | 429, 5xx, a dropped connection                 | the chat model's client            | 4     | 4 x 60 s  |
| FAL      | a submit that never arrived; a failed download | `renderers.fal`                    | 4     | 30 s      |
| CHANNELS | 429 (Retry-After up to 30 s), 5xx, timeouts    | `publishers.stage`, per publish    | 4     | 120 s     |
| STORE    | the ending transaction, database away          | `beatdesk.runner`                  | 40    | 60 s      |
| BROKER   | a batch's task, store or broker away           | Celery's autoretry                 | 41    | ~40 min   |
| STEP     | a transient error no policy above retried      | Celery's autoretry, or the runner  | 9 / 5 | ~8 min    |

None is nested in another: a policy that gives up marks the error (`spent`), and the step-level retry (STEP)
never sends a call again that a boundary's policy has already retried; the step ends failed with what it cost.
A publish step that gave up for now is parked instead: its channel is tried again by a later sweep (Retry-After,
else 1, 2, 4 ... 60 minutes) until `publish_give_up_after_s` after its slot, at most CHANNELS.attempts sends a try.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

T = TypeVar("T")
_SPENT = "beatdesk_retries_spent"


@dataclass(frozen=True)
class Policy:
    boundary: str
    attempts: int
    """Sends of one call in all, the first included."""
    deadline_s: float
    """No send starts after this long since the first."""
    first_wait_s: float = 0.5
    max_wait_s: float = 10.0
    retry_after_cap_s: float = 0.0
    """A Retry-After the answer names is waited up to this long; a longer one gives up (0: not honoured)."""

    def wait_s(self, attempt: int, retry_after_s: float | None = None) -> float | None:
        """The wait after the `attempt`-th send failed (exponential with full jitter); None: give up (the server
        asks for a longer wait than this policy holds a worker for)."""
        if retry_after_s is not None and self.retry_after_cap_s:
            return retry_after_s if retry_after_s <= self.retry_after_cap_s else None
        return random.uniform(0, min(self.max_wait_s, self.first_wait_s * 2 ** (attempt - 1)))

    def call(self, action: Callable[[], T], *, retry_if: Callable[[BaseException], bool]) -> T:
        """`action` sent again while `retry_if` says so, within the attempts and the deadline; the last error is
        raised marked `spent`."""
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                return action()
            except Exception as err:
                if not retry_if(err):
                    raise
                wait = self.wait_s(attempt, getattr(err, "retry_after_s", None))
                if attempt >= self.attempts or wait is None or time.monotonic() - started + wait > self.deadline_s:
                    setattr(err, _SPENT, self.boundary)
                    raise
                time.sleep(wait)

    def celery_options(self) -> dict[str, Any]:
        """The policy as Celery's autoretry options (its backoff has full jitter too)."""
        return {"max_retries": self.attempts - 1, "retry_backoff": self.first_wait_s,
                "retry_backoff_max": self.max_wait_s, "retry_jitter": True}  # fmt: skip


def spent(err: BaseException) -> str | None:
    """The boundary whose policy already retried this error (then nothing sends the call again), or None."""
    return getattr(err, _SPENT, None)


def of_type(*kinds: type[BaseException]) -> Callable[[BaseException], bool]:
    return lambda err: isinstance(err, kinds)


LLM = Policy("LLM", attempts=4, deadline_s=4 * 60.0)
"""Applied by the chat model's client alone: `max_retries` (BEATDESK_LLM_MAX_RETRIES, attempts - 1 by default),
each send bounded by BEATDESK_LLM_TIMEOUT_S (60 s by default); its errors are not retried by the step."""
FAL = Policy("fal", attempts=4, deadline_s=30.0, first_wait_s=0.2, max_wait_s=5.0)
CHANNELS = Policy("channels", attempts=4, deadline_s=120.0, first_wait_s=0.5, max_wait_s=10.0, retry_after_cap_s=30.0)
STORE = Policy("store", attempts=40, deadline_s=60.0, first_wait_s=0.2, max_wait_s=5.0)
BROKER = Policy("broker", attempts=41, deadline_s=41 * 60.0, first_wait_s=1.0, max_wait_s=60.0)
STEP = Policy("step", attempts=9, deadline_s=9 * 60.0, first_wait_s=1.0, max_wait_s=60.0)
STEP_IN_PLACE = replace(STEP, attempts=5, first_wait_s=0.5)
"""Without a broker the retry waits in the worker's own thread: fewer, shorter."""
