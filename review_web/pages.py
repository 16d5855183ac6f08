"""The pages people read: the queue, a post's whole story, a batch, a persona's costs, and artifact files."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from beatdesk import client_links
from beatdesk.errors import BeatdeskError, NotFoundError
from beatdesk.models import ContentFormat, Persona, PostListing, PostStatus
from beatdesk.personas import load_persona
from beatdesk.review import failing_checks, free_slots
from beatdesk.settings import Settings
from beatdesk.store import books, repo
from beatdesk.store import comments as comment_rows
from publishers.stage import publishing
from review_web.chart import cost_chart
from review_web.deps import MAX_ID, BatchId, PersonaKey, PostId, SettingsDep, StoreDep, Viewer
from review_web.editing import edit_fields
from review_web.engagement_view import persona_engagement
from review_web.history import versions
from review_web.metrics_view import post_metrics
from review_web.previews import artifact_href, channel_cards, media_of
from review_web.provenance_view import provenance_of
from review_web.queue_place import back_to_place, place_query, remember
from review_web.views import page

PAGE_SIZE = 25
CHECK_ORDER = {"fail": 0, "warn": 1, "ok": 2}
"""Fails first, then warnings: what a reviewer must read before deciding."""
MAX_PAGE = MAX_ID // PAGE_SIZE

T = TypeVar("T")
router = APIRouter()


@router.get("/", response_class=HTMLResponse, response_model=None)
def queue(
    request: Request,
    user: Viewer,
    store: StoreDep,
    persona: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    format: Annotated[str | None, Query(max_length=32)] = None,
    batch: Annotated[str | None, Query(max_length=32)] = None,
    sort: Annotated[str, Query(max_length=16)] = "newest",
    q: Annotated[str | None, Query(max_length=200)] = None,
    error: Annotated[str | None, Query(max_length=2000)] = None,
    done: Annotated[str | None, Query(max_length=400)] = None,
    p: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse | RedirectResponse:
    """Empty or unknown filter values (the form sends `status=` for "any") mean no filter. Asked for bare, the
    queue goes back to the page and filters last shown (`queue_place`)."""
    if (back := back_to_place(request)) is not None:
        return back
    chosen_status = PostStatus(status) if status and status in PostStatus.__members__ else None
    chosen_format = ContentFormat(format) if format and format in ContentFormat.__members__ else None
    batch_id = int(batch) if batch and batch.isdigit() and len(batch) < 11 and int(batch) <= MAX_ID else None
    filters = {"persona": persona or "", "status": chosen_status or "", "format": chosen_format or "",
               "batch": batch_id or "", "sort": "oldest" if sort == "oldest" else "newest", "q": q or ""}  # fmt: skip
    with store.session() as session:
        posts, total, p = _queue_page(session, filters, p)
        counts = repo.status_counts(session, persona=persona or None)
        glances = repo.listing_glances(session, post_ids=[post.id for post in posts])
    response = page(
        request, "queue.html", user=user, posts=posts, counts=counts, filters=filters, total=total, page=p,
        pages=max(1, -(-total // PAGE_SIZE)), query=lambda n: place_query({**filters, "p": n}),
        by_status=lambda s: place_query({**filters, "status": s}),
        statuses=list(PostStatus), formats=list(ContentFormat), error=error, done=done,
        glances=glances, thumb=artifact_href, here="/?" + place_query({**filters, "p": p}),
    )  # fmt: skip
    remember(request, response, {**filters, "p": p})
    return response


def _queue_page(session: Session, filters: dict[str, Any], p: int) -> tuple[list[PostListing], int, int]:
    """The page asked for; past the end (its last posts were just decided), the last page instead."""
    for _ in range(2):
        posts, total = repo.queue_page(
            session, persona=filters["persona"] or None, status=filters["status"] or None,
            content_format=filters["format"] or None, batch_id=filters["batch"] or None,
            offset=(p - 1) * PAGE_SIZE, limit=PAGE_SIZE, oldest_first=filters["sort"] == "oldest",
            words=filters["q"] or None,
        )  # fmt: skip
        last = max(1, -(-total // PAGE_SIZE))
        if p <= last:
            break
        p = last
    return posts, total, p


@router.get("/posts/{post_id}", response_class=HTMLResponse)
def post_page(
    request: Request,
    post_id: PostId,
    user: Viewer,
    store: StoreDep,
    settings: SettingsDep,
    error: Annotated[str | None, Query(max_length=2000)] = None,
    done: Annotated[str | None, Query(max_length=300)] = None,
) -> HTMLResponse:
    with store.session() as session:
        post = _found(lambda: repo.get_post(session, post_id))
        references = repo.references(session, post_id=post_id)
        thread = comment_rows.thread(session, post_id=post_id)
        links = client_links.list_links(session, kind="post", target_id=post_id)
        previous, following = repo.review_neighbours(session, post_id=post_id)
        persona = _persona(settings, post.persona)
        slots = []
        if persona is not None and post.status == PostStatus.in_review:
            try:
                slots = free_slots(session, home=settings.home, persona_key=persona.key, count=8)
            except BeatdeskError:
                slots = []
    zone = persona.timezone if persona else "UTC"
    checks = sorted(post.checks, key=lambda check: CHECK_ORDER.get(check.level, 3))
    return page(request, "post.html", user=user, post=post, handle=persona.handle if persona else f"@{post.persona}",
                error=error, done=done, references=references, zone=zone, checks=checks,
                metrics=post_metrics(store, post),  # engagement per channel over time
                cards=channel_cards(persona, post) if persona else [], media=media_of(post), slots=slots,
                failing=failing_checks(post), previous=previous, following=following,
                channels=publishing(post, settings.home), versions=versions(post), provenance=provenance_of(post.draft),
                editing=edit_fields(post.draft) if post.draft else None, thread=thread, links=links)  # fmt: skip


@router.get("/batches/{batch_id}", response_class=HTMLResponse)
def batch_page(request: Request, batch_id: BatchId, user: Viewer, store: StoreDep) -> HTMLResponse:
    with store.session() as session:
        batch = _found(lambda: repo.get_batch_header(session, batch_id))
        posts = repo.batch_listings(session, batch_id=batch_id)
        cost = repo.batch_cost(session, batch_id=batch_id)
    return page(request, "batch.html", user=user, batch=batch, posts=posts, cost=cost)


@router.get("/personas/{key}", response_class=HTMLResponse)
def persona_page(
    request: Request, key: PersonaKey, user: Viewer, store: StoreDep, settings: SettingsDep
) -> HTMLResponse:
    try:
        persona = load_persona(settings.home, key)
    except BeatdeskError as err:
        raise HTTPException(status_code=404, detail=str(err)) from None
    with store.session() as session:
        daily = books.daily_costs(session, persona=persona.key, days=30, zone=persona.timezone)
        spend = books.persona_spend(session, persona=persona.key)
    titles = {beat.key: beat.title for beat in persona.beats}
    chart = cost_chart(daily, zone=persona.timezone, spent_ever=spend.total_usd > 0)
    engagement = persona_engagement(store, persona)
    return page(request, "persona.html", user=user, persona=persona, chart=chart, spend=spend, titles=titles,
                zone=persona.timezone, now=datetime.now(UTC), engagement=engagement)  # fmt: skip


@router.get("/artifacts/{path:path}")
def artifact(path: str, user: Viewer, settings: SettingsDep) -> FileResponse:
    root = (settings.home / "artifacts").resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(status_code=404, detail=f"no artifact {path}")
    return FileResponse(target)


def _found(read: Callable[[], T]) -> T:
    try:
        return read()
    except NotFoundError as err:
        raise HTTPException(status_code=404, detail=str(err)) from None


def _persona(settings: Settings, key: str) -> Persona | None:
    try:
        return load_persona(settings.home, key)
    except BeatdeskError:
        return None
