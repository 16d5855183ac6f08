"""Review decisions on a post: approve at a slot, reject with a reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from beatdesk.errors import BeatdeskError
from beatdesk.evals import record_decision
from beatdesk.models import REJECT_REASONS, Post, PostStatus
from beatdesk.personas import load_persona
from beatdesk.pipeline import MEDIA_STEPS, STEPS, VIDEO
from beatdesk.slots import next_free_slot
from beatdesk.store import calendar, repo


def parse_time(text: str, *, label: str = "time") -> datetime:
    """An ISO time as people type it; one without a zone stays naive, to be read in the persona's zone."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise BeatdeskError(f"{label} {text!r} is not an ISO time such as 2026-12-01T09:30") from None


def failing_checks(post: Post) -> list[str]:
    """The names of the post's checks that fail: approving it anyway needs a reason."""
    return [check.name for check in post.checks if check.level == "fail"]


def approve(
    session: Session,
    *,
    post_id: int,
    home: Path,
    actor: str,
    at: datetime | None = None,
    override: str | None = None,
    require_override: bool = False,
) -> None:
    """Approve the post into `at` (naive: the persona's local time), or the persona's next free slot.
    With `require_override`, a post whose checks fail is refused unless `override` gives the reason,
    which goes into the audit log."""
    # The persona's slots are held first: on SQLite that makes this the one writer, so the post, its
    # checks and the taken slots read below are what every decision before this one left.
    calendar.hold_persona_slots(session, persona=repo.persona_of(session, post_id))
    post = repo.get_post(session, post_id)
    failing = failing_checks(post)
    reason = (override or "").strip()
    if require_override and failing and not reason:
        raise BeatdeskError(
            f"post {post_id} fails its checks ({', '.join(failing)}): give a reason to approve it anyway"
        )
    persona = load_persona(home, post.persona)
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(persona.timezone))
    now = datetime.now(UTC)
    if at is not None and at <= now:
        raise BeatdeskError(f"--at {at.isoformat()} is in the past; give a future time")
    slot = at or next_free_slot(persona, after=now, taken=repo.taken_slots(session, persona=persona.key))
    note = f"slot {slot.isoformat()}"
    if failing and reason:
        note += f"; approved despite failing checks ({', '.join(failing)}): {reason}"
    repo.transition(session, post_id=post_id, to=PostStatus.approved, actor=actor, action="approve", note=note)
    repo.set_slot(session, post_id=post_id, slot_at=slot)
    holder = calendar.slot_holder(session, persona=persona.key, at=slot, other_than=post_id)
    if holder is not None:  # raised after the write: the caller's transaction rolls the approval back
        raise BeatdeskError(f"{slot.isoformat()} is taken by post {holder}; pick another time or the next free slot")
    record_decision(session, post_id=post_id, decision="approved")


def reject(session: Session, *, post_id: int, actor: str, reason: str, code: str | None = None) -> None:
    """Reject with a reason: a code from REJECT_REASONS (counted by the evals), free text, or both."""
    if code is not None and code not in REJECT_REASONS:
        raise BeatdeskError(f"unknown reason code {code!r}; use one of {', '.join(REJECT_REASONS)}")
    if not reason.strip() and code is None:
        raise BeatdeskError(f"a rejection needs a reason: --reason TEXT, --reason-code ({'|'.join(REJECT_REASONS)})")
    note = reason.strip() or REJECT_REASONS[code or "other"]
    repo.transition(session, post_id=post_id, to=PostStatus.rejected, actor=actor, action="reject", note=note)
    repo.set_reason_code(session, post_id=post_id, code=code or "other")
    record_decision(session, post_id=post_id, decision="rejected", reason_code=code or "other")


def send_back_for_redraft(session: Session, *, post_id: int, actor: str, note: str | None) -> None:
    """Back to drafting with the reviewer's note; the current draft goes into the post's history."""
    post = repo.get_post(session, post_id)
    repo.transition(session, post_id=post_id, to=PostStatus.drafting, actor=actor, action="redraft", note=note)
    repo.archive_draft(session, post_id=post_id, note=note, actor=actor)
    if post.channel_versions:  # they were written from the old draft: the new one starts from its own text
        repo.drop_channel_versions(session, post_id=post_id)
        repo.log_event(session, post_id=post_id, actor=actor, action="edit_channel",
                       note=f"dropped with the old draft: {', '.join(sorted(post.channel_versions))}")  # fmt: skip
    repo.reset_edit_distance(session, post_id=post_id)
    repo.queue_steps(session, post_id=post_id, names=STEPS[post.content_format][1:])  # all but planning


def send_back_for_rerender(
    session: Session, *, post_id: int, actor: str, note: str | None, image_model: str | None = None
) -> None:
    """Back to rendering: new media steps are queued after the old ones, whose files and costs stay.
    `image_model` (`fal:MODEL`, `local`) renders the images this time instead of the persona's choice."""
    post = repo.get_post(session, post_id)
    if post.draft is None:
        raise BeatdeskError(f"post {post_id} has no draft to render; redraft it first")
    repo.transition(session, post_id=post_id, to=PostStatus.rendering, actor=actor, action="rerender", note=note)
    media = [n for n in STEPS[post.content_format] if n in MEDIA_STEPS]
    images = [n for n in media if n != VIDEO]
    provider, _, model = (image_model or "").partition(":")
    repo.queue_steps(session, post_id=post_id, names=images, provider=provider or None, model=model or provider or None)
    repo.queue_steps(session, post_id=post_id, names=[n for n in media if n == VIDEO])


def free_slots(session: Session, *, home: Path, persona_key: str, count: int) -> list[datetime]:
    """The persona's next `count` free slots, in order, for a reviewer to pick from."""
    persona = load_persona(home, persona_key)
    taken = repo.taken_slots(session, persona=persona.key)
    found: list[datetime] = []
    after = datetime.now(UTC)
    for _ in range(count):
        slot = next_free_slot(persona, after=after, taken=taken | set(found))
        found.append(slot)
        after = slot
    return found


def reopen(session: Session, *, post_id: int, actor: str, note: str | None = None) -> None:
    """A rejected post back in review, its rejection reason cleared; kept in the audit log."""
    repo.transition(session, post_id=post_id, to=PostStatus.in_review, actor=actor, action="reopen",
                    note=note or "reopened for review", expected=PostStatus.rejected)  # fmt: skip
    repo.clear_reason(session, post_id=post_id)
