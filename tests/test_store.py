"""The store on SQLite and on PostgreSQL: migrations, exact money, states, batch completion."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path

import psycopg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from beatdesk.errors import InvalidTransitionError, NotFoundError
from beatdesk.models import Artifact, BatchSpec, BatchStatus, ContentFormat, Plan, PostStatus, StepStatus
from beatdesk.store import Store, forget_stores, open_store, repo
from beatdesk.store import steps as step_rows
from beatdesk.store.schema import utcnow

PLAN = Plan(
    beat_key="open_weights",
    beat_title="Open weights",
    content_format=ContentFormat.hero_text,
    title="Open weights are free the way a puppy is free",
    angle="Open weights are free the way a puppy is free",
    button="Count the cost of serving it.",
    why_beat="test",
    why_format="test",
    freshness="test",
)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, home: Path) -> Iterator[Store]:
    url = f"sqlite:///{home / 'beatdesk.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    yield open_store(url)
    forget_stores()


def new_post(store: Store) -> tuple[int, int]:
    """A running batch with one planned post."""
    with store.session() as session:
        batch_id = repo.create_batch(session, spec=BatchSpec(persona="ash", counts={ContentFormat.hero_text: 1}))
        post_id = repo.add_planned_post(
            session, batch_id=batch_id, persona="ash", plan=PLAN, steps=("plan", "draft", "hero_image")
        )
        repo.batch_row(session, batch_id).status = BatchStatus.running
    return batch_id, post_id


def record(session: Session, post_id: int, name: str, *, cost: Decimal = Decimal(0), **end: object) -> None:
    """The post's step `name` taken up and ended done, as the runner does."""
    row = step_rows.open_step_named(session, post_id=post_id, name=name)
    assert row is not None
    step_rows.claim(row, worker="test:1", provider="p", model="m", now=utcnow())
    step_rows.end(session, row, status=StepStatus.done, cost_usd=cost, **end)  # type: ignore[arg-type]


