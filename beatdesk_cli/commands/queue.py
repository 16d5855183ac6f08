"""`beatdesk queue`: the review queue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from beatdesk.enums import PostStatus
from beatdesk.personas import load_persona
from beatdesk.settings import get_settings
from beatdesk.store import repo
from beatdesk_cli.show import post_summary, posts_table, print_json

if TYPE_CHECKING:  # the commands import what they use, so `--help` and `queue list` start in a blink
    pass
from beatdesk_cli.base import JsonFlag, cli_store, edge
from beatdesk_cli.terminal import console

queue_app = typer.Typer(help="The review queue.", no_args_is_help=True)


@queue_app.command("list")
@edge
def queue_list(
    persona: Annotated[str | None, typer.Option(help="Only this persona's posts.")] = None,
    status: Annotated[PostStatus | None, typer.Option(help="Only posts in this status.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List posts, newest first."""
    settings = get_settings()
    key = load_persona(settings.home, persona).key if persona else None
    with cli_store(settings, reading=True).session() as session:
        posts = repo.list_posts(session, persona=key, status=status)
    if as_json:
        print_json([post_summary(post) for post in posts])
    else:
        console.print(posts_table(posts, title=f"{len(posts)} posts"))
