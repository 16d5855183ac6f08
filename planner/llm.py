"""The LLM planner: a model proposes the batch in one structured call; code enforces the rules.

What the rules drop is asked for once more; what is still missing comes from the offline catalogue,
so a model that misbehaves costs a worse plan, never a failed batch.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any, Literal, cast

from jinja2 import Environment, PackageLoader, StrictUndefined
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from beatdesk.llm import fence, reply_cost
from beatdesk.models import ContentFormat
from planner.base import PlanningContext, PlanningError, PlanResult
from planner.offline import catalogue
from planner.selection import BeatStanding, Candidate, select, standings

SOURCES_SHOWN = 30

_env = Environment(
    loader=PackageLoader("planner", "templates"), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
)


class ProposedItem(BaseModel):
    """One item of the batch."""

    beat_key: str = Field(description="The key of one of the persona's beats.")
    content_format: Literal["video", "hero_text"]
    title: str = Field(description="The post's title, specific, no clickbait.")
    angle: str = Field(description="The specific case the piece makes, in one sentence.")
    button: str = Field(description="The closing line the piece lands on.")
    peg: list[str] = Field(default_factory=list, description="Ids of the sources the item is pegged on.")
    why: str = Field(default="", description="Why this beat and this format, in one sentence.")


class ProposedBatch(BaseModel):
    """The items proposed for the batch."""

    items: list[ProposedItem]


class LLMPlanner:
    provider: str
    model: str

    def __init__(self, chat: BaseChatModel, *, provider: str, model: str) -> None:
        self.chat, self.provider, self.model = chat, provider, model
        self._structured = chat.with_structured_output(ProposedBatch, include_raw=True, method="function_calling")

    def plan(self, context: PlanningContext) -> PlanResult:
        cost = Decimal("0")
        notes: list[str] = []
        proposals, spent = self._propose(context, dropped=[], missing=context.spec.total, notes=notes)
        cost += spent
        candidates = self._candidates(proposals, context, notes)
        selection = select(context, candidates)
        notes += selection.dropped
        if len(selection.plans) < context.spec.total:
            missing = context.spec.total - len(selection.plans)
            more, spent = self._propose(context, dropped=selection.dropped or notes, missing=missing, notes=notes)
            cost += spent
            candidates += self._candidates(more, context, notes)
            selection = select(context, candidates)
            notes += [line for line in selection.dropped if line not in notes]
        if len(selection.plans) < context.spec.total:
            notes.append(f"{context.spec.total - len(selection.plans)} item(s) filled from the offline catalogue")
            fallback = [replace(c, priority=1) for c in catalogue(context)]
            selection = select(context, candidates + fallback)
        if len(selection.plans) < context.spec.total:
            raise PlanningError(
                f"only {len(selection.plans)} of {context.spec.total} items could be planned without repeating "
                f"the last {context.freshness_days} days, even with the offline catalogue"
            )
        return PlanResult(plans=selection.plans, cost_usd=cost, notes=notes)

    def _propose(
        self, context: PlanningContext, *, dropped: list[str], missing: int, notes: list[str]
    ) -> tuple[list[ProposedItem], Decimal]:
        """One structured call, retried once when the reply does not parse; [] when both fail."""
        messages = self._messages(context, dropped=dropped, missing=missing)
        cost = Decimal("0")
        for attempt in (1, 2):
            try:
                reply = cast(dict[str, Any], self._structured.invoke(messages))
            except Exception as err:  # provider errors: a plan from the catalogue beats a failed batch
                if _refused_credentials(err):  # but a bad key is set-up to fix, not a batch to paper over
                    raise PlanningError(
                        f"{self.provider}:{self.model} refused the credentials ({type(err).__name__}): "
                        "check BEATDESK_LLM_API_KEY or the provider's key variable"
                    ) from err
                notes.append(f"model call {attempt} failed: {type(err).__name__}: {err}")
                continue
            raw = reply.get("raw")
            cost += reply_cost(self.model, raw if isinstance(raw, AIMessage) else None)
            parsed = reply.get("parsed")
            if isinstance(parsed, ProposedBatch):
                return parsed.items, cost
            notes.append(
                f"model reply {attempt} did not match the plan schema: {reply.get('parsing_error') or 'no plan'}"
            )
        return [], cost

    def _messages(self, context: PlanningContext, *, dropped: list[str], missing: int) -> list[Any]:
        table = standings(context)
        beats = [{"beat": beat, "status": _status(table[beat.key])} for beat in context.persona.beats]
        counts = {fmt.value: context.spec.counts.get(fmt, 0) for fmt in ContentFormat}
        system = _env.get_template("plan_system.md.j2").render(persona=context.persona, counts=counts)
        user = _env.get_template("plan_user.md.j2").render(
            beats=beats,
            recent=context.recent[:50],
            sources=[fence(s) for s in context.sources[:SOURCES_SHOWN]],
            message=context.spec.message,
            dropped=dropped,
            missing=missing,
        )
        return [SystemMessage(system), HumanMessage(user)]

    def _candidates(self, items: list[ProposedItem], context: PlanningContext, notes: list[str]) -> list[Candidate]:
        beats = {beat.key: beat for beat in context.persona.beats}
        sources = {source.id: source for source in context.sources}
        out = []
        for item in items:
            beat = beats.get(item.beat_key)
            if beat is None:
                notes.append(f"{item.beat_key}: '{item.angle}' dropped: not one of the persona's beats")
                continue
            peg = next((sources[key] for key in item.peg if key in sources), None)
            out.append(
                Candidate(
                    beat=beat,
                    angle=item.angle.strip(),
                    title=item.title.strip(),
                    button=item.button.strip(),
                    peg=peg,
                    content_format=ContentFormat(item.content_format),
                    reason=item.why.strip() or None,
                )
            )
        return out


def _refused_credentials(err: BaseException) -> bool:
    """An authentication or permission refusal (HTTP 401/403), whichever provider SDK raised it."""
    return getattr(err, "status_code", None) in (401, 403) or type(err).__name__ in (
        "AuthenticationError",
        "PermissionDeniedError",
    )


def _status(standing: BeatStanding) -> str:
    """Where the beat stands in the rotation, and what the audience made of it, in the model's prompt."""
    if standing.in_cooldown:
        status = "In cooldown."
    elif standing.days_since is None:
        status = "Never run."
    else:
        status = f"Last ran {standing.days_since:.0f} days ago."
    if standing.draw is not None:
        learned = standing.draw.describe()
        status += f" {learned[:1].upper()}{learned[1:]}."
    return status
