"""One Prometheus scrape of /metrics over a store of 10,000 posts and 50,000 steps (SQLite): the collector's
three GROUP BY queries and the text exposition, through the whole ASGI stack with a read-scope token.

Prints the median and slowest of repeated scrapes; a scrape interval is 15 s or more, so anything well
under a second leaves the desk free. `--posts 100000` is the issue's bound (500,000 steps).
Run: python bench/metrics_scrape.py [--posts 10000] [--scrapes 20]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, select
from starlette.testclient import TestClient

STEPS = ("plan", "draft", "hero_image", "cover_image", "publish_mastodon")
STATUSES = ("in_review", "approved", "published", "rejected", "failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--scrapes", type=int, default=20)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="beatdesk-bench-"))
    os.environ["BEATDESK_HOME"] = str(home)
    for name in ("BEATDESK_DATABASE_URL", "BEATDESK_BROKER_URL"):
        os.environ.pop(name, None)
    from beatdesk.home import init_home
    from beatdesk.models import BatchSpec, ContentFormat
    from beatdesk.settings import get_settings
    from beatdesk.store import open_store, repo
    from beatdesk.store.schema import PostRow, StepRow
    from beatdesk.users import add_user, issue_token
    from review_web.app import create_app

    init_home(home)
    store = open_store(get_settings().effective_database_url)
    rng = random.Random(3)
    now = datetime.now(UTC)
    with store.session() as session:
        batch_ids = [repo.create_batch(session, spec=BatchSpec(persona="ash", counts={ContentFormat.hero_text: 1}))
                     for _ in range(max(1, args.posts // 50))]  # fmt: skip
        session.execute(insert(PostRow), [
            {"batch_id": batch_ids[i // 50], "persona": rng.choice(["ash", "bea", "cy"]), "beat_key": "open_weights",
             "content_format": "hero_text", "status": rng.choice(STATUSES), "status_changed_at": now,
             "created_at": now - timedelta(minutes=i), "plan": {"title": f"Post {i}"}, "checks": []}
            for i in range(args.posts)
        ])  # fmt: skip
        owners = dict(session.execute(select(PostRow.id, PostRow.batch_id)).all())
        session.execute(insert(StepRow), [
            {"post_id": post_id, "batch_id": batch_id, "persona": "ash", "position": n, "name": name,
             "status": rng.choice(("done", "done", "done", "failed", "skipped")), "provider": "local", "model": "m",
             "cost_usd": Decimal("0.01") * (n + 1), "latency_s": rng.expovariate(1 / (n + 0.5)),
             "started_at": now - timedelta(minutes=post_id), "finished_at": now, "beat_at": now}
            for post_id, batch_id in owners.items() for n, name in enumerate(STEPS)
        ])  # fmt: skip
        add_user(session, name="scraper", role="reviewer", password="a long bench password")
        token = issue_token(session, name="scraper", scope="read")

    client = TestClient(create_app(get_settings()))
    bearer = {"Authorization": f"Bearer {token}"}
    timings = []
    for _ in range(args.scrapes):
        started = time.perf_counter()
        answer = client.get("/metrics", headers=bearer)
        timings.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    print(f"{args.posts:,} posts, {args.posts * len(STEPS):,} steps in SQLite; {args.scrapes} scrapes of "
          f"{len(answer.content):,} bytes")  # fmt: skip
    print(f"/metrics  median {statistics.median(timings) * 1000:7.1f} ms   slowest {max(timings) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
