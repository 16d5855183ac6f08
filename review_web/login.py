"""Logging in and out: a server-side session per login, its CSRF token bound to it, failed attempts rate-limited."""

from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from limits.errors import StorageError

from beatdesk.users import authenticate, end_session, start_session
from review_web.auth import ANON_COOKIE, SESSION_COOKIE, SESSION_LIFETIME, LoginLimiter, set_cookie
from review_web.decisions import safe_next
from review_web.deps import StoreDep, check_csrf, clean_form, identity
from review_web.security import FORM_BODY, LOGIN_BODY
from review_web.views import page

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: Annotated[str, Query(max_length=2000)] = "/") -> HTMLResponse:
    identity(request)  # the form's token is bound to the session, if one is open, as the POST will check
    return page(request, "login.html", next=safe_next(next), error=None)


@router.post("/login", response_model=None, max_body_size=LOGIN_BODY)
async def login(
    request: Request,
    store: StoreDep,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrftoken: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    await clean_form(request)
    identity(request)  # a session already open binds the form's token as well as the visitor's nonce does
    check_csrf(request, csrftoken)
    limiter: LoginLimiter = request.app.state.login_limiter
    peer = request.client.host if request.client else "?"
    try:
        allowed = limiter.allow(peer, name)
    except StorageError:  # the broker's Redis, where the desks count attempts, is away: no count, no login
        problem = "Logins paused: the desk cannot reach Redis (BEATDESK_BROKER_URL); try again shortly."
        return page(request, "login.html", status_code=503, next=safe_next(next), error=problem)
    if not allowed:
        return page(request, "login.html", status_code=429, next=safe_next(next),
                    error="Too many attempts; wait a minute and try again.")  # fmt: skip
    with store.session() as session:
        user = authenticate(session, name=name, password=password)
        key = start_session(session, user_id=user.id, lifetime=SESSION_LIFETIME) if user is not None else None
    if key is None:
        with suppress(StorageError):  # Redis went away since the check: refused all the same, counted nowhere
            limiter.failed(peer, name)
        return page(request, "login.html", status_code=401, next=safe_next(next), error="Wrong name or password.")
    response = RedirectResponse(safe_next(next), status_code=303)
    # A new session key, so a new CSRF token: a token seen before login is worth nothing after it.
    set_cookie(request, response, SESSION_COOKIE, key, max_age=int(SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(ANON_COOKIE, path="/")
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        with store.session() as session:
            end_session(session, key=old)
    return response


@router.post("/logout", max_body_size=FORM_BODY)
def logout(request: Request, store: StoreDep, csrftoken: Annotated[str, Form(max_length=128)] = "") -> RedirectResponse:
    """Ends the session in the store, so the cookie is worth nothing even if it was copied."""
    found = identity(request)
    if found is not None and found.session_key is not None:
        check_csrf(request, csrftoken)
        with store.session() as session:
            end_session(session, key=found.session_key)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
