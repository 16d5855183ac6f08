"""Apprise URLs as people write them: split, checked for shape cheaply, checked by Apprise where it matters.

Apprise loads its hundred plugins on first use (about a second), so reading a persona or the settings only
checks the shape; `beatdesk notify test`, the desk's persona editor and the sender ask Apprise itself.
"""

from __future__ import annotations

import re
from typing import Any

SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,31}://\S+")
EXAMPLES = "such as ntfy://TOPIC, json://HOST/PATH, mailto://USER:PASSWORD@HOST or discord://ID/TOKEN"


def split_urls(text: str | None) -> tuple[str, ...]:
    """URLs separated by spaces or commas (Apprise URLs keep commas out of their tokens)."""
    return tuple(part for part in re.split(r"[\s,]+", text or "") if part)


def shown(url: str) -> str:
    """What may be printed of a URL without a token in it: its scheme (tokens live in hosts and paths too)."""
    scheme, sep, _ = url.partition("://")
    return f"{scheme[:32]}://…" if sep else f"{url[:6]}…"


def shape_problem(urls: tuple[str, ...] | list[str]) -> str | None:
    """Why one of the URLs cannot be an Apprise URL (naming it by position), or None."""
    for number, url in enumerate(urls, start=1):
        if not SHAPE.fullmatch(url):
            return f"URL {number} ({shown(url)}) is not an Apprise URL: write it as scheme://…, {EXAMPLES}"
    return None


def apprise_problem(url: str) -> str | None:
    """Why Apprise cannot use the URL (an unknown service, a missing token), or None. Loads Apprise."""
    if shape_problem([url]):
        return f"{shown(url)} is not an Apprise URL: write it as scheme://…, {EXAMPLES}"
    if _plugin(url) is None:
        return f"{shown(url)}: Apprise does not know this service, or the URL lacks a part it needs; {EXAMPLES}"
    return None


def private(url: str) -> str:
    """The URL as Apprise prints it with its secrets hidden (its privacy mode), for lists and logs."""
    plugin = _plugin(url)
    return str(plugin.url(privacy=True)) if plugin is not None else shown(url)


def _plugin(url: str) -> Any:
    import apprise  # loaded here, not at start-up

    return apprise.Apprise.instantiate(url)
