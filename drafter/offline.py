"""The offline drafter: composes a draft from the plan, the persona's notes and its sources with Jinja2."""

from __future__ import annotations

import re

from jinja2 import Environment, PackageLoader, StrictUndefined

from beatdesk.models import ContentFormat, HeroTextDraft, Persona, Plan, Scene, VideoDraft
from drafter.base import DraftingContext, DraftResult
from drafter.prompt_version import with_version

WORDS_PER_SECOND = 2.5
MAX_VIDEO_SECONDS = 60.0
DEFAULT_HASHTAGS = ("#AI", "#MachineLearning")

_env = Environment(
    loader=PackageLoader("drafter", "templates"),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,  # plain text for social channels; the web page escapes on its own
)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if s.strip()]


def _paragraphs(text: str) -> str:
    """Collapse the template's blank lines into single paragraph breaks."""
    return "\n\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip())


def _hashtags(persona: Persona, plan: Plan) -> list[str]:
    tags = list(persona.beat(plan.beat_key).hashtags)
    for tag in DEFAULT_HASHTAGS:
        if len(tags) >= 2:
            break
        if tag not in tags:
            tags.append(tag)
    return tags[:5]


def _seconds(text: str) -> float:
    return round(min(max(len(text.split()) / WORDS_PER_SECOND, 2.0), 12.0), 1)


def _short(text: str, limit: int) -> str:
    text = text.rstrip(".")
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


class OfflineDrafter:
    provider = "offline"
    model = "offline"

    def draft(self, context: DraftingContext) -> DraftResult:
        if context.plan.content_format is ContentFormat.video:
            return DraftResult(self._video(context), detail=with_version(None))
        return DraftResult(self._hero_text(context), detail=with_version(None))

    def _hero_text(self, context: DraftingContext) -> HeroTextDraft:
        persona, plan = context.persona, context.plan
        beat = persona.beat(plan.beat_key)
        notes = _sentences(beat.notes)
        hashtags = _hashtags(persona, plan)
        template = _env.get_template("hero_text_body.md.j2")
        body = template.render(
            plan=plan,
            lead=notes[0] if notes else "",
            take=" ".join(n for n in notes[1:] if n != plan.button),  # the button closes the piece, once
            # Sources are quoted and attributed, never passed off as the persona's own words.
            sources=[{"title": s.title, "quote": " ".join(_sentences(s.text)[:2])} for s in context.sources[:2]],
            related=[a.rstrip(".") for a in beat.angles if a != plan.angle][:2],
        )
        return HeroTextDraft(
            title=plan.title,
            body=_paragraphs(body),
            button=plan.button,
            caption=_env.get_template("caption.txt.j2").render(plan=plan, hashtags=hashtags).strip(),
            hashtags=tuple(hashtags),
            image_prompt=_env.get_template("image_prompt.txt.j2").render(plan=plan, persona=persona).strip(),
            alt_text=f"Typographic card reading “{plan.title}”, signed {persona.handle}.",
        )

    def _video(self, context: DraftingContext) -> VideoDraft:
        persona, plan = context.persona, context.plan
        notes = _sentences(persona.beat(plan.beat_key).notes)
        scenes = [Scene(on_screen=_short(plan.angle, 80), voiceover=f"{plan.angle}.", seconds=_seconds(plan.angle))]
        for sentence in notes[:2]:
            scenes.append(Scene(on_screen=_short(sentence, 80), voiceover=sentence, seconds=_seconds(sentence)))
        for source in context.sources[:1]:
            line = f"“{_sentences(source.text)[0]}”"  # quoted: the source's words, not the persona's
            scenes.append(Scene(on_screen=_short(source.title, 80), voiceover=line, seconds=_seconds(line)))
        scenes.append(Scene(on_screen=_short(plan.button, 80), voiceover=plan.button, seconds=_seconds(plan.button)))
        while sum(s.seconds for s in scenes) > MAX_VIDEO_SECONDS and len(scenes) > 2:
            scenes.pop(-2)  # drop middle material, keep the hook and the button
        hashtags = _hashtags(persona, plan)
        seconds = sum(s.seconds for s in scenes)
        return VideoDraft(
            title=plan.title,
            hook=scenes[0].voiceover,
            scenes=tuple(scenes),
            caption=_env.get_template("caption.txt.j2").render(plan=plan, hashtags=hashtags).strip(),
            hashtags=tuple(hashtags),
            video_prompt=_env.get_template("video_prompt.txt.j2")
            .render(plan=plan, persona=persona, scenes=scenes, seconds=seconds)
            .strip(),
            cover_prompt=_env.get_template("image_prompt.txt.j2").render(plan=plan, persona=persona).strip(),
        )
