"""20 renders with 2 s of provider latency through Redis and one worker with a thread pool.

Prints the wall time beside the parallel ideal (one latency) and a measured serial run (`--serial`),
and the per-render overhead (a render's round trip minus the provider's latency) beside a bare
Celery no-op round trip on the same Redis, timed alike: both after an idle pause as long as the
latency (a render's second half always runs after one), and both back to back with a provider that
answers at once. Then a worker is killed (SIGKILL) mid-render and a new one started: the time until
that render is in review is the recovery time (the new worker takes over the stale step and resumes
its fal request; nothing is paid twice). Targets: wall within 1.25x of the ideal; overhead within 5x
of the no-op (a guard, not a goal); recovery under 60 s.
Starts a redis-server of its own (never a shared one); the fal server is the test suite's fake, on 127.0.0.1.
Run: python bench/render_parallel.py [--renders 20] [--latency 2.0] [--database-url postgresql://...]

Batch mode (`--batch 1000`): a whole batch as a user runs it, through `start_batch` and `wait_for_batch`
(the CLI's code), planned, drafted and rendered by `--workers` workers of `--threads` threads each on
this bench's own redis-server and a fresh PostgreSQL database (`--pg-admin-url`, default the test
suite's). Prints the wall against the parallel ideal (ceil(items / threads in all) x latency; target
within 1.25x), a measured serial run of `--serial` renders, the workers' CPU per render, and the
producer's resident memory at the first and the last progress tick (it must not grow with the batch).

Scale mode (`--batch 200 --scale 1,2,4`): the same batch at 1, 2 and 4 workers (processes, `--threads` each,
on this bench's own redis-server and a fresh PostgreSQL database), each count after a warm-up batch of its
own; prints items/s per count and its ratio to linear (items/s at N over N x items/s at 1). With `--latency 0`
the workers are CPU-bound, so the ratio shows what the cores, PostgreSQL and Redis allow; with a provider
latency it shows the slots. Runnable as is on a larger machine; on a machine with fewer cores than workers
the ratio falls by design, and the cores are printed beside it.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fake_fal import fal_server
from tests.redis_server import redis_server

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SINGLES = 7
"""Renders timed one at a time for each overhead figure (the medians are printed)."""
WARM_UPS = 6
"""Renders before any timing: HTTP and database connections open, and psycopg prepares a statement
on a connection's sixth run of it, so the figures are those of a worker in its steady state."""
NOOPS_PER_RENDER = 4
"""No-ops timed back to back before each render of the back-to-back figure."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--renders", type=int, default=20)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--pool", choices=["threads", "prefork"], default="threads")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary home")
    parser.add_argument("--batch", type=int, default=0, help="items of one batch through start_batch (batch mode)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--serial", type=int, default=5, help="batch mode: renders timed one after another")
    parser.add_argument("--scale", default="", help="batch mode: worker counts to compare, e.g. 1,2,4")
    parser.add_argument("--pg-admin-url", default=os.environ.get("BEATDESK_TEST_PG_URL", PG_ADMIN))
    args = parser.parse_args()
    if args.batch:
        if args.batch < 1 or args.workers < 1 or args.threads < 1 or args.serial < 1:
            parser.error("--batch, --workers, --threads and --serial must be positive")
        if args.scale and not re.fullmatch(r"[1-9]\d*(,[1-9]\d*)*", args.scale):
            parser.error(f"--scale {args.scale!r}: give worker counts such as 1,2,4")
        batch_mode(args)
        return

    home = Path(tempfile.mkdtemp(prefix="beatdesk-bench-"))
    with fal_server() as fal, redis_server(home / "redis") as redis:
        env = os.environ | {
            "BEATDESK_HOME": str(home), "BEATDESK_BROKER_URL": redis.url, "FAL_KEY": "test-fal-key",
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
        from workers.tasks import advance_task as render_post_task
        from workers.tasks import ping_task

        init_home(home)
        persona = load_persona(home, bench_persona(home / "personas"))
        store = open_store(get_settings().effective_database_url)
        count = WARM_UPS + 2 * SINGLES + args.serial + args.renders + 1  # the last one is killed mid-render
        post_ids = make_posts(store, persona, count, repo, ContentFormat, Plan, PostStatus, OfflineDrafter,
                              DraftingContext)  # fmt: skip
        configure(get_settings())
        app.control.purge()
        start = functools.partial(start_worker, env, args.pool, args.renders)
        worker = start()
        try:
            while not workers_answering(timeout=1.0):
                time.sleep(0.2)
            for post_id in post_ids[:WARM_UPS]:  # one by one, on one connection, as the singles below
                time_renders([post_id], render_post_task)
            cpu = functools.partial(worker_cpu_s, worker.pid)
            for_hot, for_idle = (
                post_ids[WARM_UPS : WARM_UPS + SINGLES],
                post_ids[WARM_UPS + SINGLES : WARM_UPS + 2 * SINGLES],
            )
            hot = compare(for_hot, render_post_task, ping_task, cpu, pause=0.0, noops=NOOPS_PER_RENDER)
            fal.latency_s = args.latency
            idle = compare(for_idle, render_post_task, ping_task, cpu, pause=args.latency)
            first = WARM_UPS + 2 * SINGLES
            started = time.perf_counter()
            for post_id in post_ids[first : first + args.serial]:  # the serial figure, measured
                time_renders([post_id], render_post_task)
            serial_each = (time.perf_counter() - started) / args.serial
            cpu_before = cpu()
            wall = time_renders(post_ids[first + args.serial : -1], render_post_task)
            worker_cpu = cpu() - cpu_before
            recovery, worker = killed_mid_render(post_ids[-1], worker, start, store, repo, PostStatus, fal)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
    n = len(post_ids) - WARM_UPS - 2 * SINGLES - args.serial - 1
    if fal.charges != len(post_ids):
        sys.exit(f"{fal.charges} charges for {len(post_ids)} renders: some failed or were skipped; figures not valid")
    ideal, serial = args.latency, serial_each * n
    print(
        f"{n} renders at {args.latency:g} s provider latency: wall {wall:.2f} s, ideal {ideal:.2f} s "
        f"({wall / ideal:.2f}x, target <= 1.25x), serial {serial:.1f} s ({args.serial} renders one after another, "
        f"measured: {serial_each:.2f} s each; {serial / wall:.1f}x the parallel wall); {fal.charges} charges"
    )
    for label, pair, latency in (
        (f"each after {args.latency:g} s idle, at {args.latency:g} s latency", idle, args.latency),
        ("back to back, at zero latency", hot, 0.0),
    ):
        overhead, rtt = statistics.median(pair.renders) - latency, statistics.median(pair.noops)
        print(
            f"per-render overhead {overhead * 1000:.1f} ms vs bare Celery no-op round trip {rtt * 1000:.1f} ms, "
            f"{label}: {overhead / rtt:.1f}x (guard <= 5x; medians of {len(pair.renders)} and {len(pair.noops)})"
        )
    print(
        f"worker CPU {worker_cpu / n * 1000:.1f} ms per render, "
        f"{statistics.mean(hot.noop_cpu_s) * 1000:.1f} ms per no-op "
        "(the worker's threads share one GIL: this CPU is what keeps the wall above the ideal)"
    )
    settings = get_settings()
    print(
        f"recovery after SIGKILL mid-render: {recovery:.1f} s from the kill to the post in review (target < 60 s; "
        f"a step is stale after {settings.worker_stale_after_s:g} s, reconciled every {settings.reconcile_every_s:g} s)"
    )


class Pair(NamedTuple):
    renders: list[float]
    noops: list[float]
    noop_cpu_s: list[float]
    """The worker's CPU seconds during each no-op."""


