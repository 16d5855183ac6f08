"""`beatdesk batch` and `beatdesk plan`: running a batch through the pipeline, and planning one dry."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import TypeAdapter, ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from beatdesk.errors import BatchSpecError
from beatdesk.models import BatchStatus, Money, PostStatus, StepStatus
from beatdesk.personas import load_persona
from beatdesk.prices import format_usd
from beatdesk.settings import get_settings
from beatdesk.store import repo
from beatdesk_cli.show import batch_json, posts_table, print_json, print_plans
from drafter.registry import drafter_for
from planner.spec import build_spec
from renderers.estimate import estimate_batch

if TYPE_CHECKING:  # the commands import what they use, so `--help` and `queue list` start in a blink
    from beatdesk.models import Post
from beatdesk_cli.base import JsonFlag, StoredBatchId, cli_store, edge, store_session
from beatdesk_cli.terminal import console, errors, say_error

commands = typer.Typer()
"""Its top-level commands (`beatdesk NAME`), loaded when one of them is run."""


batch_app = typer.Typer(help="Batches of posts.", no_args_is_help=True)


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
    from planner.registry import planner_for
    from renderers.registry import image_renderer, video_renderer
    from workers.graph import start_batch, wait_for_batch  # the CLI's edge onto the workers

    settings = get_settings()
    settings.check_secrets()
    check_max_cost(max_cost)
    cli_store(settings)  # reachable, migrated and sound before the batch is stored
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
    with store_session(reading=True) as session:
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

    if as_json:
        print_json({"batch_id": batch_id, "status": "queued", "posts": []})
    else:
        console.print(f"batch {batch_id} queued")


@commands.command()
@edge
def plan(
    persona: Annotated[str, typer.Option(help="Persona key or handle.")],
    items: Annotated[int | None, typer.Option(help="How many items in all (default: the persona's).")] = None,
    video: Annotated[int | None, typer.Option(help="How many of them are videos.")] = None,
    message: Annotated[str | None, typer.Option(help="A special message with counts, e.g. '5 items, 1 video'.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Dry run: print the plans a batch would get, with their reasons; nothing is drafted or stored."""
    from planner.registry import planner_for
    from planner.stage import planning_context

    settings = get_settings()
    chosen = load_persona(settings.home, persona)
    spec = build_spec(chosen, items=items, video=video, message=message)
    planner = planner_for(settings.llm)
    context = planning_context(
        cli_store(settings),
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
