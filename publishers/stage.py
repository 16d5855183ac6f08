"""The publish stage: one `publish_<channel>` step's work, run by the runner like any other step.

The runner claims the step, beats while it runs, takes it over from a worker that died, and moves the
post through the state table; this work only posts. The remote id is stored on the step as soon as
the channel answers (a step taken over after that returns it without asking again), and each publisher
looks for what a lost answer already made before posting, or sends a key the channel deduplicates by.
Transient errors are retried here a few times with backoff, then handed back to the runner, which has
the step wait for its next try; refused credentials, or none set, block the channel (ChannelBlocked).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from beatdesk import retries
from beatdesk.errors import BeatdeskError, ConfigError, RefusedError
from beatdesk.models import Channel, Persona, Post, StepStatus
from beatdesk.personas import load_persona
from beatdesk.publishing import ChannelState, channel_of, channel_states, on_calendar
from beatdesk.runner import Call, Outcome, Posted, Runner, StepWork
from beatdesk.settings import Settings
from beatdesk.store import Store
from publishers.base import Outgoing, Published, Publisher, instance_limit
from publishers.bluesky import BlueskyPublisher
from publishers.channel_text import alt_text, channel_parts
from publishers.credentials import NotConnected, credentials_for
from publishers.graph import InstagramPublisher, ThreadsPublisher
from publishers.http import TransientPublishError
from publishers.linkedin import LinkedInPublisher
from publishers.mastodon import MastodonPublisher
from publishers.outbox import OutboxPublisher
from publishers.webhook import WebhookPublisher
from publishers.x import XPublisher

PUBLISHERS: dict[str, Callable[..., Publisher]] = {
    "mastodon": MastodonPublisher, "bluesky": BlueskyPublisher, "x": XPublisher, "linkedin": LinkedInPublisher,
    "webhook": WebhookPublisher, "threads": ThreadsPublisher, "instagram": InstagramPublisher,
}  # fmt: skip


_THREAD = re.compile(r" \(a thread of (\d+)\)$")


def thread_note(parts: int) -> str:
    """What a publish step's detail says after the remote id when the post went out as a thread."""
    return f" (a thread of {parts})" if parts > 1 else ""


def thread_parts(detail: str | None) -> int:
    """How many parts a publish step's detail says the post went out in (1 when it was not a thread)."""
    found = _THREAD.search(detail or "")
    return int(found.group(1)) if found else 1


def publisher_for(persona: Persona, channel: Channel, home: Path) -> Publisher:
    if channel.name == "outbox":
        return OutboxPublisher(home / "outbox")
    if channel.name not in PUBLISHERS:
        raise BeatdeskError(f"channel {channel.name!r} has no publisher; known: outbox, {', '.join(PUBLISHERS)}")
    return PUBLISHERS[channel.name](channel, credentials_for(persona, channel, home), home / "outbox" / ".media")


def not_connected(persona: Persona, channel: Channel, home: Path) -> str | None:
    """Why the channel cannot be published to until someone sets its credentials; None when it can."""
    if channel.name == "outbox":
        return None
    try:
        credentials_for(persona, channel, home)
    except ConfigError as err:
        return f"not connected: {err}"
    return None


class PublishWork:
    """A `publish_<channel>` step: the post to one channel, once."""

    def __init__(self, channel: str, home: Path) -> None:
        self.channel, self.home = channel, home
        self.provider, self.model = channel, channel

    def estimate(self, post: Post, persona: Persona) -> Decimal:
        return Decimal(0)  # posting costs nothing on any channel beatdesk knows

    def run(self, post: Post, persona: Persona, call: Call) -> Outcome:
        if call.request_id is not None:  # an earlier attempt got the channel's answer, then stopped: it is out
            return Outcome(detail=call.request_id, posted=Posted(remote_id=call.request_id))
        channel = next((c for c in persona.channels if c.name == self.channel), None)
        if channel is None:
            raise RefusedError(f"persona {persona.key} no longer has channel {self.channel}")
        try:
            publisher = publisher_for(persona, channel, self.home)
        except ConfigError as err:
            raise NotConnected(f"not connected: {err}") from None
        parts = channel_parts(post, channel, persona=persona, instance_limit=instance_limit(publisher))
        outgoing = Outgoing(post=post, parts=tuple(parts), media=_media(post), alt=alt_text(post))
        with call.submitting():  # a worker that dies inside leaves the mark: its taker asks again, with the same key
            answer = _publish_with_retries(publisher, outgoing)
        call.remember_request(answer.remote_id)  # before the ending transaction: a taker finds it there
        return Outcome(detail=answer.remote_id + thread_note(len(parts)),
                       posted=Posted(remote_id=answer.remote_id, url=answer.url))  # fmt: skip


def publish_works(home: Path) -> Callable[[str, Persona, str | None, int], StepWork]:
    """The runner's works for publish steps (a runner that only publishes: `publish due`, the sweep)."""

    def works(step: str, persona: Persona, chosen: str | None, post_id: int) -> StepWork:
        return PublishWork(channel_of(step), home)

    return works


def publishing_runner(store: Store, settings: Settings) -> Runner:
    return Runner(store, home=settings.home, works=publish_works(settings.home),
                  stale_after_s=settings.worker_stale_after_s,
                  publish_give_up_after_s=settings.publish_give_up_after_s)  # fmt: skip


def publishing(post: Post, home: Path) -> list[ChannelState]:
    """Where an approved post stands on each channel now (none before approval, or for a broken persona file)."""
    if not on_calendar(post):
        return []
    try:
        return channel_states(post, load_persona(home, post.persona), now=datetime.now(UTC))
    except BeatdeskError:
        return []


def _publish_with_retries(publisher: Publisher, outgoing: Outgoing) -> Published:
    """The publication under the channels' one retry policy (a retry looks for the earlier post first)."""
    return retries.CHANNELS.call(lambda: publisher.publish(outgoing), retry_if=retries.of_type(TransientPublishError))


def _media(post: Post) -> tuple[Path, ...]:
    """The newest file of each media step: a rerender replaces the earlier one."""
    latest = {s.name: Path(s.artifact.path) for s in post.steps
              if s.artifact and s.artifact.path and s.status is StepStatus.done}  # fmt: skip
    return tuple(latest.values())
