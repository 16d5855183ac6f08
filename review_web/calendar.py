"""The calendar: a persona's week or month of approved, scheduled and published posts and its free slots, in
the persona's zone; moving a post to a free slot and taking it off the calendar, as forms and in the JSON API.

The forms work without JavaScript (a select of the view's free slots); /static/calendar.js adds dragging a
post onto a free slot, which fills in and sends the same form."""

# No `from __future__ import annotations` here: FastAPI must see the dependency objects, not strings.
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from beatdesk.errors import BeatdeskError, NotFoundError
from beatdesk.models import ContentFormat, Persona, PostStatus
from beatdesk.personas import known_personas, load_persona
from beatdesk.rescheduling import (
    Placement,
    free_slots_between,
    local_label,
    move_post,
    next_free_slots,
    unschedule_post,
)
from beatdesk.review import parse_time
from beatdesk.settings import Settings
from beatdesk.slots import zone_of
from beatdesk.store import Store, calendar, repo
from beatdesk.undo import undo_token
from review_web.api import run
from review_web.calendar_grid import Day, Span, View, days_of, span
from review_web.decisions import safe_next
from review_web.deps import MAX_ID, ApiReader, ApiReviewer, PostId, Reviewer, SettingsDep, StoreDep, Viewer
from review_web.security import FORM_BODY
from review_web.views import link, page

PERSONA_PATTERN = r"^@?[A-Za-z][A-Za-z0-9_\-]{0,31}$"
FALLBACK_SLOTS = 12
"""Free slots offered when the view itself has none left (a past week): the next ones from now."""
MAX_API_DAYS = 62
TITLE_IN_MESSAGE = 120
"""A title quoted in a done line, at most: the line travels in the redirect's query (400 characters)."""
DayParam = Annotated[date, Query(ge=date(1970, 1, 1), le=date(9000, 12, 31), description="a day in the persona's zone")]
"""Far enough either way for any posting plan, and clear of date's own ends when a view is widened to whole weeks."""

router = APIRouter(max_body_size=FORM_BODY)
api_router = APIRouter(max_body_size=FORM_BODY)
FormPostId = Annotated[int, Form(ge=1, le=MAX_ID)]
Back = Annotated[str, Form(max_length=2000)]


@router.get("/calendar", response_class=HTMLResponse)
def calendar_page(
    request: Request,
    user: Viewer,
    store: StoreDep,
    settings: SettingsDep,
    persona: Annotated[str | None, Query(pattern=PERSONA_PATTERN)] = None,
    view: Literal["week", "month"] = "week",
    start: DayParam | None = None,
    move: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    error: Annotated[str | None, Query(max_length=2000)] = None,
    done: Annotated[str | None, Query(max_length=400)] = None,
) -> HTMLResponse:
    """GET /calendar?persona=KEY&view=week|month&start=YYYY-MM-DD (a day in the persona's zone; default today)."""
    keys = known_personas(settings.home)
    key = persona or (keys[0] if keys else None)
    chosen = _persona(settings, key) if key else None
    if chosen is None:
        return page(request, "calendar.html", user=user, persona=None, keys=keys, error=error, done=done)
    zone = zone_of(chosen)
    now = datetime.now(UTC)
    shown = span(view, start or now.astimezone(zone).date(), zone)
    sheet = _sheet(store, chosen, shown, move=move, now=now)
    abbrev = "/".join(dict.fromkeys(at.astimezone(zone).tzname() or "" for at in (shown.start, shown.end)))
    return page(
        request, "calendar.html", user=user, persona=chosen, keys=keys, shown=shown, view=view, error=error,
        done=done, sheet=sheet, zone=zone.key, abbrev=abbrev, picked=move, here=_url(chosen.key, view, shown.anchor),
        now=now,
        link=link, label=lambda at: local_label(at, zone),
        pick=lambda post_id: _url(chosen.key, view, shown.anchor, move=post_id) + "#moving",
        nav=lambda **kw: _nav(chosen.key, view, shown, move, **kw),
    )  # fmt: skip


@dataclass(frozen=True)
class Sheet:
    """What one view of the calendar shows, read in one session."""

    days: list[Day]
    options: list[datetime]
    """The free slots the move form offers: the view's own, or the next ones from now when it has none left."""
    options_in_view: bool
    movable: list[calendar.SlotPost]
    """The posts the move form offers: the view's approved ones, and one picked in another view."""


