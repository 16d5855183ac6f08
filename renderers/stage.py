"""The render stage: one piece of a drafted post's media (hero image, cover, video), for the runner to store."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from beatdesk.channels import CHANNELS
from beatdesk.models import ContentFormat, HeroTextDraft, Persona, Post, StepStatus
from beatdesk.pipeline import VIDEO
from beatdesk.runner import Call, Outcome, Part
from renderers.base import ImageRenderer, ImageRequest, VideoRenderer, VideoRequest


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
            image_request = ImageRequest(
                kind=self.step, title=draft.title, kicker=post.plan.beat_title, prompt=prompt, persona=persona,
                aspect=CHANNELS[persona.channels[0].name].image_aspect if hero else "9:16",  # type: ignore[arg-type]
                out_path=folder / f"post-{post.id}-{self.step}{version}.png",
            )  # fmt: skip
            result = self.renderer.render(image_request, call)  # type: ignore[arg-type]
        parts = tuple(Part(name=p.name, provider=p.provider, model=p.model, cost_usd=p.cost_usd, latency_s=p.latency_s,
                           detail=p.detail, request_id=p.request_id) for p in result.parts)  # fmt: skip
        return Outcome(cost_usd=result.cost_usd, detail=result.detail, artifact=result.artifact, parts=parts)


def _seconds(post: Post) -> float:
    return post.draft.seconds if post.draft is not None and post.draft.content_format is ContentFormat.video else 0.0
