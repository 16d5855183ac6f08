"""`beatdesk metrics`: engagement collected from the channels, and the rankings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from beatdesk.audience import report
from beatdesk.errors import BeatdeskError
from beatdesk.personas import known_personas, load_persona
from beatdesk.settings import get_settings
from beatdesk_cli.engagement_show import print_report
from beatdesk_cli.show import print_json

if TYPE_CHECKING:  # the commands import what they use, so `--help` and `queue list` start in a blink
    from beatdesk.settings import Settings
from beatdesk_cli.base import JsonFlag, cli_store, collected_line, edge, parse_clock, since_utc
from beatdesk_cli.terminal import console

metrics_app = typer.Typer(
    help="Engagement: what the audience did with what went out. Alone: the rankings (`metrics report`).",
    invoke_without_command=True,
)


MetricsPersona = Annotated[str | None, typer.Option(help="Only this persona's posts.")]


MetricsSince = Annotated[str | None, typer.Option(help="Only posts published from this date or time on (ISO, UTC).")]


@metrics_app.callback()
@edge
def metrics_default(
    ctx: typer.Context, persona: MetricsPersona = None, since: MetricsSince = None, as_json: JsonFlag = False
) -> None:
    """Beats, formats, angles and posting times ranked by normalised engagement, per post and per dollar."""
    if ctx.invoked_subcommand is None:
        _metrics_report(persona, since, as_json)


@metrics_app.command("report")
@edge
def metrics_report(persona: MetricsPersona = None, since: MetricsSince = None, as_json: JsonFlag = False) -> None:
    """Beats, formats, angles and posting times ranked by normalised engagement, per post and per dollar."""
    _metrics_report(persona, since, as_json)


def _metrics_report(persona: str | None, since: str | None, as_json: bool) -> None:

    settings = get_settings()
    chosen = load_persona(settings.home, persona) if persona else None
    start = since_utc(since)
    zones = {chosen.key: chosen.timezone} if chosen else _zones(settings)
    with cli_store(settings, reading=True).session() as session:
        found = report(session, zones=zones, persona=chosen.key if chosen else None, since=start)
    if as_json:
        print_json({"persona": chosen.key if chosen else None, "since": start.isoformat() if start else None}
                   | found.as_json())  # fmt: skip
    else:
        print_report(console, found)
        if chosen and found.scored and not chosen.learn_from_audience:
            console.print(f"the planner does not learn from these: learn_from_audience = false in "
                          f"personas/{chosen.key}.toml", highlight=False)  # fmt: skip


def _zones(settings: Settings) -> dict[str, str]:
    """Every persona's zone; one whose file does not read counts in UTC here (`beatdesk plan` says why)."""
    zones = {}
    for key in known_personas(settings.home):
        try:
            zones[key] = load_persona(settings.home, key).timezone
        except BeatdeskError:
            continue
    return zones


@metrics_app.command("collect")
@edge
def metrics_collect(
    persona: Annotated[str | None, typer.Option(help="Only this persona's publications.")] = None,
    now: Annotated[
        str | None, typer.Option(help="Act as if it were this ISO time (UTC unless a zone is given).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Read the engagement of every publication that is due (1 h, 24 h, 7 d after it went out, then weekly
    until 30 days) from its channel, and store it; the scheduler does this every 10 minutes."""
    from publishers.metrics.collect import collect_due

    settings = get_settings()
    key = load_persona(settings.home, persona).key if persona else None
    cli_store(settings)
    done = collect_due(settings, parse_clock(now), persona=key)
    if as_json:
        print_json(done.as_json())
        return
    console.print(collected_line(done), highlight=False)
    for where, reason in done.stale.items():
        console.print(Text.assemble((f"{where} stale:", "yellow"), " ", reason), highlight=False)
    for where, until in done.rate_limited.items():
        console.print(f"{where} rate-limited until {until:%Y-%m-%d %H:%M} UTC", highlight=False)
