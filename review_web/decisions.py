"""The forms that decide on posts: approve, reject, edit (with its live preview), send back, and in bulk.

Every handler takes `Reviewer`: logged in, the form's CSRF token checked, the review scope held."""

from collections.abc import Callable, Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import Field
from sqlalchemy.orm import Session

from beatdesk.enums import REJECT_REASONS
from beatdesk.errors import BeatdeskError, InvalidTransitionError, NotFoundError
from beatdesk.models import Check
from beatdesk.personas import load_persona
from beatdesk.review import approve, parse_time, reject, reopen
from beatdesk.store import Store, repo
from beatdesk.undo import undo_decision, undo_token
from drafter.edit import edit_draft
from publishers.versions import ChannelEdit
from review_web.deps import MAX_ID, PostId, Reviewer, SettingsDep, StoreDep
from review_web.editing import cards_json, channel_previewed, form_changes, previewed
from review_web.previews import in_zone
from review_web.security import FORM_BODY
from workers import editing as post_editing

router = APIRouter(max_body_size=FORM_BODY)
FormText = Annotated[str, Form(max_length=20_000)]
"""A field of a desk form: a post's body at most."""
ChannelKey = Annotated[str, PathParam(max_length=32, pattern=r"^[a-z]+$")]
"""A channel's name in a path."""
NOTHING_TICKED = "Nothing selected: tick the posts first (x on a row), then approve or reject them"


def decide(
    store: Store,
    post_id: int,
    action: Callable[[Session], Any],
    *,
    said: Callable[[Session], str] | None = None,
    actor: str | None = None,
    stay: bool = False,
) -> RedirectResponse:
    """Run a decision; a refusal comes back on the post's page as one line. With `said`, the reviewer goes
    straight on to the next post in review (back to this one with `stay`), told what was done (and offered its
    Undo when `actor` is given)."""
    try:
        with store.session() as session:
            repo.batch_id_of(session, post_id)  # a missing post is said as such, before anything is tried
            action(session)
        if said is None:
            return RedirectResponse(f"/posts/{post_id}", status_code=303)
        if stay:
            with store.session() as session:
                return RedirectResponse(f"/posts/{post_id}?{urlencode({'done': said(session)})}", status_code=303)
        with store.session() as session:
            message = said(session)
            following = repo.next_in_review(session, post_id=post_id)
            token = undo_token(session, post_id=post_id, actor=actor) if actor else None
    except NotFoundError as err:
        raise HTTPException(404, str(err)) from None
    except InvalidTransitionError as err:  # decided by someone else first (or a stale page): nothing was changed
        raise HTTPException(409, str(err)) from None
    except BeatdeskError as err:
        return RedirectResponse(f"/posts/{post_id}?{urlencode({'error': str(err)})}", status_code=303)
    undo = {"undo": str(token)} if token else {}
    if following is None:
        return RedirectResponse("/?" + urlencode({"done": message + " · nothing else is waiting for review"} | undo),
                                303)  # fmt: skip
    return RedirectResponse(f"/posts/{following}?{urlencode({'done': message} | undo)}", status_code=303)


@router.post("/posts/{post_id}/approve")
def approve_post(
    post_id: PostId,
    user: Reviewer,
    store: StoreDep,
    settings: SettingsDep,
    at: Annotated[str, Form(max_length=64)] = "",
    slot: Annotated[str, Form(max_length=64)] = "",
    override: FormText = "",
) -> RedirectResponse:
    """Into the typed time, else the picked slot, else the next free one; failing checks need `override`."""

    def act(session: Session) -> None:  # a bad time is refused on the page, like any other decision
        chosen = at.strip() or slot.strip()
        when = parse_time(chosen, label="the time") if chosen else None
        approve(session, post_id=post_id, home=settings.home, actor=user.name, at=when, override=override,
                require_override=True)  # fmt: skip

    def said(session: Session) -> str:
        post = repo.get_post(session, post_id, with_history=False)
        zone = load_persona(settings.home, post.persona).timezone
        return f"Approved #{post_id} “{post.title}” for {in_zone(post.slot_at, zone)}"

    return decide(store, post_id, act, said=said, actor=user.name)


@router.post("/posts/{post_id}/reject")
def reject_post(
    post_id: PostId, user: Reviewer, store: StoreDep, reason: FormText = "", code: FormText = ""
) -> RedirectResponse:
    return decide(
        store,
        post_id,
        lambda session: reject(session, post_id=post_id, actor=user.name, reason=reason, code=code or None),
        said=lambda _s: f"Rejected #{post_id}: {reason.strip() or REJECT_REASONS.get(code, code)}",
        actor=user.name,
    )


@router.post("/posts/{post_id}/reopen")
def reopen_post(post_id: PostId, user: Reviewer, store: StoreDep) -> RedirectResponse:
    """A rejected post back in review, on its page."""
    return decide(store, post_id, lambda session: reopen(session, post_id=post_id, actor=user.name))


