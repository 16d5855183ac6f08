"""`beatdesk review` and `beatdesk evals`: decisions on drafts, and how the drafts fared."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from beatdesk.enums import REJECT_REASONS
from beatdesk.evals import evals
from beatdesk.personas import load_persona
from beatdesk.review import approve, parse_time, reject, reopen
from beatdesk.settings import get_settings
from beatdesk_cli.show import print_evals, print_json

if TYPE_CHECKING:  # the commands import what they use, so `--help` and `queue list` start in a blink
    pass
from beatdesk_cli.base import JsonFlag, StoredPostId, cli_actor, cli_store, edge, print_decision, since_utc
from beatdesk_cli.terminal import console

commands = typer.Typer()
"""Its top-level commands (`beatdesk NAME`), loaded when one of them is run."""


review_app = typer.Typer(help="Review decisions.", no_args_is_help=True)


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
    settings = get_settings()
    store = cli_store(settings)
    with store.session() as session:
        when = parse_time(at, label="--at") if at is not None else None
        approve(session, post_id=post_id, home=settings.home, actor=cli_actor(), at=when, override=reason,
                require_override=True)  # fmt: skip
    print_decision(store, post_id, as_json)


@review_app.command("reject")
@edge
def review_reject(
    post_id: StoredPostId,
    reason: Annotated[str, typer.Option(help="Why, in words, for the record and the drafter.")] = "",
    reason_code: Annotated[str | None, typer.Option(help=f"The kind of reason: {', '.join(REJECT_REASONS)}.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Reject a post in review, with a reason (a code from the short list, words, or both)."""
    store = cli_store(get_settings())
    with store.session() as session:
        reject(session, post_id=post_id, actor=cli_actor(), reason=reason, code=reason_code)
    print_decision(store, post_id, as_json)


@review_app.command("reopen")
@edge
def review_reopen(post_id: StoredPostId, as_json: JsonFlag = False) -> None:
    """Put a rejected post back in review (kept in its audit log)."""
    store = cli_store(get_settings())
    with store.session() as session:
        reopen(session, post_id=post_id, actor=cli_actor())
    print_decision(store, post_id, as_json)


@commands.command("evals")
@edge
def evals_command(
    persona: Annotated[str | None, typer.Option(help="Only this persona's decisions.")] = None,
    since: Annotated[str | None, typer.Option(help="Only decisions from this date or time on (ISO, UTC).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Drafting models and prompt versions ranked by how often reviewers accept their posts."""
    settings = get_settings()
    key = load_persona(settings.home, persona).key if persona else None
    start = since_utc(since)
    with cli_store(settings, reading=True).session() as session:
        standings = evals(session, persona=key, since=start)
    if as_json:
        print_json([s.as_json() for s in standings])
    else:
        print_evals(console, standings)
