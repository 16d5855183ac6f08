"""The JSON API under /api: posts (and their edits), review decisions, search and chat references, for scoped
tokens.

`Authorization: Bearer TOKEN` (from `beatdesk users token NAME --scope read|review|admin`); no token, or
an unknown, expired or revoked one, is 401; a token whose scope is short of the route's is 403. The
OpenAPI schema is at /api/openapi.json, for a token or a desk session; there is no docs UI (it would
load its assets from a CDN).
"""

# No `from __future__ import annotations` here: FastAPI must see the dependency objects, not strings.
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query
from fastapi.openapi.utils import get_openapi
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field
from sqlalchemy.orm import Session

from beatdesk import comments
from beatdesk.errors import BeatdeskError, InvalidEditError, NotFoundError
from beatdesk.models import Check, Comment, ContentFormat, Post, PostListing, PostStatus
from beatdesk.review import approve, reject, reopen
from beatdesk.store import Store, repo
from beatdesk.store import comments as comment_rows
from beatdesk.users import list_users
from publishers.stage import publishing
from publishers.versions import ChannelEdit
from review_web.deps import (
    MAX_ID,
    ApiAdmin,
    ApiReader,
    ApiReviewer,
    CommentId,
    PostId,
    SettingsDep,
    StoreDep,
    schema_reader,
)
from review_web.security import FORM_BODY
from workers.editing import edit_post

T = TypeVar("T")


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("NUL bytes are not allowed")
    return text


Text = Annotated[str, AfterValidator(_no_nul)]


class PostSummary(BaseModel):
    id: int
    batch_id: int
    persona: str
    content_format: ContentFormat
    status: PostStatus
    title: str
    total_cost_usd: str
    status_changed_at: datetime


class ApproveBody(BaseModel):
    at: datetime | None = None
    """When to publish (without a zone: the persona's local time); without it, the persona's next free slot."""
    reason: Text | None = Field(default=None, max_length=2000)
    """Why approve a post whose checks fail (kept in its audit log); such a post is refused (409) without one."""


class RejectBody(BaseModel):
    reason: Text = Field(min_length=1, max_length=2000)


class ReferenceBody(BaseModel):
    bot: Text = Field(min_length=1, max_length=64)
    turn_id: Text = Field(min_length=1, max_length=128)
    excerpt: Text = Field(min_length=1, max_length=2000)
    at: AwareDatetime | None = None
    """When the bot's turn happened, with its zone (e.g. 2026-12-01T09:30:00Z); without it, now."""


class ChannelPatch(BaseModel):
    """One channel's version; a field left out stays as it is, null or "" resets it."""

    text: Text | None = Field(default=None, max_length=20_000)
    """The channel's own text, in place of the one made from the draft; null or "": the generated text again."""
    first_comment: Text | None = Field(default=None, max_length=5_000)
    """Posted once after the post (a reply to its last part; a comment on LinkedIn); null or "": none."""


class PostPatch(BaseModel):
    """Any of the draft's fields, and channels' versions by channel name; what is left out stays as it is."""

    title: Text | None = Field(default=None, max_length=160)
    body: Text | None = Field(default=None, max_length=20_000)
    caption: Text | None = Field(default=None, max_length=5_000)
    """Without its hashtag line: the caption is saved ending on the hashtags."""
    hashtags: list[Annotated[Text, Field(max_length=64)]] | None = Field(default=None, max_length=60)
    alt_text: Text | None = Field(default=None, max_length=1000)
    channels: dict[Annotated[str, Field(max_length=32)], ChannelPatch] = Field(default_factory=dict, max_length=16)


class EditOut(BaseModel):
    id: int
    changed: list[str]
    """The draft's fields that changed."""
    channels: list[str]
    """Each channel's change, as the audit log says it."""
    checks: list[Check]
    """The checks, run again."""


class UserOut(BaseModel):
    name: str
    role: str


def summary(post: PostListing) -> PostSummary:
    return PostSummary.model_validate(post.model_dump(mode="json", include=set(PostSummary.model_fields)))


def run(store: Store, action: Callable[[Session], T]) -> T:
    """A store call; a missing post is 404, a refused decision 409, both with their one-line reason."""
    try:
        with store.session() as session:
            return action(session)
    except NotFoundError as err:
        raise HTTPException(404, str(err)) from None
    except BeatdeskError as err:
        raise HTTPException(409, str(err)) from None


router = APIRouter(max_body_size=FORM_BODY)