def _sheet(store: Store, persona: Persona, shown: Span, *, move: int | None, now: datetime) -> Sheet:
    with store.session() as session:
        posts = calendar.posts_between(session, persona=persona.key, start=shown.start, end=shown.end)
        free = free_slots_between(persona, start=shown.start, end=shown.end, taken=[p.slot_at for p in posts], now=now)
        options = free or next_free_slots(persona, taken=calendar.taken_from(session, persona=persona.key, start=now),
                                          count=FALLBACK_SLOTS)  # fmt: skip
        movable = [p for p in posts if p.movable]
        if move is not None and move not in {p.id for p in movable}:
            movable += _picked(session, move, persona.key)
    return Sheet(days=days_of(shown, posts=posts, free=free, now=now), options=options, options_in_view=bool(free),
                 movable=movable)  # fmt: skip


@router.post("/calendar/move")
def move_form(
    user: Reviewer, store: StoreDep, settings: SettingsDep, post_id: FormPostId,
    slot: Annotated[str, Form(max_length=64)] = "", back: Back = "/calendar",
) -> RedirectResponse:  # fmt: skip
    """Move the post to the picked slot; a refusal comes back on the calendar as one line."""

    offered: list[int | None] = []

    def act(store: Store) -> str:
        if not slot.strip():
            raise BeatdeskError("pick a free slot to move the post to")
        with store.session() as session:
            placed = move_post(session, post_id=post_id, home=settings.home, actor=user.name,
                               to=parse_time(slot, label="the slot"))  # fmt: skip
            offered.append(undo_token(session, post_id=post_id, actor=user.name))
        return f"Moved #{post_id} “{_title(store, post_id)}” to {_where(placed)}"

    return _decided(store, back, act, undo=offered)


@router.post("/calendar/unschedule")
def unschedule_form(
    user: Reviewer, store: StoreDep, settings: SettingsDep, post_id: FormPostId, back: Back = "/calendar"
) -> RedirectResponse:
    def act(store: Store) -> str:
        with store.session() as session:
            placed = unschedule_post(session, post_id=post_id, home=settings.home, actor=user.name)
        freed = local_label(placed.previous, placed.zone) if placed.previous else "its slot"
        return f"Took #{post_id} “{_title(store, post_id)}” off the calendar: back in review, {freed} is free"

    return _decided(store, back, act)


# --- the JSON API (mounted under /api with the other API routes, scoped the same way) -----------------------


class MoveBody(BaseModel):
    slot: datetime
    """The new slot (without a zone: the persona's local time); a future moment no other post holds."""


class PlacementOut(BaseModel):
    id: int
    status: PostStatus
    slot_at: datetime | None
    slot_local: str | None
    """The slot as the persona reads it, its zone named."""
    previous_slot_at: datetime | None
    timezone: str


class CalendarPost(BaseModel):
    id: int
    status: PostStatus
    content_format: ContentFormat
    title: str
    slot_at: datetime
    slot_local: str
    movable: bool
    links: dict[str, str | None] = Field(description="channel -> the published post's URL")


class CalendarOut(BaseModel):
    persona: str
    timezone: str
    start: datetime
    end: datetime
    posts: list[CalendarPost]
    free_slots: list[datetime]


@api_router.get("/calendar", response_model=CalendarOut)
def api_calendar(
    _: ApiReader,
    store: StoreDep,
    settings: SettingsDep,
    persona: Annotated[str, Query(pattern=PERSONA_PATTERN)],
    start: DayParam,
    days: Annotated[int, Query(ge=1, le=MAX_API_DAYS)] = 7,
) -> CalendarOut:
    """The persona's posts by slot and its free slots, over `days` days from `start` (a day in its zone)."""
    found = _persona(settings, persona)
    zone = zone_of(found)
    shown = Span("week", start, date.fromordinal(start.toordinal() + days - 1), zone, start)
    posts = run(store, lambda s: calendar.posts_between(s, persona=found.key, start=shown.start, end=shown.end))
    free = free_slots_between(found, start=shown.start, end=shown.end, taken=[p.slot_at for p in posts])
    return CalendarOut(
        persona=found.key, timezone=zone.key, start=shown.start, end=shown.end, free_slots=free,
        posts=[CalendarPost(id=p.id, status=p.status, content_format=p.content_format, title=p.title,
                            slot_at=p.slot_at, slot_local=local_label(p.slot_at, zone), movable=p.movable,
                            links={lk.channel: link(lk.url) for lk in p.links}) for p in posts if p.on_calendar],
    )  # fmt: skip


