"""What admins manage on the desk: users (add, disable), API tokens (list, revoke) and persona files."""

from importlib import resources
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from beatdesk.errors import BeatdeskError
from beatdesk.models import Persona
from beatdesk.personas import known_personas, load_persona, normalise_key, personas_dir, save_persona_text
from beatdesk.users import add_user, disable_user, list_tokens, list_users, revoke_token
from review_web.deps import MAX_ID, Admin, AdminViewer, PersonaKey, SettingsDep, StoreDep
from review_web.security import FORM_BODY, PERSONA_BODY
from review_web.views import page

router = APIRouter(prefix="/admin", max_body_size=FORM_BODY)


def _back(path: str, error: str | None = None) -> RedirectResponse:
    return RedirectResponse(path + ("?" + urlencode({"error": error}) if error else ""), status_code=303)


@router.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request, user: AdminViewer, store: StoreDep, error: Annotated[str | None, Query(max_length=2000)] = None
) -> HTMLResponse:
    with store.session() as session:
        people = list_users(session)
        tokens = list_tokens(session)
    return page(request, "users.html", user=user, people=people, tokens=tokens, error=error)


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
    try:
        with store.session() as session:
            add_user(session, name=name.strip(), role=role, password=password)  # type: ignore[arg-type]
    except BeatdeskError as err:
        return _back("/admin/users", str(err))
    return _back("/admin/users")


@router.post("/users/{name}/disable")
def users_disable(user: Admin, store: StoreDep, name: Annotated[str, Path(max_length=64)]) -> RedirectResponse:
    """No more logins for the user; their sessions and tokens stop working at once."""
    if name == user.name:
        return _back("/admin/users", "you cannot disable yourself; ask another admin")
    try:
        with store.session() as session:
            disable_user(session, name=name)
    except BeatdeskError as err:
        return _back("/admin/users", str(err))
    return _back("/admin/users")


@router.post("/tokens/{token_id}/revoke")
def tokens_revoke(user: Admin, store: StoreDep, token_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> RedirectResponse:
    try:
        with store.session() as session:
            revoke_token(session, token_id=token_id)
    except BeatdeskError as err:
        return _back("/admin/users", str(err))
    return _back("/admin/users")


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
