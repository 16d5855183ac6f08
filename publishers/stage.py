"""The publish stage: approved posts whose slot has come go out to every channel, exactly once each.

A publication row (post, channel) is stored as soon as the channel answers; a retry first looks
for a row, then asks the channel whether an earlier attempt already posted, and only then posts.
The post is `published` when every channel is done.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from beatdesk.errors import BeatdeskError
from beatdesk.models import Post, PostStatus
from beatdesk.personas import load_persona
from beatdesk.steps import one_line, run_step
from beatdesk.store import Store, repo
from publishers.base import Outgoing, Publisher
from publishers.outbox import OutboxPublisher


def publisher_for(channel: str, home: Path) -> Publisher:
    if channel == "outbox":
        return OutboxPublisher(home / "outbox")
    raise BeatdeskError(f"channel {channel!r} has no publisher yet; known: outbox")


def publish_due(store: Store, *, home: Path, now: datetime) -> list[int]:
    """Publish every approved post whose slot is at or before `now`; return the ids published."""
    with store.session() as session:
        due = repo.due_posts(session, now=now)
    return [post.id for post in due if publish_post(store, post=post, home=home)]


def publish_post(store: Store, *, post: Post, home: Path) -> bool:
    persona = load_persona(home, post.persona)
    done = {p.channel for p in post.publications}
    latest = {
        s.name: Path(s.artifact.path) for s in post.steps if s.artifact and s.artifact.path and s.status == "done"
    }
    media = tuple(latest.values())  # the newest file of each media step: a rerender replaces the earlier one
    text = post.draft.caption if post.draft else post.title
    for channel in persona.channels:
        if channel.name in done:
            continue
        try:
            with run_step(store, post_id=post.id, name=f"publish_{channel.name}", provider=channel.name,
                          model=channel.account or channel.name) as step:  # fmt: skip
                publisher = publisher_for(channel.name, home)
                outgoing = Outgoing(post=post, text=text, media=media)
                answer = publisher.find(outgoing) or publisher.publish(outgoing)
                with store.session() as session:
                    repo.add_publication(session, post_id=post.id, channel=channel.name,
                                         remote_id=answer.remote_id, url=answer.url)  # fmt: skip
                step.detail = answer.remote_id
        except Exception as err:
            with store.session() as session:
                repo.log_event(session, post_id=post.id, actor="publisher", action="publish_failed",
                               note=f"{channel.name}: {one_line(err)}")  # fmt: skip
            return False
    with store.session() as session:
        repo.transition(session, post_id=post.id, to=PostStatus.published, actor="publisher", action="publish")
    return True
