"""A post's text for each channel: written from a Jinja2 template by the channel's policy, then fitted
to the channel's rules as one post, or a thread whose parts each fit (publishers/fitting.py).

A reviewer's own text for a channel (`Post.channel_versions`) replaces the text made from the draft, as
written. A thread says its title once (not when the body opens with it), keeps the body's paragraphs, and ends
with the hashtags the body does not already carry, each once. With the persona's `utm`, its own links
carry UTM tags for the channel; with `thread_numbering`, each part of a thread ends with "i/n".
"""

from __future__ import annotations

import re
from typing import TypedDict

from jinja2 import Environment, PackageLoader, StrictUndefined

from beatdesk.channels import CHANNELS, length_on
from beatdesk.errors import BeatdeskError
from beatdesk.models import Channel, HeroTextDraft, Persona, Post
from publishers.fitting import fit
from publishers.utm import tagged

_env = Environment(loader=PackageLoader("publishers", "templates/channel"), undefined=StrictUndefined, autoescape=False)
THREADED = frozenset({"x", "bluesky", "mastodon", "threads"})
"""Channels where a post can answer the previous one, so a long text can go out as a thread."""
HASHTAG = re.compile(r"(?<![\w#&/])#\w+")


def policy_of(channel: Channel) -> str:
    return channel.policy or ("thread" if channel.name in THREADED else "caption")


def limit_of(channel: Channel, *, instance: int | None = None) -> int | None:
    """The most a post may hold: the persona's `max_length`, or the channel's rule; where the server says its
    own limit (a Mastodon instance), that, lowered by the persona's `max_length` if it asks for less."""
    own = channel.max_length or CHANNELS[channel.name].max_length
    if instance is None:
        return own
    return min(instance, channel.max_length) if channel.max_length else instance


def channel_parts(post: Post, channel: Channel, *, persona: Persona | None = None,
                  instance_limit: int | None = None) -> list[str]:  # fmt: skip
    """The post's text as `channel` carries it: one part, or a thread's parts in order."""
    text = channel_text(post, channel, persona=persona)
    limit = limit_of(channel, instance=instance_limit)
    numbered = persona is not None and persona.thread_numbering and channel.name in THREADED
    parts = fit(text, channel.name, limit=limit, numbered=numbered)
    if len(parts) > 1 and channel.name not in THREADED:
        raise BeatdeskError(
            f"{channel.name}: the text is {length_on(channel.name, text)} characters, over the "
            f"{limit} a post may have, and {channel.name} has no threads: shorten the caption"
        )
    return parts


def channel_text(post: Post, channel: Channel, *, persona: Persona | None = None) -> str:
    """The whole text `channel` carries, before it is fitted into parts: a reviewer's own text for the
    channel as it was written, else the text made from the draft."""
    version = post.channel_versions.get(channel.name)
    if version is not None and version.text is not None:
        return version.text
    return generated_text(post, channel, persona=persona)


def generated_text(post: Post, channel: Channel, *, persona: Persona | None = None) -> str:
    """The text made from the draft for `channel` (what a reset goes back to)."""
    draft = post.draft
    if draft is None:
        raise BeatdeskError(f"post {post.id} has no draft to publish")
    if isinstance(draft, HeroTextDraft) and policy_of(channel) == "thread":
        text = _env.get_template("thread.txt.j2").render(**thread_pieces(draft))
    else:  # a video goes out with its caption
        text = _env.get_template("caption.txt.j2").render(draft=draft, post=post)
    text = once_each_hashtag(text.strip())
    rules = CHANNELS[channel.name]
    if rules.max_hashtags is not None:
        text = _cap_hashtags(text, rules.max_hashtags)
    if persona is not None and persona.utm:
        text = tagged(text, own=persona.links, source=channel.name, campaign=post.plan.beat_key, content=str(post.id))
    return text


def alt_text(post: Post) -> str:
    """What the post's media shows, for people who cannot see it: the draft's alt text, else its title."""
    return getattr(post.draft, "alt_text", None) or post.title


class ThreadPieces(TypedDict):
    title: str
    body: str
    hashtags: list[str]


def thread_pieces(draft: HeroTextDraft) -> ThreadPieces:
    """The title unless the body opens with it, the body, and the hashtags the text does not carry yet."""
    opens_with_title = _words(draft.body).startswith(_words(draft.title) + " ")
    title = "" if opens_with_title else draft.title
    carried = {tag.casefold() for tag in HASHTAG.findall(f"{title}\n{draft.body}")}
    hashtags = [tag for tag in dict.fromkeys(draft.hashtags) if tag.casefold() not in carried]
    return {"title": title, "body": draft.body.strip(), "hashtags": hashtags}


def _words(text: str) -> str:
    """Text as a reader compares it: case, punctuation and spacing aside."""
    return " ".join(re.findall(r"\w+", text.casefold()))


def once_each_hashtag(text: str) -> str:
    """Later repeats of a hashtag dropped (with the space before them), the first kept where it stands."""
    seen: set[str] = set()

    def first_only(match: re.Match[str]) -> str:
        tag = match.group(2).casefold()
        if tag in seen:
            return ""
        seen.add(tag)
        return match.group(0)

    text = re.sub(r"([ \t]*)(" + HASHTAG.pattern + r")", first_only, text)
    text = re.sub(r"^[ \t]+|[ \t]+$", "", text, flags=re.MULTILINE)  # a line that opened with a repeat
    return re.sub(r"\n{3,}", "\n\n", text).strip()


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
