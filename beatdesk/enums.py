"""The plain names the whole project shares (formats, statuses, reject reasons), apart from the pydantic models
so that the CLI can parse its arguments without importing pydantic."""

from __future__ import annotations

from enum import StrEnum


class ContentFormat(StrEnum):
    hero_text = "hero_text"
    video = "video"


REJECT_REASONS: dict[str, str] = {
    "too_close": "too close to an earlier post",
    "off_beat": "off the persona's beats",
    "wrong_facts": "wrong or unsupported facts",
    "tone": "not the persona's voice",
    "format": "wrong format or length",
    "other": "another reason",
}
"""Why a reviewer rejects a post, as a short list the planner and the evals can count."""


class PostStatus(StrEnum):
    planned = "planned"
    drafting = "drafting"
    rendering = "rendering"
    in_review = "in_review"
    approved = "approved"
    scheduled = "scheduled"
    published = "published"
    rejected = "rejected"
    failed = "failed"


class StepStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    skipped = "skipped"
    blocked = "blocked"
    """A publish step waiting for a person (credentials refused, a channel not connected)."""


class BatchStatus(StrEnum):
    queued = "queued"
    planning = "planning"
    """A worker is planning it; its posts do not exist yet."""
    running = "running"
    done = "done"
    failed = "failed"
