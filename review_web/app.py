"""The review desk's web app: log in, read the queue, open a post's whole story, edit and decide.

Server-rendered Jinja2 pages (autoescaped), plain forms. Sessions are signed, HttpOnly, SameSite
cookies (Starlette's SessionMiddleware); every form carries a CSRF token (asgi-csrf); login attempts
are rate-limited (limits). Nothing but the login page is visible without a session.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from asgi_csrf import asgi_csrf
from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.middleware.sessions import SessionMiddleware

from beatdesk.errors import BeatdeskError, NotFoundError
from beatdesk.models import REJECT_REASONS, ContentFormat, Persona, Post, PostStatus
from beatdesk.personas import known_personas, load_persona, normalise_key, personas_dir, save_persona_text
from beatdesk.prices import format_usd
from beatdesk.review import approve, parse_time, reject
from beatdesk.settings import Settings
from beatdesk.store import open_store, repo
from beatdesk.users import User, add_user, authenticate, get_user, list_users
from drafter.edit import edit_draft
from publishers.stage import publishing
from renderers.channel_text import channel_parts
from review_web.api import create_api
from review_web.chart import cost_chart
from review_web.evals_page import add_evals_page

TEMPLATES = Path(__file__).parent / "templates"
PAGE_SIZE = 25
LOGIN_LIMIT = parse("5/minute")


class LoginRequired(Exception):
    pass


def secret_key(settings: Settings) -> str:
    """BEATDESK_SECRET_KEY, or one made once and kept in the home (readable by its owner only)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.home / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def relative_time(at: datetime, now: datetime | None = None) -> str:
    seconds = int(((now or datetime.now(UTC)) - at).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            amount = f"{seconds // size}{unit}"
            break
    else:
        amount = f"{seconds}s"
    return f"in {amount}" if future else f"{amount} ago"


def current_user(request: Request) -> User:
    """The logged-in user; anyone else is sent to the login page."""
    user_id = request.session.get("user_id")
    user = None
    if user_id is not None:
        with request.app.state.store.session() as session:
            user = get_user(session, user_id)
    if user is None:
        raise LoginRequired()
    return user


Viewer = Annotated[User, Depends(current_user)]


def create_app(settings: Settings) -> Any:
    store = open_store(settings.effective_database_url)
    templates = Jinja2Templates(directory=str(TEMPLATES))  # autoescape is on for .html
    templates.env.filters["usd"] = format_usd
    templates.env.filters["ago"] = relative_time
    templates.env.globals["reject_reasons"] = REJECT_REASONS
    limiter = MovingWindowRateLimiter(MemoryStorage())
    app = FastAPI(title="beatdesk review", docs_url=None, redoc_url=None, openapi_url=None)

    app.state.store = store
    app.mount("/api", create_api(store, settings.home))

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        csrftoken = request.scope["csrftoken"]()
        return templates.TemplateResponse(request, name, {"csrftoken": csrftoken, **context}, status_code=status_code)

    add_evals_page(app, store=store, page=page, viewer=current_user)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _: LoginRequired) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(404)
    async def not_found(request: Request, exc: Exception) -> HTMLResponse:
        detail = getattr(exc, "detail", "Not found")
        return page(request, "404.html", status_code=404, detail=detail, user=None, heading="Not found")

    @app.exception_handler(403)
    async def forbidden(request: Request, exc: Exception) -> HTMLResponse:
        detail = getattr(exc, "detail", "Forbidden")
        return page(request, "404.html", status_code=403, detail=detail, user=None, heading="Not allowed")

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> HTMLResponse:
        return page(request, "login.html", next=_safe_next(next), error=None, user=None)

    @app.post("/login", response_model=None)
    def login(
        request: Request,
        name: Annotated[str, Form()],
        password: Annotated[str, Form()],
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        client = request.client.host if request.client else "?"
        if not limiter.hit(LOGIN_LIMIT, client, name):
            return page(request, "login.html", status_code=429, next=_safe_next(next), user=None,
                        error="Too many attempts; wait a minute and try again.")  # fmt: skip
        with store.session() as session:
            user = authenticate(session, name=name, password=password)
        if user is None:
            return page(request, "login.html", status_code=401, next=_safe_next(next), user=None,
                        error="Wrong name or password.")  # fmt: skip
        request.session.clear()
        request.session["user_id"] = user.id
        return RedirectResponse(_safe_next(next), status_code=303)

    @app.post("/logout")
    def logout(request: Request) -> RedirectResponse:
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @app.get("/", response_class=HTMLResponse)
    def queue(
        request: Request,
        user: Viewer,
        persona: str | None = None,
        status: str | None = None,
        format: str | None = None,
        batch: str | None = None,
        sort: str = "newest",
        q: str | None = None,
        error: str | None = None,
        p: int = 1,
    ) -> HTMLResponse:
        chosen_status = PostStatus(status) if status and status in PostStatus.__members__ else None
        chosen_format = ContentFormat(format) if format and format in ContentFormat.__members__ else None
        batch_id = int(batch) if batch and batch.isdigit() else None
        with store.session() as session:
            posts, total = repo.page_posts(
                session, persona=persona or None, status=chosen_status, content_format=chosen_format,
                batch_id=batch_id, offset=(max(p, 1) - 1) * PAGE_SIZE, limit=PAGE_SIZE, oldest_first=sort == "oldest",
                words=q,
            )  # fmt: skip
            counts = repo.status_counts(session, persona=persona or None)
        filters = {"persona": persona or "", "status": status or "", "format": format or "", "batch": batch or "",
                   "sort": "oldest" if sort == "oldest" else "newest", "q": q or ""}  # fmt: skip
        pages = max(1, -(-total // PAGE_SIZE))
        return page(
            request, "queue.html", user=user, posts=posts, counts=counts, filters=filters, total=total,
            page=max(p, 1), pages=pages, query=lambda n: urlencode({**filters, "p": n}),
            statuses=list(PostStatus), formats=list(ContentFormat), error=error,
            here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        )  # fmt: skip

    def load_post(post_id: int) -> Post:
        try:
            with store.session() as session:
                return repo.get_post(session, post_id)
        except NotFoundError as err:
            raise HTTPException(status_code=404, detail=str(err)) from None

    @app.get("/posts/{post_id}", response_class=HTMLResponse)
    def post_page(request: Request, post_id: int, user: Viewer, error: str | None = None) -> HTMLResponse:
        post = load_post(post_id)
        handle = _handle(settings, post.persona)
        with store.session() as session:
            references = repo.references(session, post_id=post_id)
        return page(request, "post.html", user=user, post=post, handle=handle, error=error, references=references,
                    previews=channel_previews(settings, post), channels=publishing(post, settings.home))  # fmt: skip

    def decide(post_id: int, action: Any) -> RedirectResponse:
        load_post(post_id)
        try:
            with store.session() as session:
                action(session)
        except BeatdeskError as err:
            return RedirectResponse(f"/posts/{post_id}?{urlencode({'error': str(err)})}", status_code=303)
        return RedirectResponse(f"/posts/{post_id}", status_code=303)

    @app.post("/posts/{post_id}/approve")
    def approve_post(post_id: int, user: Viewer, at: Annotated[str, Form()] = "") -> RedirectResponse:
        def act(session: Any) -> None:  # a bad time is refused on the page, like any other decision
            when = parse_time(at, label="the time") if at.strip() else None
            approve(session, post_id=post_id, home=settings.home, actor=user.name, at=when)

        return decide(post_id, act)

    @app.post("/posts/{post_id}/reject")
    def reject_post(
        post_id: int, user: Viewer, reason: Annotated[str, Form()] = "", code: Annotated[str, Form()] = ""
    ) -> RedirectResponse:
        return decide(post_id, lambda s: reject(s, post_id=post_id, actor=user.name, reason=reason, code=code or None))

    @app.post("/posts/{post_id}/edit")
    def edit_post(
        post_id: int,
        user: Viewer,
        title: Annotated[str, Form()],
        caption: Annotated[str, Form()],
        hashtags: Annotated[str, Form()],
        body: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        changes = {"title": title, "caption": caption, "hashtags": hashtags.split()}
        if body:
            changes["body"] = body
        return decide(
            post_id,
            lambda session: edit_draft(session, post_id=post_id, home=settings.home, actor=user.name, changes=changes),
        )

    @app.post("/posts/{post_id}/redraft")
    def redraft_post(post_id: int, user: Viewer, note: Annotated[str, Form()] = "") -> RedirectResponse:
        from workers.graph import redraft

        return decide(
            post_id, lambda _s: redraft(settings, post_id=post_id, note=note.strip() or None, actor=user.name)
        )

    @app.post("/posts/{post_id}/rerender")
    def rerender_post(post_id: int, user: Viewer, note: Annotated[str, Form()] = "") -> RedirectResponse:
        from workers.graph import rerender

        return decide(
            post_id,
            lambda _s: rerender(
                settings, post_id=post_id, note=note.strip() or None, actor=user.name, image_model=None
            ),
        )

    @app.post("/bulk/approve")
    def bulk_approve(
        user: Viewer, post_ids: Annotated[list[int], Form()], back: Annotated[str, Form()] = "/"
    ) -> RedirectResponse:
        """Approve the ticked posts, each into its persona's next free slot; refusals are listed, not fatal."""
        refused = []
        for post_id in post_ids:
            try:
                with store.session() as session:
                    approve(session, post_id=post_id, home=settings.home, actor=user.name)
            except BeatdeskError as err:
                refused.append(str(err))
        target = _safe_next(back)
        if refused:
            target += ("&" if "?" in target else "?") + urlencode({"error": "; ".join(refused)})
        return RedirectResponse(target, status_code=303)

    @app.get("/batches/{batch_id}", response_class=HTMLResponse)
    def batch_page(request: Request, batch_id: int, user: Viewer) -> HTMLResponse:
        try:
            with store.session() as session:
                batch = repo.get_batch(session, batch_id)
        except NotFoundError as err:
            raise HTTPException(status_code=404, detail=str(err)) from None
        return page(request, "batch.html", user=user, batch=batch)

    @app.get("/personas/{key}", response_class=HTMLResponse)
    def persona_page(request: Request, key: str, user: Viewer) -> HTMLResponse:
        try:
            persona = load_persona(settings.home, key)
        except BeatdeskError as err:
            raise HTTPException(status_code=404, detail=str(err)) from None
        with store.session() as session:
            daily = repo.daily_costs(session, persona=persona.key, days=30)
        return page(request, "persona.html", user=user, persona=persona, chart=cost_chart(daily), daily=daily)

    def require_admin(user: User) -> None:
        if user.role != "admin":
            raise HTTPException(status_code=403, detail="only an admin may manage users")

    @app.get("/admin/users", response_class=HTMLResponse)
    def users_page(request: Request, user: Viewer, error: str | None = None) -> HTMLResponse:
        require_admin(user)
        with store.session() as session:
            people = list_users(session)
        return page(request, "users.html", user=user, people=people, error=error)

    @app.post("/admin/users")
    def users_add(
        user: Viewer, name: Annotated[str, Form()], role: Annotated[str, Form()], password: Annotated[str, Form()]
    ) -> RedirectResponse:
        require_admin(user)
        if role not in ("reviewer", "admin"):
            return RedirectResponse("/admin/users?" + urlencode({"error": f"unknown role {role!r}"}), status_code=303)
        try:
            with store.session() as session:
                add_user(session, name=name.strip(), role=role, password=password)  # type: ignore[arg-type]
        except BeatdeskError as err:
            return RedirectResponse("/admin/users?" + urlencode({"error": str(err)}), status_code=303)
        return RedirectResponse("/admin/users", status_code=303)

    @app.get("/admin/personas", response_class=HTMLResponse)
    def personas_page(request: Request, user: Viewer, error: str | None = None) -> HTMLResponse:
        require_admin(user)
        rows: list[tuple[str, Persona | None, str | None]] = []
        for key in known_personas(settings.home):
            try:
                rows.append((key, load_persona(settings.home, key), None))
            except BeatdeskError as err:  # a file broken by hand is listed with its error, to be fixed here
                rows.append((key, None, str(err)))
        return page(request, "personas.html", user=user, rows=rows, error=error)

    @app.get("/admin/personas/{key}", response_class=HTMLResponse)
    def persona_edit_page(request: Request, key: str, user: Viewer) -> HTMLResponse:
        require_admin(user)
        path = personas_dir(settings.home) / f"{normalise_key(key)}.toml"
        if key != "new" and not path.is_file():
            raise HTTPException(status_code=404, detail=f"no persona {key!r}")
        example = resources.files("beatdesk") / "example" / "ash.toml"
        text = (path if key != "new" else example).read_text(encoding="utf-8")
        return page(request, "persona_edit.html", user=user, key=key, text=text, error=None)

    @app.post("/admin/personas/{key}", response_class=HTMLResponse, response_model=None)
    def persona_save(
        request: Request, key: str, user: Viewer, text: Annotated[str, Form()], new_key: Annotated[str, Form()] = ""
    ) -> HTMLResponse | RedirectResponse:
        require_admin(user)
        target = new_key.strip() if key == "new" else key
        if key == "new" and (personas_dir(settings.home) / f"{normalise_key(target)}.toml").exists():
            error: str | None = f"persona {target!r} exists already: edit it instead"
        else:
            try:
                saved = save_persona_text(settings.home, target, text.replace("\r\n", "\n"))
                return RedirectResponse(f"/admin/personas?saved={saved.key}", status_code=303)
            except BeatdeskError as err:
                error = str(err)
        # Nothing was written: the form comes back with the text as typed and what to fix.
        return page(request, "persona_edit.html", user=user, key=key, text=text, error=error, new_key=new_key,
                    status_code=422)  # fmt: skip

    @app.get("/artifacts/{path:path}")
    def artifact(path: str, user: Viewer) -> FileResponse:
        root = (settings.home / "artifacts").resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise HTTPException(status_code=404, detail=f"no artifact {path}")
        return FileResponse(target)

    wrapped = SessionMiddleware(
        asgi_csrf(app, signing_secret=secret_key(settings), always_protect={"/login"}),
        secret_key=secret_key(settings),
        session_cookie="beatdesk_session",
        max_age=8 * 3600,
        same_site="lax",
        https_only=False,
    )
    wrapped.fastapi = app  # type: ignore[attr-defined]
    return wrapped


def channel_previews(settings: Settings, post: Post) -> dict[str, list[str] | str]:
    """The caption as each of the persona's channels will carry it: one post, a thread, or why it cannot."""
    if post.draft is None:
        return {}
    try:
        channels = load_persona(settings.home, post.persona).channels
    except BeatdeskError:
        return {}
    previews: dict[str, list[str] | str] = {}
    for channel in channels:
        try:
            previews[channel.name] = channel_parts(post, channel)
        except BeatdeskError as err:
            previews[channel.name] = str(err)
    return previews


def _safe_next(target: str) -> str:
    """Only paths on this site: never an open redirect."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _handle(settings: Settings, key: str) -> str:
    try:
        return load_persona(settings.home, key).handle
    except BeatdeskError:
        return f"@{key}"
