"""The draft stage: load a planned post, draft it, store the draft; failures end the post with a reason."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from beatdesk.models import Plan, PostStatus, Source
from beatdesk.personas import load_persona
from beatdesk.pipeline import DRAFT
from beatdesk.steps import one_line, run_step
from beatdesk.store import Store, repo
from drafter.base import Drafter, DraftingContext, cited_sources
from drafter.checks import run_checks


def draft_post(store: Store, *, post_id: int, home: Path, drafter: Drafter, note: str | None = None) -> bool:
    """Draft the post; True when it is ready to render, False when it failed or was not due."""
    with store.session() as session:
        post = repo.get_post(session, post_id)
        if post.status is not PostStatus.planned and post.status is not PostStatus.drafting:
            return post.status is PostStatus.rendering  # redelivered after the draft was stored
        if post.status is PostStatus.planned:
            repo.transition(session, post_id=post_id, to=PostStatus.drafting, actor="drafter", action="draft")
    try:
        with run_step(store, post_id=post_id, name=DRAFT, provider=drafter.provider, model=drafter.model) as step:
            persona = load_persona(home, post.persona)
            sources = sources_for(store, post.persona, post.plan)
            result = drafter.draft(DraftingContext(persona=persona, plan=post.plan, sources=sources, note=note))
            step.cost_usd, step.detail = result.cost_usd, result.detail
            checks = run_checks(result.draft, persona, sources)
    except Exception as err:
        with store.session() as session:
            repo.fail_post(session, post_id=post_id, actor="drafter", reason=f"draft failed: {one_line(err)}")
        return False
    with store.session() as session:
        repo.save_draft(session, post_id=post_id, draft=result.draft, checks=checks)
        repo.transition(session, post_id=post_id, to=PostStatus.rendering, actor="drafter", action="drafted")
    return True


def sources_for(store: Store, persona: str, plan: Plan) -> list[Source]:
    """The sources the plan cites, then recent ones on its beat."""
    with store.session() as session:
        cited = repo.list_sources(session, persona=persona, keys=[key for key in plan.peg if key != "evergreen"])
        recent = repo.list_sources(session, persona=persona, since=date.today() - timedelta(days=90), limit=500)
    return cited_sources(plan, cited + [s for s in recent if s not in cited])
