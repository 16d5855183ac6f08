"""Copy a store of 10,000 posts and 2,000 sources from SQLite into a fresh PostgreSQL database and into a
SQLite backup, and dump it to a zip; print rows per second for each.

Run: python bench/db_copy.py [--posts 10000] [--sources 2000] [--pg postgresql://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from plan_large_history import persona, seed  # bench/ is the script's folder
from sqlalchemy.engine import make_url

from beatdesk.archive import dump
from beatdesk.store import forget_stores
from beatdesk.transfer import copy_store


def timed(label: str, rows: int, work: object) -> None:
    started = time.perf_counter()
    work()  # type: ignore[operator]
    took = time.perf_counter() - started
    print(f"{label}: {rows} rows in {took:.2f} s ({rows / took:,.0f} rows/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--sources", type=int, default=2_000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="beatdesk-bench-copy-"))
    source = f"sqlite:///{folder / 'beatdesk.db'}"
    seed(source, persona(random.Random(7)), random.Random(7), posts=args.posts, sources=args.sources,
         now=datetime.now(UTC))  # fmt: skip
    forget_stores()
    rows = args.posts + args.sources + 1
    admin = make_url(args.pg).render_as_string(hide_password=False)
    name = f"beatdesk_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    target = make_url(args.pg).set(database=name).render_as_string(hide_password=False)
    try:
        timed("SQLite -> PostgreSQL copy", rows, lambda: copy_store(source, target))
        timed("SQLite -> SQLite copy", rows, lambda: copy_store(source, f"sqlite:///{folder / 'backup.db'}"))
        timed("SQLite -> zip dump", rows, lambda: dump(source, folder / "dump.zip"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
