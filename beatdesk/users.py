"""People who use the review desk: reviewers and admins, with Argon2-hashed passwords."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from beatdesk.errors import BeatdeskError, NotFoundError
from beatdesk.store.schema import ApiTokenRow, SessionRow, UserRow, utcnow

Role = Literal["reviewer", "admin"]
Scope = Literal["read", "review", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "review", "admin")
"""Each scope allows what the ones before it allow."""
ROLE_SCOPES: dict[str, tuple[Scope, ...]] = {"reviewer": ("read", "review"), "admin": SCOPES}
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
    if row is None or row.disabled_at is not None:
        return None
    return _user(row)


def get_user(session: Session, user_id: int) -> User | None:
    """The user, unless there is none or an admin disabled them."""
    row = session.get(UserRow, user_id)
    return _user(row) if row is not None and row.disabled_at is None else None


def set_password(session: Session, *, name: str, password: str) -> None:
    """A new password; every session of the user ends, so a stolen cookie stops working."""
    if len(password) < 10:
        raise BeatdeskError("the password needs at least 10 characters")
    row = _named(session, name)
    row.password_hash = _hasher.hash(password)
    end_sessions(session, user_id=row.id)


def disable_user(session: Session, *, name: str) -> None:
    """No more logins for the user; their sessions end and their tokens stop working."""
    row = _named(session, name)
    row.disabled_at = row.disabled_at or utcnow()
    end_sessions(session, user_id=row.id)


def issue_token(session: Session, *, name: str, scope: Scope = "review", lifetime: timedelta | None = None) -> str:
    """A new API token for the user with `scope` (within the user's role); shown once, kept only as its sha256."""
    row = _named(session, name)
    if scope not in ROLE_SCOPES[row.role]:
        allowed = ", ".join(ROLE_SCOPES[row.role])
        raise BeatdeskError(f"{name} is a {row.role}: a token may have scope {allowed}, not {scope!r}")
    token = secrets.token_urlsafe(32)
    expires = utcnow() + lifetime if lifetime is not None else None
    session.add(ApiTokenRow(user_id=row.id, token_hash=_digest(token), scope=scope, expires_at=expires))
    return token


@dataclass(frozen=True)
class TokenHolder:
    """Who a valid token acts for, and what it may do."""

    user: User
    scope: Scope
    token_id: int


def user_for_token(session: Session, token: str) -> TokenHolder | None:
    """The user and scope of a live token: unknown, expired, revoked or of a disabled user is None."""
    now = utcnow()
    found = session.execute(
        select(ApiTokenRow, UserRow)
        .join(UserRow, UserRow.id == ApiTokenRow.user_id)
        .where(
            ApiTokenRow.token_hash == _digest(token), ApiTokenRow.revoked_at.is_(None), UserRow.disabled_at.is_(None)
        )
    ).first()
    if found is None:
        return None
    row, user = found
    if row.expires_at is not None and row.expires_at <= now:
        return None
    # A role lowered since the token was made lowers what the token may do with it.
    scope = row.scope if row.scope in ROLE_SCOPES[user.role] else ROLE_SCOPES[user.role][-1]
    return TokenHolder(user=_user(user), scope=scope, token_id=row.id)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user: str
    scope: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "expired"
        return "live"


def list_tokens(session: Session, *, name: str | None = None) -> list[TokenInfo]:
    """Every token (or one user's), newest first; never the token itself, which is not kept."""
    query = select(ApiTokenRow, UserRow.name).join(UserRow, UserRow.id == ApiTokenRow.user_id)
    if name is not None:
        query = query.where(UserRow.name == _named(session, name).name)
    rows = session.execute(query.order_by(ApiTokenRow.id.desc())).all()
    return [TokenInfo(id=t.id, user=user, scope=t.scope, created_at=t.created_at, expires_at=t.expires_at,
                      revoked_at=t.revoked_at) for t, user in rows]  # fmt: skip


def revoke_token(session: Session, *, token_id: int) -> None:
    """The token stops working at once; it stays listed as revoked."""
    row = session.get(ApiTokenRow, token_id)
    if row is None:
        raise NotFoundError(f"no token with id {token_id}; `beatdesk users tokens` lists them")
    row.revoked_at = row.revoked_at or utcnow()


def parse_lifetime(text: str) -> timedelta:
    """`30d`, `12h`, `90m` or `2w` as a duration; anything else is refused with the accepted forms."""
    match = re.fullmatch(r"\s*(\d{1,5})\s*([mhdw])\s*", text)
    if match is None or int(match.group(1)) == 0:
        raise BeatdeskError(f"--expires {text!r}: give a number and a unit, e.g. 90m, 12h, 30d or 2w")
    unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def list_users(session: Session) -> list[User]:
    return [
        _user(r) for r in session.scalars(select(UserRow).where(UserRow.disabled_at.is_(None)).order_by(UserRow.name))
    ]


# --- desk sessions ---------------------------------------------------------------------------------


def start_session(session: Session, *, user_id: int, lifetime: timedelta) -> str:
    """A new login session; returns the key for the cookie (the store keeps only its sha256)."""
    key = secrets.token_urlsafe(32)
    session.add(SessionRow(key_hash=_digest(key), user_id=user_id, expires_at=utcnow() + lifetime))
    # Ended sessions are swept as new ones begin, so the table holds only live logins.
    session.execute(delete(SessionRow).where(SessionRow.expires_at <= utcnow()))
    return key


def user_for_session(session: Session, key: str) -> User | None:
    """The user of a live session key; an unknown, expired or ended session, or a disabled user, is None."""
    found = session.execute(
        select(UserRow)
        .join(SessionRow, SessionRow.user_id == UserRow.id)
        .where(SessionRow.key_hash == _digest(key), SessionRow.expires_at > utcnow(), UserRow.disabled_at.is_(None))
    ).scalar_one_or_none()
    return _user(found) if found is not None else None


def end_session(session: Session, *, key: str) -> None:
    session.execute(delete(SessionRow).where(SessionRow.key_hash == _digest(key)))


def end_sessions(session: Session, *, user_id: int) -> None:
    """Every session of the user, e.g. after a password change."""
    session.execute(delete(SessionRow).where(SessionRow.user_id == user_id))


def expire_sessions(session: Session, *, user_id: int, at: datetime) -> None:
    """Move the user's sessions' end to `at` (an operator's tool, and how tests age a session)."""
    session.execute(update(SessionRow).where(SessionRow.user_id == user_id).values(expires_at=at))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _named(session: Session, name: str) -> UserRow:
    row = session.scalar(select(UserRow).where(UserRow.name == name))
    if row is None:
        raise NotFoundError(f"no user named {name!r}; add one with `beatdesk users add {name}`")
    return row


def _user(row: UserRow) -> User:
    return User(id=row.id, name=row.name, role=row.role)  # type: ignore[arg-type]
