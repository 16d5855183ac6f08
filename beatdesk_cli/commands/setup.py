"""`beatdesk init` and `beatdesk config`: the home and its settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from beatdesk.home import init_home
from beatdesk.settings import get_settings
from beatdesk_cli.show import print_json

if TYPE_CHECKING:  # the commands import what they use, so `--help` and `queue list` start in a blink
    pass
from beatdesk_cli.base import JsonFlag, cli_store, edge
from beatdesk_cli.terminal import console

commands = typer.Typer()
"""Its top-level commands (`beatdesk NAME`), loaded when one of them is run."""


config_app = typer.Typer(help="Settings.", no_args_is_help=True)


@commands.command()
@edge
def init() -> None:
    """Create the beatdesk home with the example persona @ash (safe to run again)."""
    settings = get_settings()
    settings.check_home()
    created = init_home(settings.home)
    cli_store(settings)
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
    shown = get_settings().masked()
    if as_json:
        print_json(shown)
        return
    for key, value in shown.items():
        console.print(f"{key} = {value}", highlight=False)
