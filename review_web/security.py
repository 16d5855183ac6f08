"""ASGI middleware around the whole desk: NUL bytes refused, strict security headers on every answer.

Body sizes are limited by FastAPI's own `max_body_size` (app, router and route), which answers 413
as soon as Content-Length, or the bytes read so far, pass the limit."""

from __future__ import annotations

import json
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

KIB = 1024
LOGIN_BODY = 8 * KIB
FORM_BODY = 64 * KIB
"""Reviews, edits, notes and API calls: a post body with room to spare."""
PERSONA_BODY = 1024 * KIB
"""A persona file in a form: many beats, sources and schedules."""

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


async def refuse(send: Send, status: int, reason: str) -> None:
    """A plain one-line answer, sent before the app is reached."""
    body = json.dumps({"detail": reason}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RefuseNul:
    """A NUL byte in the path or the query is refused before any route sees it (databases and file
    paths cannot hold one, and no page means one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope["path"] or b"\x00" in unquote_to_bytes(scope.get("query_string", b""))
        ):
            await refuse(send, 400, "NUL bytes are not allowed in a URL")
            return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Strict headers on every answer: a CSP without inline script, no framing, no sniffing, a same-origin referrer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in SECURITY_HEADERS if name not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach."""
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def guarded(app: ASGIApp) -> ASGIApp:
    """The app inside its guards: headers outermost, so refusals carry them too."""
    return SecurityHeaders(RefuseNul(app))
