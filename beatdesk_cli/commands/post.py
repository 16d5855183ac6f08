"""`beatdesk post`: one post: show, edit, redraft, rerender, comment, move."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from beatdesk import comments
from beatdesk.errors import BeatdeskError
from beatdesk.rescheduling import local_label, move_post, unschedule_post
from beatdesk.review import parse_time
from beatdesk.settings import get_settings
from beatdesk.store import repo
from beatdesk_cli.comments import print_thread, show_comment
from beatdesk_cli.show import print_json, print_post
from drafter.registry import drafter_for
from publishers.versions import ChannelEdit
from workers.editing import edit_post

if TYPE_CHECKING:  # the commands import what they use, so `--help` and `queue list` start in a blink
    from beatdesk.rescheduling import Placement
    from beatdesk.store import Store
from beatdesk_cli.base import JsonFlag, StoredPostId, cli_actor, cli_store, edge, print_decision, store_session
from beatdesk_cli.terminal import console

post_app = typer.Typer(help="One post.", no_args_is_help=True)


@post_app.command("show")
@edge
def post_show(post_id: StoredPostId, as_json: JsonFlag = False) -> None:
    """Show a post's whole story: plan, draft, pipeline and cost."""
    with store_session(reading=True) as session:
        post = repo.get_post(session, post_id)
    if as_json:
        print_json(post.model_dump(mode="json"))
    else:
        print_post(console, post)


