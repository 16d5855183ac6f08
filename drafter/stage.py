"""The draft stage: load a planned post, draft it, store the draft; failures end the post with a reason."""

from __future__ import annotations

from pathlib import Path

from beatdesk.models import PostStatus
from beatdesk.personas import load_persona, load_sources
from beatdesk.pipeline import DRAFT
from beatdesk.steps import one_line, run_step
from beatdesk.store import Store, repo
from drafter.base import Drafter, DraftingContext, cited_sources


def draft_post(store: Store, *, post_id: int, home: Path, drafter: Drafter) -> bool:
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
            sources = cited_sources(post.plan, load_sources(home, persona))
            result = drafter.draft(DraftingContext(persona=persona, plan=post.plan, sources=sources))
            step.cost_usd = result.cost_usd
    except Exception as err:
        with store.session() as session:
            repo.fail_post(session, post_id=post_id, actor="drafter", reason=f"draft failed: {one_line(err)}")
        return False
    with store.session() as session:
        repo.save_draft(session, post_id=post_id, draft=result.draft)
        repo.transition(session, post_id=post_id, to=PostStatus.rendering, actor="drafter", action="drafted")
    return True
