"""How long a batch takes on the embedded default, and where the time goes, per step kind.

Run: python bench/batch_throughput.py [--items 20] [--video 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--video", type=int, default=4)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="beatdesk-bench-"))
    os.environ["BEATDESK_HOME"] = str(home)
    for name in ("BEATDESK_DATABASE_URL", "BEATDESK_BROKER_URL"):
        os.environ.pop(name, None)

    from beatdesk.home import init_home
    from beatdesk.personas import load_persona
    from beatdesk.settings import get_settings
    from planner.spec import build_spec
    from workers.graph import start_batch, wait_for_batch

    settings = get_settings()
    init_home(home)
    spec = build_spec(load_persona(home, "ash"), items=args.items, video=args.video, message=None)
    tracemalloc.start()
    started = time.perf_counter()
    batch_id = start_batch(settings, spec)
    batch = wait_for_batch(settings, batch_id, timeout_s=600)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()

    per_step: dict[str, list[float]] = defaultdict(list)
    for post in batch.posts:
        for step in post.steps:
            if step.latency_s is not None:
                per_step[step.name].append(step.latency_s)
    print(
        f"batch of {len(batch.posts)} items ({args.video} video): {batch.status} in {elapsed:.2f}s wall, "
        f"{elapsed / len(batch.posts) * 1000:.0f} ms per item, peak traced memory {peak / 1e6:.1f} MB"
    )
    for name, values in per_step.items():
        print(f"  {name:<12} median {statistics.median(values) * 1000:7.1f} ms   max {max(values) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
