"""A store as one portable file: a zip of JSON lines per table and a manifest (schema revision, row counts).

Values that JSON has no type for are tagged by what they are (`{"$decimal": "0.040000000"}`,
`{"$datetime": "2026-12-05T18:00:00+00:00"}`, `{"$bytes": base64}`), and a JSON column's value is
wrapped (`{"$json": ...}`) so its SQL NULL and its JSON null stay apart: nothing is lost either way.
"""

from __future__ import annotations

import base64
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Table
from sqlalchemy.orm import Session

from beatdesk.audit import audit
from beatdesk.disk import FULL
from beatdesk.store.revisions import head_revisions
from beatdesk.store.schema import Base
from beatdesk.transfer import (
    CHUNK,
    Filled,
    OnRows,
    Row,
    TransferError,
    count_rows,
    is_json,
    open_engine,
    read_rows,
    snapshot,
    tables,
)
from beatdesk.transfer import fill as fill_target

FORMAT = "beatdesk-dump"
MANIFEST = "manifest.json"


def _member(table: str) -> str:
    return f"tables/{table}.jsonl"


def encode(value: Any, *, json_column: bool) -> Any:
    """A column's value as JSON, tagged where JSON has no such type."""
    if json_column:
        return None if value is None else {"$json": None if value is JSON.NULL else value}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, time):
        return {"$time": value.isoformat()}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    raise TransferError(f"cannot archive a {type(value).__name__} value")


_DECODERS: dict[str, Callable[[str], Any]] = {
    "$decimal": Decimal,
    "$datetime": datetime.fromisoformat,
    "$date": date.fromisoformat,
    "$time": time.fromisoformat,
    "$bytes": base64.b64decode,
}


def decode(value: Any, *, json_column: bool) -> Any:
    if json_column:
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) != {"$json"}:
            raise ValueError("a JSON column's value is not wrapped in $json")
        return JSON.NULL if value["$json"] is None else value["$json"]
    if isinstance(value, dict):
        ((tag, text),) = value.items()
        if tag not in _DECODERS:
            raise ValueError(f"unknown tag {tag}")
        return _DECODERS[tag](text)
    return value


def dump(source_url: str, path: Path, *, on_rows: OnRows | None = None) -> dict[str, int]:
    """Write the store at `source_url` to `path` (written aside, then moved in place: never half a file)."""
    engine = open_engine(source_url, what="the current store")
    partial = path.with_name(path.name + ".part")
    try:
        with snapshot(engine, source_url) as reading:
            counts = count_rows(reading)
            total, done = sum(counts.values()), 0
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for table in tables():
                    json_columns = {column.key: is_json(column) for column in table.columns}
                    with archive.open(_member(table.name), "w") as member:
                        for chunk in read_rows(reading, table):
                            for row in chunk:
                                line = {key: encode(value, json_column=json_columns[key]) for key, value in row.items()}
                                member.write(json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n")
                            done += len(chunk)
                            if on_rows:
                                on_rows(table.name, done, total)
                with Session(bind=reading) as session:
                    findings = audit(session).findings
                manifest = {
                    "format": FORMAT,
                    "version": 1,
                    "revision": sorted(head_revisions()),
                    "created_at": datetime.now(UTC).isoformat(),
                    "tables": counts,
                    "audit_findings": findings,
                }
                archive.writestr(MANIFEST, json.dumps(manifest, indent=2))
        os.replace(partial, path)
    except OSError as err:
        if err.errno in FULL:
            raise  # the CLI's edge names the full disk
        raise TransferError(f"cannot write {path}: {err.strerror or err}") from None
    finally:
        partial.unlink(missing_ok=True)
        engine.dispose()
    return counts


def read_manifest(archive: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    """The manifest, checked against this beatdesk's schema: one line when it does not fit."""
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except (KeyError, ValueError):
        raise TransferError(f"{path} is not a beatdesk dump (no readable {MANIFEST})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise TransferError(f"{path} is not a beatdesk dump")
    heads = sorted(head_revisions())
    if manifest.get("revision") != heads:
        raise TransferError(
            f"{path} holds schema revision {', '.join(map(str, manifest.get('revision') or ['?']))}, "
            f"this beatdesk is at {', '.join(heads)}: restore it with the beatdesk version that made it"
        )
    unknown = sorted(set(manifest.get("tables") or {}) - set(Base.metadata.tables))
    if unknown:
        raise TransferError(f"{path} holds tables this schema does not have: {', '.join(unknown)}")
    return manifest


def _rows(archive: zipfile.ZipFile, table: Table, path: Path) -> Iterator[list[Row]]:
    json_columns = {column.key: is_json(column) for column in table.columns}
    if _member(table.name) not in archive.namelist():
        raise TransferError(f"{path} has no {_member(table.name)}")
    try:
        with archive.open(_member(table.name)) as member:
            chunk: list[Row] = []
            for number, line in enumerate(member, start=1):
                stored = json.loads(line)
                unknown = set(stored) - set(json_columns)
                if unknown:
                    raise TransferError(f"{path}: {table.name} line {number} has unknown columns {sorted(unknown)}")
                chunk.append({key: decode(stored.get(key), json_column=flag) for key, flag in json_columns.items()})
                if len(chunk) == CHUNK:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk
    except (ValueError, TypeError) as err:
        raise TransferError(f"{path}: {table.name} holds a value that cannot be read ({err})") from None


def restore(path: Path, target_url: str, *, on_rows: OnRows | None = None) -> Filled:
    """Restore a dump into the empty database at `target_url`, checked as a copy is."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as err:
        raise TransferError(f"cannot read {path}: {err}") from None
    engine = open_engine(target_url, what="the target")
    try:
        with archive:
            manifest = read_manifest(archive, path)
            return fill_target(
                engine,
                target_url,
                lambda table: _rows(archive, table, path),
                expected={name: int(rows) for name, rows in manifest["tables"].items()},
                source_findings=lambda: list(manifest.get("audit_findings") or []),
                on_rows=on_rows,
            )
    finally:
        engine.dispose()