@post_app.command("redraft")
@edge
def post_redraft(
    post_id: StoredPostId,
    note: Annotated[str | None, typer.Option(help="What to change; given to the drafter.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """A new draft for the same plan (the old one is kept in the post's history), then new media."""
    from renderers.registry import image_renderer, video_renderer
    from workers.graph import redraft

    settings = get_settings()
    drafter_for(settings.llm), image_renderer(settings.image_renderer), video_renderer(settings.video_renderer)
    cli_store(settings)
    redraft(settings, post_id=post_id, note=note, actor=cli_actor())
    print_decision(cli_store(settings), post_id, as_json)


@post_app.command("rerender")
@edge
def post_rerender(
    post_id: StoredPostId,
    model: Annotated[
        str | None, typer.Option(help="Image renderer for this time, e.g. fal:fal-ai/flux/schnell.")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Why, for the record.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """New media for the post's current draft; earlier files and their costs are kept."""
    from renderers.registry import image_renderer, video_renderer
    from workers.graph import rerender

    settings = get_settings()
    image_renderer(model or settings.image_renderer), video_renderer(settings.video_renderer)
    cli_store(settings)
    rerender(settings, post_id=post_id, note=note, actor=cli_actor(), image_model=model)
    print_decision(cli_store(settings), post_id, as_json)


@post_app.command("edit")
@edge
def post_edit(
    post_id: StoredPostId,
    title: Annotated[str | None, typer.Option(help="The draft's title.", show_default=False)] = None,
    body: Annotated[str | None, typer.Option(help="The draft's body (hero_text).", show_default=False)] = None,
    caption: Annotated[
        str | None, typer.Option(help="The caption, without its hashtag line.", show_default=False)
    ] = None,
    hashtags: Annotated[
        str | None, typer.Option(help="The hashtags, space-separated; the caption ends on them.", show_default=False)
    ] = None,
    alt_text: Annotated[
        str | None, typer.Option(help="What the media shows, for people who cannot see it.", show_default=False)
    ] = None,
    channel: Annotated[
        str | None, typer.Option(help="The channel --text, --first-comment and --reset apply to.", show_default=False)
    ] = None,
    text: Annotated[
        str | None, typer.Option(help="This channel's own text, in place of the generated one.", show_default=False)
    ] = None,
    first_comment: Annotated[
        str | None, typer.Option(help='Posted once after the post on this channel ("" removes it).', show_default=False)
    ] = None,
    reset: Annotated[bool, typer.Option("--reset", help="This channel's text back to the generated one.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Edit a post in review: its draft, or one channel's own text and first comment; the checks run again."""
    if channel is None and (text is not None or first_comment is not None or reset):
        raise BeatdeskError("--text, --first-comment and --reset need --channel NAME: the channel they are for")
    if reset and text is not None:
        raise BeatdeskError("give --text or --reset, not both")
    fields = {"title": title, "body": body, "caption": caption, "hashtags": hashtags, "alt_text": alt_text}
    edits = {channel: ChannelEdit(text="" if reset else text, first_comment=first_comment)} if channel else {}
    if not edits and all(value is None for value in fields.values()):
        raise BeatdeskError("nothing to change: give --title, --body, --caption, --hashtags, --alt-text, "
                            "or --channel NAME with --text, --first-comment or --reset")  # fmt: skip
    settings = get_settings()
    store = cli_store(settings)
    with store.session() as session:
        done = edit_post(session, post_id=post_id, home=settings.home, actor=cli_actor(), fields=fields, channels=edits)
    failing = [f"{c.name}: {c.detail}" for c in done.checks if c.level == "fail"]
    if as_json:
        from beatdesk_cli.show import print_json

        print_json({"id": post_id, "changed": done.fields, "channels": done.channels,
                    "checks": [c.model_dump() for c in done.checks]})  # fmt: skip
        return
    said = ([f"changed {', '.join(done.fields)}"] if done.fields else []) + done.channels
    console.print(f"post {post_id}: {'; '.join(said) or 'nothing changed'}", highlight=False)
    for line in failing:
        console.print(f"  check fails: {line}", highlight=False)


@post_app.command("comment")
@edge
def post_comment(
    post_id: StoredPostId,
    text: Annotated[str, typer.Argument(help="The comment; @name tells a person with a desk account.")],
    author: Annotated[str | None, typer.Option("--as", help="Whose comment (default: $USER).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a comment to a post's thread (in its audit log; people named as @name are told)."""
    settings = get_settings()
    store = cli_store(settings)
    with store.session() as session:
        comment = comments.write(session, post_id=post_id, author=author or cli_actor(), text=text)
    show_comment(console, store, settings, comment, as_json=as_json)


@post_app.command("comments")
@edge
def post_comments(post_id: StoredPostId, as_json: JsonFlag = False) -> None:
    """A post's comment thread, oldest first, each open or resolved."""
    settings = get_settings()
    print_thread(console, cli_store(settings), settings, post_id, as_json=as_json)


@post_app.command("resolve-comment")
@edge
def post_resolve_comment(
    post_id: StoredPostId,
    comment_id: Annotated[int, typer.Argument(help="The comment's id (#N in `post comments`).", min=1, max=2**31 - 1)],
    reopen: Annotated[bool, typer.Option("--reopen", help="Open a resolved comment again.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Mark a comment of the post resolved (or open again with --reopen)."""
    settings = get_settings()
    store = cli_store(settings)
    with store.session() as session:
        comment = comments.resolve(session, post_id=post_id, comment_id=comment_id, actor=cli_actor(), reopen=reopen)
    show_comment(console, store, settings, comment, as_json=as_json)


@post_app.command("move")
@edge
def post_move(
    post_id: StoredPostId,
    slot: Annotated[str, typer.Option("--slot", "--at", help="ISO time; without a zone, the persona's.")],
    as_json: JsonFlag = False,
) -> None:
    """Move an approved post to another slot: a future time no other post of its persona holds."""
    settings = get_settings()
    store = cli_store(settings)
    with store.session() as session:
        placed = move_post(session, post_id=post_id, home=settings.home, actor=cli_actor(),
                           to=parse_time(slot, label="--slot"))  # fmt: skip
    _print_placement(store, placed, as_json)


@post_app.command("unschedule")
@edge
def post_unschedule(post_id: StoredPostId, as_json: JsonFlag = False) -> None:
    """Take an approved post off the calendar, back to review; its slot is free again."""
    settings = get_settings()
    store = cli_store(settings)
    with store.session() as session:
        placed = unschedule_post(session, post_id=post_id, home=settings.home, actor=cli_actor())
    _print_placement(store, placed, as_json)


def _print_placement(store: Store, placed: Placement, as_json: bool) -> None:

    if as_json:
        print_decision(store, placed.post_id, as_json)
    elif placed.slot_at is not None:
        console.print(f"post {placed.post_id} is {placed.status} for {local_label(placed.slot_at, placed.zone)}",
                      highlight=False)  # fmt: skip
    else:
        freed = f"; {local_label(placed.previous, placed.zone)} is free" if placed.previous else ""
        console.print(f"post {placed.post_id} is {placed.status}{freed}", highlight=False)
