"""The `beatdesk` command. Each command group lives in `beatdesk_cli/commands/`, and a command line loads only
the module of the group it names: `beatdesk --help` and `beatdesk queue list` never import the web app, the
workers or the LLM libraries."""

from __future__ import annotations

import importlib
import sys

import typer
import typer.core
import typer.main
from typer import _click as click  # typer 0.29 vendors click: its groups take these types

from beatdesk_cli.terminal import errors, say_error

# name: (module in beatdesk_cli.commands, its Typer, the one line `beatdesk --help` shows before loading it)
GROUPS: dict[str, tuple[str, str, str]] = {
    "init": ("setup", "commands", "Create the beatdesk home with the example persona @ash (safe to run again)."),
    "config": ("setup", "config_app", "Settings."),
    "batch": ("batch", "batch_app", "Batches of posts."),
    "plan": (
        "batch",
        "commands",
        "Dry run: print the plans a batch would get, with their reasons; nothing is drafted or stored.",
    ),
    "sources": ("sources", "sources_app", "A persona's sources: notes, digests and feeds."),
    "queue": ("queue", "queue_app", "The review queue."),
    "post": ("post", "post_app", "One post."),
    "review": ("review", "review_app", "Review decisions."),
    "evals": (
        "review",
        "commands",
        "Drafting models and prompt versions ranked by how often reviewers accept their posts.",
    ),
    "link": ("link", "link_app", "Client links: a post or a batch for someone without an account to approve."),
    "schedule": ("publish", "schedule_app", "What goes out when."),
    "publish": ("publish", "publish_app", "Publishing approved posts."),
    "metrics": ("metrics", "metrics_app", "Engagement: what the audience did with what went out."),
    "users": ("users", "users_app", "People who use the review desk."),
    "tokens": ("users", "tokens_app", "API tokens: list and revoke (`users token NAME` makes one)."),
    "notify": ("notify", "notify_app", "Notifications through Apprise URLs."),
    "up": (
        "services",
        "commands",
        "Run the desk for a team: serve, the scheduler and (with BEATDESK_BROKER_URL) a worker.",
    ),
    "serve": ("services", "commands", "Run the review desk (web pages and the JSON API) on HOST:PORT."),
    "worker": ("services", "commands", "Run a Celery worker on BEATDESK_BROKER_URL."),
    "scheduler": ("services", "commands", "Make scheduled batches and publish due posts every minute."),
    "sweep": ("services", "commands", "Hand on posts that stopped moving, and fail those that cannot move."),
    "audit": ("db", "commands", "Check the books over the whole database: every total the sum of its steps."),
    "db": ("db", "db_app", "The store: migrate, copy to another database, dump and restore."),
}


class LazyGroup(typer.core.TyperGroup):
    """The root group: a subcommand's module is imported when that subcommand runs. Listing the commands for
    `--help` uses the lines above, so showing help imports no command module."""

    listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(GROUPS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in GROUPS:
            return None
        module_name, attribute, short_help = GROUPS[cmd_name]
        if self.listing:
            return typer.core.TyperCommand(cmd_name, short_help=short_help)
        module = importlib.import_module(f"beatdesk_cli.commands.{module_name}")
        typer_app = getattr(module, attribute)
        if attribute == "commands":  # the module's top-level commands: pick this one
            return typer.main.get_group(typer_app).get_command(ctx, cmd_name)
        return typer.main.get_group(typer_app)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False


app = typer.Typer(cls=LazyGroup, no_args_is_help=True)


@app.callback()
def root() -> None:
    """beatdesk: an editorial pipeline for explainer posts."""


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


if __name__ == "__main__":
    main()
