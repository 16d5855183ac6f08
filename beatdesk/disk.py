"""A full disk, recognised wherever it surfaces (a file write, SQLite, PostgreSQL) and said in one line.

A full disk is not a post's failure: the work is left where it stopped (its step released for the next
taker) and moves on once there is space again, by itself on workers or with `beatdesk sweep`.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from beatdesk.errors import BeatdeskError

FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
SQLITE_FULL = 13
"""SQLite's result code for "database or disk is full"."""
PG_DISK_FULL = "53100"
"""PostgreSQL's SQLSTATE disk_full."""


class DiskFullError(BeatdeskError):
    """No space left (or over quota) where beatdesk writes; the message names the place and what to do."""


def full_where(err: BaseException, *, database: str | None = None, files: str | None = None) -> str | None:
    """Where the disk is full, when `err` (or an error it was raised from) says so: the file named by the OS
    error (else `files`, where the caller writes: a write's error names no file), or `database` (the store's
    file or server) for a database's own disk-full error; None otherwise."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in FULL:
            return str(current.filename) if current.filename else (files or "the disk")
        original = getattr(current, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
        if original is not None and _database_full(original):
            return database or "the database's disk"
        if _database_full(current):
            return database or "the database's disk"
        nested = getattr(current, "exc", None)  # Celery's Retry carries the error it retries
        current = (
            nested if isinstance(nested, BaseException) and id(nested) not in seen
            else current.__cause__ or current.__context__
        )  # fmt: skip
    return None


def _said(err: BaseException) -> DiskFullError | None:
    """A DiskFullError already made below (e.g. by the runner, then wrapped in Celery's Retry)."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, DiskFullError):
            return current
        seen.add(id(current))
        nested = getattr(current, "exc", None)
        current = nested if isinstance(nested, BaseException) else current.__cause__ or current.__context__
    return None


def _database_full(err: BaseException) -> bool:
    if getattr(err, "sqlite_errorcode", None) == SQLITE_FULL:
        return True
    if getattr(err, "sqlstate", None) == PG_DISK_FULL:
        return True
    # SQLite reports a full disk during a commit as a plain OperationalError: its text is all there is.
    return type(err).__name__ == "OperationalError" and "database or disk is full" in str(err)


def disk_full(err: BaseException, *, database: str | None = None, files: str | None = None) -> DiskFullError | None:
    """The one-line error for a full disk behind `err` (the one already said, when `err` carries it), or None
    when `err` is something else."""
    said = _said(err)
    if said is not None:
        return said
    where = full_where(err, database=database, files=files)
    if where is None:
        return None
    return DiskFullError(f"disk full at {where}{_free(where)}: free space and run `beatdesk sweep`")


def _free(where: str) -> str:
    """The free space left on the file system holding `where`, when it can be read."""
    path = Path(where)
    if not path.is_absolute():  # a database server, not a file here
        return ""
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return ""
    return f" ({usage.free / 1024**2:,.1f} MB free of {usage.total / 1024**2:,.0f} MB)"


def store_place(url: str) -> str:
    """What to name for a database's full disk: the SQLite file, or the PostgreSQL server."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(Path(parsed.database or "").resolve()) if parsed.database else "the SQLite database"
    return f"the PostgreSQL server {parsed.host or 'localhost'}:{parsed.port or 5432}"
