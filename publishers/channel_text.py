"""A post's text for each channel: written from a Jinja2 template by the channel's policy, then fitted
to the channel's rules as one post, or a thread whose parts each fit.

Parts break between words only, so no word, URL or hashtag is ever cut; joined with spaces, the
parts give back the original words in order.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined

from beatdesk.channels import CHANNELS, length_on
from beatdesk.errors import BeatdeskError
from beatdesk.models import Channel, ContentFormat, Post

_env = Environment(loader=PackageLoader("publishers", "templates/channel"), undefined=StrictUndefined, autoescape=False)
THREADED = frozenset({"x", "bluesky", "mastodon", "threads"})
"""Channels where a post can answer the previous one, so a long text can go out as a thread."""


def policy_of(channel: Channel) -> str:
    return channel.policy or ("thread" if channel.name in THREADED else "caption")


def channel_parts(post: Post, channel: Channel) -> list[str]:
    """The post's text as `channel` carries it: one part, or a thread's parts in order."""
    text = channel_text(post, channel)
    rules = CHANNELS[channel.name]
    parts = fit(text, channel.name, limit=channel.max_length)
    if len(parts) > 1 and channel.name not in THREADED:
        raise BeatdeskError(
            f"{channel.name}: the text is {length_on(channel.name, text)} characters, over the "
            f"{channel.max_length or rules.max_length} a post may have, and {channel.name} has no threads: "
            "shorten the caption"
        )
    return parts


def channel_text(post: Post, channel: Channel) -> str:
    """The whole text `channel` carries, before it is fitted into parts."""
    if post.draft is None:
        raise BeatdeskError(f"post {post.id} has no draft to publish")
    policy = policy_of(channel)
    if post.content_format is not ContentFormat.hero_text:
        policy = "caption"  # a video goes out with its caption
    text = _env.get_template(f"{policy}.txt.j2").render(draft=post.draft, post=post).strip()
    rules = CHANNELS[channel.name]
    if rules.max_hashtags is not None:
        text = _cap_hashtags(text, rules.max_hashtags)
    return text


def _cap_hashtags(text: str, most: int) -> str:
    """Keep the first `most` hashtags (Instagram allows 30); later ones are dropped whole."""
    seen, words = 0, []
    for word in text.split(" "):
        if word.startswith("#") and len(word) > 1:
            seen += 1
            if seen > most:
                continue
        words.append(word)
    return " ".join(words)


def fit(text: str, channel: str, *, limit: int | None = None) -> list[str]:
    limit = limit or CHANNELS[channel].max_length
    if limit is None or length_on(channel, text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if length_on(channel, candidate) <= limit:
            current = candidate
            continue
        if not current:
            raise BeatdeskError(f"{channel}: the word {word[:40]!r} alone is longer than the {limit}-character limit")
        parts.append(current)
        current = word
        if length_on(channel, current) > limit:
            raise BeatdeskError(f"{channel}: the word {word[:40]!r} alone is longer than the {limit}-character limit")
    if current:
        parts.append(current)
    return parts
