"""A person's answers to a publication that needs attention: retry a channel now, skip it, or publish the post now.

One function per action, each a reviewer's decision kept in the post's audit log; the desk's buttons call
them and nothing else, so they follow publishing wherever its records go."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from beatdesk.errors import BeatdeskError
from beatdesk.models import Post, PostStatus, StepStatus
from beatdesk.personas import load_persona
from beatdesk.store import Store, repo
from beatdesk.store import steps as step_rows
from beatdesk.store.attention import PUBLISH_PREFIX, SKIPPED_BY
from publishers.stage import channel_states, publish_post


def retry_channel(session: Session, *, post_id: int, channel: str, actor: str, home: Path) -> str:
    """Queue the channel's publish step again (its block cleared): the next publishing sweep takes it up."""
    post = _waiting_post(session, post_id, channel, home)
    name = PUBLISH_PREFIX + channel
    if step_rows.open_step_named(session, post_id=post_id, name=name) is None:
        step_rows.new_step(session, batch_id=post.batch_id, persona=post.persona, post_id=post_id, name=name,
                           provider=channel)  # fmt: skip
    repo.save_checks(session, post_id=post_id, checks=[c for c in post.checks if c.name != name])
    repo.log_event(session, post_id=post_id, actor=actor, action="publish_retry", note=f"{channel}: queued again")
    return f"#{post_id} on {channel}: queued again, it goes out at the next publishing sweep"


def skip_channel(session: Session, *, post_id: int, channel: str, actor: str, home: Path) -> str:
    """Leave the channel out for this post; when every other channel is out, the post is published."""
    post = _waiting_post(session, post_id, channel, home)
    name = PUBLISH_PREFIX + channel
    open_step = step_rows.open_step_named(session, post_id=post_id, name=name)
    row = open_step or step_rows.new_step(session, batch_id=post.batch_id, persona=post.persona, post_id=post_id,
                                          name=name, provider=channel)  # fmt: skip
    step_rows.end(session, row, status=StepStatus.skipped, cost_usd=row.cost_usd, error=SKIPPED_BY + actor)
    repo.save_checks(session, post_id=post_id, checks=[c for c in post.checks if c.name != name])
    repo.log_event(session, post_id=post_id, actor=actor, action="skip_channel", note=f"{channel}: skipped")
    fresh = repo.get_post(session, post_id)
    states = channel_states(fresh, load_persona(home, fresh.persona), now=datetime.now(UTC))
    if post.status is PostStatus.approved and all(s.status in ("published", "skipped") for s in states):
        repo.transition(session, post_id=post_id, to=PostStatus.published, actor=actor, action="publish",
                        note="every other channel is out")  # fmt: skip
        return f"#{post_id}: {channel} skipped; every other channel is out, so the post is published"
    return f"#{post_id}: {channel} skipped"


def publish_now(store: Store, *, post_id: int, home: Path, actor: str) -> str:
    """Publish an approved post at once on every channel not yet out (blocked ones tried again)."""
    now = datetime.now(UTC)
    with store.session() as session:
        post = repo.get_post(session, post_id)
        if post.status is not PostStatus.approved:
            raise BeatdeskError(f"post {post_id} is {post.status}; only an approved post can be published now")
        persona = load_persona(home, post.persona)
        if not repo.claim_for_publishing(session, post_id=post_id, now=now):
            raise BeatdeskError(f"post {post_id} is being published by another publisher now")
        repo.log_event(session, post_id=post_id, actor=actor, action="publish_now", note="published by hand")
    done = publish_post(store, post=post, persona=persona, home=home, now=now,
                        wanted={"due", "waiting", "blocked"})  # fmt: skip
    if done:
        return f"#{post_id}: published on every channel"
    with store.session() as session:
        left = [s for s in channel_states(repo.get_post(session, post_id), persona, now=now)
                if s.status not in ("published", "skipped")]  # fmt: skip
    return f"#{post_id}: not out on {', '.join(f'{s.channel.name} ({s.reason or s.status})' for s in left)}"


def _waiting_post(session: Session, post_id: int, channel: str, home: Path) -> Post:
    """The post, approved and not yet out on `channel`, one of its persona's; else a one-line refusal."""
    post = repo.get_post(session, post_id)
    known = [c.name for c in load_persona(home, post.persona).channels]
    if channel not in known:
        raise BeatdeskError(f"{post.persona} publishes to {', '.join(known) or 'no channel'}, not {channel!r}")
    if post.status is PostStatus.scheduled:
        raise BeatdeskError(f"post {post_id} is being published now; try again in a minute")
    if post.status is not PostStatus.approved:
        raise BeatdeskError(f"post {post_id} is {post.status}; only an approved post waits for its channels")
    if channel in {p.channel for p in post.publications}:
        raise BeatdeskError(f"post {post_id} is already out on {channel}")
    return post
