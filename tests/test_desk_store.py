"""What the desk's lists read from the store, on SQLite and PostgreSQL: costs summed in SQL, exactly, and
the same as the sums of the posts' own steps; sessions and tokens that end when they should."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from beatdesk.models import BatchSpec, ContentFormat, PostStatus
from beatdesk.store import Store, forget_stores, open_store, repo
from beatdesk.store.schema import PostRow, StepRow
from beatdesk.users import add_user, disable_user, issue_token, start_session, user_for_session, user_for_token

COSTS = ["0.000000001", "12.5", "3", "0.1", "0.04", "999999.999999999", "0", "0.000000009", "7.123456789"]


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, home: Path) -> Iterator[Store]:
    url = f"sqlite:///{home / 'beatdesk.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    yield open_store(url)
    forget_stores()


def seed(store: Store) -> tuple[int, list[int]]:
    """Two batches of posts whose steps cost awkward amounts, started over the last 40 days."""
    now = datetime.now(UTC)
    plan = {"beat_key": "b", "beat_title": "B", "content_format": "hero_text", "title": "Plan title", "angle": "a",
            "button": "b", "why_beat": "w", "why_format": "w", "freshness": "f"}  # fmt: skip
    draft = {"content_format": "hero_text", "title": "T", "body": "Body text. " * 6, "button": "b", "caption": "c",
             "hashtags": ["#AI"], "image_prompt": "p", "alt_text": "a"}  # fmt: skip
    with store.session() as session:
        batches = [repo.create_batch(session, spec=BatchSpec(persona="ash", counts={ContentFormat.hero_text: 1}))
                   for _ in range(2)]  # fmt: skip
        session.execute(insert(PostRow), [
            {"batch_id": batches[i % 2], "persona": "ash" if i < 8 else "bea", "beat_key": "b",
             "content_format": "hero_text", "status": "in_review", "status_changed_at": now, "created_at": now,
             "plan": plan, "draft": draft | {"title": f"Draft {i}"} if i % 3 else None, "checks": []}
            for i in range(10)
        ])  # fmt: skip
        owners = {row.id: row for row in session.execute(select(PostRow.id, PostRow.batch_id, PostRow.persona))}
        ids = sorted(owners)
        session.execute(insert(StepRow), [
            {"post_id": post_id, "batch_id": owners[post_id].batch_id, "persona": owners[post_id].persona, "position": n, "name": ("plan", "draft", "hero_image")[n % 3], "status": "done",
             "cost_usd": Decimal(COSTS[(post_id + n) % len(COSTS)]),
             "started_at": now - timedelta(days=(post_id * 7 + n * 5) % 40, hours=n)}
            for post_id in ids[:-1] for n in range(6)
        ])  # fmt: skip
    return batches[0], ids


def test_list_costs_are_the_sums_of_each_posts_steps(store: Store) -> None:
    batch_id, ids = seed(store)
    with store.session() as session:
        whole = {post_id: repo.get_post(session, post_id) for post_id in ids}
        costs = repo.post_costs(session, post_ids=ids)
        assert costs == {post_id: post.total_cost_usd for post_id, post in whole.items()}
        assert costs[ids[-1]] == Decimal(0)  # a post without steps costs nothing, and is listed
        assert repo.post_costs(session, post_ids=[]) == {}
        assert repo.batch_cost(session, batch_id=batch_id) == sum(
            (p.total_cost_usd for p in whole.values() if p.batch_id == batch_id), Decimal(0)
        )
        page, total = repo.queue_page(session, persona="ash", status=PostStatus.in_review, content_format=None,
                                      batch_id=None, offset=2, limit=3)  # fmt: skip
        assert total == 8 and [p.id for p in page] == [ids[5], ids[4], ids[3]]
        for listing in page:
            assert listing.total_cost_usd == whole[listing.id].total_cost_usd
            assert listing.title == whole[listing.id].title
        assert [p.id for p in repo.post_listings(session, post_ids=[ids[2], 10**6, ids[0]])] == [ids[2], ids[0]]


def test_the_persona_page_sums_per_day_and_kind_in_sql_as_python_would(store: Store) -> None:
    seed(store)
    with store.session() as session:
        for persona in ("ash", "bea", "nobody"):
            in_sql = repo.daily_costs_by_kind(session, persona=persona, days=30)
            assert in_sql == repo.daily_costs(session, persona=persona, days=30), persona
            assert len(in_sql) == 30
        assert any(kinds for _, kinds in repo.daily_costs_by_kind(session, persona="ash", days=30))


def test_sessions_and_tokens_end_when_they_should(store: Store) -> None:
    with store.session() as session:
        user = add_user(session, name="rita", role="reviewer", password="correct horse battery")
        live = start_session(session, user_id=user.id, lifetime=timedelta(hours=8))
        gone = start_session(session, user_id=user.id, lifetime=timedelta(seconds=-1))
        token = issue_token(session, name="rita", scope="read", lifetime=timedelta(days=1))
    with store.session() as session:
        assert user_for_session(session, live) == user and user_for_session(session, gone) is None
        holder = user_for_token(session, token)
        assert holder is not None and holder.scope == "read" and holder.user == user
        disable_user(session, name="rita")
    with store.session() as session:
        assert user_for_session(session, live) is None and user_for_token(session, token) is None
