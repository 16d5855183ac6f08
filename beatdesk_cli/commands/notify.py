"""`beatdesk notify`: checking the notification URLs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.text import Text

from beatdesk.errors import ConfigError
from beatdesk.notify.probe import configured_urls, send_test
from beatdesk.settings import get_settings
from beatdesk_cli.show import print_json

if TYPE_CHECKING:  # the commands import what they use, so `--help` and `queue list` start in a blink
    pass
from beatdesk_cli.base import JsonFlag, edge
from beatdesk_cli.terminal import console

notify_app = typer.Typer(help="Notifications through Apprise URLs (BEATDESK_NOTIFY_URLS, a persona's notify).",
                         no_args_is_help=True)  # fmt: skip


@notify_app.command("test")
@edge
def notify_test(as_json: JsonFlag = False) -> None:
    """Send a test message to every configured URL and say, per URL, whether it went; exit 1 if any failed."""
    settings = get_settings()
    targets, problems = configured_urls(urls=settings.notify_url_list, home=settings.home)
    if not targets and not problems:
        raise ConfigError("no notification URLs configured: set BEATDESK_NOTIFY_URLS (Apprise URLs, such as "
                          "ntfy://TOPIC) or `notify = [...]` in a persona file")  # fmt: skip
    results = send_test(targets)
    if as_json:
        print_json({"results": [{"url": d.url, "source": t.source, "ok": d.error is None, "error": d.error}
                                for t, d in results], "problems": problems})  # fmt: skip
    else:
        for problem in problems:
            console.print(Text.assemble(("failed", "red"), f"  {problem}"), highlight=False, soft_wrap=True)
        for target, delivery in results:
            state = ("ok", "green") if delivery.error is None else ("failed", "red")
            why = f": {delivery.error}" if delivery.error else ""
            console.print(Text.assemble(state, f"  {delivery.url} ({target.source}){why}"), highlight=False,
                          soft_wrap=True)  # fmt: skip
    if problems or any(d.error for _, d in results):
        raise typer.Exit(1)
