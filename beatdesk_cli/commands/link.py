"""`beatdesk link`: client links for someone without an account."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from beatdesk import client_links
from beatdesk.errors import BeatdeskError
from beatdesk.settings import get_settings
from beatdesk.users import parse_lifetime
from beatdesk_cli.show import print_json

if TYPE_CHECKING:  # the commands import what they use, so `--help` and `queue list` start in a blink
    pass
from beatdesk_cli.base import JsonFlag, cli_actor, cli_store, edge, store_session
from beatdesk_cli.terminal import console

link_app = typer.Typer(help="Client links: a post or a batch for someone without an account to approve.",
                       no_args_is_help=True)  # fmt: skip


@link_app.command("create")
@edge
def link_create(
    for_whom: Annotated[
        str, typer.Option("--for", help="Who it is for, e.g. acme-marketing (shown in the audit log).")
    ],
    post: Annotated[int | None, typer.Option("--post", min=1, max=2**31 - 1, help="The post to show.")] = None,
    batch: Annotated[int | None, typer.Option("--batch", min=1, max=2**31 - 1, help="The batch to show.")] = None,
    expires: Annotated[str, typer.Option(help="How long it works: 90m, 12h, 7d, 2w (at most 90 days).")] = "7d",
    as_json: JsonFlag = False,
) -> None:
    """A link to one post or one batch where someone without an account can approve, ask for changes or comment."""
    if (post is None) == (batch is None):
        raise BeatdeskError("give one of --post ID or --batch ID")
    settings = get_settings()
    lifetime = parse_lifetime(expires)
    with cli_store(settings).session() as session:
        link, token = client_links.create(session, kind="post" if post else "batch", target_id=post or batch or 0,
                                          label=for_whom, actor=cli_actor(), lifetime=lifetime)  # fmt: skip
    url = f"{settings.desk_url}/c/{token}"
    if as_json:
        print_json({"id": link.id, "url": url, "kind": link.kind, "target_id": link.target_id, "for": link.label,
                    "expires_at": link.expires_at.isoformat()})  # fmt: skip
        return
    console.print(f"link {link.id} for {link.label} to {link.kind} {link.target_id}, until "
                  f"{link.expires_at:%Y-%m-%d %H:%M} UTC (shown once; revoke with `beatdesk link revoke {link.id}`):",
                  highlight=False)  # fmt: skip
    print(url, flush=True)


@link_app.command("list")
@edge
def link_list(as_json: JsonFlag = False) -> None:
    """Client links, newest first, each live, expired or revoked (their tokens are never shown again)."""
    with store_session() as session:
        links = client_links.list_links(session)
    rows = [{"id": link.id, "kind": link.kind, "target_id": link.target_id, "for": link.label, "by": link.created_by,
             "expires_at": link.expires_at.isoformat(), "state": link.state()} for link in links]  # fmt: skip
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no client links; make one with `beatdesk link create --post ID --for NAME`")
    for row in rows:
        console.print(f"{row['id']}  {row['kind']} {row['target_id']}  for {row['for']}  by {row['by']}  "
                      f"until {row['expires_at']}  {row['state']}", highlight=False)  # fmt: skip


@link_app.command("revoke")
@edge
def link_revoke(link_id: Annotated[int, typer.Argument(help="The link's id.", min=1, max=2**31 - 1)]) -> None:
    """Stop a client link at once: its page and its actions are refused from now on."""
    with store_session() as session:
        link = client_links.revoke(session, link_id=link_id, actor=cli_actor())
    console.print(f"link {link.id} for {link.label} is revoked", highlight=False)
