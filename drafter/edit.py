"""A reviewer's edit of a draft: the new text is validated, the checks run again, the change is logged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from beatdesk.errors import InvalidEditError, NotEditableError, describe_validation_error
from beatdesk.evals import words_changed
from beatdesk.models import Check, Draft, Post, PostStatus
from beatdesk.personas import load_persona
from beatdesk.store import repo
from drafter.base import cited_sources
from drafter.checks import run_checks
from drafter.provenance import traced

EDITABLE = ("title", "body", "caption", "hashtags", "alt_text")
EDITABLE_STATUSES = (PostStatus.in_review, PostStatus.rejected, PostStatus.failed)


def editable(post: Post) -> Draft:
    """The post's draft, if the post may be edited now; else why not, in one line."""
    if post.status not in EDITABLE_STATUSES:
        raise NotEditableError(f"post {post.id} is {post.status}; only a post in review, rejected or failed can be "
                               "edited (unschedule an approved one first)")  # fmt: skip
    if post.draft is None:
        raise NotEditableError(f"post {post.id} has no draft to edit")
    return post.draft


def recheck(session: Session, *, post_id: int, home: Path) -> list[Check]:
    """Run the checks again on the post's draft and its channel versions, and keep them."""
    post = repo.get_post(session, post_id, with_history=False)
    draft = editable(post)
    persona = load_persona(home, post.persona)
    sources = cited_sources(post.plan, repo.list_sources(session, persona=post.persona, limit=500))
    checks = run_checks(draft, persona, sources, versions=post.channel_versions)
    repo.save_checks(session, post_id=post_id, checks=checks)
    return checks


def edit_draft(session: Session, *, post_id: int, home: Path, actor: str, changes: dict[str, Any]) -> list[str]:
    """Apply the changes to the post's draft; return the names of the fields that changed."""
    post = repo.get_post(session, post_id)
    original = editable(post)
    fields = set(type(original).model_fields)
    current = original.model_dump()
    wanted = {
        k: tuple(v) if k == "hashtags" else v.replace("\r\n", "\n").strip()  # browsers send CRLF from textareas
        for k, v in changes.items()
        if k in EDITABLE and k in fields
    }
    changed = [k for k, v in wanted.items() if current[k] != v]
    if not changed:
        return []
    try:
        draft = type(original).model_validate({**current, **wanted})
    except ValidationError as err:
        raise InvalidEditError(describe_validation_error(err, source="edit")) from None
    persona = load_persona(home, post.persona)
    sources = cited_sources(post.plan, repo.list_sources(session, persona=post.persona, limit=500))
    draft = traced(draft, sources)  # the edit's figures and quotations, not the old draft's
    repo.keep_draft(session, post_id=post_id, actor=actor, note=f"changed {', '.join(changed)}")
    checks = run_checks(draft, persona, sources, versions=post.channel_versions)
    repo.save_draft(session, post_id=post_id, draft=draft, checks=checks)
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


def caption_text(draft: Draft) -> str:
    """The caption without its last line of hashtags (the drafter's rule puts the tags there, in order)."""
    lines = draft.caption.rstrip().split("\n")
    if draft.hashtags and lines[-1].split() == list(draft.hashtags):
        return "\n".join(lines[:-1]).rstrip()
    return draft.caption.rstrip()


def with_hashtags(caption: str, hashtags: str) -> str:
    """The caption as stored: its text, a blank line, the tags. A caption already ending on them is kept."""
    text = caption.replace("\r\n", "\n").rstrip()
    tags = hashtags.split()
    if not tags or (text and text.split("\n")[-1].split() == tags):
        return text
    return f"{text}\n\n{' '.join(tags)}" if text else " ".join(tags)


def draft_changes(draft: Draft, **fields: str | None) -> dict[str, Any]:
    """Fields given as text (None: left as they are) as changes to `draft`: hashtags split, and the caption's
    last line made from them, so caption and tags never disagree."""
    changes: dict[str, Any] = {name: value for name, value in fields.items() if value is not None}
    if "hashtags" in changes or "caption" in changes:
        tags = changes.get("hashtags", " ".join(draft.hashtags))
        changes["caption"] = with_hashtags(changes.get("caption", caption_text(draft)), tags)
        changes["hashtags"] = tags.split()
    return changes
