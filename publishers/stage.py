"""The publish stage: approved posts whose slot has come go out to every channel, exactly once each.

A publisher takes a post first (approved -> scheduled, one publisher at a time). A publication row
(post, channel) is stored as soon as the channel answers; a retry skips channels with a row, and
each publisher looks for what a lost answer already made before posting (or sends a key the
channel deduplicates by). Transient errors are retried with backoff, then left for the next sweep;
a refusal (revoked token, a post the channel will not take) blocks that channel, with the reason on
the post, until someone publishes it by hand. The post is `published` when every channel is done.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from beatdesk.errors import BeatdeskError
from beatdesk.models import Channel, Check, HeroTextDraft, Persona, Post, PostStatus, StepStatus
from beatdesk.personas import load_persona
from beatdesk.runner import one_line, record_step
from beatdesk.slots import channel_time
from beatdesk.store import Store, repo
from beatdesk.store.attention import SKIPPED_BY
from publishers.base import Outgoing, Published, Publisher, instance_limit
from publishers.bluesky import BlueskyPublisher
from publishers.channel_text import channel_parts
from publishers.credentials import credentials_for
from publishers.graph import InstagramPublisher, ThreadsPublisher
from publishers.http import PublishAuthError, TransientPublishError
from publishers.linkedin import LinkedInPublisher
from publishers.mastodon import MastodonPublisher
from publishers.outbox import OutboxPublisher
from publishers.webhook import WebhookPublisher
from publishers.x import XPublisher

log = logging.getLogger(__name__)
PUBLISHERS: dict[str, Callable[..., Publisher]] = {
    "mastodon": MastodonPublisher, "bluesky": BlueskyPublisher, "x": XPublisher, "linkedin": LinkedInPublisher,
    "webhook": WebhookPublisher, "threads": ThreadsPublisher, "instagram": InstagramPublisher,
}  # fmt: skip
RETRY_WAIT = wait_exponential_jitter(multiplier=0.5, max=10)


@dataclass(frozen=True)
class ChannelState:
    channel: Channel
    due_at: datetime
    status: str
    """published, due, waiting (its time has not come), blocked (with `reason`), or skipped by a person."""
    reason: str | None = None


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


def channel_states(post: Post, persona: Persona, *, now: datetime) -> list[ChannelState]:
    """Where the post stands on each of its persona's channels."""
    done = {p.channel for p in post.publications}
    states = []
    for channel in persona.channels:
        due_at = channel_time(persona, channel, post.slot_at) if post.slot_at else now
        last = [s for s in post.steps if s.name == f"publish_{channel.name}"]
        if channel.name in done:
            states.append(ChannelState(channel, due_at, "published"))
        elif last and last[-1].status is StepStatus.failed:
            states.append(ChannelState(channel, due_at, "blocked", last[-1].error))
        elif last and last[-1].status is StepStatus.skipped and (last[-1].error or "").startswith(SKIPPED_BY):
            states.append(ChannelState(channel, due_at, "skipped", last[-1].error))
        else:
            states.append(ChannelState(channel, due_at, "due" if due_at <= now else "waiting"))
    return states


def publishing(post: Post, home: Path) -> list[ChannelState]:
    """Where an approved post stands on each channel now (none before approval, or for a broken persona file)."""
    if post.slot_at is None or post.status not in (PostStatus.approved, PostStatus.scheduled, PostStatus.published):
        return []
    try:
        return channel_states(post, load_persona(home, post.persona), now=datetime.now(UTC))
    except BeatdeskError:
        return []


