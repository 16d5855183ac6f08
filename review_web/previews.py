"""The post as each of its persona's channels will show it: fitted parts with their counts, the media, the alt text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from beatdesk.channels import CHANNELS, length_on
from beatdesk.errors import BeatdeskError
from beatdesk.models import Persona, Post
from publishers.channel_text import alt_text, channel_parts, channel_text, limit_of


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
        lengths = [length_on(channel.name, text) for text in parts]
        card.parts = [
            Part(text, n, card.limit is not None and n > card.limit) for text, n in zip(parts, lengths, strict=True)
        ]
        cards.append(card)
    return cards


def in_zone(at: datetime | None, zone: str) -> str:
    """A moment as the persona reads it, its zone named: never bare UTC."""
    if at is None:
        return ""
    try:
        local = at.astimezone(ZoneInfo(zone))
    except (ValueError, KeyError):
        local, zone = at, "UTC"
    return f"{local.strftime('%a %d %b %Y %H:%M')} {local.tzname()} ({zone})"
