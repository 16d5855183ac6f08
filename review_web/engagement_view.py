"""The persona page's engagement rankings: beats, formats, angles and posting times, per post and per dollar."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from beatdesk.audience import Report, report
from beatdesk.models import Persona
from beatdesk.scoring import Dimension, format_per_dollar
from beatdesk.store import Store

HEADINGS: dict[Dimension, str] = {"beat": "Beat", "format": "Format", "angle": "Angle", "hour": "Posting hour",
                                  "weekday": "Weekday"}  # fmt: skip
ANGLES_SHOWN = 10


@dataclass(frozen=True)
class Row:
    label: str
    posts: int
    mean: str
    interval: str
    """'0.82–1.40', or '–' below two posts."""
    cost_usd: Decimal
    per_dollar: str
    """Score per USD, or 'free'."""
    dollar_rank: int


@dataclass(frozen=True)
class Table:
    dimension: Dimension
    heading: str
    rows: list[Row]
    more: int


@dataclass(frozen=True)
class EngagementView:
    zone: str
    published: int
    scored: int
    tables: list[Table]
    suggested_times: list[str]


def persona_engagement(store: Store, persona: Persona) -> EngagementView:
    """The rankings over every post the persona has published; beat keys shown by their titles."""
    with store.session() as session:
        found = report(session, zones={persona.key: persona.timezone}, persona=persona.key, since=None)
    return view(found, persona)


def view(found: Report, persona: Persona) -> EngagementView:
    titles = {beat.key: beat.title for beat in persona.beats}
    tables = []
    for dim, ranks in found.per_post.items():
        place = {r.key: i for i, r in enumerate(found.per_dollar[dim], start=1)}
        shown = ranks[:ANGLES_SHOWN] if dim == "angle" else ranks
        rows = [
            Row(label=titles.get(r.key, r.key) if dim == "beat" else r.key, posts=r.posts, mean=f"{r.mean:.2f}",
                interval="–" if r.interval is None else f"{r.interval[0]:.2f}–{r.interval[1]:.2f}",
                cost_usd=r.cost_usd, per_dollar=format_per_dollar(r.per_dollar), dollar_rank=place[r.key])
            for r in shown
        ]  # fmt: skip
        tables.append(Table(dim, HEADINGS[dim], rows, len(ranks) - len(shown)))
    return EngagementView(zone=persona.timezone, published=found.published, scored=found.scored, tables=tables,
                          suggested_times=[r.key for r in found.suggested_times])  # fmt: skip