@router.post("/posts/{post_id}/edit")
def edit_post(
    post_id: PostId,
    user: Reviewer,
    store: StoreDep,
    settings: SettingsDep,
    title: FormText,
    caption: FormText,
    hashtags: FormText,
    body: FormText = "",
    alt_text: FormText = "",
) -> RedirectResponse:
    """The caption is saved ending on the hashtags field's tags: they are edited in one place. Back on the post,
    a notice says what was saved and which checks the edit made fail or pass."""
    changes = form_changes(title=title, caption=caption, hashtags=hashtags, body=body, alt_text=alt_text)
    before: list[Check] = []
    changed: list[str] = []

    def act(session: Session) -> None:
        before.extend(repo.get_post(session, post_id, with_history=False).checks)
        changed.extend(edit_draft(session, post_id=post_id, home=settings.home, actor=user.name, changes=changes))

    def said(session: Session) -> str:
        return saved_notice(changed, before, repo.get_post(session, post_id, with_history=False).checks)

    return decide(store, post_id, act, said=said, stay=True)


@router.post("/posts/{post_id}/channels/{channel}")
def edit_channel(
    post_id: PostId,
    channel: ChannelKey,
    user: Reviewer,
    store: StoreDep,
    settings: SettingsDep,
    text: FormText = "",
    first_comment: FormText = "",
    reset: Annotated[str, Form(max_length=8)] = "",
) -> RedirectResponse:
    """One channel's own text (the generated one again with `reset`, or when it is the same) and first comment;
    back on the post, a notice says whether it was saved and which checks it made fail or pass."""
    edits = {channel: ChannelEdit(text="" if reset else text, first_comment=first_comment)}
    before: list[Check] = []
    changed: list[str] = []

    def act(session: Session) -> None:
        before.extend(repo.get_post(session, post_id, with_history=False).checks)
        done = post_editing.edit_post(session, post_id=post_id, home=settings.home, actor=user.name, fields={},
                                      channels=edits)  # fmt: skip
        changed.extend([channel] if done.channels else [])

    def said(session: Session) -> str:
        return saved_notice(changed, before, repo.get_post(session, post_id, with_history=False).checks)

    return decide(store, post_id, act, said=said, stay=True)


@router.post("/posts/{post_id}/channels/{channel}/preview")
def preview_channel(
    post_id: PostId,
    channel: ChannelKey,
    _: Reviewer,
    store: StoreDep,
    settings: SettingsDep,
    text: FormText = "",
    first_comment: FormText = "",
) -> JSONResponse:
    """The channel's card with this text and first comment, nothing saved: the channel editor's live counter."""
    try:
        with store.session() as session:
            post = repo.get_post(session, post_id, with_history=False)
        persona = load_persona(settings.home, post.persona)
        card = channel_previewed(persona, post, channel, text=text, first_comment=first_comment)
    except NotFoundError as err:
        raise HTTPException(404, str(err)) from None
    except BeatdeskError as err:
        return JSONResponse({"detail": str(err)}, status_code=422)
    return JSONResponse({"cards": cards_json([card])})


@router.post("/posts/{post_id}/preview")
def preview_edit(
    post_id: PostId,
    _: Reviewer,
    store: StoreDep,
    settings: SettingsDep,
    title: FormText = "",
    caption: FormText = "",
    hashtags: FormText = "",
    body: FormText = "",
) -> JSONResponse:
    """The channel cards an edit would give, nothing saved: the editor's live counters and previews.
    A POST with the form's CSRF token, so the text never lands in a URL or a log."""
    changes = form_changes(title=title, caption=caption, hashtags=hashtags, body=body)
    try:
        with store.session() as session:
            post = repo.get_post(session, post_id, with_history=False)
        cards = previewed(load_persona(settings.home, post.persona), post, changes)
    except NotFoundError as err:
        raise HTTPException(404, str(err)) from None
    except BeatdeskError as err:
        return JSONResponse({"detail": str(err)}, status_code=422)
    return JSONResponse({"cards": cards_json(cards)})


@router.post("/posts/{post_id}/redraft")
def redraft_post(
    post_id: PostId, user: Reviewer, store: StoreDep, settings: SettingsDep, note: FormText = ""
) -> RedirectResponse:
    from workers.graph import redraft

    return decide(
        store, post_id, lambda _s: redraft(settings, post_id=post_id, note=note.strip() or None, actor=user.name)
    )


@router.post("/posts/{post_id}/rerender")
def rerender_post(
    post_id: PostId, user: Reviewer, store: StoreDep, settings: SettingsDep, note: FormText = ""
) -> RedirectResponse:
    from workers.graph import rerender

    return decide(
        store,
        post_id,
        lambda _s: rerender(settings, post_id=post_id, note=note.strip() or None, actor=user.name, image_model=None),
    )


