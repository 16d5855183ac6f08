"""Whether a database is already at the newest schema, told without importing Alembic (a CLI start-up cost)."""

from __future__ import annotations

import ast
from functools import lru_cache
from importlib import resources

from sqlalchemy import Connection, inspect, text


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    """The revisions no other revision builds on, read from the migration files' `revision`/`down_revision`."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (resources.files("beatdesk.store") / "migrations" / "versions").iterdir():
        if not script.name.endswith(".py"):
            continue
        names: dict[str, object] = {}
        for node in ast.parse(script.read_text(encoding="utf-8")).body:
            target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                names[target.id] = ast.literal_eval(node.value)  # type: ignore[attr-defined]
        if isinstance(names.get("revision"), str):
            revisions.add(str(names["revision"]))
        down = names.get("down_revision")
        parents.update([down] if isinstance(down, str) else list(down) if isinstance(down, tuple | list) else [])
    return frozenset(revisions - parents)


def at_head(connection: Connection) -> bool:
    """True when the database's alembic_version rows are exactly the newest revisions."""
    heads = head_revisions()
    if not heads or not inspect(connection).has_table("alembic_version"):
        return False
    current = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    return current == heads
