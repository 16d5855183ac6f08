"""The planner's interface: what it is given and what it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from beatdesk.models import BatchSpec, Persona, Plan, Source


@dataclass(frozen=True)
class PlanningContext:
    """Everything a planner may look at: the persona, its material and its recent history."""

    persona: Persona
    sources: list[Source]
    spec: BatchSpec
    now: datetime
    last_run: dict[str, datetime] = field(default_factory=dict)
    """When each beat last went into a live post."""
    recent_angles: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class PlanResult:
    plans: list[Plan]
    cost_usd: Decimal = Decimal("0")


class Planner(Protocol):
    provider: str
    model: str

    def plan(self, context: PlanningContext) -> PlanResult: ...
