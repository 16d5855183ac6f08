"""Rendering pages: the Jinja2 environment (autoescaped), its filters, and the one `page` call every route uses."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from beatdesk.comments import pieces as comment_pieces
from beatdesk.models import REJECT_REASONS
from beatdesk.prices import format_usd
from beatdesk.store import Store
from beatdesk.store.attention import attention_count
from review_web.auth import form_token, give_anon_cookie
from review_web.previews import in_zone

TEMPLATES = Path(__file__).parent / "templates"
LINK_SCHEMES = frozenset({"http", "https"})


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


def link(url: str | None) -> str | None:
    """A URL from data, fit for an href only when its scheme is http or https (never `javascript:`, `data:`…)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in LINK_SCHEMES and parts.netloc else None


def isolated(text: object) -> Markup:
    """User or model text shown inline, escaped and in <bdi>: a right-to-left override (U+202E) or a
    right-to-left title reorders nothing of the row around it. Blocks of such text carry dir="auto"."""
    return Markup("<bdi>%s</bdi>") % text if text not in (None, "") else Markup("")


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))  # autoescape is on for .html
    templates.env.filters["bdi"] = isolated
    templates.env.filters["usd"] = format_usd
    templates.env.filters["ago"] = relative_time
    templates.env.filters["link"] = link
    templates.env.globals["reject_reasons"] = REJECT_REASONS
    templates.env.filters["in_zone"] = in_zone
    templates.env.filters["mention_pieces"] = comment_pieces
    return templates


UNDO_IDS = re.compile(r"^\d{1,10}(,\d{1,10})*$")


def undo_ids(request: Request) -> str | None:
    """The decisions a redirect offers to undo (`?undo=12,13`): the ids of their audit entries, checked again
    when the Undo form comes back."""
    found = request.query_params.get("undo", "")
    return found if UNDO_IDS.match(found) else None


def _attention(request: Request) -> int:
    """The header's count of what needs attention: one COUNT, on every page a person is logged in for."""
    store: Store = request.app.state.store
    with store.session() as session:
        return attention_count(session)


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page, with the CSRF token its forms carry (bound to this session or visitor), the Undo notice of a
    decision just made, and the header's count of what needs attention."""
    templates: Jinja2Templates = request.app.state.templates
    context.setdefault("user", None)
    context.setdefault("undo", undo_ids(request))
    if context["user"] is not None:
        context.setdefault("attention", _attention(request))
    response = templates.TemplateResponse(request, name, {"csrftoken": form_token(request), **context},
                                          status_code=status_code)  # fmt: skip
    give_anon_cookie(request, response)
    return response
