"""The offline planner: a deterministic ranking of the persona's beats x sources, no model needed."""

from __future__ import annotations

import re

from beatdesk.models import Beat, Source
from planner.base import PlanningContext, PlanningError, PlanResult
from planner.selection import Candidate, recent_pegs, select

SOURCE_ANGLES_PER_BEAT = 5


def button_for(beat: Beat) -> str:
    """The line a piece on this beat lands on: the last sentence of the persona's take."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", " ".join(beat.notes.split())) if s]
    return sentences[-1] if sentences else beat.title


def source_angle(beat: Beat, source: Source) -> str:
    return f"What “{source.title.rstrip('.')}” says about {beat.title.lower()}"


def catalogue(context: PlanningContext) -> list[Candidate]:
    """Every item the persona's beats and recent sources could make, in the catalogue's order."""
    out = []
    for beat in context.persona.beats:
        pegs = recent_pegs(context, beat)
        newest = pegs[0] if pegs else None
        for angle in beat.angles:
            out.append(
                Candidate(
                    beat=beat, angle=angle, button=button_for(beat), peg=newest if beat.kind == "news_pegged" else None
                )
            )
        for source in pegs[:SOURCE_ANGLES_PER_BEAT]:
            out.append(Candidate(beat=beat, angle=source_angle(beat, source), button=button_for(beat), peg=source))
    return out


class OfflinePlanner:
    provider = "offline"
    model = "offline"

    def plan(self, context: PlanningContext) -> PlanResult:
        selection = select(context, catalogue(context))
        if len(selection.plans) < context.spec.total:
            raise PlanningError(
                f"only {len(selection.plans)} of {context.spec.total} items could be planned without repeating "
                f"the last {context.freshness_days} days; add angles to personas/{context.persona.key}.toml "
                "or sources with `beatdesk sources add`"
            )
        return PlanResult(plans=selection.plans, notes=selection.dropped)
