"""CLI start-up: median wall and CPU time of `beatdesk --help`, `queue list` and `post show` in fresh processes.

    python bench/cli_startup.py [--runs 15]

Each command runs in a new interpreter against a home with one batch in it, as a person would type it.
Beside them, `python -c pass` and `import sqlalchemy.orm` show the floor on this machine (a loaded machine
makes everything slower alike).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import sqlalchemy.orm": [sys.executable, "-c", "import sqlalchemy.orm"],
    "beatdesk --help": [sys.executable, "-m", "beatdesk_cli.main", "--help"],
    "beatdesk queue list": [sys.executable, "-m", "beatdesk_cli.main", "queue", "list"],
    "beatdesk post show 1": [sys.executable, "-m", "beatdesk_cli.main", "post", "show", "1"],
}


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of argv."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="beatdesk-bench-"))
    env = os.environ | {"BEATDESK_HOME": str(home / "home"), "COLUMNS": "100"}
    cli = [sys.executable, "-m", "beatdesk_cli.main"]
    try:
        subprocess.run([*cli, "init"], env=env, stdout=subprocess.DEVNULL, check=True)
        subprocess.run([*cli, "batch", "run", "--persona", "ash", "--items", "1", "--video", "0", "--json"],
                       env=env, stdout=subprocess.DEVNULL, check=True)  # fmt: skip
        print(f"{'command':<24} {'wall median':>12} {'cpu median':>12}   ({args.runs} runs, target 0.3 s)")
        for label, argv in COMMANDS.items():
            timed(argv, env)  # warm the file cache and the bytecode
            runs = [timed(argv, env) for _ in range(args.runs)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            print(f"{label:<24} {wall:>11.3f}s {cpu:>11.3f}s")
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
