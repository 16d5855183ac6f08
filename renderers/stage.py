"""The render stage: make a drafted post's media (hero image, or cover and video), record it, hand it to review.

Each paid step reserves its estimate against the budgets first; one that would pass them is
skipped with the reason and the post is flagged. A transient provider error leaves the step
running with its request id and is raised for the task to retry, which then resumes the request.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from beatdesk import budget
from beatdesk.channels import CHANNELS
from beatdesk.models import Check, ContentFormat, HeroTextDraft, Persona, PipelineStep, Post, PostStatus, StepStatus
from beatdesk.personas import load_persona
from beatdesk.pipeline import MEDIA_STEPS, VIDEO
from beatdesk.steps import Admit, StepNotStarted, one_line, run_step
from beatdesk.store import Store, repo
from renderers.base import ImageRenderer, ImageRequest, RenderResult, RequestMemory, VideoRenderer, VideoRequest
from renderers.fal import TransientRenderError

Choose = Callable[[Persona], tuple[ImageRenderer, VideoRenderer]]
"""Picks the renderers for a persona (its own override, or the settings')."""


def render_post(store: Store, *, post_id: int, home: Path, choose: Choose) -> bool:
    """Render the post's pending media and hand it to review; True when it is settled (in review or
    failed, its batch finished if it was the last), False when there was nothing to render."""
    with store.session() as session:
        post = repo.get_post(session, post_id, with_history=False)
    if post.status is not PostStatus.rendering or post.draft is None:
        return False
    persona = load_persona(home, post.persona)
    image, video = choose(persona)
    pending = [s for s in post.steps if s.name in MEDIA_STEPS and s.status in (StepStatus.queued, StepStatus.running)]
    flags: list[Check] = []

    def hand_on(session: Session) -> None:
        if flags:
            repo.save_checks(session, post_id=post_id, checks=[*post.checks, *flags])
        repo.transition(session, post_id=post_id, to=PostStatus.in_review, actor="renderer", action="rendered",
                        expected=PostStatus.rendering)  # fmt: skip
        repo.finish_batch_if_done(session, batch_id=post.batch_id)

    for step in pending:
        last = step is pending[-1]
        renderer: ImageRenderer | VideoRenderer
        if step.name == VIDEO:
            renderer, estimate = video, video.estimate(_seconds(post))
        else:
            renderer, estimate = image, image.estimate()
        # A paid step reserves its estimate as it starts; a resumed one reserved it the first time.
        admit = _budget(post, persona, estimate) if step.status is StepStatus.queued and estimate > 0 else None
        try:
            with run_step(
                store,
                post_id=post_id,
                name=step.name,
                provider=renderer.provider,
                model=renderer.model,
                transient=(TransientRenderError,),
                admit=admit,
                then=hand_on if last else None,  # the last step's record and the hand-on: one transaction
            ) as run:
                result = _render(step, post, persona, home, renderer, run)
                run.artifact, run.cost_usd, run.detail = result.artifact, result.cost_usd, result.detail
            if last:
                return True
        except StepNotStarted as refused:
            flags.append(Check(name="budget", level="fail", detail=f"{step.name} skipped: {refused.reason}"))
        except TransientRenderError:
            raise
        except Exception as err:
            with store.session() as session:
                repo.fail_post(
                    session, post_id=post_id, actor="renderer", reason=f"{step.name} failed: {one_line(err)}"
                )
                repo.finish_batch_if_done(session, batch_id=post.batch_id)
            return True
    with store.session() as session:  # the last step was skipped, or nothing was pending
        hand_on(session)
    return True


def _budget(post: Post, persona: Persona, estimate: Decimal) -> Admit:
    def admit(session: Session, step_id: int) -> str | None:
        return budget.reserve(session, step_id=step_id, batch_id=post.batch_id, persona=persona, estimate=estimate)

    return admit


def _seconds(post: Post) -> float:
    return post.draft.seconds if post.draft is not None and post.draft.content_format is ContentFormat.video else 0.0


def _render(
    step: PipelineStep,
    post: Post,
    persona: Persona,
    home: Path,
    renderer: ImageRenderer | VideoRenderer,
    job: RequestMemory,
) -> RenderResult:
    draft = post.draft
    assert draft is not None  # checked by the caller; narrows the type
    done_before = sum(1 for s in post.steps if s.name == step.name and s.status is StepStatus.done)
    version = f"-v{done_before + 1}" if done_before else ""  # a rerender keeps the earlier file on disk
    folder = home / "artifacts" / f"batch-{post.batch_id}"
    if step.name == VIDEO:
        if draft.content_format is not ContentFormat.video:
            raise ValueError(f"post {post.id} has a video step but a {draft.content_format} draft")
        request = VideoRequest(
            title=draft.title,
            scenes=draft.scenes,
            prompt=draft.video_prompt,
            persona=persona,
            aspect="9:16",
            out_path=folder / f"post-{post.id}-video{version}.mp4",
        )
        return renderer.render(request, job)  # type: ignore[arg-type]
    prompt = draft.image_prompt if isinstance(draft, HeroTextDraft) else draft.cover_prompt
    image_request = ImageRequest(
        kind=step.name,
        title=draft.title,
        kicker=post.plan.beat_title,
        prompt=prompt,
        persona=persona,
        # Hero images take the shape of the persona's first channel; covers match the vertical video.
        aspect=CHANNELS[persona.channels[0].name].image_aspect
        if post.content_format is ContentFormat.hero_text
        else "9:16",  # type: ignore[arg-type]
        out_path=folder / f"post-{post.id}-{step.name}{version}.png",
    )
    return renderer.render(image_request, job)  # type: ignore[arg-type]


def stuck_posts(store: Store, *, older_than_s: float) -> list[int]:
    """Posts in rendering whose media step has been running longer than any render may take."""
    with store.session() as session:
        return repo.posts_with_stuck_steps(session, names=sorted(MEDIA_STEPS), older_than_s=older_than_s)
