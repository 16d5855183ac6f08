"""The review desk's web app, assembled: its routers, the JSON API under /api, error pages, and the guards.

Server-rendered Jinja2 pages (autoescaped), plain forms. A login is a server-side session (a random
key in an HttpOnly, SameSite cookie, Secure beyond loopback or over https); every form carries a CSRF
token bound to that session; login attempts are rate-limited per peer; bodies are size-limited; every
answer carries a strict CSP. Nothing but the login page is visible without a session.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from beatdesk.rate_limits import limits_storage
from beatdesk.settings import Settings
from beatdesk.store import open_store
from review_web import (
    admin,
    api,
    attention,
    calendar,
    client_page,
    comments,
    decisions,
    evals_page,
    health,
    login,
    pages,
    sharing,
)
from review_web.auth import Csrf, LoginLimiter, secret_key
from review_web.deps import LoginRequired
from review_web.security import FORM_BODY, guarded
from review_web.views import make_templates, page

STATIC = Path(__file__).parent / "static"
HEADINGS = {
    401: "Not logged in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Already decided",
    413: "Too large",
}


def create_app(settings: Settings, *, public: bool = False) -> ASGIApp:
    """The desk for `settings`; `public` when served beyond this machine (cookies are then always Secure)."""
    csrf = Csrf(secret_key(settings, public=public))
    store = open_store(settings.effective_database_url)
    desk = FastAPI(title="beatdesk review", docs_url=None, redoc_url=None, openapi_url=None, max_body_size=FORM_BODY)
    json_api = FastAPI(title="beatdesk API", docs_url=None, redoc_url=None, openapi_url=None, max_body_size=FORM_BODY)
    for each in (desk, json_api):
        each.state.store, each.state.settings, each.state.csrf, each.state.public = store, settings, csrf, public
    desk.state.templates = make_templates()
    desk.state.login_limiter = LoginLimiter(limits_storage(settings))

    json_api.include_router(api.router)
    json_api.include_router(calendar.api_router)
    api.add_schema_route(json_api)
    json_api.add_exception_handler(RequestValidationError, _api_invalid)  # type: ignore[arg-type]

    desk.mount("/api", json_api)
    desk.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        health,
        login,
        pages,
        decisions,
        comments,
        sharing,
        client_page,
        admin,
        evals_page,
        calendar,
        attention,
    ):
        desk.include_router(module.router)
    desk.add_exception_handler(LoginRequired, _to_login)  # type: ignore[arg-type]
    desk.add_exception_handler(StarletteHTTPException, _error_page)  # type: ignore[arg-type]
    desk.add_exception_handler(RequestValidationError, _invalid_page)  # type: ignore[arg-type]
    return guarded(desk)


def one_line(exc: RequestValidationError) -> str:
    """The first problem of a request as one line: the field and what is wrong with it."""
    errors = exc.errors()
    if not errors:
        return "the request is not valid"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header"))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}" if where else f"{first['msg']}{more}"


async def _to_login(request: Request, _: LoginRequired) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


async def _error_page(request: Request, exc: StarletteHTTPException) -> Response:
    if request.url.path in health.MACHINE_PATHS:  # a scraper or a probe reads JSON
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    heading = HEADINGS.get(exc.status_code, "Not possible")
    post = re.match(r"/posts/(\d+)/", request.url.path)  # a refused decision links back to its post
    response = page(request, "404.html", status_code=exc.status_code, detail=exc.detail, heading=heading,
                    back=f"/posts/{post.group(1)}" if post else None)  # fmt: skip
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _invalid_page(request: Request, exc: RequestValidationError) -> HTMLResponse:
    return page(request, "404.html", status_code=400, detail=one_line(exc), heading="Not a valid request")


async def _api_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": one_line(exc)}, status_code=422)
