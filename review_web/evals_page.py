"""The desk's evals page: drafting models and prompt versions ranked by how often reviewers accept their posts."""

# No `from __future__ import annotations` here: FastAPI reads the route's parameter types at definition time,
# and the viewer dependency is a closure variable that a string annotation could not reach.

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse

from beatdesk.evals import evals
from beatdesk.store import Store
from beatdesk.users import User


def add_evals_page(
    app: FastAPI, *, store: Store, page: Callable[..., HTMLResponse], viewer: Callable[[Request], User]
) -> None:
    """GET /evals?persona=KEY&days=N (default: every persona, the last 90 days), for logged-in users."""

    @app.get("/evals", response_class=HTMLResponse)
    def evals_page(
        request: Request, user: Annotated[User, Depends(viewer)], persona: str = "", days: int = 90
    ) -> HTMLResponse:
        since = datetime.now(UTC) - timedelta(days=max(1, min(days, 3650)))
        with store.session() as session:
            standings = evals(session, persona=persona or None, since=since)
        rows: list[dict[str, Any]] = [s.as_json() for s in standings]
        return page(request, "evals.html", user=user, rows=rows, persona=persona, days=days)
