"""Moving a whole store into another database: every table of the schema at head, ids kept, in one transaction.

The tables and columns come from the ORM metadata, so a copy follows whatever the schema is at head.
Values pass through the column types both ways (exact Decimals, aware datetimes, JSON), and a JSON
column keeps the difference between SQL NULL and JSON null. `beatdesk db copy`, `db dump` and
`db restore` share the filling and checking here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, Connection, Engine, Table, bindparam, delete, func, insert, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session

from beatdesk.audit import Audit, audit
from beatdesk.errors import BeatdeskError, UnreachableServiceError
from beatdesk.store.engine import engine_for, migrate
from beatdesk.store.revisions import at_head
from beatdesk.store.schema import Base
from beatdesk.store.search import index_posts

CHUNK = 500
Row = dict[str, Any]
OnRows = Callable[[str, int, int], None]
"""Progress: (table, rows written so far, rows in all)."""


class TransferError(BeatdeskError):
    """A copy, dump or restore that was refused or failed; nothing was written to the target."""


@dataclass
class Filled:
    """What a copy or restore left on the target: rows per table and the target's audit."""

    counts: dict[str, int]
    audit: Audit
    inherited: list[str] = field(default_factory=list)
    """Audit findings the source already had: carried over, not made by the copy."""


def tables() -> list[Table]:
    """The schema's tables, parents before children."""
    return list(Base.metadata.sorted_tables)


def is_json(column: Column[Any]) -> bool:
    return isinstance(column.type, JSON)


def shown_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def open_engine(url: str, *, what: str) -> Engine:
    """An engine for a PostgreSQL or SQLite URL; anything else is one line naming `what` it was given as."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise TransferError(f"{what} is not a database URL: {url!r}") from None
    if parsed.get_backend_name() not in ("postgresql", "sqlite"):
        raise TransferError(f"{what} must be a postgresql:// or sqlite:/// URL, not {parsed.get_backend_name()}")
    return engine_for(url)


@contextmanager
def reachable(url: str) -> Iterator[None]:
    """A database that cannot be reached, or refuses us, is one line naming it (password hidden)."""
    try:
        yield
    except OperationalError as err:
        reason = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
        raise UnreachableServiceError(f"cannot reach the database at {shown_url(url)}: {reason}") from None


@contextmanager
def snapshot(engine: Engine, url: str) -> Iterator[Connection]:
    """A read-only connection that sees one moment of the source, however long the copy takes."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:" and not Path(database).exists():
        raise TransferError(f"there is no store at {database}: nothing to copy")  # connecting would create one
    with reachable(url), engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        else:
            connection.exec_driver_sql("BEGIN")  # SQLite (WAL) reads one snapshot until the transaction ends
        try:
            if not at_head(connection):
                raise TransferError(
                    f"the store at {shown_url(url)} is not at the newest schema: run `beatdesk db migrate` first"
                )
            yield connection
        finally:
            connection.rollback()


def count_rows(connection: Connection) -> dict[str, int]:
    return {table.name: connection.scalar(select(func.count()).select_from(table)) or 0 for table in tables()}


def read_rows(connection: Connection, table: Table) -> Iterator[list[Row]]:
    """The table's rows in primary-key order, a chunk at a time; JSON null comes back as `JSON.NULL`."""
    flags = {
        column.key: column.is_(None).label(f"sql_null_{column.key}") for column in table.columns if is_json(column)
    }
    query = select(*table.columns, *flags.values()).order_by(*table.primary_key.columns)
    result = connection.execute(query, execution_options={"yield_per": CHUNK})
    for part in result.partitions():
        rows = []
        for found in part:
            values = found._mapping
            row = {column.key: values[column] for column in table.columns}
            for key, flag in flags.items():
                if row[key] is None and not values[flag]:
                    row[key] = JSON.NULL
            rows.append(row)
        yield rows


@lru_cache(maxsize=1)
def seeded_by_migrations() -> frozenset[str]:
    """Tables the migrations themselves fill (the installation's id): found by migrating an in-memory database."""
    engine = engine_for("sqlite://")
    try:
        migrate(engine)
        with engine.connect() as connection:
            return frozenset(name for name, rows in count_rows(connection).items() if rows)
    finally:
        engine.dispose()


def refuse_unless_empty(engine: Engine, url: str) -> None:
    """One line, nothing written, when the target already holds beatdesk rows (beyond what migrations seed)."""
    with reachable(url), engine.connect() as connection:
        existing = set(inspect(connection).get_table_names())
        seeded = seeded_by_migrations()
        for table in tables():
            if table.name not in existing or table.name in seeded:
                continue
            if connection.scalar(select(func.count()).select_from(table)):
                raise TransferError(
                    f"{shown_url(url)} already holds beatdesk data (rows in {table.name}); copy into an empty database"
                )


