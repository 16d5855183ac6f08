"""The `beatdesk` command: set-up, batches, the review queue, and workers."""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.text import Text

from beatdesk.enums import REJECT_REASONS, PostStatus
from beatdesk.errors import BeatdeskError
from beatdesk_cli.terminal import TerminalConsole

if TYPE_CHECKING:  # the commands import what they use, so `--help` and `queue list` start in a blink
    from beatdesk.models import Post
    from beatdesk.publishing import ChannelState
    from beatdesk.rescheduling import Placement
    from beatdesk.settings import Settings
    from beatdesk.store import Store

app = typer.Typer(help="beatdesk: an editorial pipeline for explainer posts.", no_args_is_help=True)
config_app = typer.Typer(help="Settings.", no_args_is_help=True)
batch_app = typer.Typer(help="Batches of posts.", no_args_is_help=True)
queue_app = typer.Typer(help="The review queue.", no_args_is_help=True)
post_app = typer.Typer(help="One post.", no_args_is_help=True)
review_app = typer.Typer(help="Review decisions.", no_args_is_help=True)
users_app = typer.Typer(help="People who use the review desk.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens: list and revoke (`users token NAME` makes one).", no_args_is_help=True)
publish_app = typer.Typer(help="Publishing approved posts.", no_args_is_help=True)
schedule_app = typer.Typer(help="What goes out when.", no_args_is_help=True)
sources_app = typer.Typer(help="A persona's sources: notes, digests and feeds.", no_args_is_help=True)
notify_app = typer.Typer(help="Notifications through Apprise URLs (BEATDESK_NOTIFY_URLS, a persona's notify).",
                         no_args_is_help=True)  # fmt: skip
link_app = typer.Typer(help="Client links: a post or a batch for someone without an account to approve.",
                       no_args_is_help=True)  # fmt: skip
db_app = typer.Typer(help="The store: migrate, copy to another database, dump and restore.", no_args_is_help=True)
metrics_app = typer.Typer(
    help="Engagement: what the audience did with what went out. Alone: the rankings (`metrics report`).",
    invoke_without_command=True,
)
for sub, name in (
    (metrics_app, "metrics"),
    (notify_app, "notify"),
    (users_app, "users"),
    (tokens_app, "tokens"),
    (publish_app, "publish"),
    (schedule_app, "schedule"),
    (sources_app, "sources"),
    (config_app, "config"),
    (batch_app, "batch"),
    (queue_app, "queue"),
    (post_app, "post"),
    (review_app, "review"),
    (link_app, "link"),
    (db_app, "db"),
):
    app.add_typer(sub, name=name)

SupervisedFlag = Annotated[
    bool, typer.Option("--supervised", hidden=True, help="Started by `beatdesk up`, which says what is not connected.")
]
console = TerminalConsole()
errors = TerminalConsole(stderr=True)
"""Everything the commands print goes through these two: no markup is read, control sequences never pass."""
F = TypeVar("F", bound=Callable[..., Any])


class Role(StrEnum):
    reviewer = "reviewer"
    admin = "admin"


class WorkerPool(StrEnum):
    prefork = "prefork"
    threads = "threads"


class SourceKind(StrEnum):
    note = "note"
    digest = "digest"
    feed = "feed"


JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON only, on stdout.")]
StoredPostId = Annotated[int, typer.Argument(help="The post's id.", min=1, max=2**31 - 1)]
"""A post id the store can hold (its integer keys): a larger one is refused by typer, not by SQLite's OverflowError."""
StoredBatchId = Annotated[int, typer.Argument(help="The batch's id.", min=1, max=2**31 - 1)]


def say_error(message: str) -> None:
    """`error: MESSAGE` on stderr, the message as plain text: brackets in it (`[least, most]`) are not markup."""
    errors.print(Text.assemble(("error:", "red"), " ", message), highlight=False, soft_wrap=True)


