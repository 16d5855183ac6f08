"""The planner's interface: what it is given and what it returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from beatdesk.errors import BeatdeskError
from beatdesk.models import BatchSpec, Persona, Plan, Source

DEFAULT_FRESHNESS_THRESHOLD = 0.4
"""Similarity (TF-IDF cosine, 0..1) at or above which two angles count as the same piece."""


class PlanningError(BeatdeskError):
    pass


@dataclass(frozen=True)
class RecentPost:
    post_id: int
    title: str
    angle: str


@dataclass(frozen=True)
class PlanningContext:
    """Everything a planner may look at: the persona, its material and its recent history."""

    persona: Persona
    sources: list[Source]
    """Recent sources, newest first."""
    spec: BatchSpec
    now: datetime
    last_run: dict[str, datetime] = field(default_factory=dict)
    """When each beat last went into a live post (planned to published)."""
    recent: list[RecentPost] = field(default_factory=list)
    """The persona's live posts inside the freshness window."""
    freshness_days: int = 30
    freshness_threshold: float = DEFAULT_FRESHNESS_THRESHOLD
    observed: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    """Normalised engagement of the persona's scored posts, per beat (beatdesk.scoring); empty before any."""
    seed: int = 0
    """Seeds the learning's draws (the batch id), so the same batch plans the same way again."""
    warnings: tuple[str, ...] = ()
    """Files of the persona's sources folder that were skipped, and why (a link out of it, too large...)."""


@dataclass(frozen=True)
class PlanResult:
    plans: list[Plan]
    cost_usd: Decimal = Decimal("0")
    notes: list[str] = field(default_factory=list)
    """What the planner had to correct or fall back on, for the record."""


class Planner(Protocol):
    provider: str
    model: str

    def plan(self, context: PlanningContext) -> PlanResult: ...
