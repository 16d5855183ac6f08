"""People who use the review desk: reviewers and admins, with Argon2-hashed passwords."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from beatdesk.errors import BeatdeskError
from beatdesk.store.schema import ApiTokenRow, UserRow

Role = Literal["reviewer", "admin"]
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password anybody has")


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role


def check_user_name(name: str) -> None:
    """Names are shown on pages and in logs: a plain pattern keeps markup and control characters out."""
    if not USER_NAME.fullmatch(name):
        raise BeatdeskError(
            f"user name {name!r}: use 1 to 40 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )


def add_user(session: Session, *, name: str, role: Role, password: str) -> User:
    check_user_name(name)
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


def issue_token(session: Session, *, name: str) -> str:
    """A new API token for the user; shown once, kept only as its sha256."""
    row = session.scalar(select(UserRow).where(UserRow.name == name))
    if row is None:
        raise BeatdeskError(f"no user named {name!r}; add one with `beatdesk users add {name}`")
    token = secrets.token_urlsafe(32)
    session.add(ApiTokenRow(user_id=row.id, token_hash=hashlib.sha256(token.encode()).hexdigest()))
    return token


def user_for_token(session: Session, token: str) -> User | None:
    digest = hashlib.sha256(token.encode()).hexdigest()
    user_id = session.scalar(select(ApiTokenRow.user_id).where(ApiTokenRow.token_hash == digest))
    return get_user(session, user_id) if user_id is not None else None


def list_users(session: Session) -> list[User]:
    return [User(id=r.id, name=r.name, role=r.role) for r in session.scalars(select(UserRow).order_by(UserRow.name))]  # type: ignore[arg-type]
