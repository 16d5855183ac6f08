"""The offline planner: a deterministic ranking of the persona's beats and sources, no model needed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from beatdesk.models import Beat, ContentFormat, Plan, Source
from planner.base import PlanningContext, PlanResult

NEVER_RUN_STALENESS = 3.0
"""A beat never run counts as three cooldowns stale: it goes first, but weight still matters."""
PEG_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Candidate:
    beat: Beat
    score: float
    days_since: float | None
    in_cooldown: bool
    peg: Source | None


class OfflinePlanner:
    provider = "offline"
    model = "offline"

    def plan(self, context: PlanningContext) -> PlanResult:
        ranked = self._rank(context)
        chosen = self._choose(ranked, context.spec.total)
        formats = self._assign_formats(chosen, context)
        used_angles: set[str] = set()
        plans = []
        for candidate, fmt in zip(chosen, formats, strict=True):
            angle = self._pick_angle(candidate, context.recent_angles | used_angles)
            used_angles.add(angle)
            plans.append(self._plan(candidate, fmt, angle, context, chosen))
        return PlanResult(plans=plans)

    def _rank(self, context: PlanningContext) -> list[Candidate]:
        candidates = []
        for beat in context.persona.beats:
            last = context.last_run.get(beat.key)
            days_since = (context.now - last).total_seconds() / 86400 if last else None
            cooldown = max(beat.cooldown_days, 1)
            staleness = NEVER_RUN_STALENESS if days_since is None else min(days_since / cooldown, NEVER_RUN_STALENESS)
            in_cooldown = days_since is not None and days_since < beat.cooldown_days
            peg = self._peg_for(beat, context)
            score = beat.weight * staleness
            if in_cooldown:
                score *= 0.1  # only when nothing else is left
            if beat.kind == "news_pegged" and peg is None:
                score *= 0.05  # a news beat with no recent news to peg it on
            candidates.append(Candidate(beat, score, days_since, in_cooldown, peg))
        return sorted(candidates, key=lambda c: (-c.score, c.beat.key))

    @staticmethod
    def _peg_for(beat: Beat, context: PlanningContext) -> Source | None:
        cutoff = (context.now - PEG_WINDOW).date()
        for source in context.sources:  # newest first
            if beat.key in source.beats and (source.published is None or source.published >= cutoff):
                return source
        return None

    @staticmethod
    def _choose(ranked: list[Candidate], count: int) -> list[Candidate]:
        """Distinct beats first, best first; only a batch larger than the catalogue repeats one."""
        return [ranked[i % len(ranked)] for i in range(count)]

    @staticmethod
    def _assign_formats(chosen: list[Candidate], context: PlanningContext) -> list[ContentFormat]:
        """Videos go to the best-ranked video-friendly beats, the rest are hero_text."""
        videos = context.spec.counts.get(ContentFormat.video, 0)
        order = sorted(range(len(chosen)), key=lambda i: (not chosen[i].beat.video_friendly, i))
        video_slots = set(order[:videos])
        return [ContentFormat.video if i in video_slots else ContentFormat.hero_text for i in range(len(chosen))]

    @staticmethod
    def _pick_angle(candidate: Candidate, taken: set[str]) -> str:
        beat = candidate.beat
        fresh = [angle for angle in beat.angles if angle not in taken]
        if fresh:
            return fresh[0]
        if candidate.peg and f"What {candidate.peg.title.lower()} says about {beat.title.lower()}" not in taken:
            return f"What {candidate.peg.title.lower()} says about {beat.title.lower()}"
        return beat.angles[0] if beat.angles else beat.title

    @staticmethod
    def _plan(
        candidate: Candidate, fmt: ContentFormat, angle: str, context: PlanningContext, chosen: list[Candidate]
    ) -> Plan:
        beat = candidate.beat
        if candidate.days_since is None:
            recency = "it has not run yet"
        else:
            recency = f"it last ran {candidate.days_since:.0f} days ago (cooldown {beat.cooldown_days})"
        why_beat = f"{beat.title}: weight {beat.weight:g}, {recency}; score {candidate.score:.2f}."
        if candidate.in_cooldown:
            why_beat += " Chosen inside its cooldown because the batch needs more items than beats are free."
        if fmt is ContentFormat.video:
            why_format = (
                "Video: the beat is marked video-friendly, a short sequence shows the case better than a card."
                if beat.video_friendly
                else "Video: the batch asks for a video and no video-friendly beat was left."
            )
        else:
            why_format = "Hero text: the case needs a few paragraphs of reasoning more than motion."
        peg = candidate.peg
        repeats = sum(1 for c in chosen if c.beat.key == beat.key)
        freshness = (
            f"Only item on {beat.title.lower()} in this batch"
            if repeats == 1
            else f"One of {repeats} items on {beat.title.lower()}, each with its own angle"
        )
        freshness += (
            "; the angle has not been used before."
            if angle not in context.recent_angles
            else ("; the angle repeats an earlier post (the beat has no unused angles left).")
        )
        sentences = [s.strip() for s in beat.notes.replace("\n", " ").split(". ") if s.strip()]
        button = sentences[-1].rstrip(".") + "." if sentences else angle
        return Plan(
            beat_key=beat.key,
            beat_title=beat.title,
            content_format=fmt,
            title=angle,
            angle=angle,
            button=button,
            peg=(peg.id,) if peg and beat.kind == "news_pegged" else ("evergreen",),
            why_beat=why_beat
            + (f" Pegged on source {peg.id} ({peg.published})." if peg and beat.kind == "news_pegged" else ""),
            why_format=why_format,
            freshness=freshness,
        )
