"""Undoing a reviewer's decision (approve, reject, move) within UNDO_SECONDS.

The undo token is the decision's own audit entry, kept server-side: the form sends only its id. It is
honoured for the person who decided, within UNDO_SECONDS, and only while that entry is still the post's
newest, so a post someone (or the publisher) moved since is never pulled back. The undo is itself an
audit entry (`undo`), which also ends the token: a second click finds a newer entry and is refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from beatdesk.errors import BeatdeskError
from beatdesk.models import PostStatus
from beatdesk.store import calendar, repo

UNDO_SECONDS = 30
UNDOABLE = frozenset({"approve", "reject", "move"})
_MOVED = re.compile(r"^slot (\S+) → (\S+)")
"""The note a move leaves (`rescheduling.move_post`): the slot before and after, ISO with their offset."""


def undo_token(session: Session, *, post_id: int, actor: str) -> int | None:
    """The id of `actor`'s decision just made on the post, for the Undo button; None when it cannot be undone."""
    latest = repo.latest_event(session, post_id=post_id)
    if latest is None or latest[1].actor != actor or latest[1].action not in UNDOABLE:
        return None
    return latest[0]


def undo_decision(session: Session, *, event_id: int, actor: str, now: datetime | None = None) -> str:
    """Undo the decision `event_id` of `actor`; return what was done, or raise BeatdeskError saying why not."""
    found = repo.get_event(session, event_id)
    if found is None or found[1].actor != actor or found[1].action not in UNDOABLE:
        raise BeatdeskError(f"there is no decision {event_id} of yours to undo")
    post_id, event = found
    elapsed = (now or datetime.now(UTC)) - event.at
    if elapsed > timedelta(seconds=UNDO_SECONDS):
        raise BeatdeskError(f"the undo of your {event.action} of post {post_id} ran out after {UNDO_SECONDS} s")
    latest = repo.latest_event(session, post_id=post_id)
    if latest is None or latest[0] != event_id:
        later = latest[1] if latest else event
        raise BeatdeskError(f"post {post_id} changed since ({later.action} by {later.actor}); nothing was undone")
    if event.action == "move":
        return _undo_move(session, post_id=post_id, note=event.note or "", actor=actor, now=now)
    was = PostStatus.approved if event.action == "approve" else PostStatus.rejected
    repo.transition(session, post_id=post_id, to=PostStatus.in_review, actor=actor, action="undo",
                    note=f"undid {event.action}", expected=was)  # fmt: skip
    repo.clear_reason(session, post_id=post_id)
    repo.drop_latest_decision(session, post_id=post_id)
    return f"Undid the {event.action} of #{post_id}: back in review"


def _undo_move(session: Session, *, post_id: int, note: str, actor: str, now: datetime | None) -> str:
    """Back to the slot the move left, if it is still to come and free."""
    moved = _MOVED.match(note)
    if moved is None or moved.group(1) == "none":
        raise BeatdeskError(f"the move of post {post_id} kept no earlier slot; move it by hand")
    before, after = datetime.fromisoformat(moved.group(1)), moved.group(2)
    if before <= (now or datetime.now(UTC)):
        raise BeatdeskError(f"post {post_id}'s old slot {before.isoformat()} has passed; it stays at {after}")
    persona = repo.persona_of(session, post_id)
    calendar.hold_persona_slots(session, persona=persona)
    holder = calendar.slot_holder(session, persona=persona, at=before, other_than=post_id)
    if holder is not None:
        raise BeatdeskError(f"post {post_id}'s old slot {before.isoformat()} is taken by post {holder} now; "
                            f"it stays at {after}")  # fmt: skip
    if not calendar.move_slot(session, post_id=post_id, slot_at=before.astimezone(UTC)):
        raise BeatdeskError(f"post {post_id} is {repo.post_status(session, post_id)} now; it was not moved back")
    repo.log_event(session, post_id=post_id, actor=actor, action="undo",
                   note=f"undid move; slot {after} → {before.isoformat()}")  # fmt: skip
    return f"Undid the move of #{post_id}: back at {before.isoformat()}"
