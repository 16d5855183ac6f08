"""`beatdesk db` and `beatdesk audit`: the store itself, its copies, and its books."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from beatdesk.archive import dump, restore
from beatdesk.audit import audit as check_books
from beatdesk.prices import format_usd
from beatdesk.settings import get_settings
from beatdesk.transfer import copy_store, shown_url
from beatdesk_cli.show import print_json

if TYPE_CHECKING:  # the commands import what they use, so `--help` and `queue list` start in a blink
    pass
from beatdesk_cli.base import JsonFlag, cli_store, edge, store_session
from beatdesk_cli.terminal import console, errors

commands = typer.Typer()
"""Its top-level commands (`beatdesk NAME`), loaded when one of them is run."""


db_app = typer.Typer(help="The store: migrate, copy to another database, dump and restore.", no_args_is_help=True)


@commands.command()
@edge
def audit(as_json: JsonFlag = False) -> None:
    """Check the books over the whole database: every total the sum of its steps, no charge shown as $0."""
    with store_session(reading=True) as session:
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
    settings = get_settings()
    cli_store(settings)
    console.print(f"{shown_url(settings.effective_database_url)} is at the newest schema", highlight=False)


@db_app.command("copy")
@edge
def db_copy(
    to: Annotated[str, typer.Option("--to", help="An empty database: postgresql://… or sqlite:///path.db.")],
) -> None:
    """Copy every table of the store into an empty database, ids kept, checked by counts and audit."""
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
    columns = (TextColumn(verb), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("rows"), TimeElapsedColumn())  # fmt: skip
    # Only on a terminal: elsewhere the finished bar would leave a blank line before a refusal's one line.
    with Progress(*columns, console=errors, transient=True, disable=not errors.is_terminal) as progress:
        task = progress.add_task("", total=None)
        yield lambda table, done, total: progress.update(task, description=table, completed=done, total=total)


def _print_filled(filled: Any, url: str) -> None:

    rows = sum(filled.counts.values())
    console.print(f"{rows} rows in {len(filled.counts)} tables, counts equal; "
                  f"audit: {filled.audit.steps} steps, {filled.audit.posts} posts, {filled.audit.batches} batches",
                  highlight=False)  # fmt: skip
    for finding in filled.inherited:
        console.print(Text.assemble(("!", "yellow"), " already in the source: ", finding), highlight=False)
    console.print(f"to use it: BEATDESK_DATABASE_URL={shown_url(url)}", highlight=False)
