"""Integer money and stored totals: the migration converts decimal money exactly both ways; the totals the runner
keeps equal the steps after failures and takeovers; `beatdesk audit` names a total that was tampered with."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, func, select, text

from beatdesk.store import Store, forget_stores, open_store
from beatdesk.store.schema import StepRow

AMOUNTS = [Decimal("0.000000001"), Decimal("12.345678901"), Decimal("0.06"), Decimal("0")]


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, home: Path) -> Iterator[str]:
    home.mkdir(parents=True, exist_ok=True)
    yield f"sqlite:///{home / 'beatdesk.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    forget_stores()


def migrate(engine: Engine, to: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(resources.files("beatdesk.store") / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, to)


def test_the_migration_turns_decimal_money_into_nanos_and_back_exactly(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    migrate(engine, "0019")
    as_stored = (lambda amount: format(amount, "f")) if url.startswith("sqlite") else (lambda amount: amount)
    with engine.begin() as db:
        db.execute(text("INSERT INTO batches (id, persona, status, spec, created_at, posts_settled) "
                        "VALUES (1, 'ash', 'done', '{}', '2026-11-02 10:00:00', 0)"))  # fmt: skip
        db.execute(
            text("INSERT INTO pipeline_steps (id, batch_id, persona, position, name, status, cost_usd, started_at, "
                 "attempts) VALUES (:i, 1, 'ash', :i, 'video', :status, :cost, '2026-11-02 23:30:00', 1)"),
            [{"i": i, "cost": as_stored(amount), "status": "running" if i == 3 else "done"} for i, amount in enumerate(AMOUNTS)],
        )  # fmt: skip
    migrate(engine, "head")
    with engine.connect() as db:
        rows = db.execute(text("SELECT cost_usd, reserved_usd FROM pipeline_steps ORDER BY id")).all()
        assert [tuple(row) for row in rows] == [(1, 0), (12_345_678_901, 0), (60_000_000, 0), (0, 0)]
        assert db.execute(text("SELECT batch_id, cost_usd FROM batch_totals")).all() == [(1, 12_405_678_902)]
        assert [tuple(r) for r in db.execute(text("SELECT persona, kind, cost_usd FROM day_totals"))] == [
            ("ash", "video", 12_405_678_902)
        ]
    store = open_store(url)  # what callers see: Decimals, exact
    with store.session() as session:
        assert [row.cost_usd for row in session.query(StepRow).order_by(StepRow.id)] == AMOUNTS
    forget_stores()
    migrate(engine, "0019", down=True)
    with engine.connect() as db:
        back = [Decimal(str(v)) for (v,) in db.execute(text("SELECT cost_usd FROM pipeline_steps ORDER BY id"))]
    assert back == AMOUNTS
    engine.dispose()


PRICE = Decimal("0.123456789")  # odd, so any float or rounding shows


@pytest.fixture
def store(url: str, home: Path) -> Store:
    from beatdesk.home import init_home

    init_home(home)
    return open_store(url)


def died_in(store: Store, post_id: int, *, request_id: str | None) -> None:
    """As a worker that died 45 s into the post's image step leaves it: reserved, inside the paid call."""
    from datetime import timedelta

    from beatdesk.store import steps as step_rows
    from beatdesk.store.schema import utcnow

    then = utcnow() - timedelta(seconds=45)
    with store.session() as session:
        row = step_rows.open_step_named(session, post_id=post_id, name="hero_image")
        assert row is not None
        step_rows.claim(row, worker="gone:1", provider="fal", model="m", now=then, zone="Europe/Berlin")
        row.reserved_usd, row.request_id, row.submit_started_at = PRICE, request_id, then


