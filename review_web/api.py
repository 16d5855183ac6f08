"""The JSON API under /api: posts, review decisions, search and chat references, with token auth.

`Authorization: Bearer TOKEN` (from `beatdesk users token NAME`); no token is 401, a reviewer's
token on an admin route is 403. OpenAPI docs at /api/docs.
"""

# No `from __future__ import annotations` here: FastAPI must see the dependency objects of these
# closures, not strings it would look up in the module's globals.
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, Field

from beatdesk.errors import BeatdeskError, NotFoundError
from beatdesk.models import ContentFormat, Post, PostStatus
from beatdesk.review import approve, reject
from beatdesk.store import Store, repo
from beatdesk.users import User, list_users, user_for_token
from publishers.stage import publishing


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
    """When to publish; without it, the persona's next free slot."""


class RejectBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class ReferenceBody(BaseModel):
    bot: str = Field(min_length=1, max_length=64)
    turn_id: str = Field(min_length=1, max_length=128)
    excerpt: str = Field(min_length=1, max_length=2000)
    at: datetime | None = None


class UserOut(BaseModel):
    name: str
    role: str


def summary(post: Post) -> PostSummary:
    return PostSummary.model_validate(post.model_dump(mode="json", include=set(PostSummary.model_fields)))


def create_api(store: Store, home: Path) -> FastAPI:
    api = FastAPI(title="beatdesk API", docs_url="/docs", openapi_url="/openapi.json", redoc_url=None)

    def token_user(authorization: Annotated[str | None, Header()] = None) -> User:
        if not authorization or not authorization.startswith("Bearer "):
            raise HTTPException(401, "a token is needed: Authorization: Bearer TOKEN", {"WWW-Authenticate": "Bearer"})
        with store.session() as session:
            user = user_for_token(session, authorization.removeprefix("Bearer ").strip())
        if user is None:
            raise HTTPException(401, "unknown token", {"WWW-Authenticate": "Bearer"})
        return user

    def admin(user: Annotated[User, Depends(token_user)]) -> User:
        if user.role != "admin":
            raise HTTPException(403, "this needs an admin's token")
        return user

    def run(action: Any) -> Any:
        try:
            with store.session() as session:
                return action(session)
        except NotFoundError as err:
            raise HTTPException(404, str(err)) from None
        except BeatdeskError as err:
            raise HTTPException(409, str(err)) from None

    @api.get("/posts", response_model=list[PostSummary])
    def posts(
        _: Annotated[User, Depends(token_user)],
        persona: str | None = None,
        status: PostStatus | None = None,
        content_format: ContentFormat | None = None,
        batch: int | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[PostSummary]:
        found, _total = run(lambda s: repo.page_posts(
            s, persona=persona, status=status, content_format=content_format, batch_id=batch,
            offset=max(offset, 0), limit=min(max(limit, 1), 200),
        ))  # fmt: skip
        return [summary(p) for p in found]

    @api.get("/posts/{post_id}")
    def post(post_id: int, _: Annotated[User, Depends(token_user)]) -> dict[str, Any]:
        found: Post = run(lambda s: repo.get_post(s, post_id))
        channels = [{"channel": c.channel.name, "status": c.status, "at": c.due_at.isoformat(), "reason": c.reason}
                    for c in publishing(found, home)]  # fmt: skip
        references = run(lambda s: repo.references(s, post_id=post_id))
        return found.model_dump(mode="json") | {"references": references, "channels": channels}

    @api.post("/posts/{post_id}/approve", response_model=PostSummary)
    def approve_post(post_id: int, body: ApproveBody, user: Annotated[User, Depends(token_user)]) -> PostSummary:
        run(lambda s: approve(s, post_id=post_id, home=home, actor=user.name, at=body.at))
        return summary(run(lambda s: repo.get_post(s, post_id)))

    @api.post("/posts/{post_id}/reject", response_model=PostSummary)
    def reject_post(post_id: int, body: RejectBody, user: Annotated[User, Depends(token_user)]) -> PostSummary:
        run(lambda s: reject(s, post_id=post_id, actor=user.name, reason=body.reason))
        return summary(run(lambda s: repo.get_post(s, post_id)))

    @api.get("/search", response_model=list[PostSummary])
    def search(q: str, _: Annotated[User, Depends(token_user)]) -> list[PostSummary]:
        if len(q.strip()) < 2:
            raise HTTPException(422, "search needs at least 2 characters")
        return [summary(p) for p in run(lambda s: repo.search_posts(s, text=q.strip()))]

    @api.post("/posts/{post_id}/references", status_code=201)
    def add_reference(post_id: int, body: ReferenceBody, _: Annotated[User, Depends(token_user)]) -> dict[str, Any]:
        at = body.at or datetime.now(UTC)
        run(lambda s: repo.add_reference(s, post_id=post_id, bot=body.bot, turn_id=body.turn_id,
                                         excerpt=body.excerpt, at=at))  # fmt: skip
        return {"post_id": post_id, "bot": body.bot, "turn_id": body.turn_id, "at": at}

    @api.get("/users", response_model=list[UserOut])
    def users(_: Annotated[User, Depends(admin)]) -> list[UserOut]:
        return [UserOut(name=u.name, role=u.role) for u in run(list_users)]

    return api
