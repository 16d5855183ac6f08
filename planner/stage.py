"""The plan stage: a batch's plans, made from the persona, its sources and its history, for the runner to store."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from beatdesk.audience import observed_beats
from beatdesk.models import Batch, BatchSpec, Persona
from beatdesk.prices import call_estimate
from beatdesk.runner import Call, Planned
from beatdesk.settings import DEFAULT_SOURCE_MAX_BYTES
from beatdesk.store import Store, repo
from planner.base import DEFAULT_FRESHNESS_THRESHOLD, Planner, PlanningContext, RecentPost
from planner.sources import sync_folder

log = logging.getLogger(__name__)
SOURCE_WINDOW = timedelta(days=90)


def planning_context(
    store: Store,
    *,
    home: Path,
    persona: Persona,
    spec: BatchSpec,
    now: datetime | None = None,
    freshness_days: int = 30,
    freshness_threshold: float = DEFAULT_FRESHNESS_THRESHOLD,
    seed: int = 0,
    source_max_bytes: int = DEFAULT_SOURCE_MAX_BYTES,
) -> PlanningContext:
    """The persona, its recent sources (the folder's notes synced in first), its recent history, and how its
    beats' posts did with the audience (unless the persona switched learning off); `seed` seeds the learning."""
    now = now or datetime.now(UTC)
    warnings = sync_folder(store, home=home, persona=persona, max_bytes=source_max_bytes)
    with store.session() as session:
        sources = repo.list_sources(session, persona=persona.key, since=(now - SOURCE_WINDOW).date())
        last_run = repo.last_run_of_beats(session, persona=persona.key)
        recent = repo.recent_plans(session, persona=persona.key, since=now - timedelta(days=freshness_days))
        observed = observed_beats(session, persona=persona.key, now=now) if persona.learn_from_audience else {}
    return PlanningContext(
        persona=persona,
        sources=sources,
        spec=spec,
        now=now,
        last_run=last_run,
        recent=[RecentPost(post_id=i, title=plan.title, angle=plan.angle) for i, plan in recent],
        freshness_days=freshness_days,
        freshness_threshold=freshness_threshold,
        observed=observed,
        seed=seed,
        warnings=tuple(warnings),
    )


PROMPT_TOKENS = 8_000
"""A planning prompt's size at most (persona, beats, fenced sources, history), for the budget's estimate."""


class BatchPlanning:
    """Plans a batch with the given planner; a paid planner's calls are marked while under way."""

    def __init__(
        self,
        store: Store,
        planner: Planner,
        *,
        home: Path,
        freshness_days: int = 30,
        freshness_threshold: float = DEFAULT_FRESHNESS_THRESHOLD,
        max_output_tokens: int = 2000,
        source_max_bytes: int = DEFAULT_SOURCE_MAX_BYTES,
    ) -> None:
        self.store, self.planner, self.home = store, planner, home
        self.provider, self.model = planner.provider, planner.model
        self.freshness_days, self.freshness_threshold = freshness_days, freshness_threshold
        self.max_output_tokens, self.source_max_bytes = max_output_tokens, source_max_bytes

    def estimate(self, spec: BatchSpec, persona: Persona) -> Decimal:
        if self.provider == "offline":
            return Decimal("0")
        try:  # a proposal and one more round for what the rules dropped, each retried once
            return call_estimate(self.model, input_tokens=PROMPT_TOKENS, output_tokens=self.max_output_tokens, calls=4)
        except KeyError:
            return Decimal("0")

    def plan(self, batch: Batch, persona: Persona, call: Call) -> Planned:
        context = planning_context(
            self.store,
            home=self.home,
            persona=persona,
            spec=batch.spec,
            freshness_days=self.freshness_days,
            freshness_threshold=self.freshness_threshold,
            seed=batch.id,
            source_max_bytes=self.source_max_bytes,
        )
        if self.estimate(batch.spec, persona) > 0:
            with call.submitting():
                result = self.planner.plan(context)
        else:
            result = self.planner.plan(context)
        # Files of the sources folder that were skipped: in the log, and kept with what the planner turned down.
        for warning in context.warnings:
            log.warning("persona %s: %s", persona.key, warning)
        return Planned(plans=result.plans, cost_usd=result.cost_usd, notes=[*context.warnings, *result.notes])
