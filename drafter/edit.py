"""A reviewer's edit of a draft: the new text is validated, the checks run again, the change is logged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from beatdesk.errors import BeatdeskError, describe_validation_error
from beatdesk.evals import words_changed
from beatdesk.models import PostStatus
from beatdesk.personas import load_persona
from beatdesk.store import repo
from drafter.base import cited_sources
from drafter.checks import run_checks
from drafter.provenance import traced

EDITABLE = ("title", "body", "caption", "hashtags")


def edit_draft(session: Session, *, post_id: int, home: Path, actor: str, changes: dict[str, Any]) -> list[str]:
    """Apply the changes to the post's draft; return the names of the fields that changed."""
    post = repo.get_post(session, post_id)
    if post.draft is None:
        raise BeatdeskError(f"post {post_id} has no draft to edit")
    if post.status not in (PostStatus.in_review, PostStatus.rejected, PostStatus.failed):
        raise BeatdeskError(f"post {post_id} is {post.status}; only a post in review can be edited")
    fields = set(type(post.draft).model_fields)
    current = post.draft.model_dump()
    wanted = {
        k: tuple(v) if k == "hashtags" else v.replace("\r\n", "\n").strip()  # browsers send CRLF from textareas
        for k, v in changes.items()
        if k in EDITABLE and k in fields
    }
    changed = [k for k, v in wanted.items() if current[k] != v]
    if not changed:
        return []
    try:
        draft = type(post.draft).model_validate({**current, **wanted})
    except ValidationError as err:
        raise BeatdeskError(describe_validation_error(err, source="edit")) from None
    persona = load_persona(home, post.persona)
    sources = cited_sources(post.plan, repo.list_sources(session, persona=post.persona, limit=500))
    draft = traced(draft, sources)  # the edit's figures and quotations, not the old draft's
    repo.keep_draft(session, post_id=post_id, actor=actor, note=f"changed {', '.join(changed)}")
    repo.save_draft(session, post_id=post_id, draft=draft, checks=run_checks(draft, persona, sources))
    changed_words = sum(words_changed(" ".join(map(str, _listed(current[k]))), " ".join(map(str, _listed(wanted[k]))))
                        for k in changed)  # fmt: skip
    repo.add_edit_distance(session, post_id=post_id, words=changed_words)
    before = "; ".join(f"{k}: {current[k]!s:.80}" for k in changed)
    repo.log_event(
        session, post_id=post_id, actor=actor, action="edit", note=f"changed {', '.join(changed)} (before: {before})"
    )
    return changed


def _listed(value: Any) -> list[Any]:
    """A field's words: hashtags are a list, the rest text."""
    return list(value) if isinstance(value, list | tuple) else [value]
