"""A reviewer's own text for one channel of a post, and its first comment: checked against the channel's
rules before anything is kept, stored per post and channel, each change in the post's audit log.

An own text is what the channel carries, whole, in place of the text made from the draft: a thread
channel still splits it into parts, any other channel must take it as one post. A first comment goes
out once after the post (a reply to its last part, or a comment on LinkedIn and Instagram) and must fit
one comment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from beatdesk.channels import length_on
from beatdesk.errors import InvalidEditError
from beatdesk.models import Channel, ChannelVersion, Persona, Post
from beatdesk.store import repo
from publishers.channel_text import THREADED, generated_text, limit_of

COMMENTED = frozenset({"mastodon", "bluesky", "x", "linkedin", "threads", "instagram"})
"""Channels whose publisher posts a first comment."""
COMMENT_LIMITS = {"linkedin": 1250, "threads": 500, "instagram": 2200}
"""A comment's own limit: LinkedIn's Comments API takes 1,250 characters, a Threads reply 500, an Instagram
comment 2,200 (elsewhere a reply is a post, and the channel's post limit holds)."""


@dataclass(frozen=True)
class ChannelEdit:
    """What a reviewer asks of one channel; None leaves a field as it is, "" resets it (the generated text,
    no first comment)."""

    text: str | None = None
    first_comment: str | None = None


def revised(post: Post, persona: Persona, edits: Mapping[str, ChannelEdit]) -> dict[str, ChannelVersion]:
    """The channels' versions the edits give, every one checked; nothing is stored here."""
    versions = dict(post.channel_versions)
    for name, edit in edits.items():
        channel = _channel(persona, name)
        current = versions.get(name, ChannelVersion())
        text = current.text if edit.text is None else _cleaned(edit.text)
        if text is not None and text == generated_text(post, channel, persona=persona):
            text = None  # the same as the generated text: keep following the draft
        comment = current.first_comment if edit.first_comment is None else _cleaned(edit.first_comment)
        _check_text(channel, text)
        _check_comment(channel, comment)
        versions[name] = ChannelVersion(text=text, first_comment=comment)
    return {name: v for name, v in versions.items() if v.text is not None or v.first_comment is not None}


def save_versions(session: Session, *, post: Post, versions: Mapping[str, ChannelVersion], actor: str) -> list[str]:
    """Keep the new versions; log each change; return what changed, one phrase per channel."""
    said = []
    for name in sorted(set(versions) | set(post.channel_versions)):
        before, after = post.channel_versions.get(name, ChannelVersion()), versions.get(name, ChannelVersion())
        if before == after:
            continue
        repo.save_channel_version(session, post_id=post.id, channel=name, version=after, actor=actor)
        note = f"{name}: {_change(before, after)}"
        repo.log_event(session, post_id=post.id, actor=actor, action="edit_channel", note=note)
        said.append(note)
    return said


def _change(before: ChannelVersion, after: ChannelVersion) -> str:
    parts = []
    if before.text != after.text:
        parts.append("reset to the generated text" if after.text is None else f"own text ({after.text!s:.80})")
    if before.first_comment != after.first_comment:
        comment = after.first_comment
        parts.append("no first comment" if comment is None else f"first comment ({comment:.80})")
    return "; ".join(parts)


def _channel(persona: Persona, name: str) -> Channel:
    for channel in persona.channels:
        if channel.name == name:
            return channel
    known = ", ".join(c.name for c in persona.channels)
    raise InvalidEditError(f"{name!r} is not one of {persona.handle}'s channels; use one of: {known}")


def _cleaned(text: str) -> str | None:
    """Text as a form sends it (CRLF from a textarea), trimmed; empty: reset."""
    return text.replace("\r\n", "\n").strip() or None


def _check_text(channel: Channel, text: str | None) -> None:
    limit = limit_of(channel)
    if text is None or limit is None:
        return
    length = length_on(channel.name, text)
    if length > limit and channel.name not in THREADED:  # a thread channel splits it into parts
        raise InvalidEditError(f"{channel.name}: the text is {length} characters as {channel.name} counts them, "
                               f"over its {limit}: shorten it by {length - limit}")  # fmt: skip


def _check_comment(channel: Channel, comment: str | None) -> None:
    if comment is None:
        return
    if channel.name not in COMMENTED:
        takers = ", ".join(sorted(COMMENTED))
        raise InvalidEditError(f"{channel.name} takes no first comment; channels that do: {takers}")
    limit = COMMENT_LIMITS.get(channel.name) or limit_of(channel)
    length = length_on(channel.name, comment)
    if limit is not None and length > limit:
        raise InvalidEditError(f"{channel.name}: the first comment is {length} characters, over the {limit} a "
                               f"comment may have: shorten it by {length - limit}")  # fmt: skip
