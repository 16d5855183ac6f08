"""A persona's cost per day and per step kind as a small stacked-bar SVG, drawn on the server.

Presentation attributes (`fill`), never `style`, so the page's CSP needs no inline styles; every text is escaped."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from html import escape

COLOURS = {"plan": "#6b8fb3", "draft": "#b7791f", "hero_image": "#2f7d4f", "cover_image": "#5aa469",
           "video": "#9c4d8f", "voiceover": "#c05a3c", "scene_images": "#3c8dad", "assembly": "#7a6f5a"}  # fmt: skip
OTHER = "#888888"
WIDTH, HEIGHT, PAD = 760, 180, 4


def cost_chart(daily: list[tuple[date, dict[str, Decimal]]], *, zone: str = "UTC", spent_ever: bool = True) -> str:
    """Stacked bars, one per day in `zone` (oldest left), coloured by step kind, with its first, middle and last
    days and a legend of the kinds present; a sentence instead of an empty chart when nothing was spent."""
    top = max((sum(kinds.values(), Decimal(0)) for _, kinds in daily), default=Decimal(0))
    if not top:
        said = "No spend in the last 30 days." if spent_ever else "No spend yet."
        return f'<p class="muted no-spend" id="no-spend">{said}</p>'
    bar = (WIDTH - 2 * PAD) / len(daily)
    floor = HEIGHT - PAD
    # Labels are HTML around the SVG, so they keep their size however narrow the SVG is scaled.
    parts = [f'<p class="chart-top muted">highest day: {top} USD</p>',
             f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" width="100%" '
             f'class="chart" aria-label="cost per day in {escape(zone)}, last {len(daily)} days">']  # fmt: skip
    kinds_seen: set[str] = set()
    for i, (day, kinds) in enumerate(daily):
        y = float(floor)
        for kind, cost in sorted(kinds.items()):
            kinds_seen.add(kind)
            h = float(cost / top) * (floor - PAD)
            y -= h
            parts.append(
                f'<rect x="{PAD + i * bar + 1:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS.get(kind, OTHER)}"><title>{day:%a %d %b} {escape(kind)}: {cost} USD</title></rect>'
            )
    parts.append(f'<line x1="{PAD}" y1="{floor}" x2="{WIDTH - PAD}" y2="{floor}" stroke="#dfe5eb"/>')
    parts.append("</svg>")
    legend = "".join(
        f'<li><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" '
        f'fill="{COLOURS.get(kind, OTHER)}"/></svg> {escape(kind)}</li>'
        for kind in sorted(kinds_seen, key=lambda k: (list(COLOURS).index(k) if k in COLOURS else 99, k))
    )
    axis = "".join(f"<span>{day:%a %d %b}</span>" for day in (daily[0][0], daily[len(daily) // 2][0], daily[-1][0]))
    return "".join(parts) + f'<p class="chart-axis muted">{axis}</p><ul class="legend">{legend}</ul>'
