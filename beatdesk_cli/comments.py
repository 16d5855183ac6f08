"""`post comment`, `post comments`, `post resolve-comment`: a post's thread from the terminal."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from beatdesk.errors import BeatdeskError
from beatdesk.models import Comment
from beatdesk.personas import load_persona
from beatdesk.rescheduling import local_label
from beatdesk.settings import Settings
from beatdesk.store import Store, repo
from beatdesk.store import comments as comment_rows
from beatdesk_cli.show import print_json
from beatdesk_cli.terminal import TerminalConsole


def print_thread(console: TerminalConsole, store: Store, settings: Settings, post_id: int, *, as_json: bool) -> None:
    with store.session() as session:
        post = repo.get_post(session, post_id, with_history=False)  # a missing post is one line
        thread = comment_rows.thread(session, post_id=post_id)
    zone = _zone(settings, post.persona)
    if as_json:
        print_json([as_json_in(comment, zone) for comment in thread])
        return
    if not thread:
        console.print(f"post {post_id} has no comments yet; add one with `beatdesk post comment {post_id} TEXT`")
        return
    for comment in thread:
        print_comment(console, comment, zone)


def show_comment(
    console: TerminalConsole, store: Store, settings: Settings, comment: Comment, *, as_json: bool
) -> None:
    """One comment just written or resolved, as JSON or a block, its time in the persona's zone."""
    zone = zone_of(settings, store, comment.post_id)
    if as_json:
        print_json(as_json_in(comment, zone))
    else:
        print_comment(console, comment, zone)


def print_comment(console: TerminalConsole, comment: Comment, zone: ZoneInfo) -> None:
    state = f"resolved by {comment.resolved_by}" if comment.resolved else "open"
    told = f" · tells {', '.join('@' + name for name in comment.mentions)}" if comment.mentions else ""
    console.print(f"#{comment.id} {comment.author} · {local_label(comment.at, zone)} · {state}{told}", highlight=False)
    for line in comment.body.splitlines() or [""]:
        console.print(f"  {line}", highlight=False)


def as_json_in(comment: Comment, zone: ZoneInfo) -> dict[str, object]:
    """The comment as JSON, its times ISO with the persona's offset."""
    data = comment.model_dump(mode="json")
    for key in ("at", "resolved_at"):
        moment = getattr(comment, key)
        data[key] = moment.astimezone(zone).isoformat() if moment else None
    return data


def zone_of(settings: Settings, store: Store, post_id: int) -> ZoneInfo:
    with store.session() as session:
        persona = repo.get_post(session, post_id, with_history=False).persona
    return _zone(settings, persona)


def _zone(settings: Settings, persona: str) -> ZoneInfo:
    try:
        return ZoneInfo(load_persona(settings.home, persona).timezone)
    except BeatdeskError:  # a persona removed since: its posts are still read, in UTC
        return ZoneInfo("UTC")