@router.get("/posts", response_model=list[PostSummary])
def posts(
    _: ApiReader,
    store: StoreDep,
    persona: Annotated[str | None, Query(max_length=64)] = None,
    status: PostStatus | None = None,
    content_format: ContentFormat | None = None,
    batch: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[PostSummary]:
    found, _total = run(store, lambda s: repo.queue_page(
        s, persona=persona, status=status, content_format=content_format, batch_id=batch, offset=offset, limit=limit,
    ))  # fmt: skip
    return [summary(p) for p in found]


@router.get("/posts/{post_id}")
def post(post_id: PostId, _: ApiReader, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    found: Post = run(store, lambda s: repo.get_post(s, post_id))
    channels = [c.as_json() for c in publishing(found, settings.home)]
    references = run(store, lambda s: repo.references(s, post_id=post_id))
    return found.model_dump(mode="json") | {"references": references, "channels": channels}


@router.post("/posts/{post_id}/approve", response_model=PostSummary)
def approve_post(
    post_id: PostId, body: ApproveBody, user: ApiReviewer, store: StoreDep, settings: SettingsDep
) -> PostSummary:
    run(store, lambda s: approve(s, post_id=post_id, home=settings.home, actor=user.name, at=body.at,
                                 override=body.reason, require_override=True))  # fmt: skip
    return _summary_of(store, post_id)


@router.post("/posts/{post_id}/reject", response_model=PostSummary)
def reject_post(post_id: PostId, body: RejectBody, user: ApiReviewer, store: StoreDep) -> PostSummary:
    run(store, lambda s: reject(s, post_id=post_id, actor=user.name, reason=body.reason))
    return _summary_of(store, post_id)


@router.patch("/posts/{post_id}", response_model=EditOut)
def patch_post(post_id: PostId, body: PostPatch, user: ApiReviewer, store: StoreDep, settings: SettingsDep) -> EditOut:
    """Edit a post in review: 409 when its status allows no edit, 422 when the edit cannot be made; nothing is
    written unless all of it can be."""
    fields = body.model_dump(include={"title", "body", "caption", "alt_text"}, exclude_unset=True)
    fields = {name: value or "" for name, value in fields.items()} | (
        {"hashtags": " ".join(body.hashtags)} if body.hashtags is not None else {}
    )
    channels = {
        name: ChannelEdit(**{key: value or "" for key, value in patch.model_dump(exclude_unset=True).items()})
        for name, patch in body.channels.items()
    }
    try:
        with store.session() as session:
            done = edit_post(session, post_id=post_id, home=settings.home, actor=user.name, fields=fields,
                             channels=channels)  # fmt: skip
    except NotFoundError as err:
        raise HTTPException(404, str(err)) from None
    except InvalidEditError as err:
        raise HTTPException(422, str(err)) from None
    except BeatdeskError as err:  # the post's status allows no edit now
        raise HTTPException(409, str(err)) from None
    return EditOut(id=post_id, changed=done.fields, channels=done.channels, checks=done.checks)


@router.post("/posts/{post_id}/reopen", response_model=PostSummary)
def reopen_post(post_id: PostId, user: ApiReviewer, store: StoreDep) -> PostSummary:
    """A rejected post back in review (409 when it is not rejected)."""
    run(store, lambda s: reopen(s, post_id=post_id, actor=user.name))
    return _summary_of(store, post_id)


@router.get("/search", response_model=list[PostSummary])
def search(q: Annotated[str, Query(max_length=200)], _: ApiReader, store: StoreDep) -> list[PostSummary]:
    if len(q.strip()) < 2:
        raise HTTPException(422, "search needs at least 2 characters")
    return [summary(p) for p in run(store, lambda s: repo.search_listings(s, text=q.strip()))]


@router.post("/posts/{post_id}/references", status_code=201)
def add_reference(post_id: PostId, body: ReferenceBody, _: ApiReviewer, store: StoreDep) -> dict[str, Any]:
    at = body.at or datetime.now(UTC)
    run(store, lambda s: repo.add_reference(s, post_id=post_id, bot=body.bot, turn_id=body.turn_id,
                                            excerpt=body.excerpt, at=at))  # fmt: skip
    return {"post_id": post_id, "bot": body.bot, "turn_id": body.turn_id, "at": at}


@router.get("/users", response_model=list[UserOut])
def users(_: ApiAdmin, store: StoreDep) -> list[UserOut]:
    return [UserOut(name=u.name, role=u.role) for u in run(store, list_users)]


class CommentBody(BaseModel):
    text: Text = Field(max_length=20_000)
    """The comment; `@name` tells a person with an account (through the notifications, when set)."""


@router.get("/posts/{post_id}/comments", response_model=list[Comment])
def post_comments(post_id: PostId, _: ApiReader, store: StoreDep) -> list[Comment]:
    """The post's thread, oldest first."""

    def read(session: Session) -> list[Comment]:
        repo.batch_id_of(session, post_id)  # a missing post is 404, not an empty thread
        return comment_rows.thread(session, post_id=post_id)

    return run(store, read)


@router.post("/posts/{post_id}/comments", response_model=Comment, status_code=201)
def write_comment(post_id: PostId, body: CommentBody, user: ApiReviewer, store: StoreDep) -> Comment:
    """Add a comment: 422 when it is empty or over 4,000 characters, 404 for a missing post."""
    try:
        with store.session() as session:
            return comments.write(session, post_id=post_id, author=user.name, text=body.text)
    except NotFoundError as err:
        raise HTTPException(404, str(err)) from None
    except BeatdeskError as err:
        raise HTTPException(422, str(err)) from None


@router.post("/posts/{post_id}/comments/{comment_id}/resolve", response_model=Comment)
def resolve_comment(post_id: PostId, comment_id: CommentId, user: ApiReviewer, store: StoreDep) -> Comment:
    return run(store, lambda s: comments.resolve(s, post_id=post_id, comment_id=comment_id, actor=user.name))


@router.post("/posts/{post_id}/comments/{comment_id}/reopen", response_model=Comment)
def reopen_comment(post_id: PostId, comment_id: CommentId, user: ApiReviewer, store: StoreDep) -> Comment:
    return run(
        store, lambda s: comments.resolve(s, post_id=post_id, comment_id=comment_id, actor=user.name, reopen=True)
    )


def _summary_of(store: Store, post_id: int) -> PostSummary:
    return summary(run(store, lambda s: repo.post_listings(s, post_ids=[post_id]))[0])


def add_schema_route(api: FastAPI) -> None:
    """/openapi.json behind a login or a token, built once from the API's own routes."""
    schema: dict[str, Any] = {}

    @api.get("/openapi.json", include_in_schema=False)
    def openapi(_: Annotated[Any, Depends(schema_reader)]) -> dict[str, Any]:
        if not schema:
            schema.update(
                get_openapi(title=api.title, version=api.version, routes=api.routes, servers=[{"url": "/api"}])
            )
        return schema
