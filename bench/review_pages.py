"""Review desk latency with 10,000 posts and 50,000 steps in SQLite: the queue (plain and filtered), a post
page, full-text search, /api/posts and the persona page (30 days of costs per day and step kind in the persona's
zone, and its spend per beat and per format).

Prints median and p95 wall time over repeated requests through the whole ASGI stack (guards, session,
CSRF, templates), and the CPU time this process spent per request beside them, so that a busy machine
(wall far above CPU) can be told from a slow page (CPU near wall).
Target: p95 under 100 ms on the project's 2-core machine.
Run: python bench/review_pages.py [--posts 10000] [--requests 200] [--only persona]
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

BEATS = (
    "benchmark_skepticism",
    "foundation_models_and_inference_economics",
    "small_specialised_models",
    "evaluation_in_production",
    "agents_in_practice",
    "open_weights",
)  # the example persona's, for spend per beat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--only", default="", help="Only the pages whose label holds this text, e.g. persona.")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="beatdesk-bench-"))
    os.environ["BEATDESK_HOME"] = str(home)
    for name in ("BEATDESK_DATABASE_URL", "BEATDESK_BROKER_URL"):
        os.environ.pop(name, None)
    from beatdesk.home import init_home
    from beatdesk.models import BatchSpec, ContentFormat
    from beatdesk.settings import get_settings
    from beatdesk.store import books, open_store, repo, search
    from beatdesk.store.schema import PostRow, StepRow
    from beatdesk.users import add_user, issue_token
    from review_web.app import create_app

    init_home(home)
    store = open_store(get_settings().effective_database_url)
    rng = random.Random(3)
    now = datetime.now(UTC)
    draft = {"content_format": "hero_text", "title": "T", "body": "Body text. " * 60, "button": "b",
             "caption": "c\n\n#AI #LLM", "hashtags": ["#AI", "#LLM"], "image_prompt": "p", "alt_text": "a"}  # fmt: skip
    with store.session() as session:
        batch_ids = [repo.create_batch(session, spec=BatchSpec(persona="ash", counts={ContentFormat.hero_text: 1}))
                     for _ in range(max(1, args.posts // 50))]  # fmt: skip
        session.execute(insert(PostRow), [
            {"batch_id": batch_ids[i // 50], "persona": "ash", "beat_key": BEATS[i % len(BEATS)],
             "content_format": rng.choice(["hero_text", "hero_text", "video"]),
             "status": rng.choice(["in_review", "approved", "published", "rejected"]), "status_changed_at": now,
             "created_at": now - timedelta(minutes=i),
             "plan": {"beat_key": "open_weights", "beat_title": "Open weights", "content_format": "hero_text",
                      "title": f"Post {i}", "angle": f"Angle {i}", "button": "b", "why_beat": "w",
                      "why_format": "w", "freshness": "f"},
             "draft": draft | {"title": f"Post {i}"}, "checks": []}
            for i in range(args.posts)
        ])  # fmt: skip
        owners = {post_id: batch_id for post_id, batch_id in session.execute(select(PostRow.id, PostRow.batch_id))}
        ids = list(owners)
        # Five steps a post, started over the last 40 days: the persona page sums the last 30 of them.
        session.execute(insert(StepRow), [
            {"post_id": post_id, "batch_id": owners[post_id], "persona": "ash", "position": n, "name": name,
             "status": "done", "provider": "local", "model": "m", "cost_usd": Decimal("0.01") * (n + 1),
             "latency_s": 0.1,
             "started_at": now - timedelta(hours=post_id % (40 * 24)), "finished_at": now,
             "day": books.local_day(now - timedelta(hours=post_id % (40 * 24)), "Europe/Berlin")}
            for post_id in ids for n, name in enumerate(("plan", "draft", "hero_image", "cover_image", "video"))
        ])  # fmt: skip
        books.recount(session)  # the totals the runner keeps as steps end, for steps inserted here
        for post_id, plan, post_draft in session.execute(select(PostRow.id, PostRow.plan, PostRow.draft)).all():
            search.index_posts(session, [(post_id, plan, post_draft)])
        add_user(session, name="bench", role="reviewer", password="a long bench password")
        token = issue_token(session, name="bench", scope="read")

    client = TestClient(create_app(get_settings()))
    csrf = client.get("/login").text.split('name="csrftoken" value="')[1].split('"')[0]
    client.post("/login", data={"name": "bench", "password": "a long bench password", "csrftoken": csrf})
    bearer = {"Authorization": f"Bearer {token}"}
    pages = {
        "queue (first page)": lambda: ("/", {}),
        "queue (in_review, page 20)": lambda: ("/?status=in_review&p=20", {}),
        "queue (persona+status+format)": lambda: ("/?persona=ash&status=approved&format=video&p=3", {}),
        "post page": lambda: (f"/posts/{rng.choice(ids)}", {}),
        "search, words in one post": lambda: (f"/?q=angle+{rng.randrange(args.posts)}", {}),
        "search, words in every post": lambda: ("/?q=body+text", {}),
        "/api/posts (200)": lambda: ("/api/posts?limit=200", bearer),
        "/api/posts (in_review, offset)": lambda: ("/api/posts?status=in_review&offset=1000", bearer),
        "/api/search": lambda: ("/api/search?q=body+text", bearer),
        "persona page (30 days, spend)": lambda: ("/personas/ash", {}),
    }
    print(f"{len(ids)} posts, {len(ids) * 5} steps in SQLite; {args.requests} requests each")
    for label, target in pages.items():
        if args.only not in label:
            continue
        timings, cpu = [], []
        for _ in range(args.requests):
            path, headers = target()
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(path, headers=headers)
            timings.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            assert response.status_code == 200, (path, response.status_code)
        timings.sort()
        cpu.sort()
        p95 = timings[int(len(timings) * 0.95) - 1]
        print(
            f"{label:<32} median {statistics.median(timings) * 1000:6.1f} ms   p95 {p95 * 1000:6.1f} ms   "
            f"CPU median {statistics.median(cpu) * 1000:6.1f} ms   [target p95 < 100 ms]"
        )


if __name__ == "__main__":
    main()