def compare(post_ids, render_task, noop_task, cpu, *, pause: float, noops: int = 1) -> Pair:
    """Single renders and no-ops in turns, so both are timed on the machine as it is at that moment
    (here its speed drifts by 2x over minutes), each after `pause` seconds of an idle worker."""
    pair = Pair([], [], [])
    for post_id in post_ids:
        for _ in range(noops):
            time.sleep(pause)
            cpu_before, started = cpu(), time.perf_counter()
            noop_task.delay().get(timeout=10)
            pair.noops.append(time.perf_counter() - started)
            pair.noop_cpu_s.append(cpu() - cpu_before)
        time.sleep(pause)
        pair.renders.append(time_renders([post_id], render_task))
    return pair


def bench_persona(folder: Path) -> str:
    """A copy of @ash under a key of this run, with budgets that skip no render: on a database that
    earlier runs used, neither their spend today nor their rows weigh on this run's figures."""
    key = f"bench-{uuid.uuid4().hex[:8]}"
    text = (folder / "ash.toml").read_text()
    text = re.sub(r'per_batch_usd = "[^"]*"', 'per_batch_usd = "1000"', text)
    text = re.sub(r'per_day_usd = "[^"]*"', 'per_day_usd = "1000000"', text)
    (folder / f"{key}.toml").write_text(text)
    return key


