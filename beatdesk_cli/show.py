"""How posts and batches look in a terminal (Rich) and in `--json` output."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from beatdesk.evals import Standing
from beatdesk.models import Batch, ContentFormat, HeroTextDraft, PipelineStep, Plan, Post, Source, VideoDraft
from beatdesk.prices import format_usd
from beatdesk_cli.terminal import json_text

SUMMARY_FIELDS = (
    "id",
    "batch_id",
    "persona",
    "content_format",
    "status",
    "title",
    "total_cost_usd",
    "status_changed_at",
)


def post_summary(post: Post) -> dict[str, Any]:
    return post.model_dump(mode="json", include=set(SUMMARY_FIELDS))


def batch_json(batch: Batch) -> dict[str, Any]:
    return {
        "batch_id": batch.id,
        "persona": batch.persona,
        "status": batch.status,
        "message": batch.spec.message,
        "counts": {str(fmt): n for fmt, n in batch.spec.counts.items()},
        "error": batch.error,
        "dropped": batch.dropped,
        "total_cost_usd": format_usd(batch.total_cost_usd),
        "posts": [post_summary(post) for post in batch.posts],
    }


def print_json(data: Any) -> None:
    print(json_text(data), flush=True)


WIDE = 120
"""Below this many columns a post's pipeline is shown as one stacked block per step, not a table."""


def posts_table(posts: list[Post], *, title: str | None = None) -> Table:
    table = Table(title=title, header_style="bold")
    for column in ("id", "batch", "format", "status", "title", "cost (USD)"):
        table.add_column(column, justify="right" if column in ("id", "batch", "cost (USD)") else "left")
    for post in posts:
        table.add_row(
            str(post.id),
            str(post.batch_id),
            str(post.content_format),
            str(post.status),
            Text(post.title),
            format_usd(post.total_cost_usd),
        )
    return table


def _artifact_label(step: PipelineStep) -> str:
    if not step.artifact:
        return ""
    name = (step.artifact.path or step.artifact.url or "").rsplit("/", 1)[-1]
    size = f" {step.artifact.width}x{step.artifact.height}" if step.artifact.width else ""
    return f"{name}{size}"


def _status_text(step: PipelineStep) -> Text:
    """The status coloured, with the error and detail as plain text (they may hold brackets)."""
    colour = {"failed": "red", "skipped": "yellow", "done": "green"}.get(str(step.status), "")
    text = Text(str(step.status), style=colour)
    if step.error:
        text.append(f": {step.error}")
    if step.detail:
        text.append(f" ({step.detail})")
    return text


def steps_table(post: Post) -> Table:
    table = Table(title="Pipeline", header_style="bold")
    for column in ("step", "status", "provider · model", "artifact", "cost (USD)", "latency", "worker"):
        table.add_column(column, no_wrap=column in ("step", "provider · model", "cost (USD)", "latency"))
    for step in post.steps:
        table.add_row(
            step.name,
            _status_text(step),
            Text(f"{step.provider} · {step.model}" if step.provider else ""),
            Text(_artifact_label(step)),
            format_usd(step.cost_usd),
            f"{step.latency_s:.2f}s" if step.latency_s is not None else "",
            Text(step.worker or ""),
        )
    return table


def steps_stacked(post: Post) -> Group:
    """The pipeline for a narrow terminal: a block per step, its status and any error in full, wrapped."""
    colours = {"failed": "red", "skipped": "yellow", "done": "green"}
    blocks: list[Text] = [Text("Pipeline", style="bold")]
    for n, step in enumerate(post.steps, 1):
        block = Text.assemble((f"{n}. {step.name}  ", "bold"), (str(step.status), colours.get(str(step.status), "")))
        if step.detail:
            block.append(f" ({step.detail})")
        if step.error:
            block.append(f"\n   error: {step.error}", style="red")
        facts = [f"{step.provider} · {step.model}" if step.provider else "", f"{format_usd(step.cost_usd)} USD"]
        facts += [f"{step.latency_s:.2f}s" if step.latency_s is not None else "", step.worker or ""]
        block.append("\n   " + " · ".join(f for f in facts if f), style="dim")
        if step.artifact:
            block.append(f"\n   {_artifact_label(step)}", style="dim")
        blocks.append(block)
    return Group(*blocks)


