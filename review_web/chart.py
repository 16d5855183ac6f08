"""A persona's cost per day and per step kind as a small stacked-bar SVG, drawn on the server."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from html import escape

COLOURS = {"plan": "#6b8fb3", "draft": "#b7791f", "hero_image": "#2f7d4f", "cover_image": "#5aa469", "video": "#9c4d8f"}
WIDTH, HEIGHT, PAD = 760, 220, 30


def cost_chart(daily: list[tuple[date, dict[str, Decimal]]]) -> str:
    """Stacked bars, one per day (oldest left), coloured by step kind; empty days are gaps."""
    if not daily:
        return '<p class="muted">No costs in the last 30 days.</p>'
    top = max((sum(kinds.values(), Decimal(0)) for _, kinds in daily), default=Decimal(0)) or Decimal(1)
    bar = (WIDTH - 2 * PAD) / len(daily)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="cost per day, last {len(daily)} days" width="100%">']  # fmt: skip
    for i, (day, kinds) in enumerate(daily):
        y = float(HEIGHT - PAD)
        for kind, cost in sorted(kinds.items()):
            h = float(cost / top) * (HEIGHT - 2 * PAD)
            y -= h
            colour = COLOURS.get(kind, "#888")
            parts.append(
                f'<rect x="{PAD + i * bar + 1:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(str(day))} {escape(kind)}: {cost} USD</title></rect>"
            )
    parts.append(f'<text x="{PAD}" y="{PAD - 10}" font-size="12">max {top} USD/day</text>')
    legend_x = PAD
    for kind, colour in COLOURS.items():
        parts.append(f'<rect x="{legend_x}" y="{HEIGHT - 14}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{legend_x + 14}" y="{HEIGHT - 5}" font-size="11">{kind}</text>')  # fmt: skip
        legend_x += 110
    parts.append("</svg>")
    return "".join(parts)
