"""Offline drafting of 1,000 items with their checks; prints items per second and peak memory.

Target: at least 200 items/s on the project's 2-core machine.
Run: python bench/draft_offline.py [--items 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

from beatdesk.home import init_home
from beatdesk.models import ContentFormat, Plan, Source
from beatdesk.personas import load_persona
from drafter.base import DraftingContext, cited_sources
from drafter.checks import run_checks
from drafter.offline import OfflineDrafter
from planner.offline import button_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1000)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="beatdesk-bench-"))
    init_home(home)
    persona = load_persona(home, "ash")
    sources = [
        Source(
            id=f"s{i}",
            title=f"Source {i} on {beat.title}",
            beats=(beat.key,),
            published=date(2026, 11, 1),
            text=f"A team measured {i % 97}% fewer failures after {beat.notes.split('.')[0].lower()}. "
            f"It took {i % 13} weeks.",
        )
        for i, beat in enumerate(persona.beats * 20)
    ]
    plans = []
    for i in range(args.items):
        beat = persona.beats[i % len(persona.beats)]
        angle = beat.angles[i % len(beat.angles)]
        plans.append(
            Plan(
                beat_key=beat.key,
                beat_title=beat.title,
                content_format=ContentFormat.video if i % 5 == 0 else ContentFormat.hero_text,
                title=angle,
                angle=angle,
                button=button_for(beat),
                why_beat="b",
                why_format="f",
                freshness="n",
            )
        )
    drafter = OfflineDrafter()
    tracemalloc.start()
    started = time.perf_counter()
    fails = 0
    for plan in plans:
        cited = cited_sources(plan, sources)[:4]
        draft = drafter.draft(DraftingContext(persona=persona, plan=plan, sources=cited)).draft
        fails += any(c.level == "fail" for c in run_checks(draft, persona, cited))
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    print(
        f"drafted and checked {args.items} items in {elapsed:.2f} s: {args.items / elapsed:.0f} items/s "
        f"[target >= 200], peak traced memory {peak / 1e6:.1f} MB, {fails} with a failing check"
    )


if __name__ == "__main__":
    main()