def edge(func: F) -> F:
    """Show a BeatdeskError as one line on stderr and exit 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BeatdeskError as err:
            say_error(str(err))
            raise typer.Exit(1) from None
        except Exception as err:  # a full disk (a file, the database) is one line too; anything else is a bug
            full = _disk_full(err)
            if full is None:
                raise
            say_error(full)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _disk_full(err: BaseException) -> str | None:
    from beatdesk.disk import disk_full, store_place
    from beatdesk.settings import get_settings

    try:
        settings = get_settings()
        database, files = store_place(settings.effective_database_url), str(settings.home)
    except BeatdeskError:
        database, files = None, None
    full = disk_full(err, database=database, files=files)
    return None if full is None else str(full)


def _store(settings: Settings, *, reading: bool = False) -> Store:
    """The store, migrated; a home that cannot be written or a damaged SQLite file is one line saying so. A
    command that only reads (`reading`) never makes a store: without one it says where it looked."""
    from sqlalchemy.exc import DatabaseError

    from beatdesk.errors import ConfigError
    from beatdesk.logs import configure_logging
    from beatdesk.store import open_store

    configure_logging(settings, explicit_only=True)  # a one-shot command logs only when asked to
    if settings.database_url is None:
        if "home" not in settings.model_fields_set and not settings.home.exists():
            # Run in the wrong folder, a command would otherwise make an empty home there and report it empty.
            raise ConfigError(
                f"no beatdesk home here ({settings.home}): run this where you ran `beatdesk init`, "
                "set BEATDESK_HOME to your home, or run `beatdesk init` to start one here"
            )
        if reading and not (settings.home / "beatdesk.db").exists():
            raise ConfigError(
                f"no beatdesk store in {settings.home} (looked for {settings.home / 'beatdesk.db'}): point "
                "BEATDESK_HOME at your home, or run `beatdesk init` to start one there"
            )
        settings.check_home()
    try:
        return open_store(settings.effective_database_url)
    except DatabaseError as err:
        reason = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
        if settings.database_url is None:
            raise ConfigError(
                f"{settings.home / 'beatdesk.db'} is not a usable SQLite database ({reason}); "
                "move it aside and run `beatdesk init` for a new one"
            ) from None
        raise ConfigError(f"the database at BEATDESK_DATABASE_URL cannot be used: {reason}") from None


def _actor() -> str:
    return os.environ.get("USER") or "cli"


@app.command()
@edge
def init() -> None:
    """Create the beatdesk home with the example persona @ash (safe to run again)."""
    from beatdesk.home import init_home
    from beatdesk.settings import get_settings

    settings = get_settings()
    settings.check_home()
    created = init_home(settings.home)
    _store(settings)
    console.print(f"home: {settings.home}", highlight=False)
    for path in created:
        shown = path.relative_to(settings.home) if path != settings.home else path
        console.print(f"  created {shown}", highlight=False)
    if not created:
        console.print("  everything was already there")


@config_app.command("show")
@edge
def config_show(as_json: JsonFlag = False) -> None:
    """Print the effective settings, secrets masked."""
    from beatdesk.settings import get_settings
    from beatdesk_cli.show import print_json

    shown = get_settings().masked()
    if as_json:
        print_json(shown)
        return
    for key, value in shown.items():
        console.print(f"{key} = {value}", highlight=False)


@batch_app.command("run")
@edge
def batch_run(
    persona: Annotated[str, typer.Option(help="Persona key or handle, e.g. ash or @ash.")],
    items: Annotated[int | None, typer.Option(help="How many items in all (default: the persona's).")] = None,
    video: Annotated[int | None, typer.Option(help="How many of them are videos.")] = None,
    message: Annotated[str | None, typer.Option(help="A special message, stored on the batch.")] = None,
    max_cost: Annotated[
        Decimal | None, typer.Option(help="Cap on what the batch may spend, in USD (below the persona's budget).")
    ] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the batch to finish.")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Plan, draft and render a batch; its posts end in the review queue."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from beatdesk.models import BatchStatus
    from beatdesk.personas import load_persona
    from beatdesk.prices import format_usd
    from beatdesk.settings import get_settings
    from beatdesk_cli.show import batch_json, posts_table, print_json
    from drafter.registry import drafter_for
    from planner.registry import planner_for
    from planner.spec import build_spec
    from renderers.estimate import estimate_batch
    from renderers.registry import image_renderer, video_renderer
    from workers.graph import start_batch, wait_for_batch  # the CLI's edge onto the workers

    settings = get_settings()
    settings.check_secrets()
    check_max_cost(max_cost)
    _store(settings)  # reachable, migrated and sound before the batch is stored
    chosen = load_persona(settings.home, persona)
    spec = build_spec(chosen, items=items, video=video, message=message)
    planner_for(settings.llm), drafter_for(settings.llm)
    images = image_renderer(chosen.image_renderer or settings.image_renderer)
    videos = video_renderer(chosen.video_renderer or settings.video_renderer)
    spec = spec.model_copy(update={"max_cost_usd": max_cost})
    estimate = estimate_batch(spec, image=images, video=videos, persona=chosen)
    cap = chosen.budgets.per_batch_usd if max_cost is None else min(max_cost, chosen.budgets.per_batch_usd)
    batch_id = start_batch(settings, spec)
    if not as_json:
        errors.print(f"batch {batch_id}: media estimated at {format_usd(estimate)} USD, budget {format_usd(cap)} USD")
    if not wait:
        _print_batch_started(batch_id, as_json)
        return
    if not settings.in_process and not as_json:
        from workers.app import workers_answering

        if not workers_answering():
            errors.print(f"no worker answered; batch {batch_id} waits in the queue until `beatdesk worker` runs")
    if as_json:
        batch = wait_for_batch(settings, batch_id, timeout_s=settings.batch_timeout_s)
    else:
        columns = (
            TextColumn(f"batch {batch_id}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("posts"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=errors, transient=True) as progress:
            task = progress.add_task("posts", total=None)
            batch = wait_for_batch(
                settings,
                batch_id,
                timeout_s=settings.batch_timeout_s,
                on_progress=lambda done, total: progress.update(task, completed=done, total=total or None),
            )
    if as_json:
        print_json(batch_json(batch))
    else:
        console.print(posts_table(batch.posts, title=f"batch {batch.id} · {batch.persona} · {batch.status}"))
        console.print(f"total cost: {batch_json(batch)['total_cost_usd']} USD")
    if batch.status is BatchStatus.failed:
        say_error(f"batch {batch.id} failed: {batch.error}")
        raise typer.Exit(1)
    failed = failed_posts(batch.posts)
    if failed:
        say_error(f"batch {batch.id}: {len(failed)} of {len(batch.posts)} posts failed")
        for line in failed:
            errors.print(f"  {line}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    if batch.status is not BatchStatus.done:
        errors.print(
            f"batch {batch.id} is still {batch.status} after {settings.batch_timeout_s:g}s; "
            f"follow it with `beatdesk queue list`"
        )
        raise typer.Exit(3)


def check_max_cost(max_cost: Decimal | None) -> None:
    """`--max-cost` is a positive amount of USD, refused before anything is stored."""
    from pydantic import TypeAdapter, ValidationError

    from beatdesk.errors import BatchSpecError
    from beatdesk.models import Money

    if max_cost is None:
        return
    if not max_cost.is_finite() or max_cost <= 0:
        raise BatchSpecError(f"--max-cost must be an amount of USD above 0, such as 0.50 (got {max_cost})")
    try:
        TypeAdapter(Money).validate_python(max_cost)
    except ValidationError as err:
        raise BatchSpecError(f"--max-cost {max_cost}: {err.errors()[0]['msg']}") from None


def failed_posts(posts: list[Post]) -> list[str]:
    """`post ID (format) failed: reason` for each failed post of the batch (as the wait read it, once)."""
    from beatdesk.models import PostStatus, StepStatus

    lines = []
    for post in posts:
        if post.status is PostStatus.failed:
            step = next((s for s in post.steps if s.status is StepStatus.failed), None)
            reason = post.reason or (f"{step.name}: {step.error}" if step else "no reason recorded")
            lines.append(f"post {post.id} ({post.content_format}) failed: {reason}")
    return lines


@batch_app.command("show")
@edge
def batch_show(
    batch_id: StoredBatchId,
    as_json: JsonFlag = False,
) -> None:
    """A batch: its posts, cost, and what the planner dropped and why."""
    from beatdesk.prices import format_usd
    from beatdesk.settings import get_settings
    from beatdesk.store import repo
    from beatdesk_cli.show import batch_json, posts_table, print_json

    with _store(get_settings(), reading=True).session() as session:
        batch = repo.get_batch(session, batch_id)
    if as_json:
        print_json(batch_json(batch))
        return
    console.print(posts_table(batch.posts, title=f"batch {batch.id} · {batch.persona} · {batch.status}"))
    console.print(f"total cost: {format_usd(batch.total_cost_usd)} USD")
    if batch.error:
        console.print(f"error: {batch.error}", highlight=False)
    for line in batch.dropped:
        console.print(f"dropped: {line}", highlight=False, soft_wrap=True)


def _print_batch_started(batch_id: int, as_json: bool) -> None:
    from beatdesk_cli.show import print_json

    if as_json:
        print_json({"batch_id": batch_id, "status": "queued", "posts": []})
    else:
        console.print(f"batch {batch_id} queued")


@app.command()
@edge
def plan(
    persona: Annotated[str, typer.Option(help="Persona key or handle.")],
    items: Annotated[int | None, typer.Option(help="How many items in all (default: the persona's).")] = None,
    video: Annotated[int | None, typer.Option(help="How many of them are videos.")] = None,
    message: Annotated[str | None, typer.Option(help="A special message with counts, e.g. '5 items, 1 video'.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Dry run: print the plans a batch would get, with their reasons; nothing is drafted or stored."""
    from beatdesk.personas import load_persona
    from beatdesk.prices import format_usd
    from beatdesk.settings import get_settings
    from beatdesk_cli.show import print_json, print_plans
    from planner.registry import planner_for
    from planner.spec import build_spec
    from planner.stage import planning_context

    settings = get_settings()
    chosen = load_persona(settings.home, persona)
    spec = build_spec(chosen, items=items, video=video, message=message)
    planner = planner_for(settings.llm)
    context = planning_context(
        _store(settings),
        home=settings.home,
        persona=chosen,
        spec=spec,
        freshness_days=settings.freshness_days,
        freshness_threshold=settings.freshness_threshold,
        source_max_bytes=settings.source_max_bytes,
    )
    for warning in context.warnings:
        errors.print(f"warning: {warning}", highlight=False, soft_wrap=True)
    result = planner.plan(context)
    if as_json:
        print_json(
            {
                "persona": chosen.key,
                "counts": {str(fmt): n for fmt, n in spec.counts.items()},
                "message": spec.message,
                "planner": f"{planner.provider}:{planner.model}",
                "cost_usd": format_usd(result.cost_usd),
                "plans": [p.model_dump(mode="json") for p in result.plans],
                "notes": result.notes,
                "warnings": list(context.warnings),
            }
        )
    else:
        print_plans(console, result.plans, notes=result.notes)


