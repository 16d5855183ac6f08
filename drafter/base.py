"""The drafter's interface."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from beatdesk.models import Draft, Persona, Plan, Source

RECENT_DAYS = 30
"""How far back a new draft looks at the persona's other drafts, not to quote the same passage again."""


@dataclass(frozen=True)
class DraftingContext:
    persona: Persona
    plan: Plan
    sources: list[Source]
    """The sources the plan cites, then others on the same beat."""
    note: str | None = None
    """A reviewer's note when a draft is sent back."""
    recent: tuple[Draft, ...] = ()
    """The persona's drafts of the last RECENT_DAYS days from other batches, newest first."""
    batch: tuple[Plan, ...] = ()
    """The plans of this post's batch in post order (this one among them): drafted side by side, the batch's
    posts on one beat share its fresh passages and openers out by their order."""


@dataclass(frozen=True)
class DraftResult:
    draft: Draft
    cost_usd: Decimal = Decimal("0")
    detail: str | None = None


class Drafter(Protocol):
    provider: str
    model: str

    def draft(self, context: DraftingContext) -> DraftResult: ...


def cited_sources(plan: Plan, sources: list[Source]) -> list[Source]:
    """The sources the plan pegs on first, then the others tagged with its beat."""
    by_id = {source.id: source for source in sources}
    cited = [by_id[i] for i in plan.peg if i in by_id]
    return cited + [s for s in sources if plan.beat_key in s.beats and s not in cited]


class UnavailableDrafter:
    """Stands in for a drafter that could not be built, so each item's step fails with the reason."""

    def __init__(self, name: str, error: Exception) -> None:
        self.provider, _, model = name.partition(":")
        self.model = model or self.provider
        self.error = error

    def draft(self, context: DraftingContext) -> DraftResult:
        raise self.error
