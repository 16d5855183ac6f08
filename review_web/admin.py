"""What admins manage on the desk: users (add, disable, enable, remove, reset a password), API tokens (list,
revoke) and persona files. Every form is `Admin`: logged in, CSRF-checked, admin scope; reviewers get 403.
The rules (nobody removes themselves or the last admin) live in `beatdesk.users`, shared with the CLI."""

from collections.abc import Callable
from importlib import resources
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from beatdesk.errors import BeatdeskError
from beatdesk.models import Persona
from beatdesk.personas import known_personas, load_persona, normalise_key, personas_dir, save_persona_text
from beatdesk.store import Store
from beatdesk.users import (
    User,
    add_user,
    disable_user,
    enable_user,
    list_people,
    list_tokens,
    remove_user,
    reset_password,
    revoke_token,
    user_events,
)
from review_web.deps import MAX_ID, Admin, AdminViewer, PersonaKey, SettingsDep, StoreDep, admin_only
from review_web.security import FORM_BODY, PERSONA_BODY
from review_web.views import page

router = APIRouter(prefix="/admin", max_body_size=FORM_BODY, dependencies=[admin_only])
"""Every route here, present and future, is for an admin with the admin scope, whatever its own parameters ask."""
UserName = Annotated[str, Path(max_length=64)]


def _back(path: str, error: str | None = None) -> RedirectResponse:
    return RedirectResponse(path + ("?" + urlencode({"error": error}) if error else ""), status_code=303)


@router.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    user: AdminViewer,
    store: StoreDep,
    error: Annotated[str | None, Query(max_length=2000)] = None,
    done: Annotated[str | None, Query(max_length=300)] = None,
) -> HTMLResponse:
    return _users_page(request, user, store, error=error, done=done)


def _users_page(
    request: Request,
    user: User,
    store: Store,
    *,
    error: str | None = None,
    done: str | None = None,
    made: str | None = None,
    made_for: str | None = None,
) -> HTMLResponse:
    with store.session() as session:
        people = list_people(session)
        tokens = list_tokens(session)
        events = user_events(session, limit=30)
    response = page(request, "users.html", user=user, people=people, tokens=tokens, events=events, error=error,
                    done=done, made=made, made_for=made_for)  # fmt: skip
    response.headers["Cache-Control"] = "no-store"  # a generated password is on it once, never in a cache
    return response


def _act(store: Store, action: Callable[..., object], done: str, **values: object) -> RedirectResponse:
    """Run one admin action; a refusal comes back on the users page as one line."""
    try:
        with store.session() as session:
            action(session, **values)
    except BeatdeskError as err:
        return _back("/admin/users", str(err))
    return RedirectResponse("/admin/users?" + urlencode({"done": done}), status_code=303)


@router.post("/users")
def users_add(
    user: Admin,
    store: StoreDep,
    name: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=16)],
    password: Annotated[str, Form(max_length=1024)],
) -> RedirectResponse:
    if role not in ("reviewer", "admin"):
        return _back("/admin/users", f"unknown role {role!r}")
    return _act(store, add_user, f"{name.strip()} added as {role}", name=name.strip(), role=role, password=password,
                actor=user.name)  # fmt: skip


@router.post("/users/{name}/disable")
def users_disable(user: Admin, store: StoreDep, name: UserName) -> RedirectResponse:
    """No more logins for the user; their sessions and tokens stop working at once."""
    return _act(store, disable_user, f"{name} disabled: sessions ended, tokens stopped", name=name, actor=user.name)


@router.post("/users/{name}/enable")
def users_enable(user: Admin, store: StoreDep, name: UserName) -> RedirectResponse:
    return _act(store, enable_user, f"{name} enabled", name=name, actor=user.name)


@router.post("/users/{name}/remove")
def users_remove(
    user: Admin, store: StoreDep, name: UserName, confirm: Annotated[str, Form(max_length=64)] = ""
) -> RedirectResponse:
    """Gone at once (sessions ended, tokens revoked); kept on record, so the audit log still names them."""
    if confirm != name:
        return _back("/admin/users", f"to remove {name}, type their name in the box beside Remove")
    return _act(store, remove_user, f"{name} removed: sessions ended, tokens revoked", name=name, actor=user.name)


@router.post("/users/{name}/password", response_class=HTMLResponse, response_model=None)
def users_password(
    request: Request,
    user: Admin,
    store: StoreDep,
    name: UserName,
    password: Annotated[str, Form(max_length=1024)] = "",
) -> HTMLResponse | RedirectResponse:
    """The typed password, or a generated one shown on this answer only (never in a URL); sessions end."""
    try:
        with store.session() as session:
            made = reset_password(session, name=name, password=password or None, actor=user.name)
    except BeatdeskError as err:
        return _back("/admin/users", str(err))
    if made is None:
        return RedirectResponse("/admin/users?" + urlencode({"done": f"password of {name} set; sessions ended"}), 303)
    return _users_page(request, user, store, done=f"password of {name} reset; sessions ended", made_for=name,
                       made=made)  # fmt: skip


@router.post("/tokens/{token_id}/revoke")
def tokens_revoke(user: Admin, store: StoreDep, token_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> RedirectResponse:
    return _act(store, revoke_token, f"token {token_id} revoked", token_id=token_id, actor=user.name)


@router.get("/personas", response_class=HTMLResponse)
def personas_page(
    request: Request,
    user: AdminViewer,
    settings: SettingsDep,
    error: Annotated[str | None, Query(max_length=2000)] = None,
    saved: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    rows: list[tuple[str, Persona | None, str | None]] = []
    for key in known_personas(settings.home):
        try:
            rows.append((key, load_persona(settings.home, key), None))
        except BeatdeskError as err:  # a file broken by hand is listed with its error, to be fixed here
            rows.append((key, None, str(err)))
    return page(request, "personas.html", user=user, rows=rows, error=error, saved=saved)


@router.get("/personas/{key}", response_class=HTMLResponse)
def persona_edit_page(request: Request, key: PersonaKey, user: AdminViewer, settings: SettingsDep) -> HTMLResponse:
    try:
        path = personas_dir(settings.home) / f"{normalise_key(key)}.toml"
    except BeatdeskError as err:
        raise HTTPException(status_code=404, detail=str(err)) from None
    if key != "new" and not path.is_file():
        raise HTTPException(status_code=404, detail=f"no persona {key!r}")
    example = resources.files("beatdesk") / "example" / "ash.toml"
    text = (path if key != "new" else example).read_text(encoding="utf-8")
    return page(request, "persona_edit.html", user=user, key=key, text=text, error=None)


@router.post("/personas/{key}", response_class=HTMLResponse, response_model=None, max_body_size=PERSONA_BODY)
def persona_save(
    request: Request,
    key: PersonaKey,
    user: Admin,
    settings: SettingsDep,
    text: Annotated[str, Form(max_length=PERSONA_BODY)],
    new_key: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse | RedirectResponse:
    target = new_key.strip() if key == "new" else key
    error: str | None
    try:
        exists = key == "new" and (personas_dir(settings.home) / f"{normalise_key(target)}.toml").exists()
        if exists:
            error = f"persona {target!r} exists already: edit it instead"
        else:
            saved = save_persona_text(settings.home, target, text.replace("\r\n", "\n"))
            return RedirectResponse(f"/admin/personas?saved={saved.key}", status_code=303)
    except BeatdeskError as err:
        error = str(err)
    # Nothing was written: the form comes back with the text as typed and what to fix.
    return page(request, "persona_edit.html", user=user, key=key, text=text, error=error, new_key=new_key,
                status_code=422)  # fmt: skip
