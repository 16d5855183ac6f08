"""FastAPI dependencies every route draws on: the store, the settings, who is asking, and what they may do.

Security lives here, not in templates or handlers: a page asks for `Viewer`, a form for `Reviewer` or
`Admin` (which check the CSRF token when the user came with a session cookie), the API for a token scope.
"""

# No `from __future__ import annotations`: FastAPI reads these annotations at import time.
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Path, Request
from fastapi.exceptions import RequestValidationError

from beatdesk.settings import Settings
from beatdesk.store import Store
from beatdesk.users import ROLE_SCOPES, Scope, User, user_for_session, user_for_token
from review_web.auth import SESSION_COOKIE, Csrf, Identity, binding

MAX_ID = 2**31 - 1
"""The largest id the store's integer columns hold (PostgreSQL's INTEGER)."""
PostId = Annotated[int, Path(ge=1, le=MAX_ID, description="a post's id")]
CommentId = Annotated[int, Path(ge=1, le=MAX_ID, description="a comment's id")]
BatchId = Annotated[int, Path(ge=1, le=MAX_ID, description="a batch's id")]
PersonaKey = Annotated[str, Path(pattern=r"^@?[A-Za-z][A-Za-z0-9_\-]{0,31}$", description="a persona's key")]


class LoginRequired(Exception):
    """A page asked for without a session: the answer is the login page, then back."""


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def identity(request: Request) -> Identity | None:
    """Who is asking, once per request. A Bearer token, when one is sent, is the only credential looked at:
    an invalid one is 401 (never a fall back to the cookie), a valid one means cookies count for nothing."""
    if hasattr(request.state, "identity"):
        found: Identity | None = request.state.identity
        return found
    store = get_store(request)
    found = None
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(401, "send the token as: Authorization: Bearer TOKEN", {"WWW-Authenticate": "Bearer"})
        with store.session() as session:
            holder = user_for_token(session, token.strip())
        if holder is None:
            raise HTTPException(401, "unknown, expired or revoked token", {"WWW-Authenticate": "Bearer"})
        found = Identity(user=holder.user, scope=holder.scope, via="token")
    elif key := request.cookies.get(SESSION_COOKIE):
        with store.session() as session:
            user = user_for_session(session, key)
        if user is not None:
            found = Identity(user=user, scope=ROLE_SCOPES[user.role][-1], via="session", session_key=key)
    request.state.identity = found
    return found


def check_csrf(request: Request, csrftoken: str) -> None:
    """The form's token must be the one made for this session (or, before login, this visitor's nonce)."""
    csrf: Csrf = request.app.state.csrf
    if not csrf.valid(csrftoken, binding(request)):
        raise HTTPException(403, "the form's CSRF token is missing or stale: reload the page and try again")


async def clean_form(request: Request) -> None:
    """Form values with a NUL byte are refused: no field means one, and the store cannot keep it."""
    form = await request.form()
    if any(isinstance(value, str) and "\x00" in value for value in form.values()):
        raise RequestValidationError([{"type": "value_error", "loc": ("body",), "msg": "NUL bytes are not allowed",
                                       "input": None}])  # fmt: skip


def _viewer(request: Request) -> User:
    found = identity(request)
    if found is None:
        raise LoginRequired()
    return found.user


def _acting(scope: Scope, request: Request, csrftoken: str) -> User:
    """A form's author: logged in, the CSRF token checked unless a valid bearer token was sent, scope enough."""
    found = identity(request)
    if found is None:
        raise LoginRequired()
    if found.via == "session":
        check_csrf(request, csrftoken)
    if not found.may(scope):
        raise HTTPException(403, f"this needs the {scope} scope, which {found.user.name}'s {found.via} lacks")
    return found.user


async def _reviewer(request: Request, csrftoken: Annotated[str, Form()] = "") -> User:
    await clean_form(request)
    return _acting("review", request, csrftoken)


async def _admin(request: Request, csrftoken: Annotated[str, Form()] = "") -> User:
    await clean_form(request)
    return _acting("admin", request, csrftoken)


def _admin_viewer(request: Request) -> User:
    """An admin's session, or a token of admin scope: an admin's read-scope token reads no user list either,
    as on the API (`_scoped`)."""
    found = identity(request)
    if found is None:
        raise LoginRequired()
    if found.user.role != "admin":
        raise HTTPException(403, "only an admin may manage users and personas")
    if not found.may("admin"):
        raise HTTPException(403, f"this needs a token with the admin scope; this one has {found.scope}")
    return found.user


Viewer = Annotated[User, Depends(_viewer)]
"""Anyone logged in (or with a live token): reads pages."""
Reviewer = Annotated[User, Depends(_reviewer)]
"""A form that decides on posts: CSRF-checked, review scope."""
Admin = Annotated[User, Depends(_admin)]
"""A form that manages users or personas: CSRF-checked, admin scope."""
AdminViewer = Annotated[User, Depends(_admin_viewer)]
"""An admin page: an admin, with the admin scope. Also every /admin route's guard (`admin_only`)."""
admin_only = Depends(_admin_viewer)


def _token_identity(request: Request) -> Identity:
    """The API is for tokens only (no cookies, so no CSRF to forge)."""
    found = identity(request)
    if found is None or found.via != "token":
        raise HTTPException(401, "a token is needed: Authorization: Bearer TOKEN", {"WWW-Authenticate": "Bearer"})
    return found


def _scoped(scope: Scope) -> object:
    def dependency(found: Annotated[Identity, Depends(_token_identity)]) -> User:
        if not found.may(scope):
            raise HTTPException(403, f"this needs a token with the {scope} scope; this one has {found.scope}")
        return found.user

    return Depends(dependency)


def _metrics_reader(found: Annotated[Identity, Depends(_token_identity)]) -> User:
    """/metrics: a token of the read scope and no more, since a scraper's configuration holds it in the clear."""
    if found.scope != "read":
        raise HTTPException(403, f"metrics take a token of the read scope only, and this one has {found.scope}: "
                                 "make one with `beatdesk users token NAME --scope read`")  # fmt: skip
    return found.user


ApiReader = Annotated[User, _scoped("read")]
ApiReviewer = Annotated[User, _scoped("review")]
ApiAdmin = Annotated[User, _scoped("admin")]
MetricsReader = Annotated[User, Depends(_metrics_reader)]


def schema_reader(request: Request) -> User:
    """The OpenAPI schema: for anyone logged in to the desk or holding a token."""
    found = identity(request)
    if found is None:
        raise HTTPException(
            401, "log in to the desk, or send Authorization: Bearer TOKEN", {"WWW-Authenticate": "Bearer"}
        )
    return found.user
