"""The queue keeps its place: the filters and page a reviewer last looked at, so that coming back to the queue
(after the last decision on a post page, or from the header's link) lands on the same page and filters.

Kept in a cookie of the desk's own (HttpOnly, SameSite=Lax, this session's length): nothing is stored server-side
and the place survives going from post to post. A bare `/` (or one carrying only a message) goes back there;
any filter or page in the URL is taken as asked, and becomes the new place."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from review_web.auth import SESSION_LIFETIME, set_cookie

PLACE_COOKIE = "beatdesk_queue"
PLACE_KEYS = {"q": 200, "persona": 64, "status": 32, "format": 32, "batch": 32, "sort": 16, "p": 7}
"""The queue's parameters and their longest values (the route's own limits; a page number in digits)."""
MESSAGES = ("done", "error", "undo")
"""What a decision's redirect carries to the queue: a message (and its Undo), not a place."""


def back_to_place(request: Request) -> RedirectResponse | None:
    """To the remembered place, with the request's message, when the queue was asked for without one."""
    if any(key not in MESSAGES for key in request.query_params):
        return None
    place = remembered(request)
    if not place:
        return None
    messages = [(key, value) for key, value in request.query_params.multi_items() if key in MESSAGES]
    return RedirectResponse("/?" + urlencode(place + messages), status_code=303)


def remembered(request: Request) -> list[tuple[str, str]]:
    """The cookie's filters, only those the route would take, so a cookie edited by hand can never make `/` fail."""
    saved = request.cookies.get(PLACE_COOKIE, "")
    return [(key, value) for key, value in parse_qsl(saved)[:10]
            if key in PLACE_KEYS and 0 < len(value) <= PLACE_KEYS[key] and (key != "p" or value.isdigit())]  # fmt: skip


def place_query(place: dict[str, object]) -> str:
    """A queue URL's query with only what differs from the unfiltered first page, newest first."""
    return urlencode({key: str(value) for key, value in place.items() if value not in ("", None, "newest", 1)})


def remember(request: Request, response: Response, place: dict[str, object]) -> None:
    """This queue page is the place to come back to (an unfiltered first page forgets any other)."""
    set_cookie(request, response, PLACE_COOKIE, place_query(place), max_age=int(SESSION_LIFETIME.total_seconds()))
