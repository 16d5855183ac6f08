"""20 renders with 2 s of provider latency through Redis and one worker with a thread pool.

Prints the wall time beside the parallel ideal (one latency) and the serial time (all latencies),
and the per-render overhead beside a bare Celery no-op round trip on the same Redis.
Targets: wall within 1.25x of the ideal; overhead within 3x of the no-op round trip.
Needs the local Redis; the fal server is the test suite's fake, on 127.0.0.1.
Run: python bench/render_parallel.py [--renders 20] [--latency 2.0]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fake_fal import fal_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--renders", type=int, default=20)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--pool", choices=["threads", "prefork"], default="threads")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary home")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="beatdesk-bench-"))
    with fal_server() as fal:
        env = os.environ | {
            "BEATDESK_HOME": str(home), "BEATDESK_BROKER_URL": args.redis, "FAL_KEY": "test-fal-key",
            "BEATDESK_FAL_URL": fal.url, "BEATDESK_IMAGE_RENDERER": "fal:fal-ai/flux-pro/v1.1-ultra",
        } | ({"BEATDESK_DATABASE_URL": args.database_url} if args.database_url else {})  # fmt: skip
        os.environ.update(env)
        from beatdesk.home import init_home
        from beatdesk.models import ContentFormat, Plan, PostStatus
        from beatdesk.personas import load_persona
        from beatdesk.settings import get_settings
        from beatdesk.store import open_store, repo
        from drafter.base import DraftingContext
        from drafter.offline import OfflineDrafter
        from workers.app import app, configure, workers_answering
        from workers.tasks import ping_task, render_post_task

        init_home(home)
        persona = load_persona(home, "ash")
        persona = persona.model_copy(update={"budgets": persona.budgets.model_copy(update={"per_batch_usd": 100})})
        store = open_store(get_settings().effective_database_url)
        post_ids = make_posts(store, persona, args.renders + 1, repo, ContentFormat, Plan, PostStatus, OfflineDrafter,
                              DraftingContext)  # fmt: skip
        configure(get_settings())
        app.control.purge()
        worker = subprocess.Popen(
            [sys.executable, "-m", "beatdesk_cli.main", "worker", "--pool", args.pool, "--concurrency",
             str(args.renders), "--loglevel", "WARNING"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            while not workers_answering(timeout=1.0):
                time.sleep(0.2)
            noop = []
            cpu_before = worker_cpu_s(worker.pid)
            for _ in range(20):
                started = time.perf_counter()
                ping_task.delay().get(timeout=10)
                noop.append(time.perf_counter() - started)
            noop_cpu = (worker_cpu_s(worker.pid) - cpu_before) / len(noop)
            time_renders(store, post_ids[:1], render_post_task, repo, PostStatus)  # warm-up: clients, store
            fal.latency_s = args.latency
            single = time_renders(store, post_ids[1:2], render_post_task, repo, PostStatus)
            cpu_before = worker_cpu_s(worker.pid)
            wall = time_renders(store, post_ids[2:], render_post_task, repo, PostStatus)
            worker_cpu = worker_cpu_s(worker.pid) - cpu_before
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
    n = len(post_ids) - 2
    ideal, serial = args.latency, args.latency * n
    overhead, rtt = single - args.latency, statistics.median(noop)
    # The overhead includes the wait for fal's status to turn COMPLETED: polls back off from 0.1 s.
    print(
        f"{n} renders at {args.latency:g} s provider latency: wall {wall:.2f} s, ideal {ideal:.2f} s "
        f"({wall / ideal:.2f}x, target <= 1.25x), serial {serial:.1f} s; {fal.charges} charges"
    )
    print(
        f"per-render overhead {overhead * 1000:.0f} ms (one render {single:.2f} s minus latency); "
        f"bare Celery no-op round trip {rtt * 1000:.1f} ms median ({overhead / rtt:.1f}x, target <= 3x)"
    )
    print(
        f"worker CPU {worker_cpu / n * 1000:.1f} ms per render, {noop_cpu * 1000:.1f} ms per no-op "
        "(the worker's threads share one GIL: this CPU is what keeps the wall above the ideal)"
    )


def worker_cpu_s(pid: int) -> float:
    """User + system CPU seconds of the worker process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_posts(store, persona, count, repo, ContentFormat, Plan, PostStatus, OfflineDrafter, DraftingContext):
    from beatdesk.models import BatchSpec

    ids = []
    with store.session() as session:
        batch_id = repo.create_batch(
            session, spec=BatchSpec(persona="ash", counts={ContentFormat.hero_text: count + 1})
        )
        beat = persona.beats[0]
        for i in range(count + 1):
            plan = Plan(beat_key=beat.key, beat_title=beat.title, content_format=ContentFormat.hero_text,
                        title=f"Bench item {i}", angle=f"{beat.angles[0]} ({i})", button="b", why_beat="b",
                        why_format="f", freshness="n")  # fmt: skip
            post_id = repo.add_planned_post(session, batch_id=batch_id, persona="ash", plan=plan,
                                            steps=("plan", "draft", "hero_image"))  # fmt: skip
            draft = OfflineDrafter().draft(DraftingContext(persona=persona, plan=plan, sources=[])).draft
            repo.save_draft(session, post_id=post_id, draft=draft)
            for to in (PostStatus.drafting, PostStatus.rendering):
                repo.transition(session, post_id=post_id, to=to, actor="bench", action="bench")
            ids.append(post_id)
    return ids


def time_renders(store, post_ids, task, repo, PostStatus) -> float:
    started = time.perf_counter()
    for post_id in post_ids:
        task.delay(post_id)
    from sqlalchemy import func, select

    from beatdesk.store.schema import PostRow

    while True:
        with store.session() as session:
            waiting = session.scalar(
                select(func.count()).where(PostRow.id.in_(post_ids), PostRow.status == PostStatus.rendering)
            )
        if not waiting:
            return time.perf_counter() - started
        time.sleep(0.01)  # fine-grained, so the poll adds little to the figures


if __name__ == "__main__":
    main()
