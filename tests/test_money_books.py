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
from sqlalchemy import Engine, create_engine, text

from beatdesk.store import Store, forget_stores, open_store

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
        from beatdesk.store.schema import StepRow

        assert [row.cost_usd for row in session.query(StepRow).order_by(StepRow.id)] == AMOUNTS
    forget_stores()
    migrate(engine, "0019", down=True)
    with engine.connect() as db:
        back = [Decimal(str(v)) for (v,) in db.execute(text("SELECT cost_usd FROM pipeline_steps ORDER BY id"))]
    assert back == AMOUNTS
    engine.dispose()
