"""`beatdesk sources`: a persona's notes, digests and feeds."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from beatdesk.personas import load_persona
from beatdesk.settings import get_settings
from beatdesk.store import repo
from beatdesk_cli.show import print_json, sources_table

if TYPE_CHECKING:  # the commands import what they use, so `--help` and `queue list` start in a blink
    pass
from beatdesk_cli.base import JsonFlag, cli_store, edge
from beatdesk_cli.terminal import console, errors

sources_app = typer.Typer(help="A persona's sources: notes, digests and feeds.", no_args_is_help=True)


class SourceKind(StrEnum):
    note = "note"
    digest = "digest"
    feed = "feed"


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
    from planner.sources import add_sources

    settings = get_settings()
    chosen = load_persona(settings.home, persona)
    stored, skipped, unreachable = add_sources(
        cli_store(settings),
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
    settings = get_settings()
    chosen = load_persona(settings.home, persona)
    with cli_store(settings, reading=True).session() as session:
        found = repo.list_sources(session, persona=chosen.key, limit=100_000 if beat else limit)
    if beat:
        found = [s for s in found if beat in s.beats][:limit]
    if as_json:
        print_json([s.model_dump(mode="json") for s in found])
    else:
        console.print(sources_table(found))
