"""The offline planner: a deterministic ranking of the persona's beats x sources, no model needed."""

from __future__ import annotations

import re

from beatdesk.models import Beat, Source
from beatdesk.phrasing import shorter
from planner.base import PlanningContext, PlanningError, PlanResult
from planner.selection import Candidate, recent_pegs, select, sources_by_beat

SOURCE_ANGLES_PER_BEAT = 5
CLAIMS_PER_SOURCE = 4
TITLE_CHARS, TITLE_WORDS = 80, 9
"""A claim's title is a phrasing of it that fits, short of the drafter's verbatim-copy run (never cut with "…")."""
CLAIM_WORDS = (6, 40)
"""A sentence this long (in words) can carry a piece: shorter is a fragment, longer a paragraph."""
_NOT_A_CLAIM = re.compile(
    r"https?://|www\.|(?<![\w.])@\w|\?$|\b(?:make sure|be sure|should|must|please|include|ignore|disregard"
    r"|click|subscribe|sign up|you)\b",
    re.IGNORECASE,
)
"""Sentences that ask or instruct rather than state a case: never an angle."""


def button_for(beat: Beat) -> str:
    """The line a piece on this beat lands on: the last sentence of the persona's take."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", " ".join(beat.notes.split())) if s]
    return sentences[-1] if sentences else beat.title


def source_angle(beat: Beat, source: Source) -> str:
    return f"What “{source.title.rstrip('.')}” says about {beat.title.lower()}"


def claims(source: Source) -> list[str]:
    """The sentences of a source that state a case or a finding; each can carry a piece of its own."""
    least, most = CLAIM_WORDS
    found = [s.rstrip(".") for s in source.sentences() if least <= len(s.split()) <= most]
    return [s for s in found if not _NOT_A_CLAIM.search(s)][:CLAIMS_PER_SOURCE]


def claim_candidates(beat: Beat, source: Source) -> list[Candidate]:
    """One candidate per claim of the source, quoted (the source's words, not the persona's) and pegged on it;
    the source's title as the angle when it states no claim."""
    button = button_for(beat)
    found = claims(source)
    if not found:
        return [Candidate(beat=beat, angle=source_angle(beat, source), button=button, peg=source)]
    name = source.title.rstrip(".")
    return [
        Candidate(beat=beat, angle=f"{name}: “{claim}”", button=button, peg=source,
                  title=shorter(claim, chars=TITLE_CHARS, words=TITLE_WORDS))
        for claim in found
    ]  # fmt: skip


def catalogue(context: PlanningContext) -> list[Candidate]:
    """Every item the persona's beats and sources could make, in the catalogue's order: the beats' own angles
    first, then a case from each source (news-pegged beats: recent sources only)."""
    out = []
    by_beat = sources_by_beat(context)
    for beat in context.persona.beats:
        tagged = by_beat.get(beat.key, [])
        pegs = recent_pegs(context, beat, tagged)
        newest = pegs[0] if pegs else None
        for angle in beat.angles:
            out.append(
                Candidate(
                    beat=beat, angle=angle, button=button_for(beat), peg=newest if beat.kind == "news_pegged" else None
                )
            )
        material = pegs if beat.kind == "news_pegged" else tagged
        for source in material[:SOURCE_ANGLES_PER_BEAT]:
            out += claim_candidates(beat, source)
    return out


class OfflinePlanner:
    provider = "offline"
    model = "offline"

    def plan(self, context: PlanningContext) -> PlanResult:
        selection = select(context, catalogue(context))
        if len(selection.plans) < context.spec.total:
            raise PlanningError(
                f"only {len(selection.plans)} of {context.spec.total} items could be planned without repeating "
                f"the last {context.freshness_days} days; add about {context.spec.total - len(selection.plans)} "
                f"angles to the beats in personas/{context.persona.key}.toml, or sources with a few claims each "
                "(`beatdesk sources add`; news-pegged beats need ones from the last 30 days)"
            )
        return PlanResult(plans=selection.plans, notes=selection.dropped)
