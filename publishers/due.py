"""Publishing what is due: a sweep that queues each due channel's `publish_<channel>` step and has the runner
run it, then says what happened (published, failed, blocked, retrying); and the two mends a person applies
to one post on one channel (retry now, skip this channel)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from beatdesk.errors import BeatdeskError
from beatdesk.models import PostStatus
from beatdesk.personas import load_persona
from beatdesk.publishing import NEEDS_ATTENTION, ChannelState, ChannelStatus, channel_states
from beatdesk.runner import Runner
from beatdesk.settings import get_settings
from beatdesk.store import Store, repo
from publishers.stage import not_connected, publishing_runner

log = logging.getLogger(__name__)
RUN_FOR_S = 3600.0
"""A sweep runs a post's channels one after another in one call (each bounded by the publish deadline)."""


@dataclass(frozen=True)
class Trouble:
    """A channel of a due post that did not go out: failed, blocked, or retrying (with its next try)."""

    post_id: int
    state: ChannelState

    def line(self) -> str:
        return f"post {self.post_id} {self.state.channel.name}: {self.state.line()}"

    def as_json(self) -> dict[str, object]:
        return {"post": self.post_id} | self.state.as_json()


@dataclass
class Sweep:
    published: list[int] = field(default_factory=list)
    """Posts now out on every channel."""
    failed: list[Trouble] = field(default_factory=list)
    blocked: list[Trouble] = field(default_factory=list)
    retrying: list[Trouble] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing due failed or is blocked (a channel being retried is still on its way)."""
        return not self.failed and not self.blocked

    def troubles(self) -> list[Trouble]:
        return [*self.failed, *self.blocked, *self.retrying]

    def as_json(self) -> dict[str, object]:
        return {"published": self.published, "failed": [t.as_json() for t in self.failed],
                "blocked": [t.as_json() for t in self.blocked],
                "retrying": [t.as_json() for t in self.retrying]}  # fmt: skip


def publish_due(
    store: Store, *, home: Path, now: datetime, retry_blocked: bool = False, runner: Runner | None = None
) -> Sweep:
    """Queue every due channel of every due post, run them, and say how each due post stands.

    A channel without credentials is blocked as not connected, and the others go on. The sweep leaves blocked
    channels alone; by hand (`retry_blocked`), they are tried again."""
    runner = runner or publishing_runner(store, get_settings())
    with store.session() as session:
        due = repo.due_posts(session, now=now, stale_after_s=runner.stale_after_s)
    wanted = {ChannelStatus.due, ChannelStatus.blocked} if retry_blocked else {ChannelStatus.due}
    for post in due:
        try:
            persona = load_persona(home, post.persona)
        except BeatdeskError as err:  # one broken persona file must not hold up every other persona's posts
            log.warning("post %s not published: %s", post.id, err)
            continue
        if post.status is PostStatus.approved:
            channels: dict[str, str | None] = {s.channel.name: not_connected(persona, s.channel, home)
                        for s in channel_states(post, persona, now=now) if s.status in wanted}  # fmt: skip
            if channels:
                runner.queue_publishing(post.id, channels=channels)
        runner.advance(post.id, through_until=time.monotonic() + RUN_FOR_S)
    with store.session() as session:  # what this sweep published, and every due post still not out
        pending = repo.publishing_post_ids(session, now=now)
    swept = [p.id for p in due]
    return _how_they_stand(store, home=home, post_ids=swept + [i for i in pending if i not in set(swept)], now=now)


def _how_they_stand(store: Store, *, home: Path, post_ids: list[int], now: datetime) -> Sweep:
    sweep = Sweep()
    with store.session() as session:
        for post_id in post_ids:
            post = repo.get_post(session, post_id)
            if post.status is PostStatus.published:
                sweep.published.append(post_id)
                continue
            try:
                states = channel_states(post, load_persona(home, post.persona), now=now)
            except BeatdeskError:
                continue
            for state in states:
                if state.status in NEEDS_ATTENTION:
                    getattr(sweep, state.status.value).append(Trouble(post_id, state))
    return sweep


def retry_channel_now(store: Store, *, home: Path, post_id: int, channel: str, actor: str) -> ChannelState:
    """Retry now: the post's step on `channel` queued for now and run here; where the channel then stands.
    For a person mending a blocked, failed or retrying channel (fresh credentials, a server back)."""
    runner = publishing_runner(store, get_settings())
    runner.retry_publish(post_id, channel=channel, actor=actor)
    runner.advance(post_id, through_until=time.monotonic() + RUN_FOR_S)
    return _state_on(store, home=home, post_id=post_id, channel=channel)


def skip_channel(store: Store, *, home: Path, post_id: int, channel: str, actor: str) -> ChannelState:
    """Skip this channel: the post will not go out there; it is published once its other channels are out."""
    publishing_runner(store, get_settings()).skip_publish(post_id, channel=channel, actor=actor)
    return _state_on(store, home=home, post_id=post_id, channel=channel)


def _state_on(store: Store, *, home: Path, post_id: int, channel: str) -> ChannelState:
    with store.session() as session:
        post = repo.get_post(session, post_id)
    states = channel_states(post, load_persona(home, post.persona), now=datetime.now().astimezone())
    return next(s for s in states if s.channel.name == channel)
