"""The desk's evals page: drafting models and prompt versions ranked by how often reviewers accept their posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from beatdesk.evals import evals
from review_web.deps import StoreDep, Viewer
from review_web.views import page

router = APIRouter()


@router.get("/evals", response_class=HTMLResponse)
def evals_page(request: Request, user: Viewer, store: StoreDep, persona: str = "", days: int = 90) -> HTMLResponse:
    """GET /evals?persona=KEY&days=N (default: every persona, the last 90 days), for logged-in users."""
    since = datetime.now(UTC) - timedelta(days=max(1, min(days, 3650)))
    with store.session() as session:
        standings = evals(session, persona=persona or None, since=since)
    rows: list[dict[str, Any]] = [s.as_json() for s in standings]
    return page(request, "evals.html", user=user, rows=rows, persona=persona, days=days)
