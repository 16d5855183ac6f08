"""Who is asking: the desk's secret key, its session cookie, CSRF tokens bound to the session, the login limit."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from fastapi import Request, Response
from limits import parse
from limits.storage import Storage
from limits.strategies import MovingWindowRateLimiter

from beatdesk.settings import Settings
from beatdesk.users import SCOPES, Scope, User

SESSION_COOKIE = "beatdesk_session"
ANON_COOKIE = "beatdesk_anon"
"""A random nonce for visitors without a session: the login form's CSRF token is bound to it."""
SESSION_LIFETIME = timedelta(hours=8)
LOGIN_LIMITS = (parse("5/minute"), parse("30/minute"))
"""Per peer and name, and per peer whatever the name."""


def secret_key(settings: Settings, *, public: bool = False) -> str:
    """BEATDESK_SECRET_KEY, or, on this machine only, one made once and kept in the home (readable by its owner
    only); a weak key is refused with how to make one (`Settings.check_secret_key`)."""
    settings.check_secret_key(public=public)
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.home / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


@dataclass(frozen=True)
class Identity:
    """A user and how they proved it: a session cookie (CSRF-checked forms) or a bearer token (scoped)."""

    user: User
    scope: Scope
    via: Literal["session", "token"]
    session_key: str | None = None

    def may(self, scope: Scope) -> bool:
        return SCOPES.index(scope) <= SCOPES.index(self.scope)


class Csrf:
    """Form tokens as HMACs of the session key (or, before login, of the visitor's anonymous nonce):
    another session's token never fits, and logging in changes the token."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"beatdesk csrf\0" + secret.encode()).digest()

    def token_for(self, bound_to: str) -> str:
        return hmac.new(self._key, bound_to.encode(), hashlib.sha256).hexdigest()

    def valid(self, token: str, bound_to: str | None) -> bool:
        return bound_to is not None and hmac.compare_digest(token.encode(), self.token_for(bound_to).encode())


def binding(request: Request) -> str | None:
    """What this request's CSRF token is bound to: its session, else its anonymous nonce."""
    identity: Identity | None = getattr(request.state, "identity", None)
    if identity is not None and identity.session_key is not None:
        return "session:" + identity.session_key
    nonce = getattr(request.state, "new_anon", None) or request.cookies.get(ANON_COOKIE)
    return "anon:" + nonce if nonce else None


def form_token(request: Request) -> str:
    """The CSRF token for forms on this page; a visitor without a session is given a nonce to bind it to."""
    bound = binding(request)
    if bound is None:
        request.state.new_anon = secrets.token_urlsafe(24)
        bound = "anon:" + request.state.new_anon
    csrf: Csrf = request.app.state.csrf
    return csrf.token_for(bound)


def cookies_secure(request: Request) -> bool:
    """Secure cookies whenever the desk is served over https or to more than this machine."""
    return request.url.scheme == "https" or bool(request.app.state.public)


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", secure=cookies_secure(request),
                        path="/")  # fmt: skip


def give_anon_cookie(request: Request, response: Response) -> None:
    """Hand out the nonce a page's login form was bound to, if one was made for it."""
    nonce = getattr(request.state, "new_anon", None)
    if nonce:
        set_cookie(request, response, ANON_COOKIE, nonce, max_age=int(SESSION_LIFETIME.total_seconds()))


class LoginLimiter:
    """Failed login attempts per peer (the address uvicorn reports: the real one unless a trusted proxy says
    otherwise), counted in `storage`: the broker's Redis when there is one, so every desk on it counts the same
    attempts."""

    def __init__(self, storage: Storage) -> None:
        self._limiter = MovingWindowRateLimiter(storage)

    def allow(self, peer: str, name: str) -> bool:
        """Whether one more attempt may be made: only failed ones count, so a person logging in and out is never
        locked out. The login route is async and checks, authenticates and counts without awaiting, so one desk
        never lets a burst of attempts slip between the check and the count."""
        per_name, per_peer = LOGIN_LIMITS
        return self._limiter.test(per_peer, peer) and self._limiter.test(per_name, peer, name)

    def failed(self, peer: str, name: str) -> None:
        """Count a failed attempt against the peer, and against the peer with that name."""
        per_name, per_peer = LOGIN_LIMITS
        self._limiter.hit(per_peer, peer)
        self._limiter.hit(per_name, peer, name)
