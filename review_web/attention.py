"""The "Needs attention" page: failed posts, publications blocked, retrying or late, channels whose credentials
were refused; with Retry now, Skip this channel and Publish now, each one call into a service function."""

# No `from __future__ import annotations`: FastAPI reads these annotations at import time.
from collections import defaultdict
from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from beatdesk.errors import BeatdeskError, NotFoundError
from beatdesk.personas import load_persona
from beatdesk.settings import Settings
from beatdesk.store.attention import Trouble, attention_items
from publishers.attention import publish_now, retry_channel, skip_channel
from review_web.deps import MAX_ID, Reviewer, SettingsDep, StoreDep, Viewer
from review_web.security import FORM_BODY
from review_web.views import page

router = APIRouter(max_body_size=FORM_BODY)
FormPostId = Annotated[int, Form(ge=1, le=MAX_ID)]
ChannelName = Annotated[str, Form(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


@router.get("/attention", response_class=HTMLResponse)
def attention_page(
    request: Request,
    user: Viewer,
    store: StoreDep,
    settings: SettingsDep,
    error: Annotated[str | None, Query(max_length=2000)] = None,
    done: Annotated[str | None, Query(max_length=400)] = None,
) -> HTMLResponse:
    with store.session() as session:
        items = attention_items(session)
    zones = {key: _zone(settings, key) for key in {t.persona for t in items}}
    return page(request, "attention.html", user=user, error=error, done=done, zones=zones,
                failed=[t for t in items if t.kind == "failed"],
                publishing=[t for t in items if t.kind != "failed"],
                refused=_refused(items))  # fmt: skip


@router.post("/attention/retry")
def retry(
    user: Reviewer,
    store: StoreDep,
    settings: SettingsDep,
    post_id: FormPostId,
    channel: Annotated[str | None, Form(pattern=r"^[a-z][a-z0-9_]{0,31}$")] = None,
) -> RedirectResponse:
    """A channel queued again; without a channel, a failed post drafted or rendered again."""
    if channel is None:
        from workers.graph import retry_failed

        return _acted(lambda: retry_failed(settings, post_id=post_id, actor=user.name))

    return _acted(lambda: retry_channel(store, post_id=post_id, channel=channel, actor=user.name, home=settings.home))


@router.post("/attention/skip")
def skip(
    user: Reviewer, store: StoreDep, settings: SettingsDep, post_id: FormPostId, channel: ChannelName
) -> RedirectResponse:
    return _acted(lambda: skip_channel(store, post_id=post_id, channel=channel, actor=user.name, home=settings.home))


@router.post("/attention/publish")
def publish(user: Reviewer, store: StoreDep, settings: SettingsDep, post_id: FormPostId) -> RedirectResponse:
    return _acted(lambda: publish_now(store, post_id=post_id, home=settings.home, actor=user.name))


def _acted(act: Callable[[], str]) -> RedirectResponse:
    """Run an action and come back to the page, told what was done or why not, in one line."""
    try:
        said = {"done": act()}
    except NotFoundError as err:
        raise HTTPException(404, str(err)) from None
    except BeatdeskError as err:
        said = {"error": str(err)}
    return RedirectResponse("/attention?" + urlencode(said), status_code=303)


def _zone(settings: Settings, key: str) -> str:
    """The persona's zone, to show slots as it reads them; UTC when its file no longer loads."""
    try:
        return load_persona(settings.home, key).timezone
    except BeatdeskError:
        return "UTC"


def _refused(items: list[Trouble]) -> list[tuple[str, str, list[int]]]:
    """(persona, channel, post ids) for each channel that refused its credentials."""
    found: dict[tuple[str, str], list[int]] = defaultdict(list)
    for item in items:
        if item.credentials_refused and item.channel:
            found[(item.persona, item.channel)].append(item.post_id)
    return [(persona, channel, posts) for (persona, channel), posts in sorted(found.items())]
