"""Plan a batch of 50 for a persona with 10,000 past posts and 2,000 sources; print time and peak memory.

Target: under 1 s and under 300 MB on the project's 2-core machine.
Run: python bench/plan_large_history.py [--posts 10000] [--sources 2000] [--items 50]
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from beatdesk.models import BatchSpec, Beat, ContentFormat, Persona, Source
from beatdesk.store import open_store, repo
from beatdesk.store.schema import PostRow
from planner.offline import OfflinePlanner
from planner.stage import planning_context

WORDS = [
    "model",
    "eval",
    "token",
    "cost",
    "latency",
    "agent",
    "tool",
    "benchmark",
    "prompt",
    "cache",
    "batch",
    "gpu",
    "weights",
    "license",
    "data",
    "label",
    "drift",
    "judge",
    "score",
    "leaderboard",
    "context",
    "window",
    "fine-tune",
    "distill",
    "serve",
    "quantize",
    "throughput",
    "budget",
    "retrieval",
    "index",
    "vector",
    "memory",
    "planner",
    "step",
    "loop",
    "error",
    "retry",
    "contract",
    "schema",
    "review",
    "release",
    "pin",
]


def sentence(rng: random.Random, n: int = 9) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize()


def persona(rng: random.Random) -> Persona:
    beats = tuple(
        Beat(
            key=f"beat_{i:02d}",
            title=f"Beat {i} {rng.choice(WORDS)}",
            kind="news_pegged" if i % 3 == 0 else "evergreen",
            weight=rng.uniform(0.5, 2.0),
            cooldown_days=rng.randint(1, 5),
            notes=sentence(rng, 30),
            angles=tuple(sentence(rng) for _ in range(6)),
            video_friendly=i % 2 == 0,
        )
        for i in range(12)
    )
    return Persona(key="bench", handle="@bench", display_name="Bench", voice="plain", beats=beats)


def seed(store_url: str, who: Persona, rng: random.Random, *, posts: int, sources: int, now: datetime) -> None:
    store = open_store(store_url)
    with store.session() as session:
        batch_id = repo.create_batch(session, spec=BatchSpec(persona=who.key, counts={ContentFormat.hero_text: 1}))
        session.execute(
            insert(PostRow),
            [
                {
                    "batch_id": batch_id,
                    "persona": who.key,
                    "beat_key": (beat := rng.choice(who.beats)).key,
                    "content_format": "hero_text",
                    "status": rng.choice(["in_review", "approved", "published", "published", "rejected"]),
                    "status_changed_at": now,
                    "created_at": now - timedelta(days=rng.uniform(0, 365)),
                    "plan": {
                        "beat_key": beat.key,
                        "beat_title": beat.title,
                        "content_format": "hero_text",
                        "title": (angle := sentence(rng)),
                        "angle": angle,
                        "button": "b",
                        "why_beat": "w",
                        "why_format": "w",
                        "freshness": "f",
                    },
                }
                for _ in range(posts)
            ],
        )
        library = [
            Source(
                id=f"s{i}",
                title=sentence(rng, 6),
                beats=(rng.choice(who.beats).key,),
                published=(now - timedelta(days=rng.uniform(0, 120))).date(),
                text=sentence(rng, 60),
            )
            for i in range(sources)
        ]
        repo.store_sources(session, persona=who.key, sources=library)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--sources", type=int, default=2_000)
    parser.add_argument("--items", type=int, default=50)
    args = parser.parse_args()

    rng = random.Random(7)
    now = datetime.now(UTC)
    home = Path(tempfile.mkdtemp(prefix="beatdesk-bench-"))
    url = f"sqlite:///{home / 'bench.db'}"
    who = persona(rng)
    seed(url, who, rng, posts=args.posts, sources=args.sources, now=now)
    spec = BatchSpec(
        persona=who.key,
        counts={ContentFormat.video: args.items // 5, ContentFormat.hero_text: args.items - args.items // 5},
    )

    tracemalloc.start()
    started = time.perf_counter()
    context = planning_context(open_store(url), home=home, persona=who, spec=spec, now=now)
    loaded = time.perf_counter()
    result = OfflinePlanner().plan(context)
    done = time.perf_counter()
    _, peak = tracemalloc.get_traced_memory()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(
        f"history: {args.posts} posts ({len(context.recent)} in the {context.freshness_days}-day window), "
        f"{len(context.sources)} sources in the planning window of {args.sources}"
    )
    print(
        f"planned {len(result.plans)} items in {done - started:.3f} s "
        f"(load {loaded - started:.3f} s, plan {done - loaded:.3f} s); "
        f"peak traced {peak / 1e6:.1f} MB, process max RSS {rss:.0f} MB  [target < 1 s, < 300 MB]"
    )


if __name__ == "__main__":
    main()
