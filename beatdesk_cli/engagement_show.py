"""How `beatdesk metrics` looks in a terminal: one table per dimension, ranked per post, with the per-dollar rank."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from beatdesk.audience import Report
from beatdesk.prices import format_usd
from beatdesk.scoring import Dimension, format_per_dollar

HEADINGS: dict[Dimension, str] = {
    "beat": "beat",
    "format": "format",
    "angle": "angle",
    "hour": "posting hour",
    "weekday": "weekday",
}
SHOWN = 10
"""Rows per table in a terminal; --json has them all."""


def print_report(console: Console, report: Report) -> None:
    if report.scored == 0:
        unread = f": {report.published} published post(s), none with numbers yet" if report.published else ""
        console.print(f"no engagement yet{unread}", highlight=False)
        return
    zone = report.zone or "each persona's zone"
    console.print(
        f"{report.scored} of {report.published} published posts scored; 1.00 = the persona's typical post "
        "(saves, reposts and replies weigh more than likes; each channel against its own median)",
        highlight=False,
    )
    for dim, ranks in report.per_post.items():
        dollar_place = {r.key: i for i, r in enumerate(report.per_dollar[dim], start=1)}
        heading = f"{HEADINGS[dim]} ({zone})" if dim in ("hour", "weekday") else HEADINGS[dim]
        table = Table(title=f"by {heading}, best first per post", header_style="bold", title_justify="left")
        for column in ("#", heading, "posts", "mean score", "95% interval", "USD", "score per USD", "# per USD"):
            table.add_column(column, justify="left" if column == heading else "right")
        for i, r in enumerate(ranks[:SHOWN], start=1):
            interval = r.interval
            shown = "-" if interval is None else f"{interval[0]:.2f}-{interval[1]:.2f}"
            table.add_row(str(i), Text(r.key), str(r.posts), f"{r.mean:.2f}", shown, format_usd(r.cost_usd),
                          format_per_dollar(r.per_dollar), str(dollar_place[r.key]))  # fmt: skip
        if len(ranks) > SHOWN:
            table.caption = f"and {len(ranks) - SHOWN} more (--json has them all)"
        console.print(table)
    if report.suggested_times:
        times = ", ".join(r.key for r in report.suggested_times)
        console.print(f"posting times that did best ({zone}): {times}", highlight=False)
    else:
        console.print("no posting time stands out yet (3 posts at an hour, above the typical post)", highlight=False)
