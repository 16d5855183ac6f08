"""The planner's learning curve: a simulated audience prefers two of a persona's six beats; how often the
planner picks them, round after round, with learning and without. Prints the share per round and writes
docs/learning_curve.svg (drawn by hand: no plotting library in the dependencies).

    python bench/learning_curve.py [--rounds 120] [--seeds 8] [--out docs/learning_curve.svg]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.learning_sim import APPEAL, PREFERRED, Run, simulate  # noqa: E402

WIDTH, HEIGHT, PAD = 720, 360, 48
WINDOW = 10
"""Rounds in the moving average drawn (the printed figures are per round)."""


def shares(runs: list[Run], rounds: int) -> list[float]:
    """Per round, the share of all seeds' items that went to the preferred beats."""
    out = []
    for i in range(rounds):
        picked = sum(sum(run.picks[i].values()) for run in runs)
        out.append(sum(run.picks[i][b] for run in runs for b in PREFERRED) / picked)
    return out


def moving(values: list[float], window: int) -> list[float]:
    return [sum(values[max(0, i - window + 1) : i + 1]) / len(values[max(0, i - window + 1) : i + 1])
            for i in range(len(values))]  # fmt: skip


def svg(curves: dict[str, tuple[str, list[float]]], rounds: int, title: str) -> str:
    def x(i: float) -> float:
        return PAD + (WIDTH - 2 * PAD) * i / max(rounds - 1, 1)

    def y(share: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * share

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{PAD}" y="24" font-size="14">{escape(title)}</text>',
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#dddddd"/>')
        parts.append(f'<text x="{PAD - 8}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:.0%}</text>')
    for tick in range(0, rounds + 1, 20):
        parts.append(
            f'<text x="{x(min(tick, rounds - 1)):.1f}" y="{HEIGHT - PAD + 18}" text-anchor="middle">{tick}</text>'
        )
    parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT - 8}" text-anchor="middle">batch (one a day)</text>')
    uniform = y(len(PREFERRED) / 6)
    parts.append(f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{uniform:.1f}" y2="{uniform:.1f}" stroke="#999999" '
                 'stroke-dasharray="4 4"/>')  # fmt: skip
    parts.append(f'<text x="{WIDTH - PAD}" y="{uniform - 6:.1f}" text-anchor="end" fill="#777777">2 of 6 beats</text>')
    for n, (label, (colour, values)) in enumerate(curves.items()):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<rect x="{PAD + 10}" y="{PAD + 6 + 18 * n}" width="14" height="3" fill="{colour}"/>')
        parts.append(f'<text x="{PAD + 30}" y="{PAD + 11 + 18 * n}">{escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=120)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "learning_curve.svg")
    args = parser.parse_args()
    learned = [simulate(args.rounds, seed=seed) for seed in range(1, args.seeds + 1)]
    plain = [simulate(args.rounds, seed=seed, learn=False) for seed in range(1, args.seeds + 1)]
    with_learning, without = shares(learned, args.rounds), shares(plain, args.rounds)
    print(f"share of picks on the preferred beats {', '.join(PREFERRED)} (audience: {APPEAL:g}x), {args.seeds} seeds")
    print("round  learning  weights only")
    for i, (a, b) in enumerate(zip(with_learning, without, strict=True)):
        print(f"{i:5d}  {a:8.0%}  {b:12.0%}")
    for start in range(0, args.rounds, 30):
        block = slice(start, start + 30)
        a, b = with_learning[block], without[block]
        print(
            f"rounds {start}-{start + len(a) - 1}: learning {sum(a) / len(a):.0%}, weights only {sum(b) / len(b):.0%}"
        )
    title = f"Share of picks on the two beats the audience prefers ({args.seeds} seeds, {WINDOW}-batch mean)"
    curves = {"learning from the audience": ("#d9480f", moving(with_learning, WINDOW)),
              "weights only (learn_from_audience = false)": ("#1c7ed6", moving(without, WINDOW))}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(svg(curves, args.rounds, title), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
