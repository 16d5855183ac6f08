"""A person's answers to a publication that needs attention: retry a channel now, skip it, or publish the post now.

One function per action, each kept in the post's audit log by the runner; the desk's buttons call them and
nothing else. They are the runner's own publishing moves (publishers.due), said in one line for the page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from beatdesk.errors import BeatdeskError
from beatdesk.models import PostStatus
from beatdesk.personas import load_persona
from beatdesk.publishing import FINISHED, channel_states
from beatdesk.store import Store, repo
from publishers import due


def retry_channel(store: Store, *, post_id: int, channel: str, actor: str, home: Path) -> str:
    """The channel's step queued for now and run here; where the channel then stands."""
    state = due.retry_channel_now(store, home=home, post_id=post_id, channel=channel, actor=actor)
    return f"#{post_id} on {channel}: {state.line()}"


def skip_channel(store: Store, *, post_id: int, channel: str, actor: str, home: Path) -> str:
    """Leave the channel out for this post; once every other channel is out, the post is published."""
    due.skip_channel(store, home=home, post_id=post_id, channel=channel, actor=actor)
    with store.session() as session:
        status = repo.get_post(session, post_id, with_history=False).status
    if status is PostStatus.published:
        return f"#{post_id}: {channel} skipped; every other channel is out, so the post is published"
    return f"#{post_id}: {channel} skipped"


def publish_now(store: Store, *, post_id: int, home: Path, actor: str) -> str:
    """Publish an approved post at once on every channel not yet out (blocked ones tried again)."""
    with store.session() as session:
        post = repo.get_post(session, post_id)
    if post.status not in (PostStatus.approved, PostStatus.scheduled):
        raise BeatdeskError(f"post {post_id} is {post.status}; only an approved post can be published now")
    persona = load_persona(home, post.persona)
    left = [s.channel.name for s in channel_states(post, persona, now=datetime.now(UTC)) if s.status not in FINISHED]
    if not left:
        raise BeatdeskError(f"post {post_id} is out on every channel already")
    states = [due.retry_channel_now(store, home=home, post_id=post_id, channel=name, actor=actor) for name in left]
    if all(s.status in FINISHED for s in states):
        return f"#{post_id}: published on every channel"
    return f"#{post_id}: " + "; ".join(f"{s.channel.name} {s.line()}" for s in states if s.status not in FINISHED)
