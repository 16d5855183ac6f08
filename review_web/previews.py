"""The post as each of its persona's channels will show it: fitted parts with their counts, the media, the alt text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from beatdesk.channels import CHANNELS, length_on
from beatdesk.errors import BeatdeskError
from beatdesk.models import Persona, Post
from publishers.channel_text import alt_text, channel_parts, channel_text, limit_of
from publishers.versions import COMMENT_LIMITS, COMMENTED


@dataclass(frozen=True)
class Part:
    text: str
    length: int
    over: bool = False
    """Longer than the channel's limit: shown red."""


@dataclass
class ChannelCard:
    """One channel's card: what it posts, how long each part is against the channel's limit."""

    channel: str
    account: str
    limit: int | None
    counting: str
    parts: list[Part] = field(default_factory=list)
    error: str | None = None
    text: str = ""
    """The whole text before fitting: what the channel's editor starts from."""
    own: bool = False
    """The text is a reviewer's own for this channel, not the one made from the draft."""
    comment: Part | None = None
    """The first comment, posted once after the post."""
    takes_comment: bool = False
    """The channel's publisher posts a first comment."""

    @property
    def length(self) -> int:
        """The whole text's length as the channel counts it."""
        return length_on(self.channel, self.text)

    @property
    def over(self) -> bool:
        return any(part.over for part in self.parts)


@dataclass(frozen=True)
class Media:
    """The post's latest image and video, as paths under /artifacts/."""

    image: str | None
    video: str | None
    alt: str


def artifact_href(path: str | None) -> str | None:
    """A stored artifact path as the desk serves it."""
    if not path or "/artifacts/" not in path:
        return None
    return "/artifacts/" + path.split("/artifacts/", 1)[-1]


def media_of(post: Post) -> Media:
    image = video = None
    for step in post.steps:
        if step.artifact is None or step.status != "done":
            continue
        href = artifact_href(step.artifact.path)
        if href and step.artifact.content_type.startswith("image/"):
            image = href
        elif href and step.artifact.content_type.startswith("video/"):
            video = href
    return Media(image=image, video=video, alt=alt_text(post))


def channel_cards(persona: Persona, post: Post) -> list[ChannelCard]:
    """A card per channel; a channel that cannot carry the text shows it whole, counted, with why."""
    if post.draft is None:
        return []
    cards = []
    for channel in persona.channels:
        rules = CHANNELS[channel.name]
        card = ChannelCard(channel=channel.name, account=channel.account or persona.handle,
                           limit=limit_of(channel), counting=rules.counting)  # fmt: skip
        try:
            parts = channel_parts(post, channel, persona=persona)
        except BeatdeskError as err:
            card.error = str(err)
            try:
                parts = [channel_text(post, channel, persona=persona)]
            except BeatdeskError:
                parts = []
        card.parts = [_part(channel.name, text, card.limit) for text in parts]
        version = post.channel_versions.get(channel.name)
        card.own = version is not None and version.text is not None
        try:
            card.text = channel_text(post, channel, persona=persona)
        except BeatdeskError:
            card.text = ""
        card.takes_comment = channel.name in COMMENTED
        if version is not None and version.first_comment:
            card.comment = _part(channel.name, version.first_comment, COMMENT_LIMITS.get(channel.name) or card.limit)
        cards.append(card)
    return cards


def _part(channel: str, text: str, limit: int | None) -> Part:
    length = length_on(channel, text)
    return Part(text, length, limit is not None and length > limit)


def in_zone(at: datetime | None, zone: str) -> str:
    """A moment as the persona reads it, its zone named: never bare UTC."""
    if at is None:
        return ""
    try:
        local = at.astimezone(ZoneInfo(zone))
    except (ValueError, KeyError):
        local, zone = at, "UTC"
    return f"{local.strftime('%a %d %b %Y %H:%M')} {local.tzname()} ({zone})"
