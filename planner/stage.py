"""The plan stage: turn a queued batch into planned posts, each with its pipeline queued."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from beatdesk.models import BatchSpec, BatchStatus, Persona, StepStatus
from beatdesk.personas import load_persona
from beatdesk.pipeline import PLAN, STEPS
from beatdesk.prices import split_cost
from beatdesk.steps import one_line
from beatdesk.store import Store, repo
from planner.base import DEFAULT_FRESHNESS_THRESHOLD, Planner, PlanningContext, PlanResult, RecentPost
from planner.sources import sync_folder

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
) -> PlanningContext:
    """The persona, its recent sources (the folder's notes synced in first) and its recent history."""
    now = now or datetime.now(UTC)
    sync_folder(store, home=home, persona=persona)
    with store.session() as session:
        sources = repo.list_sources(session, persona=persona.key, since=(now - SOURCE_WINDOW).date())
        last_run = repo.last_run_of_beats(session, persona=persona.key)
        recent = repo.recent_plans(session, persona=persona.key, since=now - timedelta(days=freshness_days))
    return PlanningContext(
        persona=persona,
        sources=sources,
        spec=spec,
        now=now,
        last_run=last_run,
        recent=[RecentPost(post_id=i, title=plan.title, angle=plan.angle) for i, plan in recent],
        freshness_days=freshness_days,
        freshness_threshold=freshness_threshold,
    )


def plan_batch(
    store: Store,
    *,
    batch_id: int,
    home: Path,
    planner: Planner,
    freshness_days: int = 30,
    freshness_threshold: float = DEFAULT_FRESHNESS_THRESHOLD,
) -> list[int]:
    """Plan the batch and create its posts; on failure the batch is marked failed with the reason."""
    with store.session() as session:
        batch = repo.get_batch(session, batch_id)
        if batch.status is not BatchStatus.queued:  # a redelivered task: planning already happened
            return [post.id for post in batch.posts if post.status == "planned"]
        repo.set_batch_status(session, batch_id=batch_id, status=BatchStatus.running)
    started = time.perf_counter()
    try:
        persona = load_persona(home, batch.persona)
        context = planning_context(
            store,
            home=home,
            persona=persona,
            spec=batch.spec,
            freshness_days=freshness_days,
            freshness_threshold=freshness_threshold,
        )
        result = planner.plan(context)
    except Exception as err:  # any planning failure ends the batch with its reason, never a half-made batch
        with store.session() as session:
            repo.set_batch_status(session, batch_id=batch_id, status=BatchStatus.failed, error=one_line(err))
        return []
    return _store_plans(
        store, batch_id=batch_id, persona=persona, planner=planner, result=result, latency=time.perf_counter() - started
    )


def _store_plans(
    store: Store, *, batch_id: int, persona: Persona, planner: Planner, result: PlanResult, latency: float
) -> list[int]:
    shares = split_cost(result.cost_usd, len(result.plans))
    post_ids = []
    with store.session() as session:
        repo.set_batch_dropped(session, batch_id=batch_id, dropped=result.notes)  # issue 23: kept on the batch
        for plan, share in zip(result.plans, shares, strict=True):
            post_id = repo.add_planned_post(
                session, batch_id=batch_id, persona=persona.key, plan=plan, steps=STEPS[plan.content_format]
            )
            step = repo.start_step(session, post_id=post_id, name=PLAN, provider=planner.provider, model=planner.model)
            repo.end_step(session, step_id=step.id, status=StepStatus.done, cost_usd=share, latency_s=latency)
            post_ids.append(post_id)
    return post_ids
