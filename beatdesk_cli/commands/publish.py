"""`beatdesk publish` and `beatdesk schedule`: what goes out when, and sending it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from beatdesk.personas import known_personas, load_persona
from beatdesk.publishing import channel_states
from beatdesk.settings import get_settings
from beatdesk.store import repo
from beatdesk_cli.show import post_summary, print_json

if TYPE_CHECKING:  # the commands import what they use, so `--help` and `queue list` start in a blink
    from beatdesk.publishing import ChannelState
    from beatdesk.settings import Settings
from beatdesk_cli.base import JsonFlag, cli_store, edge, parse_clock, print_troubles
from beatdesk_cli.terminal import console

publish_app = typer.Typer(help="Publishing approved posts.", no_args_is_help=True)


schedule_app = typer.Typer(help="What goes out when.", no_args_is_help=True)


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
    from publishers.due import publish_due

    settings = get_settings()
    when = parse_clock(now)
    _check_personas(settings)  # a broken persona file is said here; a channel without credentials is not
    # By hand, channels blocked by an earlier refusal are tried again (someone fixed the credentials).
    sweep = publish_due(cli_store(settings), home=settings.home, now=when, retry_blocked=True)
    if as_json:
        print_json(sweep.as_json())
    else:
        published = sweep.published
        console.print(
            f"{len(published)} post(s) published" + (f": {', '.join(map(str, published))}" if published else "")
        )
        print_troubles(sweep)
    if not sweep.ok:
        raise typer.Exit(1)


def _check_personas(settings: Settings) -> None:

    for key in known_personas(settings.home):
        load_persona(settings.home, key)


@schedule_app.command("show")
@edge
def schedule_show(
    persona: Annotated[str | None, typer.Option(help="Only this persona's posts.")] = None, as_json: JsonFlag = False
) -> None:
    """Approved posts and their slots, soonest first."""
    settings = get_settings()
    key = load_persona(settings.home, persona).key if persona else None
    with cli_store(settings, reading=True).session() as session:
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
