"""The edit form and its draft: hashtags kept in one field (the caption's last line is made from them),
and the channel cards an unsaved edit would give, for the live previews.

The caption's hashtag line is the drafter's rule (checks want it last, in order); a reviewer edits the
tags once and the caption's line follows, so the two never disagree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from beatdesk.errors import BeatdeskError, describe_validation_error
from beatdesk.models import ChannelVersion, Persona, Post
from drafter.edit import caption_text, with_hashtags
from review_web.previews import ChannelCard, Part, channel_cards


@dataclass(frozen=True)
class EditFields:
    """What the edit form shows: the caption without its hashtag line, the tags on their own."""

    title: str
    body: str | None
    caption: str
    hashtags: str
    alt_text: str


def edit_fields(draft: Any) -> EditFields:
    return EditFields(title=draft.title, body=getattr(draft, "body", None), caption=caption_text(draft),
                      hashtags=" ".join(draft.hashtags), alt_text=getattr(draft, "alt_text", None) or "")  # fmt: skip


def form_changes(*, title: str, caption: str, hashtags: str, body: str, alt_text: str = "") -> dict[str, Any]:
    """The edit form's fields as changes to a draft (see `drafter.edit.edit_draft`)."""
    changes: dict[str, Any] = {
        "title": title,
        "caption": with_hashtags(caption, hashtags),
        "hashtags": hashtags.split(),
    }
    if body:
        changes["body"] = body
    if alt_text:
        changes["alt_text"] = alt_text
    return changes


def previewed(persona: Persona, post: Post, changes: dict[str, Any]) -> list[ChannelCard]:
    """The channel cards the post would have with `changes`, nothing saved; a draft the edit would
    make invalid is one line saying why."""
    if post.draft is None:
        raise BeatdeskError(f"post {post.id} has no draft to edit")
    current = post.draft.model_dump()
    wanted = {
        key: tuple(value) if key == "hashtags" else value.replace("\r\n", "\n").strip()
        for key, value in changes.items()
        if key in current
    }
    try:
        draft = type(post.draft).model_validate({**current, **wanted})
    except ValidationError as err:
        raise BeatdeskError(describe_validation_error(err, source="edit")) from None
    return channel_cards(persona, post.model_copy(update={"draft": draft}))


def channel_previewed(persona: Persona, post: Post, channel: str, *, text: str, first_comment: str) -> ChannelCard:
    """The card `channel` would have with this text and first comment, nothing saved (over the limit: shown so)."""
    version = ChannelVersion(text=text.replace("\r\n", "\n").strip() or None,
                             first_comment=first_comment.replace("\r\n", "\n").strip() or None)  # fmt: skip
    changed = post.model_copy(update={"channel_versions": {**post.channel_versions, channel: version}})
    for card in channel_cards(persona, changed):
        if card.channel == channel:
            return card
    raise BeatdeskError(f"{channel!r} is not one of {persona.handle}'s channels")


def cards_json(cards: list[ChannelCard]) -> list[dict[str, Any]]:
    """The cards as the editor's script redraws them: each part's text, length, and whether it is over."""
    return [
        {"channel": card.channel, "limit": card.limit, "error": card.error, "length": card.length,
         "parts": [_part_json(part) for part in card.parts],
         "comment": _part_json(card.comment) if card.comment else None}
        for card in cards
    ]  # fmt: skip


def _part_json(part: Part) -> dict[str, Any]:
    return {"text": part.text, "length": part.length, "over": part.over}
