"""`beatdesk notify test`: every configured URL told a test message now, each one's outcome said."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from beatdesk.notify.sender import Delivery, deliver


@dataclass(frozen=True)
class Configured:
    url: str
    source: str
    """BEATDESK_NOTIFY_URLS, or `persona KEY`."""


def configured_urls(*, urls: tuple[str, ...], home: Path) -> tuple[list[Configured], list[str]]:
    """Every URL told about something (the setting's, then each persona's), and the persona files that cannot be
    read (said, not skipped in silence)."""
    from beatdesk.errors import BeatdeskError
    from beatdesk.personas import known_personas, load_persona

    found = [Configured(url, "BEATDESK_NOTIFY_URLS") for url in urls]
    problems = []
    for key in known_personas(home):
        try:
            found += [Configured(url, f"persona {key}") for url in load_persona(home, key).notify]
        except BeatdeskError as err:
            problems.append(str(err))
    return found, problems


def send_test(targets: list[Configured]) -> list[tuple[Configured, Delivery]]:
    """A test message to each URL, now, on this thread (no de-duplication): what `beatdesk notify test` does."""
    title, body = "beatdesk: test notification", "If you read this, beatdesk can tell you when something needs you."
    return [(target, deliver([target.url], title=title, body=body)[0]) for target in targets]