def worker_cpu_s(pid: int) -> float:
    """User + system CPU seconds of the worker process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_posts(store, persona, count, repo, ContentFormat, Plan, PostStatus, OfflineDrafter, DraftingContext):
    from beatdesk.models import BatchSpec

    ids = []
    with store.session() as session:
        batch_id = repo.create_batch(
            session, spec=BatchSpec(persona=persona.key, counts={ContentFormat.hero_text: count})
        )
        beat = persona.beats[0]
        for i in range(count):
            plan = Plan(beat_key=beat.key, beat_title=beat.title, content_format=ContentFormat.hero_text,
                        title=f"Bench item {i}", angle=f"{beat.angles[0]} ({i})", button="b", why_beat="b",
                        why_format="f", freshness="n")  # fmt: skip
            post_id = repo.add_planned_post(session, batch_id=batch_id, persona=persona.key, plan=plan,
                                            steps=("hero_image",))  # fmt: skip
            draft = OfflineDrafter().draft(DraftingContext(persona=persona, plan=plan, sources=[])).draft
            repo.save_draft(session, post_id=post_id, draft=draft)
            for to in (PostStatus.drafting, PostStatus.rendering):
                repo.transition(session, post_id=post_id, to=to, actor="bench", action="bench")
            ids.append(post_id)
    return ids


def start_worker(env, pool: str, concurrency: int) -> subprocess.Popen:
    from workers.app import workers_answering

    worker = subprocess.Popen(
        [sys.executable, "-m", "beatdesk_cli.main", "worker", "--pool", pool, "--concurrency", str(concurrency),
         "--loglevel", "WARNING"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    while not workers_answering(timeout=1.0):
        time.sleep(0.2)
    return worker


def killed_mid_render(post_id, worker, start, store, repo, PostStatus, fal):
    """Send a render, SIGKILL its worker once fal holds the request, start another: seconds from the kill
    until the post is in review, and the new worker."""
    from workers.tasks import advance_task

    submitted = len(fal.submits)
    advance_task.delay(post_id)
    while len(fal.submits) == submitted:
        time.sleep(0.05)
    time.sleep(0.2)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    killed = time.perf_counter()
    worker = start()
    while True:
        with store.session() as session:
            if repo.post_status(session, post_id) is PostStatus.in_review:
                return time.perf_counter() - killed, worker
        if time.perf_counter() - killed > 300:
            sys.exit("the killed render was not recovered within 300 s")
        time.sleep(0.2)


def time_renders(post_ids, task) -> float:
    """From sending the renders to their results, as the no-op is timed (the task's result, asked for here)."""
    started = time.perf_counter()
    results = [task.apply_async((post_id,), ignore_result=False) for post_id in post_ids]
    for result in results:
        result.get(timeout=60)
    return time.perf_counter() - started


def batch_mode(args: argparse.Namespace) -> None:
    """One batch of `args.batch` hero_text items rendered on fal (fake, `args.latency` s) by the workers."""
    import psycopg
    from sqlalchemy.engine import make_url

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_home import make_home

    admin = make_url(args.pg_admin_url)
    name = f"beatdesk_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    database_url = admin.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    home = Path(tempfile.mkdtemp(prefix="beatdesk-bench-"))
    counts = [int(n) for n in args.scale.split(",")] if args.scale else []
    items = args.batch + sum(count * args.threads + args.batch for count in counts)  # enough fresh angles for all
    make_home(home, beats=items // 9 + 2, angles_per_beat=10)
    persona = home / "personas" / "ash.toml"
    text = re.sub(r'per_batch_usd = "[^"]*"', 'per_batch_usd = "100000"', persona.read_text())
    persona.write_text(re.sub(r'per_day_usd = "[^"]*"', 'per_day_usd = "1000000"', text))
    try:
        with fal_server() as fal, redis_server(home / "redis") as redis:
            fal.latency_s = args.latency
            env = os.environ | {
                "BEATDESK_HOME": str(home), "BEATDESK_BROKER_URL": redis.url, "FAL_KEY": "test-fal-key",
                "BEATDESK_FAL_URL": fal.url, "BEATDESK_IMAGE_RENDERER": "fal:fal-ai/flux-pro/v1.1-ultra",
                "BEATDESK_DATABASE_URL": database_url,
            }  # fmt: skip
            os.environ.update(env)
            if args.scale:
                scale_out(args, env, counts)
            else:
                run_batch(args, env, fal)
    finally:
        from beatdesk.store import forget_stores

        forget_stores()
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_batch(args: argparse.Namespace, env: dict[str, str], fal) -> None:
    from beatdesk.models import BatchStatus, ContentFormat, PostStatus
    from beatdesk.personas import load_persona
    from beatdesk.review import send_back_for_rerender
    from beatdesk.settings import get_settings
    from beatdesk.store import open_store
    from planner.spec import build_spec
    from workers.app import app, configure
    from workers.graph import start_batch, wait_for_batch
    from workers.tasks import advance_task

    settings = get_settings()
    configure(settings)
    app.control.purge()
    workers = [start_worker(env, "threads", args.threads) for _ in range(args.workers)]
    try:
        persona = load_persona(settings.home, "ash")
        # The serial figure, measured: renders one after another on the same workers.
        serial_spec = build_spec(persona, items=args.serial, video=0, message=None)
        serial_batch = wait_for_batch(settings, start_batch(settings, serial_spec), timeout_s=600)
        if serial_batch.status is not BatchStatus.done:
            sys.exit(f"the serial batch ended {serial_batch.status}: {serial_batch.error}")
        store = open_store(settings.effective_database_url)
        for post in serial_batch.posts:  # rendered again, one at a time: each the latency plus its overhead
            with store.session() as session:
                send_back_for_rerender(session, post_id=post.id, actor="bench", note=None)
        started = time.perf_counter()
        for post in serial_batch.posts:
            time_renders([post.id], advance_task)
        serial = time.perf_counter() - started

        cpu_before = sum(worker_cpu_s(w.pid) for w in workers)
        charges_before = fal.charges
        ticks: list[int] = []
        spec = build_spec(persona, items=args.batch, video=0, message=None)
        if spec.counts.get(ContentFormat.hero_text) != args.batch:
            sys.exit(f"the spec asks for {spec.counts}, not {args.batch} hero_text items")
        started = time.perf_counter()
        batch_id = start_batch(settings, spec)
        batch = wait_for_batch(settings, batch_id, timeout_s=3600,
                               on_progress=lambda settled, total: ticks.append(resident_bytes()))  # fmt: skip
        wall = time.perf_counter() - started
        cpu = sum(worker_cpu_s(w.pid) for w in workers) - cpu_before
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
    in_review = sum(1 for post in batch.posts if post.status is PostStatus.in_review)
    charged = fal.charges - charges_before
    if batch.status is not BatchStatus.done or in_review != args.batch or charged != args.batch:
        sys.exit(f"batch {batch.status} with {in_review} of {args.batch} posts in review and {charged} charges "
                 f"({batch.error}): figures not valid")  # fmt: skip
    slots = args.workers * args.threads
    ideal = -(-args.batch // slots) * args.latency
    print(f"{time.strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"batch of {args.batch} items, {args.workers} workers x {args.threads} threads, {args.latency:g} s latency: "
          f"wall {wall:.1f} s, parallel ideal {ideal:.1f} s ({wall / ideal:.2f}x, target <= 1.25x); "
          f"{args.batch / wall:.1f} posts/s")  # fmt: skip
    print(f"serial, measured: {args.serial} renders one after another in {serial:.1f} s "
          f"({serial / args.serial:.2f} s each; {serial / args.serial * args.batch:.0f} s for the batch)")  # fmt: skip
    planning = next((step.latency_s for step in batch.steps if step.name == "plan"), None) or 0.0
    print(f"planning {planning:.1f} s (one worker thread; the ideal leaves it out), then the posts "
          f"{wall - planning:.1f} s")  # fmt: skip
    print(f"workers' CPU {cpu / args.batch * 1000:.1f} ms per item (plan share, draft, render, all steps)")
    if ticks:
        first, most = ticks[0] / 1e6, max(ticks) / 1e6
        print(f"producer resident memory: {first:.1f} MB at the first progress tick, {most:.1f} MB "
              f"at most over {len(ticks)} ticks (then the batch is loaded whole to print)")  # fmt: skip


def scale_out(args: argparse.Namespace, env: dict[str, str], counts: list[int]) -> None:
    """The batch at each worker count: items/s and the ratio to linear from the first count."""
    from beatdesk.models import BatchStatus
    from beatdesk.personas import load_persona
    from beatdesk.settings import get_settings
    from planner.spec import build_spec
    from workers.app import app, configure
    from workers.graph import start_batch, wait_for_batch

    settings = get_settings()
    configure(settings)
    app.control.purge()
    persona = load_persona(settings.home, "ash")
    print(f"{time.strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
          f"PostgreSQL and Redis; batches of {args.batch} hero_text items, {args.threads} threads a worker, "
          f"{args.latency:g} s provider latency")  # fmt: skip
    rates: dict[int, float] = {}
    for count in counts:
        workers = [start_worker(env, "threads", args.threads) for _ in range(count)]
        try:
            warm = wait_for_batch(settings, start_batch(settings, build_spec(persona, items=count * args.threads,
                                  video=0, message=None)), timeout_s=600)  # fmt: skip
            started = time.perf_counter()
            batch_id = start_batch(settings, build_spec(persona, items=args.batch, video=0, message=None))
            batch = wait_for_batch(settings, batch_id, timeout_s=3600)
            wall = time.perf_counter() - started
        finally:
            for worker in workers:
                os.killpg(worker.pid, signal.SIGTERM)
            for worker in workers:
                worker.wait(timeout=60)
        if warm.status is not BatchStatus.done or batch.status is not BatchStatus.done:
            sys.exit(f"{count} workers: a batch ended {batch.status} ({batch.error}): figures not valid")
        rates[count] = args.batch / wall
        base_count, base = counts[0], rates[counts[0]]
        linear = base * count / base_count
        print(f"{count} worker(s): {args.batch} items in {wall:.1f} s, {rates[count]:.2f} items/s, "
              f"{rates[count] / linear:.2f} of linear ({linear:.2f} items/s)", flush=True)  # fmt: skip


def resident_bytes() -> int:
    """This process's resident set (Linux /proc), read at each progress tick."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


if __name__ == "__main__":
    main()