def test_migrations_create_the_schema_once(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert {"batches", "posts", "pipeline_steps", "artifacts", "post_events", "publications", "sources"} <= tables
    scripts = ScriptDirectory(str(resources.files("beatdesk.store") / "migrations"))
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == scripts.get_current_head()
    forget_stores()
    open_store(store.engine.url.render_as_string(hide_password=False))  # a second start migrates nothing


def test_money_round_trips_exactly(store: Store) -> None:
    _, post_id = new_post(store)
    amounts = [Decimal("0.000000075"), Decimal("12.345678901"), Decimal("0.06")]
    with store.session() as session:
        for name, amount in zip(("plan", "draft", "hero_image"), amounts, strict=True):
            record(session, post_id, name, cost=amount, latency_s=0.5)
    with store.session() as session:
        post = repo.get_post(session, post_id)
    assert [s.cost_usd for s in post.steps] == amounts
    assert post.total_cost_usd == sum(amounts) == Decimal("12.405678976")
    assert all(isinstance(s.cost_usd, Decimal) for s in post.steps)


def test_steps_keep_order_artifact_and_times(store: Store) -> None:
    _, post_id = new_post(store)
    with store.session() as session:
        art = Artifact(kind="hero_image", path="/x.png", content_type="image/png", size_bytes=10, width=4, height=5)
        record(session, post_id, "hero_image", artifact=art, latency_s=0.25)
    with store.session() as session:
        post = repo.get_post(session, post_id)
    assert [s.name for s in post.steps] == ["plan", "draft", "hero_image"]
    assert [s.status for s in post.steps] == [StepStatus.queued, StepStatus.queued, StepStatus.done]
    done = post.steps[2]
    assert done.artifact == art and done.worker and done.latency_s == 0.25
    assert done.finished_at is not None and done.finished_at.utcoffset().total_seconds() == 0
    assert done.started_at is not None and done.started_at <= done.finished_at <= datetime.now(UTC)


def test_transitions_are_checked_and_logged(store: Store) -> None:
    _, post_id = new_post(store)
    with store.session() as session:
        repo.transition(session, post_id=post_id, to=PostStatus.drafting, actor="t", action="draft")
    with pytest.raises(InvalidTransitionError, match="drafting; it cannot become approved"), store.session() as session:
        repo.transition(session, post_id=post_id, to=PostStatus.approved, actor="t", action="approve")
    with store.session() as session:
        post = repo.get_post(session, post_id)
    assert post.status is PostStatus.drafting
    assert [(e.from_status, e.to_status) for e in post.events] == [
        (None, PostStatus.planned),
        (PostStatus.planned, PostStatus.drafting),
    ]
    with pytest.raises(NotFoundError, match="no post with id 999"), store.session() as session:
        repo.get_post(session, 999)


def test_a_transition_from_a_status_the_post_has_left_is_checked_against_the_real_one(store: Store) -> None:
    _, post_id = new_post(store)
    with store.session() as session:
        repo.transition(session, post_id=post_id, to=PostStatus.drafting, actor="t", action="draft",
                        expected=PostStatus.planned)  # fmt: skip
    # The caller saw `planned`, but the post is drafting by now: the move is refused, never made from a stale view.
    with pytest.raises(InvalidTransitionError, match="is drafting, not planned"), store.session() as s:
        repo.transition(s, post_id=post_id, to=PostStatus.drafting, actor="t", action="draft",
                        expected=PostStatus.planned)  # fmt: skip
    with store.session() as session:
        post = repo.get_post(session, post_id)
    assert post.status is PostStatus.drafting
    assert [(e.from_status, e.to_status) for e in post.events][1:] == [(PostStatus.planned, PostStatus.drafting)]


def test_batch_finishes_when_no_post_holds_it(store: Store) -> None:
    batch_id, post_id = new_post(store)
    with store.session() as session:
        assert not repo.finish_batch_if_done(session, batch_id=batch_id)
        repo.fail_post(session, post_id=post_id, actor="t", reason="boom")
    with store.session() as session:
        assert repo.finish_batch_if_done(session, batch_id=batch_id)
        assert not repo.finish_batch_if_done(session, batch_id=batch_id)  # only once
    with store.session() as session:
        batch = repo.get_batch(session, batch_id)
    assert batch.status is BatchStatus.done and batch.finished_at is not None
    post = batch.posts[0]
    assert post.status is PostStatus.failed and post.reason == "boom"
    assert {s.status for s in post.steps} == {StepStatus.skipped}


def test_full_text_search_finds_words_in_drafts_stemmed_and_safely(store: Store) -> None:
    from beatdesk.models import HeroTextDraft
    from tests.drafts import hero_args

    ids = []
    for body in ("Quantisation halves the memory a model needs at serving time. " * 3,
                 "Leaderboards reward benchmarks that leaked into training data. " * 3):  # fmt: skip
        _, post_id = new_post(store)
        with store.session() as session:
            repo.save_draft(session, post_id=post_id, draft=HeroTextDraft(**hero_args(body=body)))
        ids.append(post_id)
    with store.session() as session:
        assert [p.id for p in repo.search_posts(session, text="quantisation")] == [ids[0]]
        assert [p.id for p in repo.search_posts(session, text="benchmark leaks")] == [ids[1]]  # stemmed, all words
        assert {p.id for p in repo.search_posts(session, text="puppy")} == set(ids)  # the plan's title counts too
        assert repo.search_posts(session, text="memory leaderboards") == []
        for hostile in ('"', "AND OR NOT", "col:value*", "'; DROP TABLE posts; --", "(((("):
            repo.search_posts(session, text=hostile)  # words, never query syntax: no error
            page(session, hostile)

        assert page(session, "quantisation") == ([ids[0]], 1)  # the queue narrowed by words, in its own order
        assert page(session, "puppy") == (ids[::-1], 2)
        repo.save_draft(session, post_id=ids[0], draft=HeroTextDraft(**hero_args(body="Now about tokenizers. " * 5)))
        assert repo.search_posts(session, text="quantisation") == []  # an edit re-indexes the post


def page(session: Session, words: str) -> tuple[list[int], int]:
    """The queue's first page narrowed by `words`: post ids and how many match."""
    posts, total = repo.page_posts(session, persona=None, status=None, content_format=None, batch_id=None,
                                   offset=0, limit=10, words=words)  # fmt: skip
    return [p.id for p in posts], total


def test_the_last_two_posts_settling_at_once_finish_their_batch(home: Path, pg_url: str) -> None:
    """PostgreSQL: neither transaction sees the other's post settle; the batch must not stay running."""
    store = open_store(pg_url)
    batch_id, first = new_post(store)
    with store.session() as session:
        second = repo.add_planned_post(session, batch_id=batch_id, persona="ash", plan=PLAN, steps=("plan",))
    first_failed, second_failed, finished = threading.Event(), threading.Event(), []

    def settle_second() -> None:
        first_failed.wait(5)
        with store.session() as session:
            repo.fail_post(session, post_id=second, actor="t", reason="boom")
            second_failed.set()
            finished.append(repo.finish_batch_if_done(session, batch_id=batch_id))

    other = threading.Thread(target=settle_second)
    other.start()
    with store.session() as session:
        repo.fail_post(session, post_id=first, actor="t", reason="boom")
        first_failed.set()
        second_failed.wait(1)  # it waits for this transaction: settlers take turns on the batch's counter
        finished.append(repo.finish_batch_if_done(session, batch_id=batch_id))
        time.sleep(0.3)  # the other transaction settles meanwhile, if nothing makes it wait for this one
    other.join(10)
    with store.session() as session:
        assert repo.get_batch(session, batch_id).status is BatchStatus.done
    assert sorted(finished) == [False, True]


def test_a_pooled_connection_the_server_closed_is_replaced(pg_url: str) -> None:
    """pool_pre_ping: a connection the server dropped (a restart) never reaches a step."""
    store = open_store(pg_url)
    with store.session() as session:
        first = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as admin:  # as a server restart would
        admin.execute("SELECT pg_terminate_backend(%s)", (first,))
    with store.session() as session:
        assert session.execute(text("SELECT pg_backend_pid()")).scalar_one() != first


def test_a_move_gives_its_caller_the_post_as_the_lock_found_it(store: Store) -> None:
    """`transition` locks the post and moves it with a plain UPDATE; a copy of the row the session held from
    before reads afresh after it (a reviewer's edit committed meanwhile is seen, never archived over)."""
    from beatdesk.store.schema import PostRow

    _, post_id = new_post(store)
    with store.session() as session:
        held = session.get(PostRow, post_id)
        assert held is not None and held.draft is None
        with store.session() as other:
            other_row = other.get(PostRow, post_id)
            assert other_row is not None
            other_row.draft = {"title": "edited meanwhile"}
        repo.transition(session, post_id=post_id, to=PostStatus.drafting, actor="t", action="draft")
        assert held.status == PostStatus.drafting and held.draft == {"title": "edited meanwhile"}