def print_post(console: Console, post: Post) -> None:
    plan = post.plan
    header = Text.assemble(
        (f"#{post.id} ", "bold"),
        (post.title, "bold"),
        f"\n{post.persona} · {post.content_format} · {post.status} since {post.status_changed_at:%Y-%m-%d %H:%M} UTC",
        f" · total {format_usd(post.total_cost_usd)} USD",
    )
    if post.slot_at:
        header.append(f"\nslot {post.slot_at:%Y-%m-%d %H:%M} UTC")
    if post.reason:
        header.append(f"\nreason: {post.reason}" + (f" ({post.reason_code})" if post.reason_code else ""))
    console.print(header)
    plan_text = Text.assemble(
        (plan.beat_title, "bold"),
        f" ({plan.beat_key}) · peg: {', '.join(plan.peg)}\n",
        f"angle: {plan.angle}\nbutton: {plan.button}\n",
        f"why this beat: {plan.why_beat}\nwhy this format: {plan.why_format}\nfreshness: {plan.freshness}",
    )
    if post.message:
        plan_text.append(f"\nbatch message: {post.message}")
    console.print(Panel(plan_text, title="Plan (drafter input)", expand=False))
    draft = post.draft
    if isinstance(draft, HeroTextDraft):
        console.print(Panel(Text(draft.body), title="Body"))
    elif isinstance(draft, VideoDraft):
        scenes = Table("s", "on screen", "voiceover", title=f"Video script · {draft.seconds:g}s")
        for scene in draft.scenes:
            scenes.add_row(f"{scene.seconds:g}", Text(scene.on_screen), Text(scene.voiceover))
        console.print(Group(Text(f"Hook: {draft.hook}"), scenes))
    if draft is not None:
        console.print(Panel(Text(draft.caption), title="Caption"))
    if post.checks:
        marks = {"ok": Text("ok", "green"), "warn": Text("warn", "yellow"), "fail": Text("fail", "red")}
        checks = Table("check", "", "detail", title="Checks", header_style="bold")
        for check in sorted(post.checks, key=lambda c: ("fail", "warn", "ok").index(c.level)):
            checks.add_row(Text(check.name), marks[check.level], Text(check.detail))
        console.print(checks)
    console.print(steps_table(post) if console.width >= WIDE else steps_stacked(post))
    if post.content_format is ContentFormat.video and draft is None:
        console.print("no draft yet")


def print_plans(console: Console, plans: list[Plan], *, notes: list[str]) -> None:
    for n, plan in enumerate(plans, 1):
        body = Text.assemble(
            (plan.title, "bold"),
            f"\n{plan.beat_title} ({plan.beat_key}) · {plan.content_format} · "
            f"peg: {', '.join(plan.peg)} · freshness score {plan.freshness_score:.2f}\n"
            f"button: {plan.button}\nwhy this beat: {plan.why_beat}\nwhy this format: {plan.why_format}\n"
            f"freshness: {plan.freshness}",
        )
        console.print(Panel(body, title=f"item {n}", expand=False))
    for note in notes:
        console.print(Text(note, style="dim"))


def sources_table(sources: list[Source]) -> Table:
    table = Table(title=f"{len(sources)} sources", header_style="bold")
    for column in ("id", "kind", "published", "beats", "score", "title"):
        table.add_column(column, justify="right" if column == "score" else "left")
    for source in sources:
        score = "given" if source.beat_score is None else f"{source.beat_score:.3f}"
        beats = ", ".join(source.beats)
        table.add_row(source.id, source.kind, str(source.published or ""), beats, score, Text(source.title))
    return table


STACKED_BELOW = 120
"""Columns under which the evals print one block per drafter instead of a nine-column table."""


def print_evals(console: Console, standings: list[Standing]) -> None:
    """The evals as a table on a wide terminal, one block per drafter on a narrow one, a sentence when empty."""
    if not standings:
        console.print("No review decisions yet in this range: approve or reject posts and their drafting models "
                      "and prompt versions are ranked here.", highlight=False)  # fmt: skip
        return
    if console.width >= STACKED_BELOW:
        console.print(evals_table(standings))
        return
    console.print("Review decisions by drafting model and prompt version, best first", style="bold")
    for i, s in enumerate(standings, start=1):
        row = s.as_json()
        low, high = row["acceptance_95"]
        why = ", ".join(f"{code} {n}" for code, n in row["reasons"].items())
        console.print(f"\n{i}. {s.drafter} · prompts {s.prompt_version} · {s.decisions} posts", highlight=False)
        console.print(f"   accepted {s.accepted} ({s.rate:.0%}), 95% interval {low:.0%}-{high:.0%}", highlight=False)
        console.print(f"   edited {s.edited} ({row['mean_words_edited']:g} words on average)", highlight=False)
        console.print(f"   rejected {s.rejected}{': ' + why if why else ''}", highlight=False)
        console.print(f"   USD per accepted post: {row['cost_per_accepted_usd'] or '-'}", highlight=False)


def evals_table(standings: list[Standing]) -> Table:
    """The evals' ranking: one row per drafting model and prompt version, best first."""
    table = Table(title="review decisions by drafting model and prompt version, best first", header_style="bold")
    for column in ("#", "drafter", "prompts", "posts", "accepted", "95% interval", "edited (words)", "rejected: why",
                   "USD per accepted"):  # fmt: skip
        table.add_column(column, justify="right" if column in ("#", "posts", "accepted") else "left")
    for i, s in enumerate(standings, start=1):
        row = s.as_json()
        low, high = row["acceptance_95"]
        why = ", ".join(f"{code} {n}" for code, n in row["reasons"].items())
        table.add_row(
            str(i), s.drafter, s.prompt_version, str(s.decisions), f"{s.accepted} ({s.rate:.0%})",
            f"{low:.0%}-{high:.0%}", f"{s.edited} ({row['mean_words_edited']:g} mean)", f"{s.rejected} {why}".strip(),
            row["cost_per_accepted_usd"] or "-",
        )  # fmt: skip
    return table
