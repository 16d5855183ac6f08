"""The draft stage: a planned post's draft, its checks and what the model charged, for the runner to store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from beatdesk.models import Draft, Persona, Plan, Post, Source
from beatdesk.prices import call_estimate
from beatdesk.runner import Call, Outcome
from beatdesk.store import Store, repo
from drafter.base import RECENT_DAYS, Drafter, DraftingContext, cited_sources
from drafter.checks import run_checks
from drafter.provenance import traced

PROMPT_TOKENS = 6_000
"""A draft prompt's size at most (persona, plan, fenced sources), for the budget's estimate."""
SOURCES_PER_DRAFT = 40
"""Recent sources on the beat a draft may draw on, besides those it cites."""


class DraftWork:
    """Drafts one post with the given drafter; a paid drafter's call is marked while under way."""

    def __init__(self, store: Store, drafter: Drafter, *, max_output_tokens: int = 2000) -> None:
        self.store, self.drafter, self.max_output_tokens = store, drafter, max_output_tokens
        self.provider, self.model = drafter.provider, drafter.model

    def estimate(self, post: Post, persona: Persona) -> Decimal:
        if self.provider == "offline":
            return Decimal("0")
        try:  # one call and one repair round
            return call_estimate(self.model, input_tokens=PROMPT_TOKENS, output_tokens=self.max_output_tokens, calls=2)
        except KeyError:  # a local model with no price: the drafter's own cost says what it spent
            return Decimal("0")

    def run(self, post: Post, persona: Persona, call: Call) -> Outcome:
        sources = sources_for(self.store, post.persona, post.plan)
        recent, batch = recent_drafts(self.store, post)
        note = redraft_note(post)
        context = DraftingContext(
            persona=persona, plan=post.plan, sources=sources, note=note, recent=recent, batch=batch
        )
        if self.estimate(post, persona) > 0:
            with call.submitting():
                result = self.drafter.draft(context)
        else:
            result = self.drafter.draft(context)
        draft = traced(result.draft, sources)
        checks = run_checks(draft, persona, sources)
        return Outcome(cost_usd=result.cost_usd, detail=result.detail, draft=draft, checks=tuple(checks))


def redraft_note(post: Post) -> str | None:
    """The reviewer's note when the post was sent back for a new draft."""
    if post.draft is None and post.draft_history:
        note = post.draft_history[-1].get("note")
        return str(note) if note else None
    return None


def recent_drafts(store: Store, post: Post) -> tuple[tuple[Draft, ...], tuple[Plan, ...]]:
    """The persona's live drafts of the last RECENT_DAYS days from other batches, and the plans of this post's
    batch in order (drafted side by side, they share its material out by plan, not by what is stored yet)."""
    since = datetime.now(UTC) - timedelta(days=RECENT_DAYS)
    with store.session() as session:
        drafts = repo.recent_drafts(session, persona=post.persona, since=since, besides_batch=post.batch_id)
        batch = repo.batch_plans(session, batch_id=post.batch_id)
    return tuple(drafts), tuple(plan for _, plan in batch)


def sources_for(store: Store, persona: str, plan: Plan) -> list[Source]:
    """The sources the plan cites, then recent ones on its beat (one query, capped)."""
    keys = [key for key in plan.peg if key != "evergreen"]
    with store.session() as session:
        recent = repo.list_sources(session, persona=persona, since=date.today() - timedelta(days=90), limit=500)
        known = {source.id for source in recent}
        missing = [key for key in keys if key not in known]
        cited = repo.list_sources(session, persona=persona, keys=missing) if missing else []
    return cited_sources(plan, cited + recent)[: len(keys) + SOURCES_PER_DRAFT]
