"""The calendar's shape: which days a week or a month view shows, in the persona's zone, and what each day holds.

Days run from local midnight to local midnight, so a week across a DST change still has seven whole days
and an 08:30 slot sits at 08:30 on both sides of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from beatdesk.store.calendar import SlotPost

View = Literal["week", "month"]


@dataclass(frozen=True)
class Entry:
    """A slot on a day: a post that holds it, or free (`post` None)."""

    at: datetime
    local: str
    """HH:MM in the persona's zone."""
    post: SlotPost | None = None


@dataclass
class Day:
    day: date
    today: bool
    outside: bool
    """A day of the month before or after, shown to fill the month's weeks."""
    entries: list[Entry] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.entries


@dataclass(frozen=True)
class Span:
    """The days one view shows, and the moments (UTC) they cover."""

    view: View
    first: date
    last: date
    zone: ZoneInfo
    anchor: date
    """The day the view was asked for: the month's first day for a month."""

    @property
    def start(self) -> datetime:
        return midnight(self.first, self.zone)

    @property
    def end(self) -> datetime:
        return midnight(self.last + timedelta(days=1), self.zone)

    @property
    def previous(self) -> date:
        if self.view == "week":
            return self.anchor - timedelta(days=7)
        return (self.anchor - timedelta(days=1)).replace(day=1)

    @property
    def following(self) -> date:
        if self.view == "week":
            return self.anchor + timedelta(days=7)
        return (self.anchor + timedelta(days=32)).replace(day=1)

    @property
    def title(self) -> str:
        if self.view == "month":
            return f"{self.anchor:%B %Y}"
        return f"Week of {self.first:%a %d %b %Y}"


def midnight(day: date, zone: ZoneInfo) -> datetime:
    """The start of `day` in `zone`, in UTC (a zone whose clocks skip midnight starts the day at the gap's end)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def span(view: View, around: date, zone: ZoneInfo) -> Span:
    """The week (Monday to Sunday) holding `around`, or its month filled out to whole weeks."""
    if view == "week":
        monday = around - timedelta(days=around.weekday())
        return Span(view, monday, monday + timedelta(days=6), zone, monday)
    first = around.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return Span(view, first - timedelta(days=first.weekday()), last + timedelta(days=6 - last.weekday()), zone, first)


def days_of(shown: Span, *, posts: list[SlotPost], free: list[datetime], now: datetime) -> list[Day]:
    """Every day of the view with its posts and free slots, in time order."""
    today = now.astimezone(shown.zone).date()
    count = (shown.last - shown.first).days + 1
    days = [Day(d, today=d == today, outside=shown.view == "month" and d.month != shown.anchor.month)
            for d in (shown.first + timedelta(days=n) for n in range(count))]  # fmt: skip
    by_date = {d.day: d for d in days}
    entries = [(post.slot_at, post) for post in posts] + [(at, None) for at in free]
    for at, post in sorted(entries, key=lambda e: (e[0], e[1] is None)):
        local = at.astimezone(shown.zone)
        if local.date() in by_date:
            by_date[local.date()].entries.append(Entry(at=at, local=f"{local:%H:%M}", post=post))
    return days
