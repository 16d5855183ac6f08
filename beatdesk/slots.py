"""Posting slots: the persona's local times and cron lines, turned into moments to publish.

Times are read in the persona's time zone, so a 08:30 slot stays 08:30 local across a DST change.
A local time that does not exist that day (skipped by the spring change) moves forward by the gap
(02:30 becomes 03:30); one that happens twice (the autumn change) is taken once, at its first.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from beatdesk.errors import ConfigError
from beatdesk.models import Channel, Persona

SEARCH_DAYS = 366


def zone_of(persona: Persona) -> ZoneInfo:
    try:
        return ZoneInfo(persona.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"persona {persona.key}: timezone {persona.timezone!r} is not an IANA time zone") from None


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    # fold=0: a time in the spring gap reads with the offset before it (02:30 becomes 03:30), and a time
    # the autumn change repeats reads as its first occurrence.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _daily(times: Iterable[time], zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    ordered = sorted(set(times))
    day = after.astimezone(zone).date() - timedelta(days=1)
    for offset in range(SEARCH_DAYS + 2):
        for at in ordered:
            moment = _local(day + timedelta(days=offset), at, zone)
            if moment > after:
                yield moment


def _cron(line: str, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    # Walked in local wall-clock time, then placed like a daily time: "30 8 * * *" and "08:30" agree,
    # across DST changes too. The walk starts a few hours early, because around an autumn change the
    # wall clock repeats an hour; moments not after `after` are dropped.
    schedule = croniter(line, after.astimezone(zone).replace(tzinfo=None) - timedelta(hours=3))
    while True:
        wall = schedule.get_next(datetime)
        moment = _local(wall.date(), wall.time(), zone)
        if moment > after:
            yield moment


def moments(times: Iterable[time], cron: Iterable[str], zone: ZoneInfo, *, after: datetime) -> Iterator[datetime]:
    """Every moment after `after` given by daily local times and cron lines, in order, once each, in UTC."""
    horizon = after + timedelta(days=SEARCH_DAYS)
    last = None
    for at in heapq.merge(_daily(times, zone, after), *(_cron(line, zone, after) for line in cron)):
        if at > horizon:
            return
        if at != last:
            yield at
            last = at


def upcoming_slots(persona: Persona, *, after: datetime) -> Iterator[datetime]:
    """The persona's slots after `after`, in order, as aware UTC datetimes."""
    return moments(persona.slots, persona.slot_cron, zone_of(persona), after=after)


def next_free_slot(persona: Persona, *, after: datetime, taken: set[datetime]) -> datetime:
    for at in upcoming_slots(persona, after=after):
        if at not in taken:
            return at
    raise ConfigError(f"persona {persona.key}: no free slot in the next {SEARCH_DAYS} days")


def channel_time(persona: Persona, channel: Channel, slot_at: datetime) -> datetime:
    """When a post approved for `slot_at` goes out on `channel`: its own next time, or the slot itself."""
    if not channel.slots and not channel.cron:
        return slot_at
    for at in moments(channel.slots, channel.cron, zone_of(persona), after=slot_at - timedelta(microseconds=1)):
        return at
    raise ConfigError(f"persona {persona.key}: channel {channel.name} has no posting time in {SEARCH_DAYS} days")
