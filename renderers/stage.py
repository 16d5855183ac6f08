"""The render stage: make a drafted post's media, record it, and hand the post to review."""

from __future__ import annotations

from pathlib import Path

from beatdesk.models import ContentFormat, PostStatus, StepStatus
from beatdesk.personas import load_persona
from beatdesk.pipeline import COVER_IMAGE, HERO_IMAGE
from beatdesk.steps import one_line, run_step
from beatdesk.store import Store, repo
from renderers.base import ImageRenderer, ImageRequest


def render_post(store: Store, *, post_id: int, home: Path, renderer: ImageRenderer) -> bool:
    """Render the post's image; True when the post went to review."""
    with store.session() as session:
        post = repo.get_post(session, post_id)
    if post.status is not PostStatus.rendering or post.draft is None:
        return False
    video = post.content_format is ContentFormat.video
    name = COVER_IMAGE if video else HERO_IMAGE
    done_before = sum(1 for s in post.steps if s.name == name and s.status is StepStatus.done)
    version = f"-v{done_before + 1}" if done_before else ""  # a rerender keeps the earlier image on disk
    try:
        with run_step(store, post_id=post_id, name=name, provider=renderer.provider, model=renderer.model) as step:
            persona = load_persona(home, post.persona)
            prompt = (
                post.draft.cover_prompt if post.draft.content_format is ContentFormat.video else post.draft.image_prompt
            )
            result = renderer.render(
                ImageRequest(
                    kind=name,
                    title=post.draft.title,
                    kicker=post.plan.beat_title,
                    prompt=prompt,
                    persona=persona,
                    aspect="9:16" if video else "4:5",
                    out_path=home / "artifacts" / f"batch-{post.batch_id}" / f"post-{post_id}-{name}{version}.png",
                )
            )
            step.artifact, step.cost_usd = result.artifact, result.cost_usd
    except Exception as err:
        with store.session() as session:
            repo.fail_post(session, post_id=post_id, actor="renderer", reason=f"{name} failed: {one_line(err)}")
        return False
    with store.session() as session:
        repo.transition(session, post_id=post_id, to=PostStatus.in_review, actor="renderer", action="rendered")
    return True
