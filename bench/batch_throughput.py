"""Batches on the embedded default (SQLite, in-process tasks, offline drafter, local cards), run the
way a user runs them: through the CLI's own `batch run` code.

For each size (10, 50, 200 hero_text items by default) and each of `--repeats` runs, a fresh home (made by
`beatdesk init`, as the README's first command makes it: files and database) and a fresh Python process
that imports the CLI and the stages and then times `batch run` alone; then `beatdesk batch run --persona
ash --items N --video 0` as a command, its start included. Prints the medians, posts/s and the per-item
slope between sizes (linear cost: the slopes agree). Memory is traced in a separate pass (tracemalloc
slows Python down 2-3x, so it never runs beside the timing).
The bench persona gets a few hundred angles of its own (bench/bench_home.py) so 200 fresh items plan.
Run: python bench/batch_throughput.py [--sizes 10 50 200] [--repeats 3] [--video 0]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_home import make_home  # noqa: E402


class BenchError(Exception):
    """A run that did not make the batch it was asked for: no figure is printed for it."""


def run_in_process(items: int, video: int, *, trace: bool) -> dict[str, float | int | str]:
    """One `batch run` through the Typer app in this (fresh) process; the home comes from the environment."""
    from typer.testing import CliRunner

    from beatdesk_cli.main import app
    from workers import graph  # noqa: F401  the stages the command imports when it runs: its start, timed apart

    args = ["batch", "run", "--persona", "ash", "--items", str(items), "--video", str(video), "--json"]
    if trace:
        import tracemalloc

        tracemalloc.start()
    started = time.perf_counter()
    cpu = time.process_time()
    result = CliRunner().invoke(app, args)
    elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    return {
        "seconds": elapsed,
        "cpu_s": cpu_s,
        "peak_bytes": peak,
        **_checked(result.exit_code, result.stdout, items, result.stderr),
    }


def _checked(code: int, stdout: str, items: int, stderr: str = "") -> dict[str, int | str]:
    try:
        batch = json.loads(stdout)
    except ValueError:
        raise BenchError(f"batch run exited {code} without a batch: {(stdout + stderr).strip()[-400:]}") from None
    posts = batch.get("posts", [])
    in_review = sum(1 for post in posts if post["status"] == "in_review")
    if code != 0 or batch["status"] != "done" or in_review != items:
        raise BenchError(f"batch run exited {code}: batch {batch['status']}, {in_review} of {items} posts in review")
    return {"posts": in_review}


def user_home() -> Path:
    """A fresh home as the README leaves it before a batch: `beatdesk init` made its files and its database."""
    home = make_home(Path(tempfile.mkdtemp(prefix="beatdesk-bench-")))
    out = subprocess.run([_beatdesk(), "init"], env=_env(home), capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise BenchError(f"beatdesk init exited {out.returncode}: {(out.stdout + out.stderr).strip()[-400:]}")
    return home


def _beatdesk() -> str:
    return shutil.which("beatdesk", path=str(Path(sys.executable).parent)) or "beatdesk"


def child(items: int, video: int, trace: bool) -> dict[str, float | int | str]:
    """A fresh home and a fresh process for one run, so no run warms or burdens the next."""
    home = user_home()
    env = _env(home)
    try:
        argv = [sys.executable, __file__, "--child", str(items), "--video", str(video), *(["--trace"] if trace else [])]
        out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise BenchError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}")
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(home, ignore_errors=True)


def command(items: int, video: int) -> float:
    """`beatdesk batch run` as a user types it: the CLI's start (imports, settings, store) included."""
    home = user_home()
    try:
        started = time.perf_counter()
        argv = [_beatdesk(), "batch", "run", "--persona", "ash", "--items", str(items), "--video", str(video), "--json"]
        out = subprocess.run(argv, env=_env(home), capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        _checked(out.returncode, out.stdout, items, out.stderr)
        return elapsed
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BEATDESK_DATABASE_URL", "BEATDESK_BROKER_URL")}
    return env | {"BEATDESK_HOME": str(home), "PYTHONPATH": str(ROOT)}


def rate(items: int, seconds: float) -> float:
    if seconds <= 0:
        raise BenchError(f"{items} items timed at {seconds} s: the clock did not move")
    return items / seconds


def _listed(values: Iterable[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--video", type=int, default=0)
    parser.add_argument("--no-command", action="store_true", help="skip the figure with the CLI's start")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(run_in_process(args.child, args.video, trace=args.trace)))
        return
    if any(size <= 0 for size in args.sizes) or args.repeats <= 0:
        parser.error("sizes and repeats must be positive")

    try:
        print(f"{time.strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
              f"medians of {args.repeats}, {args.video} video per batch")  # fmt: skip
        medians: dict[int, float] = {}
        cpus: dict[int, float] = {}
        for size in sorted(set(args.sizes)):
            runs = [child(size, args.video, trace=False) for _ in range(args.repeats)]
            wall = statistics.median(float(r["seconds"]) for r in runs)
            cpu = statistics.median(float(r["cpu_s"]) for r in runs)
            medians[size], cpus[size] = wall, cpu
            walls = _listed(float(r["seconds"]) for r in runs)
            print(f"  {size:>4} items: {wall:6.2f} s  {rate(size, wall):5.1f} posts/s  "
                  f"(runs {walls}; CPU of the CLI process {cpu:.2f} s)")  # fmt: skip
        sizes = sorted(medians)
        for small, large in itertools.pairwise(sizes):
            slope = (medians[large] - medians[small]) / (large - small)
            cpu_slope = (cpus[large] - cpus[small]) / (large - small)
            print(f"  slope {small}->{large}: {slope * 1000:.1f} ms per extra item, "
                  f"{cpu_slope * 1000:.1f} ms of CPU in the CLI process (cards: other processes)")  # fmt: skip
        if not args.no_command:
            largest = sizes[-1]
            walls = [command(largest, args.video) for _ in range(args.repeats)]
            wall = statistics.median(walls)
            print(f"  `beatdesk batch run --items {largest} --video {args.video}`, its start included: {wall:.2f} s, "
                  f"{rate(largest, wall):.1f} posts/s (runs {_listed(walls)})")  # fmt: skip
        traced = child(sizes[-1], args.video, trace=True)
        peak_mb = float(traced["peak_bytes"]) / 1e6
        print(f"  memory (a separate, traced run of {sizes[-1]}): peak {peak_mb:.1f} MB traced")
        print(f"  load average after: {os.getloadavg()[0]:.1f}")
    except BenchError as err:
        sys.exit(f"bench failed: {err}")


if __name__ == "__main__":
    main()
