"""The post page's comment thread: write a comment, resolve it, open it again.

Every form takes `Reviewer` (logged in, CSRF checked, review scope). A refusal (an empty or oversized
comment) comes back on the post's page as one line; the thread is at `#comments`."""

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException
from fastapi.responses import RedirectResponse

from beatdesk import comments
from beatdesk.errors import BeatdeskError, NotFoundError
from review_web.deps import CommentId, PostId, Reviewer, StoreDep
from review_web.security import FORM_BODY

router = APIRouter(max_body_size=FORM_BODY)


@router.post("/posts/{post_id}/comments")
def write_comment(
    post_id: PostId, user: Reviewer, store: StoreDep, text: Annotated[str, Form(max_length=20_000)] = ""
) -> RedirectResponse:
    def act() -> str:
        with store.session() as session:
            comment = comments.write(session, post_id=post_id, author=user.name, text=text)
        told = f", telling {', '.join('@' + name for name in comment.mentions)}" if comment.mentions else ""
        return f"Comment added{told}"

    return _thread(post_id, act)


@router.post("/posts/{post_id}/comments/{comment_id}/resolve")
def resolve_comment(post_id: PostId, comment_id: CommentId, user: Reviewer, store: StoreDep) -> RedirectResponse:
    return _thread(post_id, lambda: _resolve(store, post_id, comment_id, user.name, reopen=False))


@router.post("/posts/{post_id}/comments/{comment_id}/reopen")
def reopen_comment(post_id: PostId, comment_id: CommentId, user: Reviewer, store: StoreDep) -> RedirectResponse:
    return _thread(post_id, lambda: _resolve(store, post_id, comment_id, user.name, reopen=True))


def _resolve(store: StoreDep, post_id: int, comment_id: int, actor: str, *, reopen: bool) -> str:
    with store.session() as session:
        comments.resolve(session, post_id=post_id, comment_id=comment_id, actor=actor, reopen=reopen)
    return f"Comment {comment_id} {'open again' if reopen else 'resolved'}"


def _thread(post_id: int, act: Callable[[], str]) -> RedirectResponse:
    try:
        said = {"done": act()}
    except NotFoundError as err:
        raise HTTPException(404, str(err)) from None
    except BeatdeskError as err:
        said = {"error": str(err)}
    return RedirectResponse(f"/posts/{post_id}?{urlencode(said)}#comments", status_code=303)
