"""Reviewers make and revoke client links from a post's page; the new link is shown once, in the notice."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse

from beatdesk import client_links
from beatdesk.errors import BeatdeskError, NotFoundError
from beatdesk.users import parse_lifetime
from review_web.deps import MAX_ID, PostId, Reviewer, SettingsDep, StoreDep
from review_web.security import FORM_BODY

router = APIRouter(max_body_size=FORM_BODY)
LinkId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="a client link's id")]


@router.post("/posts/{post_id}/links")
def share_post(
    post_id: PostId,
    user: Reviewer,
    store: StoreDep,
    settings: SettingsDep,
    label: Annotated[str, Form(max_length=64)] = "",
    expires: Annotated[str, Form(max_length=16)] = "7d",
) -> RedirectResponse:
    try:
        with store.session() as session:
            link, token = client_links.create(session, kind="post", target_id=post_id, label=label.strip(),
                                              actor=user.name, lifetime=parse_lifetime(expires))  # fmt: skip
        said = {"done": f"Link {link.id} for {link.label} (shown once): {settings.desk_url}/c/{token}"}
    except NotFoundError as err:
        raise HTTPException(404, str(err)) from None
    except BeatdeskError as err:
        said = {"error": str(err)}
    return RedirectResponse(f"/posts/{post_id}?{urlencode(said)}#sharing", status_code=303)


@router.post("/posts/{post_id}/links/{link_id}/revoke")
def revoke_link(post_id: PostId, link_id: LinkId, user: Reviewer, store: StoreDep) -> RedirectResponse:
    try:
        with store.session() as session:
            link = client_links.revoke(session, link_id=link_id, actor=user.name)
    except NotFoundError as err:
        raise HTTPException(404, str(err)) from None
    said = {"done": f"Link {link.id} for {link.label} is revoked"}
    return RedirectResponse(f"/posts/{post_id}?{urlencode(said)}#sharing", status_code=303)
