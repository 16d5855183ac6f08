"""integer money: every money column in whole nano-USD (BIGINT); reservations in a column of their own; each
step's booked day; stored totals per persona, day and kind, per beat and format, and per batch

Revision ID: 0020_money
Revises: 0020_publish

Decimal text (SQLite) and NUMERIC(18, 9) (PostgreSQL) become whole nano-USD exactly; downgrade turns them back.
A running step's cost was its reservation (plus what an earlier attempt left on it): it moves to
`reserved_usd`, as the runner now keeps it. A step's day is its start's day in its persona's zone, read from
the persona files of this installation's home when they can be read, else UTC.
"""

from __future__ import annotations

from datetime import date, datetime, UTC
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0020_money"
down_revision = "0020_publish"
branch_labels = None
depends_on = None

MONEY_COLUMNS = (("pipeline_steps", "cost_usd"), ("review_decisions", "cost_usd"))
OLD_MONEY = sa.Numeric(18, 9).with_variant(sa.String(40), "sqlite")


def _nanos(text: object) -> int:
    return int(Decimal(str(text)).scaleb(9).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _usd_text(nanos: int) -> str:
    usd = Decimal(nanos).scaleb(-9)
    return format(usd.quantize(Decimal(1)) if usd == usd.to_integral_value() else usd.normalize(), "f")


def _sqlite(bind: sa.Connection) -> bool:
    return bind.dialect.name == "sqlite"


def upgrade() -> None:
    bind = op.get_bind()
    for table, column in MONEY_COLUMNS:
        if _sqlite(bind):  # decimal text to integer text first, so the table copy's CAST is exact
            rows = bind.execute(sa.text(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL")).all()
            changed = [{"i": i, "n": str(_nanos(v))} for i, v in rows if str(_nanos(v)) != str(v)]
            if changed:
                bind.execute(sa.text(f"UPDATE {table} SET {column} = :n WHERE id = :i"), changed)
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, existing_type=OLD_MONEY, type_=sa.BigInteger(), existing_nullable=False,
                               postgresql_using=f"round({column} * 1000000000)::bigint")  # fmt: skip
    with op.batch_alter_table("pipeline_steps") as steps:
        steps.add_column(sa.Column("reserved_usd", sa.BigInteger(), nullable=False, server_default="0"))
        steps.add_column(sa.Column("day", sa.Date(), nullable=True))
    op.execute("UPDATE pipeline_steps SET reserved_usd = cost_usd, cost_usd = 0 WHERE status = 'running'")
    _date_steps(bind)
    op.create_table(
        "day_totals",
        sa.Column("persona", sa.String(32), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("cost_usd", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "beat_totals",
        sa.Column("persona", sa.String(32), primary_key=True),
        sa.Column("beat_key", sa.String(64), primary_key=True),
        sa.Column("content_format", sa.String(16), primary_key=True),
        sa.Column("cost_usd", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "batch_totals",
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("cost_usd", sa.BigInteger(), nullable=False),
    )
    op.execute(
        "INSERT INTO day_totals (persona, day, kind, cost_usd) SELECT persona, day, name, SUM(cost_usd) "
        "FROM pipeline_steps WHERE cost_usd != 0 AND day IS NOT NULL GROUP BY persona, day, name"
    )
    op.execute(
        "INSERT INTO beat_totals (persona, beat_key, content_format, cost_usd) "
        "SELECT posts.persona, posts.beat_key, posts.content_format, SUM(pipeline_steps.cost_usd) "
        "FROM pipeline_steps JOIN posts ON posts.id = pipeline_steps.post_id WHERE pipeline_steps.cost_usd != 0 "
        "GROUP BY posts.persona, posts.beat_key, posts.content_format"
    )
    op.execute(
        "INSERT INTO batch_totals (batch_id, cost_usd) SELECT batch_id, SUM(cost_usd) FROM pipeline_steps "
        "WHERE cost_usd != 0 GROUP BY batch_id"
    )


def _zones() -> dict[str, str]:
    """Each persona's time zone, from the home's persona files; none (UTC for all) when they cannot be read."""
    try:
        from beatdesk.personas import known_personas, load_persona
        from beatdesk.settings import get_settings

        home = get_settings().home
        return {key: load_persona(home, key).timezone for key in known_personas(home)}
    except Exception:  # a migration never fails for want of a persona file: their days fall back to UTC
        return {}


def _date_steps(bind: sa.Connection) -> None:
    zones = _zones()
    rows = bind.execute(sa.text("SELECT id, persona, started_at FROM pipeline_steps WHERE started_at IS NOT NULL"))
    days = [{"i": i, "d": _day(at, ZoneInfo(zones.get(persona, "UTC")))} for i, persona, at in rows]
    if days:
        bind.execute(sa.text("UPDATE pipeline_steps SET day = :d WHERE id = :i"), days)


def _day(at: datetime | str, zone: ZoneInfo) -> date:
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at  # SQLite hands back its text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_table("batch_totals")
    op.drop_table("beat_totals")
    op.drop_table("day_totals")
    op.execute("UPDATE pipeline_steps SET cost_usd = cost_usd + reserved_usd WHERE status = 'running'")
    with op.batch_alter_table("pipeline_steps") as steps:
        steps.drop_column("day")
        steps.drop_column("reserved_usd")
    for table, column in MONEY_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, existing_type=sa.BigInteger(), type_=OLD_MONEY, existing_nullable=False,
                               postgresql_using=f"({column}::numeric / 1000000000)::numeric(18, 9)")  # fmt: skip
        if _sqlite(bind):  # the copy's CAST left whole nano-USD as text: back to decimal text
            rows = bind.execute(sa.text(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL")).all()
            changed = [{"i": i, "t": _usd_text(int(v))} for i, v in rows]
            if changed:
                bind.execute(sa.text(f"UPDATE {table} SET {column} = :t WHERE id = :i"), changed)
