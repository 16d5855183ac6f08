"""Plan a batch for a persona with many beats (1,000 by default: the cap) from its file; print time and peak RSS.

The persona is written as a TOML file and read the way `beatdesk plan` reads it, with sources in the store and
notes in its sources folder; planning runs in a child process whose peak RSS the parent reads.
Target: 1,000 beats plan in under 2 s and 300 MB on the project's 2-core machine.
Run: python bench/plan_many_beats.py [--beats 1000] [--angles 6] [--sources 2000] [--posts 2000] [--items 50]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

WORDS = [
    *("model", "eval", "token", "cost", "latency", "agent", "tool", "benchmark", "prompt", "cache", "batch", "gpu"),
    *("weights", "license", "data", "label", "drift", "judge", "score", "leaderboard", "context", "window"),
    *("fine-tune", "distill", "serve", "quantize", "throughput", "budget", "retrieval", "index", "vector"),
    *("memory", "planner", "step", "loop", "error", "retry", "contract", "schema", "review", "release", "pin"),
]


def sentence(rng: random.Random, n: int = 9) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize()


def persona_toml(rng: random.Random, *, beats: int, angles: int) -> str:
    lines = ['handle = "@many"', 'display_name = "Many"', 'voice = "plain"', 'timezone = "UTC"']
    for i in range(beats):
        shown = ", ".join(json.dumps(sentence(rng)) for _ in range(angles))
        lines += [
            "[[beats]]",
            f'key = "beat_{i:04d}"',
            f'title = "Beat {i} {rng.choice(WORDS)}"',
            f'kind = "{"news_pegged" if i % 3 == 0 else "evergreen"}"',
            f"weight = {rng.uniform(0.5, 2.0):.2f}",
            f"cooldown_days = {rng.randint(1, 5)}",
            f"notes = {json.dumps(sentence(rng, 30))}",
            f"angles = [{shown}]",
            f"video_friendly = {'true' if i % 2 == 0 else 'false'}",
        ]
    return "\n".join(lines) + "\n"


def prepare(home: Path, args: argparse.Namespace) -> None:
    from sqlalchemy import insert

    from beatdesk.models import BatchSpec, ContentFormat, Source
    from beatdesk.personas import load_persona
    from beatdesk.store import open_store, repo
    from beatdesk.store.schema import PostRow

    rng = random.Random(7)
    now = datetime.now(UTC)
    folder = home / "personas" / "many" / "sources"
    folder.mkdir(parents=True)
    (home / "personas" / "many.toml").write_text(persona_toml(rng, beats=args.beats, angles=args.angles))
    for n in range(5):
        (folder / f"note-{n}.md").write_text(f"+++\ntitle = 'Note {n}'\n+++\n{sentence(rng, 80)}.\n")
    who = load_persona(home, "many")
    with open_store(f"sqlite:///{home / 'beatdesk.db'}").session() as session:
        batch_id = repo.create_batch(session, spec=BatchSpec(persona=who.key, counts={ContentFormat.hero_text: 1}))
        posts = []
        for _ in range(args.posts):
            beat, angle = rng.choice(who.beats), sentence(rng)
            plan = {"beat_key": beat.key, "beat_title": beat.title, "content_format": "hero_text", "title": angle,
                    "angle": angle, "button": "b", "why_beat": "w", "why_format": "w", "freshness": "f"}  # fmt: skip
            posts.append({"batch_id": batch_id, "persona": who.key, "beat_key": beat.key,
                          "content_format": "hero_text", "status": "published", "status_changed_at": now,
                          "created_at": now - timedelta(days=rng.uniform(0, 60)), "plan": plan})  # fmt: skip
        session.execute(insert(PostRow), posts)
        library = [
            Source(id=f"s{i}", title=sentence(rng, 6), beats=(rng.choice(who.beats).key,),
                   published=(now - timedelta(days=rng.uniform(0, 80))).date(), text=sentence(rng, 60))
            for i in range(args.sources)
        ]  # fmt: skip
        repo.store_sources(session, persona=who.key, sources=library)


def child(home: Path, items: int) -> None:
    """Read the persona file, load the context, plan: what `beatdesk plan` does."""
    started = time.perf_counter()
    from beatdesk.models import BatchSpec, ContentFormat
    from beatdesk.personas import load_persona
    from beatdesk.store import open_store
    from planner.offline import OfflinePlanner
    from planner.stage import planning_context

    imported, cpu = time.perf_counter(), time.process_time()
    who = load_persona(home, "many")
    videos = items // 5
    spec = BatchSpec(persona=who.key, counts={ContentFormat.video: videos, ContentFormat.hero_text: items - videos})
    context = planning_context(open_store(f"sqlite:///{home / 'beatdesk.db'}"), home=home, persona=who, spec=spec)
    loaded = time.perf_counter()
    result = OfflinePlanner().plan(context)
    done = time.perf_counter()
    print(json.dumps({"plans": len(result.plans), "beats": len(who.beats), "recent": len(context.recent),
                      "sources": len(context.sources), "import_s": imported - started,
                      "load_s": loaded - imported, "plan_s": done - loaded, "total_s": done - imported,
                      "cpu_s": time.process_time() - cpu}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--beats", type=int, default=1_000)
    parser.add_argument("--angles", type=int, default=6)
    parser.add_argument("--sources", type=int, default=2_000)
    parser.add_argument("--posts", type=int, default=2_000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.items)
        return
    home = Path(tempfile.mkdtemp(prefix="beatdesk-bench-beats-"))
    prepare(home, args)
    size = (home / "personas" / "many.toml").stat().st_size
    answer = subprocess.run([sys.executable, __file__, "--child", str(home), "--items", str(args.items)],
                            capture_output=True, text=True, check=True)  # fmt: skip
    figures = json.loads(answer.stdout.strip().splitlines()[-1])
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"{figures['beats']} beats x {args.angles} angles ({size / 1024:.0f} KiB file), {figures['sources']} sources, "
        f"{figures['recent']} recent posts: {figures['plans']} items planned in {figures['total_s']:.2f} s "
        f"(persona and context {figures['load_s']:.2f} s, plan {figures['plan_s']:.2f} s; imports "
        f"{figures['import_s']:.2f} s more), {figures['cpu_s']:.2f} s of CPU; child peak RSS {rss_mb:.0f} MB  "
        f"[target < 2 s, < 300 MB; on a shared machine the CPU time is the steadier figure]"
    )


if __name__ == "__main__":
    main()