@sources_app.command("add")
@edge
def sources_add(
    targets: Annotated[list[str], typer.Argument(help="Files (Markdown, text, RSS/Atom) or feed URLs.")],
    persona: Annotated[str, typer.Option(help="Persona key or handle.")],
    kind: Annotated[SourceKind | None, typer.Option(help="note, digest or feed (default: guessed).")] = None,
    beat: Annotated[
        list[str] | None, typer.Option(help="Tag with this beat (repeatable; default: by similarity).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add sources; the same item added twice is kept once."""
    from beatdesk.personas import load_persona
    from beatdesk.settings import get_settings
    from beatdesk_cli.show import print_json
    from planner.sources import add_sources

    settings = get_settings()
    chosen = load_persona(settings.home, persona)
    stored, skipped, unreachable = add_sources(
        _store(settings),
        persona=chosen,
        targets=targets,
        kind=kind.value if kind else None,
        beats=tuple(beat or ()),
        max_bytes=settings.source_max_bytes,
    )
    for line in unreachable:
        errors.print(Text.assemble(("skipped:", "yellow"), " ", line), highlight=False, soft_wrap=True)
    if as_json:
        print_json(
            {
                "added": [s.model_dump(mode="json") for s in stored],
                "already_known": skipped,
                "unreachable": unreachable,
            }
        )
    else:
        console.print(f"{len(stored)} added, {skipped} already known, {len(unreachable)} unreachable")
    if unreachable and not stored and not skipped:
        raise typer.Exit(1)


@sources_app.command("list")
@edge
def sources_list(
    persona: Annotated[str, typer.Option(help="Persona key or handle.")],
    beat: Annotated[str | None, typer.Option(help="Only sources tagged with this beat.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """List a persona's sources, newest first."""
    from beatdesk.personas import load_persona
    from beatdesk.settings import get_settings
    from beatdesk.store import repo
    from beatdesk_cli.show import print_json, sources_table

    settings = get_settings()
    chosen = load_persona(settings.home, persona)
    with _store(settings, reading=True).session() as session:
        found = repo.list_sources(session, persona=chosen.key, limit=100_000 if beat else limit)
    if beat:
        found = [s for s in found if beat in s.beats][:limit]
    if as_json:
        print_json([s.model_dump(mode="json") for s in found])
    else:
        console.print(sources_table(found))


@queue_app.command("list")
@edge
def queue_list(
    persona: Annotated[str | None, typer.Option(help="Only this persona's posts.")] = None,
    status: Annotated[PostStatus | None, typer.Option(help="Only posts in this status.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List posts, newest first."""
    from beatdesk.personas import load_persona
    from beatdesk.settings import get_settings
    from beatdesk.store import repo
    from beatdesk_cli.show import post_summary, posts_table, print_json

    settings = get_settings()
    key = load_persona(settings.home, persona).key if persona else None
    with _store(settings, reading=True).session() as session:
        posts = repo.list_posts(session, persona=key, status=status)
    if as_json:
        print_json([post_summary(post) for post in posts])
    else:
        console.print(posts_table(posts, title=f"{len(posts)} posts"))


@post_app.command("show")
@edge
def post_show(post_id: StoredPostId, as_json: JsonFlag = False) -> None:
    """Show a post's whole story: plan, draft, pipeline and cost."""
    from beatdesk.settings import get_settings
    from beatdesk.store import repo
    from beatdesk_cli.show import print_json, print_post

    with _store(get_settings(), reading=True).session() as session:
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
    from beatdesk.settings import get_settings
    from drafter.registry import drafter_for
    from renderers.registry import image_renderer, video_renderer
    from workers.graph import redraft

    settings = get_settings()
    drafter_for(settings.llm), image_renderer(settings.image_renderer), video_renderer(settings.video_renderer)
    _store(settings)
    redraft(settings, post_id=post_id, note=note, actor=_actor())
    _print_decision(_store(settings), post_id, as_json)


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
    from beatdesk.settings import get_settings
    from renderers.registry import image_renderer, video_renderer
    from workers.graph import rerender

    settings = get_settings()
    image_renderer(model or settings.image_renderer), video_renderer(settings.video_renderer)
    _store(settings)
    rerender(settings, post_id=post_id, note=note, actor=_actor(), image_model=model)
    _print_decision(_store(settings), post_id, as_json)


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
    from beatdesk.settings import get_settings
    from publishers.versions import ChannelEdit
    from workers.editing import edit_post

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
    store = _store(settings)
    with store.session() as session:
        done = edit_post(session, post_id=post_id, home=settings.home, actor=_actor(), fields=fields, channels=edits)
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
    from beatdesk import comments
    from beatdesk.settings import get_settings
    from beatdesk_cli.comments import show_comment

    settings = get_settings()
    store = _store(settings)
    with store.session() as session:
        comment = comments.write(session, post_id=post_id, author=author or _actor(), text=text)
    show_comment(console, store, settings, comment, as_json=as_json)


@post_app.command("comments")
@edge
def post_comments(post_id: StoredPostId, as_json: JsonFlag = False) -> None:
    """A post's comment thread, oldest first, each open or resolved."""
    from beatdesk.settings import get_settings
    from beatdesk_cli.comments import print_thread

    settings = get_settings()
    print_thread(console, _store(settings), settings, post_id, as_json=as_json)


@post_app.command("resolve-comment")
@edge
def post_resolve_comment(
    post_id: StoredPostId,
    comment_id: Annotated[int, typer.Argument(help="The comment's id (#N in `post comments`).", min=1, max=2**31 - 1)],
    reopen: Annotated[bool, typer.Option("--reopen", help="Open a resolved comment again.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Mark a comment of the post resolved (or open again with --reopen)."""
    from beatdesk import comments
    from beatdesk.settings import get_settings
    from beatdesk_cli.comments import show_comment

    settings = get_settings()
    store = _store(settings)
    with store.session() as session:
        comment = comments.resolve(session, post_id=post_id, comment_id=comment_id, actor=_actor(), reopen=reopen)
    show_comment(console, store, settings, comment, as_json=as_json)


@post_app.command("move")
@edge
def post_move(
    post_id: StoredPostId,
    slot: Annotated[str, typer.Option("--slot", "--at", help="ISO time; without a zone, the persona's.")],
    as_json: JsonFlag = False,
) -> None:
    """Move an approved post to another slot: a future time no other post of its persona holds."""
    from beatdesk.rescheduling import move_post
    from beatdesk.review import parse_time
    from beatdesk.settings import get_settings

    settings = get_settings()
    store = _store(settings)
    with store.session() as session:
        placed = move_post(session, post_id=post_id, home=settings.home, actor=_actor(),
                           to=parse_time(slot, label="--slot"))  # fmt: skip
    _print_placement(store, placed, as_json)


@post_app.command("unschedule")
@edge
def post_unschedule(post_id: StoredPostId, as_json: JsonFlag = False) -> None:
    """Take an approved post off the calendar, back to review; its slot is free again."""
    from beatdesk.rescheduling import unschedule_post
    from beatdesk.settings import get_settings

    settings = get_settings()
    store = _store(settings)
    with store.session() as session:
        placed = unschedule_post(session, post_id=post_id, home=settings.home, actor=_actor())
    _print_placement(store, placed, as_json)


def _print_placement(store: Store, placed: Placement, as_json: bool) -> None:
    from beatdesk.rescheduling import local_label

    if as_json:
        _print_decision(store, placed.post_id, as_json)
    elif placed.slot_at is not None:
        console.print(f"post {placed.post_id} is {placed.status} for {local_label(placed.slot_at, placed.zone)}",
                      highlight=False)  # fmt: skip
    else:
        freed = f"; {local_label(placed.previous, placed.zone)} is free" if placed.previous else ""
        console.print(f"post {placed.post_id} is {placed.status}{freed}", highlight=False)


@app.command()
@edge
def sweep() -> None:
    """Hand on posts that stopped moving, and fail those that cannot move (workers do this every few seconds)."""
    from beatdesk.settings import get_settings
    from workers.graph import sweep as sweep_stuck

    settings = get_settings()
    _store(settings)
    console.print(f"{sweep_stuck(settings)} stuck post(s) or batch(es) handed on or ended")


@review_app.command("approve")
@edge
def review_approve(
    post_id: StoredPostId,
    at: Annotated[
        str | None, typer.Option(help="ISO time; without a zone, the persona's. Default: next free slot.")
    ] = None,
    reason: Annotated[
        str | None, typer.Option(help="Why approve it although its checks fail; kept in the audit log.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Approve a post in review into its slot; a post whose checks fail needs --reason."""
    from beatdesk.review import approve, parse_time
    from beatdesk.settings import get_settings

    settings = get_settings()
    store = _store(settings)
    with store.session() as session:
        when = parse_time(at, label="--at") if at is not None else None
        approve(session, post_id=post_id, home=settings.home, actor=_actor(), at=when, override=reason,
                require_override=True)  # fmt: skip
    _print_decision(store, post_id, as_json)


@review_app.command("reject")
@edge
def review_reject(
    post_id: StoredPostId,
    reason: Annotated[str, typer.Option(help="Why, in words, for the record and the drafter.")] = "",
    reason_code: Annotated[str | None, typer.Option(help=f"The kind of reason: {', '.join(REJECT_REASONS)}.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Reject a post in review, with a reason (a code from the short list, words, or both)."""
    from beatdesk.review import reject
    from beatdesk.settings import get_settings

    store = _store(get_settings())
    with store.session() as session:
        reject(session, post_id=post_id, actor=_actor(), reason=reason, code=reason_code)
    _print_decision(store, post_id, as_json)


@review_app.command("reopen")
@edge
def review_reopen(post_id: StoredPostId, as_json: JsonFlag = False) -> None:
    """Put a rejected post back in review (kept in its audit log)."""
    from beatdesk.review import reopen
    from beatdesk.settings import get_settings

    store = _store(get_settings())
    with store.session() as session:
        reopen(session, post_id=post_id, actor=_actor())
    _print_decision(store, post_id, as_json)


def _since_utc(since: str | None) -> datetime | None:
    """`--since` as an aware UTC time (UTC when it names no zone), or a one-line error."""
    from beatdesk.review import parse_time

    start = parse_time(since, label="--since") if since else None
    if start is None:
        return None
    try:  # the first or last hours of year 1 or 9999 have no UTC time
        return (start.replace(tzinfo=UTC) if start.tzinfo is None else start).astimezone(UTC)
    except OverflowError:
        raise BeatdeskError(f"--since {since!r} is out of range") from None


@app.command("evals")
@edge
def evals_command(
    persona: Annotated[str | None, typer.Option(help="Only this persona's decisions.")] = None,
    since: Annotated[str | None, typer.Option(help="Only decisions from this date or time on (ISO, UTC).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Drafting models and prompt versions ranked by how often reviewers accept their posts."""
    from beatdesk.evals import evals
    from beatdesk.personas import load_persona
    from beatdesk.settings import get_settings
    from beatdesk_cli.show import print_evals, print_json

    settings = get_settings()
    key = load_persona(settings.home, persona).key if persona else None
    start = _since_utc(since)
    with _store(settings, reading=True).session() as session:
        standings = evals(session, persona=key, since=start)
    if as_json:
        print_json([s.as_json() for s in standings])
    else:
        print_evals(console, standings)


MetricsPersona = Annotated[str | None, typer.Option(help="Only this persona's posts.")]
MetricsSince = Annotated[str | None, typer.Option(help="Only posts published from this date or time on (ISO, UTC).")]


@metrics_app.callback()
@edge
def metrics_default(
    ctx: typer.Context, persona: MetricsPersona = None, since: MetricsSince = None, as_json: JsonFlag = False
) -> None:
    """Beats, formats, angles and posting times ranked by normalised engagement, per post and per dollar."""
    if ctx.invoked_subcommand is None:
        _metrics_report(persona, since, as_json)


@metrics_app.command("report")
@edge
def metrics_report(persona: MetricsPersona = None, since: MetricsSince = None, as_json: JsonFlag = False) -> None:
    """Beats, formats, angles and posting times ranked by normalised engagement, per post and per dollar."""
    _metrics_report(persona, since, as_json)


def _metrics_report(persona: str | None, since: str | None, as_json: bool) -> None:
    from beatdesk.audience import report
    from beatdesk.personas import load_persona
    from beatdesk.settings import get_settings
    from beatdesk_cli.engagement_show import print_report
    from beatdesk_cli.show import print_json

    settings = get_settings()
    chosen = load_persona(settings.home, persona) if persona else None
    start = _since_utc(since)
    zones = {chosen.key: chosen.timezone} if chosen else _zones(settings)
    with _store(settings, reading=True).session() as session:
        found = report(session, zones=zones, persona=chosen.key if chosen else None, since=start)
    if as_json:
        print_json({"persona": chosen.key if chosen else None, "since": start.isoformat() if start else None}
                   | found.as_json())  # fmt: skip
    else:
        print_report(console, found)
        if chosen and found.scored and not chosen.learn_from_audience:
            console.print(f"the planner does not learn from these: learn_from_audience = false in "
                          f"personas/{chosen.key}.toml", highlight=False)  # fmt: skip


def _zones(settings: Settings) -> dict[str, str]:
    """Every persona's zone; one whose file does not read counts in UTC here (`beatdesk plan` says why)."""
    from beatdesk.personas import known_personas, load_persona

    zones = {}
    for key in known_personas(settings.home):
        try:
            zones[key] = load_persona(settings.home, key).timezone
        except BeatdeskError:
            continue
    return zones


def _print_decision(store: Store, post_id: int, as_json: bool) -> None:
    from beatdesk.store import repo
    from beatdesk_cli.show import post_summary, print_json

    with store.session() as session:
        post = repo.get_post(session, post_id)
    if as_json:
        print_json(
            post_summary(post)
            | {
                "slot_at": post.slot_at.isoformat() if post.slot_at else None,
                "reason": post.reason,
                "reason_code": post.reason_code,
            }
        )
    else:
        slot = f" for {post.slot_at:%Y-%m-%d %H:%M} UTC" if post.slot_at else ""
        console.print(f"post {post.id} is {post.status}{slot}")


@app.command()
@edge
def worker(
    concurrency: Annotated[int | None, typer.Option(help="Processes (default BEATDESK_WORKER_CONCURRENCY).")] = None,
    loglevel: Annotated[str | None, typer.Option(help="Log level (default BEATDESK_LOG_LEVEL).")] = None,
    pool: Annotated[
        WorkerPool, typer.Option(help="prefork (processes) or threads: renders wait on the network, threads hold many.")
    ] = WorkerPool.prefork,
    supervised: SupervisedFlag = False,
) -> None:
    """Run a Celery worker on BEATDESK_BROKER_URL."""
    from beatdesk.settings import get_settings
    from workers.app import check_broker, configure

    settings = get_settings()
    if settings.in_process:
        raise BeatdeskError("BEATDESK_BROKER_URL is not set; a worker needs a broker such as redis://127.0.0.1:6379/0")
    celery_app = configure(settings)
    check_broker(settings)
    if not supervised:
        _say_not_connected(settings)
    _store(settings)  # migrated and reachable before any task arrives
    celery_app.worker_main(
        [
            "worker",
            f"--concurrency={concurrency or settings.worker_concurrency}",
            f"--loglevel={loglevel or settings.log_level}",
            f"--pool={pool.value}",
            f"--hostname=beatdesk-{os.getpid()}@%h",
            "--without-mingle",  # mingling syncs revoked task ids, which beatdesk never uses: 1 s less per start
            "--without-gossip",  # nothing here listens to it, and Celery's gossip fails loudly on a broker restart
        ]
    )


@app.command()
@edge
def scheduler(
    once: Annotated[bool, typer.Option("--once", help="One pass (due batches, due posts), then exit.")] = False,
    now: Annotated[str | None, typer.Option(help="With --once: act as if it were this ISO time.")] = None,
    loglevel: Annotated[str | None, typer.Option(help="Log level (default BEATDESK_LOG_LEVEL).")] = None,
    supervised: SupervisedFlag = False,
) -> None:
    """Make scheduled batches and publish due posts every minute: Celery beat on BEATDESK_BROKER_URL
    (one active however many run), or a loop in this process on the embedded default."""
    from sqlalchemy.exc import DBAPIError

    from beatdesk.outage import Outage
    from beatdesk.personas import known_personas, load_persona
    from beatdesk.settings import get_settings
    from publishers.due import publish_due
    from publishers.metrics.collect import BesidePublishing, Collected, collect_due
    from workers.app import check_broker, configure
    from workers.graph import start_scheduled_batches, wait_for_batch
    from workers.tasks import METRICS_EVERY_S

    settings = get_settings()
    from beatdesk.logs import configure_logging

    configure_logging(settings, level=loglevel)
    personas = [load_persona(settings.home, key) for key in known_personas(settings.home)]
    if not supervised:
        _say_not_connected(settings)
    store = _store(settings)
    schedules = sum(len(p.schedule) for p in personas)
    if once or settings.in_process:

        def report(done: Collected) -> None:  # quiet when nothing was read
            if done.readings or done.gone or done.failed:
                console.print(f"metrics: {_collected_line(done)}", highlight=False)

        metrics = BesidePublishing(settings, every_s=METRICS_EVERY_S, report=report)
        store_away = Outage("store", lambda line: console.print(line, highlight=False, soft_wrap=True))
        if not once:  # then quiet until something happens
            console.print(f"every {settings.scheduler_tick_s:g}s: due batches and due posts; {schedules} schedule(s)")
        while True:
            when = _clock(now)
            try:
                started = start_scheduled_batches(settings, now=when)
                if settings.in_process:
                    for batch_id in started:
                        wait_for_batch(settings, batch_id, timeout_s=settings.batch_timeout_s)
                sweep = publish_due(store, home=settings.home, now=when)
            except DBAPIError as err:  # the store is away: said once, tried again next tick
                if once:
                    raise
                store_away.failed(err)
                time.sleep(settings.scheduler_tick_s)
                continue
            store_away.worked()
            if once or started or sweep.published:
                console.print(f"{when:%Y-%m-%d %H:%M} UTC: {len(started)} batch(es) started, {len(sweep.published)} "
                              f"post(s) published; {schedules} schedule(s)")  # fmt: skip
            _print_troubles(sweep)
            if once:  # after publishing, never before it
                console.print(f"metrics: {_collected_line(collect_due(settings, when))}", highlight=False)
                return
            metrics.tick(when)
            time.sleep(settings.scheduler_tick_s)
    celery_app = configure(settings)
    check_broker(settings)
    for entry in ("publish-due", "run-schedules"):  # collect-metrics keeps its own pace
        celery_app.conf.beat_schedule[entry]["schedule"] = settings.scheduler_tick_s
    # Beat's state file is per machine: homes shared over NFS would otherwise have two schedulers write one shelve.
    import socket

    schedule = settings.home / f"beat-schedule-{socket.gethostname()}"
    celery_app.start(["beat", "--scheduler=workers.leader:LeaderScheduler",
                      f"--loglevel={loglevel or settings.log_level}", f"--schedule={schedule}"])  # fmt: skip


@app.command()
@edge
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Addresses of a trusted reverse proxy whose X-Forwarded-For/-Proto are believed "
            "(uvicorn's option); unset, the peer's own address counts, e.g. for the login limit."
        ),
    ] = None,
) -> None:
    """Run the review desk (web pages and the JSON API) on HOST:PORT."""
    import uvicorn

    from beatdesk.settings import get_settings
    from review_web.app import create_app
    from review_web.security import is_loopback

    settings = get_settings()
    public = not is_loopback(host)
    desk = create_app(settings, public=public)  # which refuses a weak key, or none beyond loopback
    from beatdesk.logs import configure_logging

    configure_logging(settings)
    # log_config=None: uvicorn's lines go through the root handler (BEATDESK_LOG_FORMAT); requests are not logged.
    uvicorn.run(desk, host=host, port=port, log_config=None, log_level="warning",
                proxy_headers=forwarded_allow_ips is not None, forwarded_allow_ips=forwarded_allow_ips)  # fmt: skip


@app.command()
@edge
def up(
    host: Annotated[str, typer.Option(help="Address the review desk listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the review desk.")] = 8000,
    concurrency: Annotated[int | None, typer.Option(help="Worker processes (with a broker).")] = None,
    pool: Annotated[WorkerPool, typer.Option(help="The worker's pool (with a broker).")] = WorkerPool.prefork,
) -> None:
    """Run the desk for a team: serve, the scheduler and (with BEATDESK_BROKER_URL) a worker; Ctrl-C stops all."""
    from beatdesk.settings import get_settings
    from beatdesk_cli.up import Backoff, Supervisor, check_port_free, desk_children

    settings = get_settings()
    _check_host(host, settings)
    check_port_free(host, port)
    _store(settings)  # migrated once here, before three processes open it
    _say_not_connected(settings)
    if not settings.in_process:
        from workers.app import check_broker, configure

        configure(settings)
        check_broker(settings)
    children = desk_children(
        in_process=settings.in_process, host=host, port=port, concurrency=concurrency, pool=pool.value
    )
    mode = "in-process tasks" if settings.in_process else "Celery workers"
    banner = f"beatdesk up: review desk on http://{host}:{port}, {mode}; Ctrl-C stops everything"
    errors.print(banner, highlight=False, soft_wrap=True)
    backoff = Backoff(first_s=settings.restart_backoff_s, max_s=settings.restart_backoff_max_s,
                      reset_after_s=settings.restart_reset_after_s)  # fmt: skip
    raise typer.Exit(Supervisor(children, backoff=backoff).run())


@users_app.command("add")
@edge
def users_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[Role, typer.Option(help="reviewer or admin.")] = Role.reviewer,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Add a person who may log in to the review desk."""
    from beatdesk.settings import get_settings
    from beatdesk.users import add_user, check_user_name

    check_user_name(name)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not sys.stdin.isatty():
        raise BeatdeskError("no terminal to ask for the password on; pipe it in with --password-stdin")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _store(get_settings()).session() as session:
        user = add_user(session, name=name, role=role.value, password=password)
    console.print(f"user {user.name} added as {user.role}", highlight=False)


@publish_app.command("due")
@edge
def publish_due_now(
    now: Annotated[
        str | None, typer.Option(help="Act as if it were this ISO time (UTC unless a zone is given).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Publish every approved post whose slot has come, to each of its persona's channels, once; exit 1 when a
    due channel failed or is blocked (each printed with its reason and next try)."""
    from beatdesk.settings import get_settings
    from beatdesk_cli.show import print_json
    from publishers.due import publish_due

    settings = get_settings()
    when = _clock(now)
    _check_personas(settings)  # a broken persona file is said here; a channel without credentials is not
    # By hand, channels blocked by an earlier refusal are tried again (someone fixed the credentials).
    sweep = publish_due(_store(settings), home=settings.home, now=when, retry_blocked=True)
    if as_json:
        print_json(sweep.as_json())
    else:
        published = sweep.published
        console.print(
            f"{len(published)} post(s) published" + (f": {', '.join(map(str, published))}" if published else "")
        )
        _print_troubles(sweep)
    if not sweep.ok:
        raise typer.Exit(1)


def _print_troubles(sweep: Any) -> None:
    """One line per due channel that did not go out: post, channel, status, reason, next try."""
    for trouble in sweep.troubles():
        colour = "yellow" if trouble.state.status == "retrying" else "red"
        errors.print(Text.assemble((f"post {trouble.post_id} {trouble.state.channel.name}:", colour), " ",
                                   trouble.state.line()), highlight=False, soft_wrap=True)  # fmt: skip


@metrics_app.command("collect")
@edge
def metrics_collect(
    persona: Annotated[str | None, typer.Option(help="Only this persona's publications.")] = None,
    now: Annotated[
        str | None, typer.Option(help="Act as if it were this ISO time (UTC unless a zone is given).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Read the engagement of every publication that is due (1 h, 24 h, 7 d after it went out, then weekly
    until 30 days) from its channel, and store it; the scheduler does this every 10 minutes."""
    from beatdesk.personas import load_persona
    from beatdesk.settings import get_settings
    from beatdesk_cli.show import print_json
    from publishers.metrics.collect import collect_due

    settings = get_settings()
    key = load_persona(settings.home, persona).key if persona else None
    _store(settings)
    done = collect_due(settings, _clock(now), persona=key)
    if as_json:
        print_json(done.as_json())
        return
    console.print(_collected_line(done), highlight=False)
    for where, reason in done.stale.items():
        console.print(Text.assemble((f"{where} stale:", "yellow"), " ", reason), highlight=False)
    for where, until in done.rate_limited.items():
        console.print(f"{where} rate-limited until {until:%Y-%m-%d %H:%M} UTC", highlight=False)


def _collected_line(done: Any) -> str:
    gone = f", {done.gone} deleted on their channel" if done.gone else ""
    failed = f", {done.failed} not read (tried again next run)" if done.failed else ""
    return f"{done.readings} reading(s) stored{gone}{failed}"


def _check_host(host: str, settings: Settings) -> None:
    """Beyond this machine, cookies are signed with a key that outlives the home folder; any key given is
    measured before three processes start (as `serve` will)."""
    from review_web.security import is_loopback

    settings.check_secret_key(public=not is_loopback(host))


def _clock(now: str | None) -> datetime:
    """`--now` as an aware time (UTC unless it names a zone), or the real time."""
    from beatdesk.review import parse_time

    when = parse_time(now, label="--now") if now else datetime.now(UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _check_personas(settings: Settings) -> None:
    from beatdesk.personas import known_personas, load_persona

    for key in known_personas(settings.home):
        load_persona(settings.home, key)


def _say_not_connected(settings: Settings) -> None:
    """A channel without its credentials is said once, on stderr, and skipped: the desk and the rest go on."""
    from beatdesk.personas import known_personas, load_persona
    from publishers.credentials import not_connected

    personas = [load_persona(settings.home, key) for key in known_personas(settings.home)]
    for line in not_connected(personas, settings.home):
        errors.print(line, highlight=False, soft_wrap=True)


@schedule_app.command("show")
@edge
def schedule_show(
    persona: Annotated[str | None, typer.Option(help="Only this persona's posts.")] = None, as_json: JsonFlag = False
) -> None:
    """Approved posts and their slots, soonest first."""
    from rich.table import Table

    from beatdesk.personas import load_persona
    from beatdesk.publishing import channel_states
    from beatdesk.settings import get_settings
    from beatdesk.store import repo
    from beatdesk_cli.show import post_summary, print_json

    settings = get_settings()
    key = load_persona(settings.home, persona).key if persona else None
    with _store(settings, reading=True).session() as session:
        posts = repo.scheduled_posts(session, persona=key)
    now = datetime.now(UTC)
    rows = [(p, channel_states(p, load_persona(settings.home, p.persona), now=now)) for p in posts]
    if as_json:
        print_json([post_summary(p) | {
            "slot_at": p.slot_at.isoformat() if p.slot_at else None,
            "channels": [s.as_json() for s in states],
        } for p, states in rows])  # fmt: skip
        return
    table = Table("slot (UTC)", "id", "persona", "format", "title", "channels", title=f"{len(posts)} scheduled",
                  header_style="bold")  # fmt: skip
    for post, states in rows:
        slot = f"{post.slot_at:%Y-%m-%d %H:%M}" if post.slot_at else ""
        where = ", ".join(_channel_cell(s, post.slot_at) for s in states)
        table.add_row(slot, str(post.id), post.persona, str(post.content_format), post.title, where)
    console.print(table)


def _channel_cell(state: ChannelState, slot_at: datetime | None) -> str:
    at = f" {state.due_at:%H:%M}" if state.due_at != slot_at else ""  # a channel with its own posting times
    return state.channel.name + at + (f" ({state.line()})" if state.status not in ("due", "waiting") else "")


class TokenScope(StrEnum):
    read = "read"
    review = "review"
    admin = "admin"


@users_app.command("token")
@edge
def users_token(
    name: Annotated[str, typer.Argument(help="The user the token acts as.")],
    scope: Annotated[
        TokenScope, typer.Option(help="read (GET only), review (decisions) or admin.")
    ] = TokenScope.review,
    expires: Annotated[str, typer.Option(help="How long it lives: 90m, 12h, 30d, 2w.")] = "90d",
    label: Annotated[
        str | None, typer.Option("--name", help="What it is for (`ci`, `chat bot`), shown in lists.")
    ] = None,
) -> None:
    """Make an API token for NAME (shown once; only its hash is kept)."""
    from beatdesk.settings import get_settings
    from beatdesk.users import issue_token, parse_lifetime

    lifetime = parse_lifetime(expires)
    with _store(get_settings()).session() as session:
        print(issue_token(session, name=name, scope=scope.value, lifetime=lifetime, label=label))


@tokens_app.command("list")
@users_app.command("tokens")
@edge
def users_tokens(
    name: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None, as_json: JsonFlag = False
) -> None:
    """List API tokens: id, owner, name, scope, made, last used, expires, live, expired or revoked."""
    from rich.table import Table

    from beatdesk.settings import get_settings
    from beatdesk.users import list_tokens
    from beatdesk_cli.show import print_json

    with _store(get_settings(), reading=True).session() as session:
        tokens = list_tokens(session, name=name)
    if as_json:
        print_json([{"id": t.id, "user": t.user, "name": t.name, "scope": t.scope,
                     "created_at": t.created_at.isoformat(), "last_used_at": _iso(t.last_used_at),
                     "expires_at": _iso(t.expires_at), "revoked_at": _iso(t.revoked_at), "state": t.state}
                    for t in tokens])  # fmt: skip
        return
    table = Table("id", "user", "name", "scope", "made (UTC)", "last used (UTC)", "expires (UTC)", "state",
                  title=f"{len(tokens)} tokens")  # fmt: skip
    for t in tokens:
        table.add_row(str(t.id), t.user, t.name or "", t.scope, f"{t.created_at:%Y-%m-%d %H:%M}",
                      f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
                      f"{t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "never", t.state)  # fmt: skip
    console.print(table)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


@tokens_app.command("revoke")
@users_app.command("revoke")
@edge
def users_revoke(token_id: Annotated[int, typer.Argument(help="The token's id, from `tokens list`.")]) -> None:
    """Revoke an API token: it stops working at once."""
    from beatdesk.settings import get_settings
    from beatdesk.users import revoke_token

    with _store(get_settings()).session() as session:
        revoke_token(session, token_id=token_id)
    console.print(f"token {token_id} revoked")


@users_app.command("list")
@edge
def users_list(as_json: JsonFlag = False) -> None:
    """Every user: name, role, active, disabled or removed."""
    from rich.table import Table

    from beatdesk.settings import get_settings
    from beatdesk.users import list_people
    from beatdesk_cli.show import print_json

    with _store(get_settings(), reading=True).session() as session:
        people = list_people(session)
    if as_json:
        print_json([{"name": p.name, "role": p.role, "state": p.state, "created_at": p.created_at.isoformat(),
                     "disabled_at": _iso(p.disabled_at), "removed_at": _iso(p.removed_at)}
                    for p in people])  # fmt: skip
        return
    table = Table("name", "role", "state", "added (UTC)", title=f"{len(people)} users")
    for p in people:
        table.add_row(p.name, p.role, p.state, f"{p.created_at:%Y-%m-%d %H:%M}")
    console.print(table)


@users_app.command("password")
@edge
def users_password(
    name: Annotated[str, typer.Argument(help="Login name.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Set a new password for NAME; their open sessions end."""
    from beatdesk.settings import get_settings
    from beatdesk.users import set_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with _store(get_settings()).session() as session:
        set_password(session, name=name, password=password)
    console.print(f"password of {name} changed; their sessions ended")


@users_app.command("reset-password")
@edge
def users_reset_password(
    name: Annotated[str, typer.Argument(help="Login name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from stdin instead of making one.")
    ] = False,
) -> None:
    """Reset NAME's password to a generated one, printed once (or the one on stdin); their sessions end."""
    from beatdesk.settings import get_settings
    from beatdesk.users import CLI, reset_password

    typed = sys.stdin.readline().rstrip("\n") if password_stdin else None
    if password_stdin and not typed:
        raise BeatdeskError("--password-stdin read an empty line; pipe the new password in")
    with _store(get_settings()).session() as session:
        made = reset_password(session, name=name, password=typed, actor=CLI)
    if made is not None:
        print(made)  # alone on stdout, for a script to pass on; shown this once
        errors.print(f"password of {name} reset (above, shown once); their sessions ended", highlight=False)
    else:
        console.print(f"password of {name} changed; their sessions ended", highlight=False)


@users_app.command("disable")
@edge
def users_disable(name: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Disable NAME: no more logins, and their sessions and tokens stop working."""
    from beatdesk.settings import get_settings
    from beatdesk.users import disable_user

    with _store(get_settings()).session() as session:
        disable_user(session, name=name)
    console.print(f"user {name} disabled")


@users_app.command("enable")
@edge
def users_enable(name: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Enable a disabled user: they may log in again, and their live tokens work again."""
    from beatdesk.settings import get_settings
    from beatdesk.users import enable_user

    with _store(get_settings()).session() as session:
        enable_user(session, name=name)
    console.print(f"user {name} enabled")


@users_app.command("remove")
@edge
def users_remove(
    name: Annotated[str, typer.Argument(help="Login name.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove NAME: sessions end and tokens are revoked at once; their decisions stay in the audit log by name."""
    from beatdesk.settings import get_settings
    from beatdesk.users import remove_user

    if not yes:
        if not sys.stdin.isatty():
            raise BeatdeskError(f"removing {name} cannot be undone: add --yes to confirm")
        typer.confirm(f"Remove {name}? Their sessions end and their tokens are revoked", abort=True)
    with _store(get_settings()).session() as session:
        remove_user(session, name=name)
    console.print(f"user {name} removed: sessions ended, tokens revoked")


@app.command()
@edge
def audit(as_json: JsonFlag = False) -> None:
    """Check the books over the whole database: every total the sum of its steps, no charge shown as $0."""
    from beatdesk.audit import audit as check_books
    from beatdesk.prices import format_usd
    from beatdesk.settings import get_settings
    from beatdesk_cli.show import print_json

    with _store(get_settings(), reading=True).session() as session:
        report = check_books(session)
    if as_json:
        print_json({"ok": report.ok, "steps": report.steps, "posts": report.posts, "batches": report.batches,
                    "total_usd": format_usd(report.total_usd), "findings": report.findings})  # fmt: skip
    else:
        console.print(f"{report.steps} steps, {report.posts} posts, {report.batches} batches: "
                      f"{format_usd(report.total_usd)} USD on the books", highlight=False)  # fmt: skip
        for finding in report.findings:
            console.print(Text.assemble(("✗", "red"), " ", finding), highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@db_app.command("migrate")
@edge
def db_migrate() -> None:
    """Bring the store (BEATDESK_DATABASE_URL or the home's SQLite file) to the newest schema."""
    from beatdesk.settings import get_settings
    from beatdesk.transfer import shown_url

    settings = get_settings()
    _store(settings)
    console.print(f"{shown_url(settings.effective_database_url)} is at the newest schema", highlight=False)


@db_app.command("copy")
@edge
def db_copy(
    to: Annotated[str, typer.Option("--to", help="An empty database: postgresql://… or sqlite:///path.db.")],
) -> None:
    """Copy every table of the store into an empty database, ids kept, checked by counts and audit."""
    from beatdesk.settings import get_settings
    from beatdesk.transfer import copy_store

    source = get_settings().effective_database_url
    with _transfer_progress("copying") as on_rows:
        filled = copy_store(source, to, on_rows=on_rows)
    _print_filled(filled, to)


@db_app.command("dump")
@edge
def db_dump(
    file: Annotated[Path, typer.Argument(help="The archive to write (a zip of JSON lines per table).")],
) -> None:
    """Write the whole store to one portable file, with its schema revision and row counts."""
    from beatdesk.archive import dump
    from beatdesk.settings import get_settings

    with _transfer_progress("dumping") as on_rows:
        counts = dump(get_settings().effective_database_url, file, on_rows=on_rows)
    console.print(f"{sum(counts.values())} rows in {len(counts)} tables written to {file}", highlight=False)


@db_app.command("restore")
@edge
def db_restore(
    file: Annotated[Path, typer.Argument(help="An archive written by `beatdesk db dump`.")],
    to: Annotated[str | None, typer.Option("--to", help="The empty database to fill (default: the store).")] = None,
) -> None:
    """Fill an empty store from a dump of the same schema revision, checked by counts and audit."""
    from beatdesk.archive import restore
    from beatdesk.settings import get_settings

    settings = get_settings()
    target = to or settings.effective_database_url
    if to is None and settings.database_url is None:
        settings.check_home()
    with _transfer_progress("restoring") as on_rows:
        filled = restore(file, target, on_rows=on_rows)
    _print_filled(filled, target)


@contextmanager
def _transfer_progress(verb: str) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar of rows on stderr, gone when the work ends."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn(verb), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("rows"), TimeElapsedColumn())  # fmt: skip
    # Only on a terminal: elsewhere the finished bar would leave a blank line before a refusal's one line.
    with Progress(*columns, console=errors, transient=True, disable=not errors.is_terminal) as progress:
        task = progress.add_task("", total=None)
        yield lambda table, done, total: progress.update(task, description=table, completed=done, total=total)


def _print_filled(filled: Any, url: str) -> None:
    from beatdesk.transfer import shown_url

    rows = sum(filled.counts.values())
    console.print(f"{rows} rows in {len(filled.counts)} tables, counts equal; "
                  f"audit: {filled.audit.steps} steps, {filled.audit.posts} posts, {filled.audit.batches} batches",
                  highlight=False)  # fmt: skip
    for finding in filled.inherited:
        console.print(Text.assemble(("!", "yellow"), " already in the source: ", finding), highlight=False)
    console.print(f"to use it: BEATDESK_DATABASE_URL={shown_url(url)}", highlight=False)


@notify_app.command("test")
@edge
def notify_test(as_json: JsonFlag = False) -> None:
    """Send a test message to every configured URL and say, per URL, whether it went; exit 1 if any failed."""
    from beatdesk.errors import ConfigError
    from beatdesk.notify.probe import configured_urls, send_test
    from beatdesk.settings import get_settings
    from beatdesk_cli.show import print_json

    settings = get_settings()
    targets, problems = configured_urls(urls=settings.notify_url_list, home=settings.home)
    if not targets and not problems:
        raise ConfigError("no notification URLs configured: set BEATDESK_NOTIFY_URLS (Apprise URLs, such as "
                          "ntfy://TOPIC) or `notify = [...]` in a persona file")  # fmt: skip
    results = send_test(targets)
    if as_json:
        print_json({"results": [{"url": d.url, "source": t.source, "ok": d.error is None, "error": d.error}
                                for t, d in results], "problems": problems})  # fmt: skip
    else:
        for problem in problems:
            console.print(Text.assemble(("failed", "red"), f"  {problem}"), highlight=False, soft_wrap=True)
        for target, delivery in results:
            state = ("ok", "green") if delivery.error is None else ("failed", "red")
            why = f": {delivery.error}" if delivery.error else ""
            console.print(Text.assemble(state, f"  {delivery.url} ({target.source}){why}"), highlight=False,
                          soft_wrap=True)  # fmt: skip
    if problems or any(d.error for _, d in results):
        raise typer.Exit(1)


def main() -> None:
    """The console script: usage errors too become one line (`error: …`) with exit code 2."""
    try:
        code = app(prog_name="beatdesk", standalone_mode=False)
    except typer.Abort:
        errors.print("aborted")
        sys.exit(130)
    except typer.TyperException as err:  # usage errors: a bad option value, an unknown command
        shown = err.format_message() if hasattr(err, "format_message") else str(err)
        say_error(shown)
        sys.exit(getattr(err, "exit_code", 2))
    finally:
        _send_queued_notices()
    sys.exit(code if isinstance(code, int) else 0)


def _send_queued_notices() -> None:
    """What the command announced goes out before it exits: here, while threads may still be started (Apprise
    sends through a thread pool, which takes no work once the interpreter is shutting down)."""
    sender = sys.modules.get("beatdesk.notify.sender")  # nothing announced: nothing to load
    if sender is not None:
        sender.flush()


@link_app.command("create")
@edge
def link_create(
    for_whom: Annotated[
        str, typer.Option("--for", help="Who it is for, e.g. acme-marketing (shown in the audit log).")
    ],
    post: Annotated[int | None, typer.Option("--post", min=1, max=2**31 - 1, help="The post to show.")] = None,
    batch: Annotated[int | None, typer.Option("--batch", min=1, max=2**31 - 1, help="The batch to show.")] = None,
    expires: Annotated[str, typer.Option(help="How long it works: 90m, 12h, 7d, 2w (at most 90 days).")] = "7d",
    as_json: JsonFlag = False,
) -> None:
    """A link to one post or one batch where someone without an account can approve, ask for changes or comment."""
    from beatdesk import client_links
    from beatdesk.errors import BeatdeskError
    from beatdesk.settings import get_settings
    from beatdesk.users import parse_lifetime
    from beatdesk_cli.show import print_json

    if (post is None) == (batch is None):
        raise BeatdeskError("give one of --post ID or --batch ID")
    settings = get_settings()
    lifetime = parse_lifetime(expires)
    with _store(settings).session() as session:
        link, token = client_links.create(session, kind="post" if post else "batch", target_id=post or batch or 0,
                                          label=for_whom, actor=_actor(), lifetime=lifetime)  # fmt: skip
    url = f"{settings.desk_url}/c/{token}"
    if as_json:
        print_json({"id": link.id, "url": url, "kind": link.kind, "target_id": link.target_id, "for": link.label,
                    "expires_at": link.expires_at.isoformat()})  # fmt: skip
        return
    console.print(f"link {link.id} for {link.label} to {link.kind} {link.target_id}, until "
                  f"{link.expires_at:%Y-%m-%d %H:%M} UTC (shown once; revoke with `beatdesk link revoke {link.id}`):",
                  highlight=False)  # fmt: skip
    print(url, flush=True)


@link_app.command("list")
@edge
def link_list(as_json: JsonFlag = False) -> None:
    """Client links, newest first, each live, expired or revoked (their tokens are never shown again)."""
    from beatdesk import client_links
    from beatdesk.settings import get_settings
    from beatdesk_cli.show import print_json

    with _store(get_settings()).session() as session:
        links = client_links.list_links(session)
    rows = [{"id": link.id, "kind": link.kind, "target_id": link.target_id, "for": link.label, "by": link.created_by,
             "expires_at": link.expires_at.isoformat(), "state": link.state()} for link in links]  # fmt: skip
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no client links; make one with `beatdesk link create --post ID --for NAME`")
    for row in rows:
        console.print(f"{row['id']}  {row['kind']} {row['target_id']}  for {row['for']}  by {row['by']}  "
                      f"until {row['expires_at']}  {row['state']}", highlight=False)  # fmt: skip


@link_app.command("revoke")
@edge
def link_revoke(link_id: Annotated[int, typer.Argument(help="The link's id.", min=1, max=2**31 - 1)]) -> None:
    """Stop a client link at once: its page and its actions are refused from now on."""
    from beatdesk import client_links
    from beatdesk.settings import get_settings

    with _store(get_settings()).session() as session:
        link = client_links.revoke(session, link_id=link_id, actor=_actor())
    console.print(f"link {link.id} for {link.label} is revoked", highlight=False)


if __name__ == "__main__":
    main()
