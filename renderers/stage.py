"""The render stage: one piece of a drafted post's media (hero image, cover, video), for the runner to store."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from beatdesk.channels import CHANNELS
from beatdesk.models import ContentFormat, Draft, HeroTextDraft, Persona, Post, Source, StepStatus
from beatdesk.pipeline import VIDEO
from beatdesk.runner import Call, Outcome, Part
from beatdesk.store import Store, repo
from renderers.base import ImageRenderer, ImageRequest, VideoRenderer, VideoRequest
from renderers.card_text import figures, landing_line, source_credit

RECENT_SOURCE_DAYS = 90
"""How far back a quoted figure is looked for among the beat's sources, after the ones the plan cites."""


class MediaWork:
    """Renders the post's `step` (an image kind, or the video) with the given renderer."""

    def __init__(self, step: str, renderer: ImageRenderer | VideoRenderer, *, home: Path) -> None:
        self.step, self.renderer, self.home = step, renderer, home
        self.provider, self.model = renderer.provider, renderer.model

    def estimate(self, post: Post, persona: Persona) -> Decimal:
        if self.step == VIDEO:
            return self.renderer.estimate(_seconds(post))  # type: ignore[call-arg]
        return self.renderer.estimate()  # type: ignore[call-arg]

    def run(self, post: Post, persona: Persona, call: Call) -> Outcome:
        draft = post.draft
        if draft is None:
            raise ValueError(f"post {post.id} has no draft to render; redraft it first")
        done_before = sum(1 for s in post.steps if s.name == self.step and s.status is StepStatus.done)
        version = f"-v{done_before + 1}" if done_before else ""  # a rerender keeps the earlier file on disk
        folder = self.home / "artifacts" / f"batch-{post.batch_id}"
        if self.step == VIDEO:
            if draft.content_format is not ContentFormat.video:
                raise ValueError(f"post {post.id} has a video step but a {draft.content_format} draft")
            request = VideoRequest(title=draft.title, scenes=draft.scenes, prompt=draft.video_prompt, persona=persona,
                                   aspect="9:16", out_path=folder / f"post-{post.id}-video{version}.mp4")  # fmt: skip
            result = self.renderer.render(request, call)  # type: ignore[arg-type]
        else:
            prompt = draft.image_prompt if isinstance(draft, HeroTextDraft) else draft.cover_prompt
            # Hero images take the shape of the persona's first channel; covers match the vertical video.
            hero = post.content_format is ContentFormat.hero_text
            said = _words(draft)
            image_request = ImageRequest(
                kind=self.step, title=draft.title, kicker=post.plan.beat_title, prompt=prompt, persona=persona,
                aspect=CHANNELS[persona.channels[0].name].image_aspect if hero else "9:16",  # type: ignore[arg-type]
                out_path=folder / f"post-{post.id}-{self.step}{version}.png",
                landing=landing_line(draft),
                credit=source_credit(said, _sources(call.store, post)) if figures(said) else "",
            )  # fmt: skip
            result = self.renderer.render(image_request, call)  # type: ignore[arg-type]
        parts = tuple(Part(name=p.name, provider=p.provider, model=p.model, cost_usd=p.cost_usd, latency_s=p.latency_s,
                           detail=p.detail, request_id=p.request_id) for p in result.parts)  # fmt: skip
        return Outcome(cost_usd=result.cost_usd, detail=result.detail, artifact=result.artifact, parts=parts)


def _seconds(post: Post) -> float:
    return post.draft.seconds if post.draft is not None and post.draft.content_format is ContentFormat.video else 0.0


def _words(draft: Draft) -> str:
    """What the post says, where a quoted figure would be."""
    if isinstance(draft, HeroTextDraft):
        return f"{draft.title}\n{draft.body}"
    return "\n".join([draft.title, *(scene.voiceover for scene in draft.scenes)])


def _sources(store: Store, post: Post) -> list[Source]:
    """The sources the plan cites, then the beat's recent ones: where a quoted figure is looked for."""
    keys = [key for key in post.plan.peg if key != "evergreen"]
    since = date.today() - timedelta(days=RECENT_SOURCE_DAYS)
    with store.session() as session:
        cited = repo.list_sources(session, persona=post.persona, keys=keys) if keys else []
        recent = repo.list_sources(session, persona=post.persona, since=since, limit=500)
    order = {key: i for i, key in enumerate(keys)}
    cited.sort(key=lambda source: order[source.id])
    return cited + [s for s in recent if post.plan.beat_key in s.beats and s.id not in order]