@router.post("/bulk/approve")
def bulk_approve(
    user: Reviewer,
    store: StoreDep,
    settings: SettingsDep,
    post_ids: Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Form(max_length=500, default_factory=list)],
    reason: FormText = "",
    back: Annotated[str, Form(max_length=2000)] = "/",
) -> RedirectResponse:
    """Approve the ticked posts, each into its persona's next free slot; a post whose checks fail needs
    `reason` (kept in its audit log). Refusals are listed by post id, not fatal."""
    if not post_ids:
        return _back(back, [NOTHING_TICKED])
    refused, tokens, approved = [], [], []
    for post_id in post_ids:
        try:
            with store.session() as session:
                approve(session, post_id=post_id, home=settings.home, actor=user.name, override=reason,
                        require_override=True)  # fmt: skip
                tokens.append(undo_token(session, post_id=post_id, actor=user.name))
                approved.append(post_id)
        except BeatdeskError as err:
            refused.append(str(err))
    done = f"Approved {_posts(approved)}" if approved else None
    return _back(back, refused, done=done, undo=tokens)


@router.post("/bulk/reject")
def bulk_reject(
    user: Reviewer,
    store: StoreDep,
    post_ids: Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Form(max_length=500, default_factory=list)],
    reason: FormText = "",
    back: Annotated[str, Form(max_length=2000)] = "/",
) -> RedirectResponse:
    """Reject the ticked posts with one reason; refusals are listed, not fatal."""
    if not post_ids:
        return _back(back, [NOTHING_TICKED])
    refused, tokens, rejected = [], [], []
    for post_id in post_ids:
        try:
            with store.session() as session:
                reject(session, post_id=post_id, actor=user.name, reason=reason)
                tokens.append(undo_token(session, post_id=post_id, actor=user.name))
                rejected.append(post_id)
        except BeatdeskError as err:
            refused.append(str(err))
            if not reason.strip():
                break  # the same refusal for every post: say it once
    done = f"Rejected {_posts(rejected)}" if rejected else None
    return _back(back, refused, done=done, undo=tokens)


@router.post("/undo")
def undo(
    user: Reviewer,
    store: StoreDep,
    events: Annotated[str, Form(max_length=6000, pattern=r"^\d{1,10}(,\d{1,10})*$")],
    back: Annotated[str, Form(max_length=2000)] = "/",
) -> RedirectResponse:
    """Undo the decisions the notice offered (each its own transaction); a refusal is said in one line."""
    undone, refused, posts = [], [], set()
    for event_id in dict.fromkeys(int(each) for each in events.split(",")):
        try:
            with store.session() as session:
                undone.append(undo_decision(session, event_id=event_id, actor=user.name))
                found = repo.get_event(session, event_id)
                posts.add(found[0] if found else 0)
        except BeatdeskError as err:
            refused.append(str(err))
    if len(undone) > 1:
        undone = [f"Undid {len(undone)} decisions"]
    if len(posts) == 1 and not refused:  # one post: to its page, where its status shows what the undo did
        back = f"/posts/{posts.pop()}"
    return _back(back, refused, done="; ".join(undone) or None)


def _posts(post_ids: Sequence[int]) -> str:
    """Which posts a bulk action acted on: "post #3" or "2 posts: #3, #2" (past a dozen, how many more)."""
    ids = ", ".join(f"#{post_id}" for post_id in post_ids[:12])
    ids += f" and {len(post_ids) - 12} more" if len(post_ids) > 12 else ""
    return f"post {ids}" if len(post_ids) == 1 else f"{len(post_ids)} posts: {ids}"


def saved_notice(changed: Sequence[str], before: Sequence[Check], after: Sequence[Check]) -> str:
    """What an edit saved and the checks it changed: those it made fail, those it made pass."""
    if not changed:
        return "Nothing to save: the text is as it was"
    failing_before = {check.name for check in before if check.level == "fail"}
    failing_after = {check.name for check in after if check.level == "fail"}
    said = f"Saved {', '.join(changed)}"
    if failing_after - failing_before:
        said += f" · now failing: {', '.join(sorted(failing_after - failing_before))}"
    if failing_before - failing_after:
        said += f" · now passing: {', '.join(sorted(failing_before - failing_after))}"
    return said if failing_after ^ failing_before else said + " · the checks are as they were"


def _back(
    back: str, refused: list[str], *, done: str | None = None, undo: Sequence[int | None] = ()
) -> RedirectResponse:
    target = safe_next(back)
    offered = ",".join(str(token) for token in undo if token)
    said = ({"error": "; ".join(refused)} if refused else {}) | ({"done": done} if done else {})
    said |= {"undo": offered} if offered else {}
    if said:
        target += ("&" if "?" in target else "?") + urlencode(said)
    return RedirectResponse(target, status_code=303)


def safe_next(target: str) -> str:
    """Only paths on this site: never an open redirect."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"
