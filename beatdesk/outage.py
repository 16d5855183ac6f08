"""One line when a service goes away and one when it is back, however many passes fail in between."""

from __future__ import annotations

import time
from collections.abc import Callable

from beatdesk.runner import one_line


class Outage:
    """Tells a loop's failures apart from its outages: a broker or database that is away for a minute is
    one line (the first error), not a traceback on every tick; the pass that works again says so."""

    def __init__(self, what: str, say: Callable[[str], None]) -> None:
        self.what, self.say = what, say
        self.since: float | None = None

    @property
    def away(self) -> bool:
        return self.since is not None

    def failed(self, err: BaseException) -> None:
        if self.since is None:
            self.since = time.monotonic()
            cause = getattr(err, "orig", None) or err  # SQLAlchemy's wrapper adds its statement and a docs link
            self.say(f"{self.what} away: {one_line(cause).rstrip('.')}; trying again quietly until it answers")

    def worked(self) -> None:
        if self.since is not None:
            self.say(f"{self.what} back after {time.monotonic() - self.since:.0f}s")
            self.since = None
