"""The LLM drafter: one structured-output call per item through LangChain, checked, repaired once, costed.

A reply that does not parse, or that breaks the persona's rules (lengths, hashtags, video length),
goes back once with the problems listed; after that the step fails with the reason. Whatever was
spent is recorded either way.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, cast

from jinja2 import Environment, PackageLoader, StrictUndefined
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field, ValidationError

from beatdesk.channels import CHANNELS
from beatdesk.errors import BeatdeskError
from beatdesk.llm import fence, reply_cost, usage
from beatdesk.models import ContentFormat, Draft, HeroTextDraft, Scene, VideoDraft
from drafter.base import DraftingContext, DraftResult
from drafter.checks import run_checks, structural_failures
from drafter.prompt_version import with_version

_env = Environment(
    loader=PackageLoader("drafter", "templates"), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
)


class DraftingError(BeatdeskError):
    """The model gave no usable draft; carries what the attempts cost."""

    def __init__(self, message: str, cost_usd: Decimal) -> None:
        super().__init__(message)
        self.cost_usd = cost_usd


class HeroTextOut(BaseModel):
    """A hero_text post."""

    title: str
    body: str = Field(description="3 to 5 paragraphs separated by blank lines.")
    button: str = Field(description="The closing line the body lands on.")
    caption: str = Field(description="The post's caption; its last line is the hashtags.")
    hashtags: list[str]
    image_prompt: str
    alt_text: str


class SceneOut(BaseModel):
    on_screen: str = Field(description="Text shown on screen, at most 120 characters.")
    voiceover: str
    seconds: float


class VideoOut(BaseModel):
    """A short vertical explainer video."""

    title: str
    hook: str = Field(description="What is said in the first seconds.")
    scenes: list[SceneOut]
    caption: str = Field(description="The post's caption; its last line is the hashtags.")
    hashtags: list[str]
    video_prompt: str
    cover_prompt: str


SCHEMAS: dict[ContentFormat, type[BaseModel]] = {ContentFormat.hero_text: HeroTextOut, ContentFormat.video: VideoOut}


def to_draft(out: BaseModel) -> Draft:
    if isinstance(out, VideoOut):
        return VideoDraft(
            title=out.title,
            hook=out.hook,
            scenes=tuple(Scene(on_screen=s.on_screen, voiceover=s.voiceover, seconds=s.seconds) for s in out.scenes),
            caption=out.caption,
            hashtags=tuple(out.hashtags),
            video_prompt=out.video_prompt,
            cover_prompt=out.cover_prompt,
        )
    return HeroTextDraft(**cast(HeroTextOut, out).model_dump(), content_format=ContentFormat.hero_text)


class LLMDrafter:
    provider: str
    model: str

    def __init__(self, chat: BaseChatModel, *, provider: str, model: str) -> None:
        self.chat, self.provider, self.model = chat, provider, model
        self._structured = {
            fmt: chat.with_structured_output(schema, include_raw=True, method="function_calling")
            for fmt, schema in SCHEMAS.items()
        }
        self.cached_replies = 0
        """Replies served from the LLM cache (cost nothing)."""

    def draft(self, context: DraftingContext) -> DraftResult:
        fmt = context.plan.content_format
        messages = self._messages(context)
        cost = Decimal("0")
        problems: list[str] = []
        cached_before = self.cached_replies
        for attempt in (1, 2):  # the draft, then one repair round
            try:
                reply = cast(dict[str, Any], self._structured[fmt].invoke(messages))
            except Exception as err:
                raise DraftingError(f"{self.provider}:{self.model} failed: {_reason(err)}", cost) from err
            raw = reply.get("raw")
            raw_message = raw if isinstance(raw, AIMessage) else None
            cost += self._cost(raw_message)
            draft, problems, shown = self._read(reply, context)
            if draft is not None and not problems:
                cached = self.cached_replies - cached_before
                detail = f"{cached} of {attempt} replies served from the LLM cache, at no cost" if cached else None
                return DraftResult(draft=draft, cost_usd=cost, detail=with_version(detail))
            if attempt == 1:  # one repair round, with the problems spelled out
                repair = _env.get_template("draft_repair.md.j2").render(problems=problems, previous=shown)
                messages = [*messages, HumanMessage(repair)]
        raise DraftingError(f"no valid draft after a repair round: {'; '.join(problems)}", cost)

    def _cost(self, message: AIMessage | None) -> Decimal:
        meta = getattr(message, "usage_metadata", None) or {}
        if meta.get("total_cost") == 0 and any(usage(message)):  # LangChain marks cache hits this way
            self.cached_replies += 1
            return Decimal("0")
        return reply_cost(self.model, message)

    def _read(self, reply: dict[str, Any], context: DraftingContext) -> tuple[Draft | None, list[str], str]:
        """The draft, the problems that send it back, and how to show the reply to the model again."""
        parsed = reply.get("parsed")
        raw = reply.get("raw")
        shown = _shown(raw)
        if not isinstance(parsed, BaseModel):
            error = reply.get("parsing_error")
            return (
                None,
                [f"the reply is not a draft in the schema: {_reason(error) if error else 'empty reply'}"],
                shown,
            )
        try:
            draft = to_draft(parsed)
        except ValidationError as err:
            return None, [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()], shown
        return draft, structural_failures(run_checks(draft, context.persona, context.sources)), shown

    def _messages(self, context: DraftingContext) -> list[BaseMessage]:
        persona, plan = context.persona, context.plan
        limits = [limit for c in persona.channels if (limit := CHANNELS[c.name].max_length)]
        system = _env.get_template("draft_system.md.j2").render(persona=persona)
        user = _env.get_template(f"draft_{plan.content_format}.md.j2").render(
            plan=plan,
            take=persona.beat(plan.beat_key).notes,
            rules=persona.drafting,
            caption_limit=min([persona.drafting.caption_max_chars, *limits]),
            channels=[c.name for c in persona.channels if c.name != "outbox"],
            sources=[fence(s) for s in context.sources[:6]],
            note=context.note,
        )
        return [SystemMessage(system), HumanMessage(user)]


def _shown(raw: object) -> str:
    if isinstance(raw, AIMessage):
        if raw.tool_calls:
            return json.dumps(raw.tool_calls[0]["args"], ensure_ascii=False)[:6000]
        return str(raw.content)[:6000] or "(empty)"
    return "(nothing)"


def _reason(err: object) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    name = type(err).__name__
    text = text if name in text else f"{name}: {text}"
    return text if len(text) <= 300 else text[:297] + "..."