@api_router.post("/posts/{post_id}/move", response_model=PlacementOut)
def api_move(
    post_id: PostId, body: MoveBody, user: ApiReviewer, store: StoreDep, settings: SettingsDep
) -> PlacementOut:
    return _out(run(store, lambda s: move_post(s, post_id=post_id, home=settings.home, actor=user.name, to=body.slot)))


@api_router.post("/posts/{post_id}/unschedule", response_model=PlacementOut)
def api_unschedule(post_id: PostId, user: ApiReviewer, store: StoreDep, settings: SettingsDep) -> PlacementOut:
    return _out(run(store, lambda s: unschedule_post(s, post_id=post_id, home=settings.home, actor=user.name)))


# --- helpers ---------------------------------------------------------------------------------------------------


def _out(placed: Placement) -> PlacementOut:
    return PlacementOut(id=placed.post_id, status=placed.status, slot_at=placed.slot_at,
                        slot_local=local_label(placed.slot_at, placed.zone) if placed.slot_at else None,
                        previous_slot_at=placed.previous, timezone=placed.zone.key)  # fmt: skip


def _decided(
    store: Store, back: str, act: Callable[[Store], str], *, undo: Sequence[int | None] = ()
) -> RedirectResponse:
    """Run a calendar decision and go back to the calendar, told what was done or why not, in one line (with
    the Undo of what `act` put in `undo`)."""
    target = safe_next(back)
    try:
        said = {"done": act(store)}
        said |= {"undo": str(undo[0])} if undo and undo[0] else {}
    except NotFoundError as err:
        raise HTTPException(404, str(err)) from None
    except BeatdeskError as err:
        said = {"error": str(err)}
    return RedirectResponse(target + ("&" if "?" in target else "?") + urlencode(said), status_code=303)


def _persona(settings: Settings, key: str) -> Persona:
    """The persona, or 404 naming the known ones."""
    try:
        return load_persona(settings.home, key)
    except BeatdeskError as err:
        raise HTTPException(404, str(err)) from None


def _picked(session: Session, post_id: int, persona: str) -> list[calendar.SlotPost]:
    """The post picked for moving from another week or month, when it can be moved."""
    return [
        calendar.SlotPost(id=p.id, status=p.status, content_format=p.content_format, title=p.title, slot_at=p.slot_at)
        for p in repo.post_listings(session, post_ids=[post_id])
        if p.persona == persona and p.slot_at is not None and p.status is PostStatus.approved
    ]


def _title(store: Store, post_id: int) -> str:
    """The post's title, cut to fit the message the calendar is sent back with."""
    with store.session() as session:
        found = repo.post_listings(session, post_ids=[post_id])
    title = found[0].title if found else ""
    return title if len(title) <= TITLE_IN_MESSAGE else title[: TITLE_IN_MESSAGE - 1] + "…"


def _where(placed: Placement) -> str:
    return local_label(placed.slot_at, placed.zone) if placed.slot_at else "no slot"


def _url(persona: str, view: View, anchor: date, **extra: object) -> str:
    query = {"persona": persona, "view": view, "start": anchor.isoformat()} | {k: v for k, v in extra.items() if v}
    return "/calendar?" + urlencode(query)


def _nav(persona: str, view: View, shown: Span, move: int | None, *, to: str) -> str:
    """Links that keep the persona and a post picked for moving: previous, next, today, or the other view."""
    if to == "previous":
        return _url(persona, view, shown.previous, move=move)
    if to == "next":
        return _url(persona, view, shown.following, move=move)
    if to == "today":
        return _url(persona, view, datetime.now(UTC).astimezone(shown.zone).date(), move=move)
    if view == "week":  # the month holding most of the week: its Thursday's (as ISO weeks count)
        return _url(persona, "month", shown.anchor + timedelta(days=3), move=move)
    today = datetime.now(UTC).astimezone(shown.zone).date()
    within = (today.year, today.month) == (shown.anchor.year, shown.anchor.month)
    return _url(persona, "week", today if within else shown.anchor, move=move)
