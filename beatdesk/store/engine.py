"""Opening the store: one engine per database URL, migrated to the newest schema on first use."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from beatdesk.errors import ConfigError, UnreachableServiceError
from beatdesk.store.revisions import at_head

_stores: dict[str, Store] = {}
_lock = threading.Lock()
_PG_MIGRATION_LOCK = 7_042_611  # advisory lock id: two processes never migrate at once


class Store:
    """The database: an engine and a session factory."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: safe from corruption, one fsync per checkpoint
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _engine_for(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"BEATDESK_DATABASE_URL is not a database URL: {url!r}") from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 15})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is the driver we ship
    try:
        # pool_pre_ping: a connection the server closed (a restart, an idle timeout) is replaced before use.
        return create_engine(parsed, connect_args={"connect_timeout": 5}, pool_pre_ping=True)
    except Exception as err:  # a missing driver or bad option: say which URL
        raise ConfigError(f"cannot use database {shown}: {err}") from None


def engine_for(url: str) -> Engine:
    """An engine for `url` with beatdesk's connection settings, not migrated: for tools that check first."""
    return _engine_for(url)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (Alembic), under a lock on PostgreSQL."""
    with engine.connect() as connection:
        if at_head(connection):
            return  # the common case: Alembic (0.2 s to import) is not needed
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("beatdesk.store") / "migrations"))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def open_store(url: str) -> Store:
    """The store at `url`, migrated; raises a one-line error when the database cannot be reached."""
    with _lock:
        if url in _stores:
            return _stores[url]
        engine = _engine_for(url)
        try:
            migrate(engine)
        except OperationalError as err:
            engine.dispose()
            shown = make_url(url).render_as_string(hide_password=True)
            reason = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
            raise UnreachableServiceError(
                f"cannot reach the database at {shown}: {reason}; nothing was started"
            ) from None
        _stores[url] = Store(engine)
        return _stores[url]


def forget_stores() -> None:
    """Drop cached engines (after a fork, or between tests)."""
    with _lock:
        for store in _stores.values():
            store.dispose()
        _stores.clear()
