"""Where an approved post stands on each of its persona's channels, read from its `publish_<channel>` steps:
the one answer the runner, the CLI, the desk and the API share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from beatdesk.models import Channel, Persona, Post, PostStatus, StepStatus
from beatdesk.slots import channel_time

PREFIX = "publish_"


def step_name(channel: str) -> str:
    return PREFIX + channel


def is_publish(step: str) -> bool:
    return step.startswith(PREFIX)


def channel_of(step: str) -> str:
    return step.removeprefix(PREFIX)


class ChannelStatus(StrEnum):
    waiting = "waiting"
    """Its time has not come."""
    due = "due"
    """Its time has come; not queued yet, or queued for a worker."""
    publishing = "publishing"
    """A worker is on it."""
    retrying = "retrying"
    """A transient failure (refused connection, 5xx, timeout, 429): tried again at `next_try`."""
    published = "published"
    skipped = "skipped"
    """A person chose not to publish it there."""
    blocked = "blocked"
    """Waits for a person: credentials refused or not set ("not connected")."""
    failed = "failed"
    """Given up: the channel refused the post, or transient failures lasted past the deadline after its slot."""


NEEDS_ATTENTION = frozenset({ChannelStatus.blocked, ChannelStatus.failed, ChannelStatus.retrying})
FINISHED = frozenset({ChannelStatus.published, ChannelStatus.skipped})
STEP_STATUS = {
    StepStatus.running: ChannelStatus.publishing,
    StepStatus.done: ChannelStatus.published,
    StepStatus.skipped: ChannelStatus.skipped,
    StepStatus.blocked: ChannelStatus.blocked,
    StepStatus.failed: ChannelStatus.failed,
}


@dataclass(frozen=True)
class ChannelState:
    channel: Channel
    due_at: datetime
    status: ChannelStatus
    reason: str | None = None
    next_try: datetime | None = None

    def line(self) -> str:
        """One line for a person: `retrying at 09:05 UTC: webhook: ConnectError`."""
        if self.status is ChannelStatus.retrying and self.next_try is not None:
            return f"retrying at {self.next_try:%Y-%m-%d %H:%M} UTC: {self.reason}"
        return f"{self.status}: {self.reason}" if self.reason else str(self.status)

    def as_json(self) -> dict[str, object]:
        return {"channel": self.channel.name, "at": self.due_at.isoformat(), "status": str(self.status),
                "reason": self.reason, "next_try": self.next_try.isoformat() if self.next_try else None}  # fmt: skip


def channel_states(post: Post, persona: Persona, *, now: datetime) -> list[ChannelState]:
    """Where the post stands on each channel: its latest publish step's status (a publication counts too)."""
    published = {p.channel for p in post.publications}
    latest = {channel_of(s.name): s for s in post.steps if is_publish(s.name)}  # steps come in order
    states = []
    for channel in persona.channels:
        due_at = channel_time(persona, channel, post.slot_at) if post.slot_at else now
        step = latest.get(channel.name)
        if channel.name in published or (step is not None and step.status is StepStatus.done):
            states.append(ChannelState(channel, due_at, ChannelStatus.published))
        elif step is None:
            states.append(ChannelState(channel, due_at, ChannelStatus.due if due_at <= now else ChannelStatus.waiting))
        elif step.status is StepStatus.queued:
            waits = step.retry_at is not None
            states.append(ChannelState(channel, due_at, ChannelStatus.retrying if waits else ChannelStatus.due,
                                       step.error if waits else None, step.retry_at))  # fmt: skip
        else:
            states.append(ChannelState(channel, due_at, STEP_STATUS[step.status], step.error))
    return states


def all_out(states: list[ChannelState]) -> bool:
    """Every channel published or skipped: the post is published."""
    return all(s.status in FINISHED for s in states)


def on_calendar(post: Post) -> bool:
    """Whether the post has channels to stand on: approved, being published, or published."""
    return post.slot_at is not None and post.status in (PostStatus.approved, PostStatus.scheduled,
                                                        PostStatus.published)  # fmt: skip
