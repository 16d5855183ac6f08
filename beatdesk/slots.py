"""Posting slots: the persona's local times, turned into the next free moment to publish."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from beatdesk.errors import ConfigError
from beatdesk.models import Persona

SEARCH_DAYS = 366


def _zone(persona: Persona) -> ZoneInfo:
    try:
        return ZoneInfo(persona.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"persona {persona.key}: timezone {persona.timezone!r} is not an IANA time zone") from None


def upcoming_slots(persona: Persona, *, after: datetime) -> Iterator[datetime]:
    """The persona's slots after `after`, in order, as aware UTC datetimes."""
    zone = _zone(persona)
    day = after.astimezone(zone).date()
    for offset in range(SEARCH_DAYS):
        for slot in sorted(persona.slots):
            local = datetime.combine(day + timedelta(days=offset), slot, tzinfo=zone)
            at = local.astimezone(UTC)
            if at > after:
                yield at


def next_free_slot(persona: Persona, *, after: datetime, taken: set[datetime]) -> datetime:
    for at in upcoming_slots(persona, after=after):
        if at not in taken:
            return at
    raise ConfigError(f"persona {persona.key}: no free slot in the next {SEARCH_DAYS} days")
