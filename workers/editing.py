"""A reviewer's edit of a post, as the desk, the API and the CLI make it: draft fields and channel
versions checked together, stored together (or nothing is), the checks run again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from beatdesk.models import Check
from beatdesk.personas import load_persona
from beatdesk.store import repo
from drafter.edit import draft_changes, edit_draft, editable, recheck
from publishers.versions import ChannelEdit, revised, save_versions


@dataclass(frozen=True)
class Edited:
    """What an edit changed, and the checks as they now stand."""

    fields: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)


def edit_post(
    session: Session,
    *,
    post_id: int,
    home: Path,
    actor: str,
    fields: Mapping[str, str | None],
    channels: Mapping[str, ChannelEdit],
) -> Edited:
    """Apply draft `fields` (title, body, caption, hashtags, alt_text; None: as it is) and channel edits.

    Everything is checked before anything is written, and it all happens in the caller's transaction: a
    refusal (NotEditableError, InvalidEditError) leaves the post as it was."""
    post = repo.get_post(session, post_id)
    draft = editable(post)
    persona = load_persona(home, post.persona)
    versions = revised(post, persona, channels)
    changed = save_versions(session, post=post, versions=versions, actor=actor)
    names = edit_draft(session, post_id=post_id, home=home, actor=actor, changes=draft_changes(draft, **fields))
    if names:  # edit_draft ran the checks with the new versions
        checks = repo.get_post(session, post_id, with_history=False).checks
    else:
        checks = recheck(session, post_id=post_id, home=home) if changed else post.checks
    return Edited(fields=names, channels=changed, checks=checks)
