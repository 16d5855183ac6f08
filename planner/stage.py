"""The plan stage: turn a queued batch into planned posts, each with its pipeline queued."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from beatdesk.models import BatchStatus, StepStatus
from beatdesk.personas import load_persona, load_sources
from beatdesk.pipeline import PLAN, STEPS
from beatdesk.prices import split_cost
from beatdesk.steps import one_line
from beatdesk.store import Store, repo
from planner.base import Planner, PlanningContext


def plan_batch(store: Store, *, batch_id: int, home: Path, planner: Planner) -> list[int]:
    """Plan the batch and create its posts; on failure the batch is marked failed with the reason."""
    with store.session() as session:
        batch = repo.get_batch(session, batch_id)
        if batch.status is not BatchStatus.queued:  # a redelivered task: planning already happened
            return [post.id for post in batch.posts if post.status == "planned"]
        repo.set_batch_status(session, batch_id=batch_id, status=BatchStatus.running)
        last_run = repo.last_run_of_beats(session, persona=batch.persona)
        recent = repo.recent_angles(session, persona=batch.persona)
    started = time.perf_counter()
    try:
        persona = load_persona(home, batch.persona)
        context = PlanningContext(
            persona=persona,
            sources=load_sources(home, persona),
            spec=batch.spec,
            now=datetime.now(UTC),
            last_run=last_run,
            recent_angles=recent,
        )
        result = planner.plan(context)
    except Exception as err:  # any planning failure ends the batch with its reason, never a half-made batch
        with store.session() as session:
            repo.set_batch_status(session, batch_id=batch_id, status=BatchStatus.failed, error=one_line(err))
        return []
    latency = time.perf_counter() - started
    shares = split_cost(result.cost_usd, len(result.plans))
    post_ids = []
    with store.session() as session:
        for plan, share in zip(result.plans, shares, strict=True):
            post_id = repo.add_planned_post(
                session, batch_id=batch_id, persona=persona.key, plan=plan, steps=STEPS[plan.content_format]
            )
            step_id = repo.start_step(
                session, post_id=post_id, name=PLAN, provider=planner.provider, model=planner.model
            )
            repo.end_step(session, step_id=step_id, status=StepStatus.done, cost_usd=share, latency_s=latency)
            post_ids.append(post_id)
    return post_ids