def test_totals_equal_the_steps_after_a_failed_step_and_takeovers(store: Store, home: Path) -> None:
    from beatdesk.audit import audit
    from beatdesk.models import PostStatus
    from beatdesk.store import books, repo
    from tests.runner_kit import PaidImage, rendering_posts, runner_for

    (batch_id, done), (_, failed), (_, resumed), (_, unknown) = rendering_posts(store, batches=1, per_batch=4)
    runner_for(store, home, PaidImage(price=PRICE)).advance(done)
    runner_for(store, home, PaidImage(price=PRICE, fail=RuntimeError("flagged NSFW"))).advance(failed)
    died_in(store, resumed, request_id="req-7")  # taken over: the request resumed, paid once
    died_in(store, unknown, request_id=None)  # taken over: outcome unknown, the reservation booked as spent
    for post_id in (resumed, unknown):
        runner_for(store, home, PaidImage(price=PRICE)).advance(post_id)
    with store.session() as session:
        posts = [repo.get_post(session, post_id) for post_id in (done, failed, resumed, unknown)]
        assert [post.status for post in posts] == [PostStatus.in_review, PostStatus.failed] * 2
        assert [post.total_cost_usd for post in posts] == [PRICE] * 4
        assert not session.scalar(select(func.sum(StepRow.reserved_usd)))  # every reservation released or booked
        report = audit(session)
        assert report.ok, report.findings
        assert books.stored(session) == books.from_steps(session)
        assert books.batch_cost(session, batch_id=batch_id) == PRICE * 4
        spend = books.persona_spend(session, persona="ash")
        daily = books.daily_costs(session, persona="ash", days=2, zone="Europe/Berlin")
    assert spend.total_usd == PRICE * 4 and spend.planning_usd == 0 and spend.by_beat[0].posts == 4
    assert sum((sum(kinds.values(), Decimal(0)) for _, kinds in daily), Decimal(0)) == PRICE * 4


def test_audit_names_a_tampered_total(store: Store, home: Path) -> None:
    from sqlalchemy import update

    from beatdesk.audit import audit
    from beatdesk.store.schema import BatchTotalRow, DayTotalRow
    from tests.runner_kit import PaidImage, rendering_posts, runner_for

    ((batch_id, post_id),) = rendering_posts(store, batches=1, per_batch=1)
    runner_for(store, home, PaidImage(price=PRICE)).advance(post_id)
    with store.session() as session:
        assert audit(session).ok
        session.execute(update(DayTotalRow).values(cost_usd=DayTotalRow.cost_usd + Decimal("0.000000001")))
        session.execute(update(BatchTotalRow).values(cost_usd=0))
        findings = audit(session).findings
    day = [line for line in findings if line.startswith("day total of ash on ")]
    assert len(day) == 1 and day[0].endswith("for hero_image: 0.12345679 USD stored, its steps sum to 0.123456789 USD")
    assert f"batch total of batch {batch_id}: 0 USD stored, its steps sum to 0.123456789 USD" in findings
    assert len(findings) == 2


def test_a_post_given_up_inside_a_paid_call_says_it_may_have_been_charged(store: Store, home: Path) -> None:
    """The reconciler's give-up (no live worker took the post) says what a takeover says: the outcome is unknown,
    the estimate is on the books."""
    from beatdesk.audit import audit
    from beatdesk.store import repo
    from beatdesk.store import steps as step_rows
    from tests.runner_kit import PaidImage, rendering_posts, runner_for

    ((_, post_id),) = rendering_posts(store, batches=1, per_batch=1)
    died_in(store, post_id, request_id=None)
    runner = runner_for(store, home, PaidImage(price=PRICE))
    with store.session() as session:
        runner.give_up_post(session, post_id=post_id, reason="no live worker on it")
    with store.session() as session:
        post = repo.get_post(session, post_id)
        image = next(step for step in post.steps if step.name == "hero_image")
        assert post.status == "failed" and post.total_cost_usd == PRICE
        assert image.error is not None and image.error.startswith(
            f"outcome unknown: the worker stopped while submitting; may have been charged {PRICE} USD (kept on the books)"
        )
        assert image.error.endswith("no live worker on it")
        assert audit(session).ok
        assert step_rows.open_step_named(session, post_id=post_id, name="hero_image") is None
