"""`beatdesk users` and `beatdesk tokens`: people who use the desk, and their API tokens."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from beatdesk.errors import BeatdeskError
from beatdesk.users import (
    CLI,
    add_user,
    check_user_name,
    disable_user,
    enable_user,
    issue_token,
    list_people,
    list_tokens,
    parse_lifetime,
    remove_user,
    reset_password,
    revoke_token,
    set_password,
)
from beatdesk_cli.show import print_json

if TYPE_CHECKING:  # the commands import what they use, so `--help` and `queue list` start in a blink
    pass
from beatdesk_cli.base import JsonFlag, edge, store_session
from beatdesk_cli.terminal import console, errors

users_app = typer.Typer(help="People who use the review desk.", no_args_is_help=True)


tokens_app = typer.Typer(help="API tokens: list and revoke (`users token NAME` makes one).", no_args_is_help=True)


class Role(StrEnum):
    reviewer = "reviewer"
    admin = "admin"


@users_app.command("add")
@edge
def users_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[Role, typer.Option(help="reviewer or admin.")] = Role.reviewer,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Add a person who may log in to the review desk."""
    check_user_name(name)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not sys.stdin.isatty():
        raise BeatdeskError("no terminal to ask for the password on; pipe it in with --password-stdin")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with store_session() as session:
        user = add_user(session, name=name, role=role.value, password=password)
    console.print(f"user {user.name} added as {user.role}", highlight=False)


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
    lifetime = parse_lifetime(expires)
    with store_session() as session:
        print(issue_token(session, name=name, scope=scope.value, lifetime=lifetime, label=label))


@tokens_app.command("list")
@users_app.command("tokens")
@edge
def users_tokens(
    name: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None, as_json: JsonFlag = False
) -> None:
    """List API tokens: id, owner, name, scope, made, last used, expires, live, expired or revoked."""
    with store_session(reading=True) as session:
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
    with store_session() as session:
        revoke_token(session, token_id=token_id)
    console.print(f"token {token_id} revoked")


@users_app.command("list")
@edge
def users_list(as_json: JsonFlag = False) -> None:
    """Every user: name, role, active, disabled or removed."""
    with store_session(reading=True) as session:
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
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with store_session() as session:
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
    typed = sys.stdin.readline().rstrip("\n") if password_stdin else None
    if password_stdin and not typed:
        raise BeatdeskError("--password-stdin read an empty line; pipe the new password in")
    with store_session() as session:
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
    with store_session() as session:
        disable_user(session, name=name)
    console.print(f"user {name} disabled")


@users_app.command("enable")
@edge
def users_enable(name: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Enable a disabled user: they may log in again, and their live tokens work again."""
    with store_session() as session:
        enable_user(session, name=name)
    console.print(f"user {name} enabled")


@users_app.command("remove")
@edge
def users_remove(
    name: Annotated[str, typer.Argument(help="Login name.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove NAME: sessions end and tokens are revoked at once; their decisions stay in the audit log by name."""
    if not yes:
        if not sys.stdin.isatty():
            raise BeatdeskError(f"removing {name} cannot be undone: add --yes to confirm")
        typer.confirm(f"Remove {name}? Their sessions end and their tokens are revoked", abort=True)
    with store_session() as session:
        remove_user(session, name=name)
    console.print(f"user {name} removed: sessions ended, tokens revoked")
