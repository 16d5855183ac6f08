"""The page a client link opens (`/c/TOKEN`): its post or batch as each channel would show it, and for each
post waiting for review, Approve, Ask for changes and Comment.

The token is the only credential and opens only these routes and its posts' media: no session is made, and
every other page of the desk still asks for a login. Forms carry a CSRF token bound to the visitor's nonce.
An unknown, expired or revoked link is a page with one line (410 for expired or revoked, 404 for unknown)."""

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from beatdesk import client_links
from beatdesk.client_links import ClientLink, LinkRefused
from beatdesk.errors import BeatdeskError, InvalidTransitionError, NotFoundError
from beatdesk.personas import load_persona
from beatdesk.store import comments as comment_rows
from beatdesk.store import repo
from review_web.deps import PostId, SettingsDep, StoreDep, check_csrf, clean_form
from review_web.previews import channel_cards, media_of
from review_web.security import FORM_BODY
from review_web.views import page

router = APIRouter(prefix="/c", max_body_size=FORM_BODY)
Token = Annotated[str, Path(min_length=20, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Note = Annotated[str, Form(max_length=20_000)]


@router.get("/{token}", response_class=HTMLResponse)
def client_page(
    request: Request,
    token: Token,
    store: StoreDep,
    settings: SettingsDep,
    done: Annotated[str | None, Query(max_length=300)] = None,
    error: Annotated[str | None, Query(max_length=2000)] = None,
) -> HTMLResponse:
    with store.session() as session:
        link = _open(session, token)
        posts = [
            repo.get_post(session, post_id, with_history=False) for post_id in client_links.post_ids(session, link)
        ]
        threads = {post.id: comment_rows.thread(session, post_id=post.id) for post in posts}
    shown = []
    for post in posts:
        try:
            persona = load_persona(settings.home, post.persona)
        except BeatdeskError:
            persona = None
        media = media_of(post)
        shown.append(
            {
                "post": post,
                "handle": persona.handle if persona else f"@{post.persona}",
                "cards": channel_cards(persona, post) if persona else [],
                "image": f"/c/{token}/media/{post.id}/image" if media.image else None,
                "video": f"/c/{token}/media/{post.id}/video" if media.video else None,
                "alt": media.alt,
                "zone": persona.timezone if persona else "UTC",
                "said": [c for c in threads[post.id] if c.author == link.actor],
            }
        )
    zone = shown[0]["zone"] if shown else "UTC"
    response = page(request, "client.html", link=link, token=token, shown=shown, done=done, error=error, zone=zone)
    response.headers["cache-control"] = "no-store"
    response.headers["x-robots-tag"] = "noindex"
    return response


@router.get("/{token}/media/{post_id}/{which}")
def client_media(token: Token, post_id: PostId, which: str, store: StoreDep, settings: SettingsDep) -> FileResponse:
    """Only the latest image or video of a post the link shows, from the home's artifacts."""
    with store.session() as session:
        link = _open(session, token)
        _found(lambda: client_links.shows(session, link, post_id))
        post = repo.get_post(session, post_id, with_history=False)
    href = {"image": media_of(post).image, "video": media_of(post).video}.get(which)
    root = (settings.home / "artifacts").resolve()
    target = (root / href.removeprefix("/artifacts/")).resolve() if href else None
    if target is None or not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(404, f"post {post_id} has no {which}")
    return FileResponse(target, headers={"cache-control": "no-store"})


@router.post("/{token}/posts/{post_id}/approve")
async def approve(
    request: Request, token: Token, post_id: PostId, store: StoreDep, settings: SettingsDep, csrftoken: Note = ""
) -> RedirectResponse:
    await _checked(request, csrftoken)
    return _act(
        store,
        token,
        lambda s, link: client_links.client_approve(s, link, post_id=post_id, home=settings.home),
        said=f"Approved post {post_id}: it goes out at its slot",
    )


@router.post("/{token}/posts/{post_id}/changes")
async def ask_for_changes(
    request: Request, token: Token, post_id: PostId, store: StoreDep, note: Note = "", csrftoken: Note = ""
) -> RedirectResponse:
    await _checked(request, csrftoken)
    return _act(
        store,
        token,
        lambda s, link: client_links.ask_for_changes(s, link, post_id=post_id, note=note),
        said=f"Asked for changes to post {post_id}: the team sees your note",
    )


@router.post("/{token}/posts/{post_id}/comment")
async def comment(
    request: Request, token: Token, post_id: PostId, store: StoreDep, text: Note = "", csrftoken: Note = ""
) -> RedirectResponse:
    await _checked(request, csrftoken)
    return _act(
        store,
        token,
        lambda s, link: client_links.client_comment(s, link, post_id=post_id, text=text),
        said=f"Comment added to post {post_id}",
    )


async def _checked(request: Request, csrftoken: str) -> None:
    await clean_form(request)
    check_csrf(request, csrftoken)


def _act(
    store: StoreDep, token: str, action: Callable[[Session, ClientLink], object], *, said: str
) -> RedirectResponse:
    try:
        with store.session() as session:
            action(session, _open(session, token))
        message = {"done": said}
    except NotFoundError as err:
        raise HTTPException(404, str(err)) from None
    except InvalidTransitionError as err:
        raise HTTPException(409, str(err)) from None
    except BeatdeskError as err:
        message = {"error": str(err)}
    return RedirectResponse(f"/c/{token}?{urlencode(message)}", status_code=303)


def _open(session: Session, token: str) -> ClientLink:
    try:
        return client_links.open_link(session, token)
    except LinkRefused as err:
        raise HTTPException(404 if "not known" in str(err) else 410, str(err)) from None


def _found(check: Callable[[], None]) -> None:
    try:
        check()
    except NotFoundError as err:
        raise HTTPException(404, str(err)) from None
