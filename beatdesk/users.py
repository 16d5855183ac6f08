"""People who use the review desk: reviewers and admins, with Argon2-hashed passwords."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from beatdesk.errors import BeatdeskError
from beatdesk.store.schema import UserRow

Role = Literal["reviewer", "admin"]
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password anybody has")


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role


def add_user(session: Session, *, name: str, role: Role, password: str) -> User:
    if len(password) < 10:
        raise BeatdeskError("the password needs at least 10 characters")
    if session.scalar(select(UserRow.id).where(UserRow.name == name)) is not None:
        raise BeatdeskError(f"a user named {name!r} exists already")
    row = UserRow(name=name, role=role, password_hash=_hasher.hash(password))
    session.add(row)
    session.flush()
    return User(id=row.id, name=row.name, role=role)


def authenticate(session: Session, *, name: str, password: str) -> User | None:
    """The user when the password matches; the same work is done for unknown names, so timing tells nothing."""
    row = session.scalar(select(UserRow).where(UserRow.name == name))
    try:
        _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return User(id=row.id, name=row.name, role=row.role) if row else None  # type: ignore[arg-type]


def get_user(session: Session, user_id: int) -> User | None:
    row = session.get(UserRow, user_id)
    return User(id=row.id, name=row.name, role=row.role) if row else None  # type: ignore[arg-type]