def publish_due(store: Store, *, home: Path, now: datetime, retry_blocked: bool = False) -> list[int]:
    """Publish what is due on every channel; return the ids of posts now fully published.

    The sweep leaves blocked channels alone; by hand (`retry_blocked`), they are tried again."""
    with store.session() as session:
        due = repo.due_posts(session, now=now)
    published = []
    for post in due:
        try:
            persona = load_persona(home, post.persona)
        except BeatdeskError as err:  # one broken persona file must not hold up every other persona's posts
            log.warning("post %s not published: %s", post.id, err)
            continue
        wanted = {"due", "blocked"} if retry_blocked else {"due"}
        if not any(s.status in wanted for s in channel_states(post, persona, now=now)):
            continue
        with store.session() as session:
            if not repo.claim_for_publishing(session, post_id=post.id, now=now):
                continue  # another publisher has it
        if publish_post(store, post=post, persona=persona, home=home, now=now, wanted=wanted):
            published.append(post.id)
    return published


def publish_post(store: Store, *, post: Post, persona: Persona, home: Path, now: datetime, wanted: set[str]) -> bool:
    """Publish the claimed post to its channels in `wanted` states; True when every channel is done."""
    media = _media(post)
    alt = post.draft.alt_text if isinstance(post.draft, HeroTextDraft) else post.title
    flags: list[Check] = []
    tried: set[str] = set()
    for state in channel_states(post, persona, now=now):
        if state.status not in wanted:
            continue
        channel = state.channel
        tried.add(f"publish_{channel.name}")
        try:
            with record_step(
                store,
                post_id=post.id,
                name=f"publish_{channel.name}",
                provider=channel.name,
                model=channel.account or channel.name,
                transient=(TransientPublishError,),
            ) as step:
                publisher = publisher_for(persona, channel, home)
                parts = channel_parts(post, channel, persona=persona, instance_limit=instance_limit(publisher))
                outgoing = Outgoing(post=post, parts=tuple(parts), media=media, alt=alt)
                answer = _publish_with_retries(publisher, outgoing)
                with store.session() as session:
                    repo.add_publication(session, post_id=post.id, channel=channel.name,
                                         remote_id=answer.remote_id, url=answer.url)  # fmt: skip
                step.detail = answer.remote_id + thread_note(len(outgoing.parts))
        except TransientPublishError as err:
            with store.session() as session:
                repo.log_event(session, post_id=post.id, actor="publisher", action="publish_retry_later",
                               note=f"{channel.name}: {one_line(err)}")  # fmt: skip
        except Exception as err:
            what = "needs new credentials" if isinstance(err, PublishAuthError) else "refused"
            flags.append(Check(name=f"publish_{channel.name}", level="fail", detail=f"{what}: {one_line(err)}"))
    with store.session() as session:
        fresh = repo.get_post(session, post.id)
        if flags or any(c.name in tried for c in fresh.checks):
            # This attempt's outcome replaces the flags of the channels it tried: a channel that went out is unflagged.
            kept = [c for c in fresh.checks if c.name not in tried]
            repo.save_checks(session, post_id=post.id, checks=[*kept, *flags])
            for flag in flags:
                repo.log_event(session, post_id=post.id, actor="publisher", action="publish_blocked",
                               note=f"{flag.name.removeprefix('publish_')}: {flag.detail}")  # fmt: skip
        states = channel_states(fresh, persona, now=now)
        if all(s.status in ("published", "skipped") for s in states):
            repo.transition(session, post_id=post.id, to=PostStatus.published, actor="publisher", action="publish")
            return True
        repo.transition(session, post_id=post.id, to=PostStatus.approved, actor="publisher", action="publish_partly",
                        note=", ".join(f"{s.channel.name}: {s.status}" for s in states))  # fmt: skip
        return False


@retry(retry=retry_if_exception_type(TransientPublishError), stop=stop_after_attempt(4), wait=RETRY_WAIT, reraise=True)
def _publish_with_retries(publisher: Publisher, outgoing: Outgoing) -> Published:
    return publisher.publish(outgoing)


def _media(post: Post) -> tuple[Path, ...]:
    """The newest file of each media step: a rerender replaces the earlier one."""
    latest = {s.name: Path(s.artifact.path) for s in post.steps
              if s.artifact and s.artifact.path and s.status is StepStatus.done}  # fmt: skip
    return tuple(latest.values())