def _insert(table: Table) -> Any:
    """An INSERT of every column by explicit parameters: no default fires, JSON None is SQL NULL."""
    values = {}
    for column in table.columns:
        kind = column.type
        if is_json(column):
            kind = column.type.copy()
            kind.none_as_null = True  # type: ignore[attr-defined]  # None -> SQL NULL, JSON.NULL -> 'null'
        values[column.key] = bindparam(f"p_{column.key}", type_=kind)
    return insert(table).values(values)


def _advance_sequences(connection: Connection) -> None:
    """PostgreSQL: each serial id's sequence set to the largest copied id, so new rows never collide."""
    if connection.dialect.name != "postgresql":
        return  # SQLite gives a new row max(id) + 1
    for table in tables():
        column = table.autoincrement_column
        if column is None:
            continue
        sequence = func.pg_get_serial_sequence(table.name, column.name)
        connection.execute(select(func.setval(sequence, select(func.max(column)).scalar_subquery())))


def _reindex_search(connection: Connection) -> None:
    """The posts' search index is kept outside the ORM tables (FTS5, tsvector): rebuilt from the copied rows."""
    posts = Base.metadata.tables["posts"]
    with Session(bind=connection) as session:
        query = select(posts.c.id, posts.c.plan, posts.c.draft).order_by(posts.c.id)
        result = connection.execute(query, execution_options={"yield_per": CHUNK})
        for part in result.partitions():
            index_posts(session, [(row.id, row.plan or {}, row.draft) for row in part])


def _write_all(connection: Connection, rows_of: Callable[[Table], Iterable[list[Row]]], total: int,
               on_rows: OnRows | None) -> None:  # fmt: skip
    for name in seeded_by_migrations():
        connection.execute(delete(Base.metadata.tables[name]))  # the source's own rows replace the seed
    done = 0
    for table in tables():
        statement = _insert(table)
        for chunk in rows_of(table):
            connection.execute(statement, [{f"p_{key}": value for key, value in row.items()} for row in chunk])
            done += len(chunk)
            if on_rows:
                on_rows(table.name, done, total)
    _reindex_search(connection)
    _advance_sequences(connection)


def _check(connection: Connection, expected: dict[str, int], source_findings: Callable[[], list[str]]) -> Filled:
    """Counts equal and no audit finding the source did not already have, or the transaction is rolled back."""
    counts = count_rows(connection)
    differ = [f"{name} {expected.get(name, 0)} -> {rows}" for name, rows in counts.items()
              if rows != expected.get(name, 0)]  # fmt: skip
    if differ:
        raise TransferError(f"row counts differ after copying ({', '.join(differ)}); nothing was kept")
    with Session(bind=connection) as session:
        books = audit(session)
    if books.ok:
        return Filled(counts=counts, audit=books)
    before = set(source_findings())
    new = [finding for finding in books.findings if finding not in before]
    if new:
        raise TransferError(f"`beatdesk audit` fails on the copy ({new[0]}); nothing was kept")
    return Filled(counts=counts, audit=books, inherited=books.findings)


def fill(
    engine: Engine,
    url: str,
    rows_of: Callable[[Table], Iterable[list[Row]]],
    *,
    expected: dict[str, int],
    source_findings: Callable[[], list[str]],
    on_rows: OnRows | None = None,
) -> Filled:
    """Migrate the empty target and write every table in one transaction; counts and audit checked before commit."""
    try:
        refuse_unless_empty(engine, url)
        with reachable(url):
            migrate(engine)
        with engine.begin() as connection:
            _write_all(connection, rows_of, sum(expected.values()), on_rows)
            return _check(connection, expected, source_findings)
    except DBAPIError as err:  # a row the target refuses, a permission it lacks
        reason = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
        raise TransferError(f"the copy into {shown_url(url)} failed ({reason}); nothing was kept") from None


def copy_store(source_url: str, target_url: str, *, on_rows: OnRows | None = None) -> Filled:
    """Copy every table of the store at `source_url` into the empty database at `target_url`."""
    if shown_url(source_url) == shown_url(target_url):
        raise TransferError("--to names the current store; give another database")
    source = open_engine(source_url, what="the current store")
    target = open_engine(target_url, what="--to")
    try:
        with snapshot(source, source_url) as reading:
            expected = count_rows(reading)

            def source_findings() -> list[str]:
                with Session(bind=reading) as session:
                    return audit(session).findings

            return fill(
                target,
                target_url,
                lambda table: read_rows(reading, table),
                expected=expected,
                source_findings=source_findings,
                on_rows=on_rows,
            )
    finally:
        source.dispose()
        target.dispose()
