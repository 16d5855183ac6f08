"""People who use the review desk: reviewers and admins, with Argon2-hashed passwords, their API tokens and
sessions, and the audit trail of what admins did to them."""

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
from beatdesk.store.schema import ApiTokenRow, SessionRow, UserEventRow, UserRow, utcnow
from beatdesk.strength import password_problem

Role = Literal["reviewer", "admin"]
Scope = Literal["read", "review", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "review", "admin")
"""Each scope allows what the ones before it allow."""
ROLE_SCOPES: dict[str, tuple[Scope, ...]] = {"reviewer": ("read", "review"), "admin": SCOPES}
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
CLI = "cli"
"""The actor recorded for what the command line does (it runs as whoever holds the database)."""
TOKEN_USE_EVERY = timedelta(minutes=1)
"""A token's last use is written at most this often, so a busy API client is not a write per request."""
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


def add_user(session: Session, *, name: str, role: Role, password: str, actor: str = CLI) -> User:
    check_user_name(name)
    _check_password(password, name=name)
    found = session.scalar(select(UserRow).where(UserRow.name == name))
    if found is not None and found.removed_at is not None:
        raise BeatdeskError(f"{name!r} was removed on {found.removed_at:%Y-%m-%d}; a name is never given again, so "
                            f"the audit log's {name!r} always means one person: pick another name")  # fmt: skip
    if found is not None:
        raise BeatdeskError(f"a user named {name!r} exists already")
    row = UserRow(name=name, role=role, password_hash=_hasher.hash(password))
    session.add(row)
    session.flush()
    _record(session, actor=actor, action="added", subject=name, note=role)
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


def set_password(session: Session, *, name: str, password: str, actor: str = CLI) -> None:
    """A new password; every session of the user ends, so a stolen cookie stops working."""
    row = _present(session, name)
    _check_password(password, name=name)
    row.password_hash = _hasher.hash(password)
    end_sessions(session, user_id=row.id)
    _record(session, actor=actor, action="password reset", subject=name, note="sessions ended")


def reset_password(session: Session, *, name: str, actor: str, password: str | None = None) -> str | None:
    """Set `password`, or make one (returned, to be shown once: only its hash is kept); sessions end."""
    made = None if password else secrets.token_urlsafe(12)  # 16 characters, 96 random bits
    set_password(session, name=name, password=password or made or "", actor=actor)
    return made


def disable_user(session: Session, *, name: str, actor: str = CLI) -> None:
    """No more logins for the user; their sessions end and their tokens stop working."""
    row = _present(session, name)
    _check_not_locking_out(session, row, actor=actor, verb="disable")
    if row.disabled_at is None:
        row.disabled_at = utcnow()
        _record(session, actor=actor, action="disabled", subject=name)
    end_sessions(session, user_id=row.id)


def enable_user(session: Session, *, name: str, actor: str = CLI) -> None:
    """A disabled user may log in again (with the same password); their tokens that are still live work again."""
    row = _present(session, name)
    if row.disabled_at is not None:
        row.disabled_at = None
        _record(session, actor=actor, action="enabled", subject=name)


def remove_user(session: Session, *, name: str, actor: str = CLI) -> None:
    """The user is gone from the desk at once: no login, sessions ended, every token revoked.

    A soft delete: the row stays, marked removed (and disabled), because a hard delete would cascade
    to their tokens (api_tokens.user_id is ON DELETE CASCADE, so revoked tokens would vanish from the
    list) and would free their name for a newcomer, whom the posts' audit log (which records actors
    by name, post_events.actor) would then credit with the removed person's decisions."""
    row = _present(session, name)
    _check_not_locking_out(session, row, actor=actor, verb="remove")
    now = utcnow()
    row.removed_at = now
    row.disabled_at = row.disabled_at or now
    end_sessions(session, user_id=row.id)
    live = session.scalars(select(ApiTokenRow).where(ApiTokenRow.user_id == row.id, ApiTokenRow.revoked_at.is_(None)))
    revoked = 0
    for token in live:
        token.revoked_at, revoked = now, revoked + 1
    _record(session, actor=actor, action="removed", subject=name, note=f"{revoked} token(s) revoked")


def _check_not_locking_out(session: Session, row: UserRow, *, actor: str, verb: str) -> None:
    """Nobody disables or removes themselves (an admin would lock themselves out mid-task), nor the last
    admin (nobody would be left to manage users, short of the command line)."""
    if row.name == actor:
        raise BeatdeskError(f"you cannot {verb} yourself; ask another admin")
    if row.role == "admin" and row.disabled_at is None:
        # The active admins' rows locked (PostgreSQL): two admins removing each other at once leave one.
        admins = session.scalars(
            select(UserRow.id).where(UserRow.role == "admin", UserRow.disabled_at.is_(None)).with_for_update()
        ).all()
        if len(admins) <= 1:
            raise BeatdeskError(f"{row.name} is the last admin: nobody could manage users then; add another first")


def issue_token(
    session: Session,
    *,
    name: str,
    scope: Scope = "review",
    lifetime: timedelta | None = None,
    label: str | None = None,
    actor: str = CLI,
) -> str:
    """A new API token for the user with `scope` (within the user's role); shown once, kept only as its sha256."""
    row = _present(session, name)
    if row.disabled_at is not None:
        raise BeatdeskError(f"{name} is disabled: enable them first (`beatdesk users enable {name}`)")
    if scope not in ROLE_SCOPES[row.role]:
        allowed = ", ".join(ROLE_SCOPES[row.role])
        raise BeatdeskError(f"{name} is a {row.role}: a token may have scope {allowed}, not {scope!r}")
    if label is not None and (len(label) > 64 or not label.isprintable()):
        raise BeatdeskError(f"token name {label!r}: use up to 64 printable characters")
    token = secrets.token_urlsafe(32)
    expires = utcnow() + lifetime if lifetime is not None else None
    made = ApiTokenRow(user_id=row.id, token_hash=_digest(token), scope=scope, expires_at=expires, name=label or None)
    session.add(made)
    session.flush()
    _record(session, actor=actor, action="token issued", subject=name, note=f"token {made.id} ({scope})")
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
    if row.last_used_at is None or row.last_used_at <= now - TOKEN_USE_EVERY:
        row.last_used_at = now
    # A role lowered since the token was made lowers what the token may do with it.
    scope = row.scope if row.scope in ROLE_SCOPES[user.role] else ROLE_SCOPES[user.role][-1]
    return TokenHolder(user=_user(user), scope=scope, token_id=row.id)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user: str
    name: str | None
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    """To the minute (`TOKEN_USE_EVERY`)."""
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
    return [TokenInfo(id=t.id, user=user, name=t.name, scope=t.scope, created_at=t.created_at,
                      last_used_at=t.last_used_at, expires_at=t.expires_at, revoked_at=t.revoked_at)
            for t, user in rows]  # fmt: skip


def revoke_token(session: Session, *, token_id: int, actor: str = CLI) -> None:
    """The token stops working at once; it stays listed as revoked."""
    row = session.get(ApiTokenRow, token_id)
    if row is None:
        raise NotFoundError(f"no token with id {token_id}; `beatdesk tokens list` lists them")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        owner = session.get(UserRow, row.user_id)
        _record(session, actor=actor, action="token revoked", subject=owner.name if owner else "?",
                note=f"token {token_id}" + (f" ({row.name})" if row.name else ""))  # fmt: skip


def parse_lifetime(text: str) -> timedelta:
    """`30d`, `12h`, `90m` or `2w` as a duration; anything else is refused with the accepted forms."""
    match = re.fullmatch(r"\s*(\d{1,5})\s*([mhdw])\s*", text)
    if match is None or int(match.group(1)) == 0:
        raise BeatdeskError(f"--expires {text!r}: give a number and a unit, e.g. 90m, 12h, 30d or 2w")
    unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def list_users(session: Session) -> list[User]:
    """The users who may log in now."""
    return [
        _user(r) for r in session.scalars(select(UserRow).where(UserRow.disabled_at.is_(None)).order_by(UserRow.name))
    ]


@dataclass(frozen=True)
class Person:
    """A user as admins see them: who may log in, who is disabled (and may be enabled), who was removed."""

    name: str
    role: str
    created_at: datetime
    disabled_at: datetime | None
    removed_at: datetime | None

    @property
    def state(self) -> str:
        return "removed" if self.removed_at else "disabled" if self.disabled_at else "active"


def list_people(session: Session) -> list[Person]:
    """Every user ever added, by name: removed ones too, since the audit log still names them."""
    rows = session.scalars(select(UserRow).order_by(UserRow.name))
    return [Person(name=r.name, role=r.role, created_at=r.created_at, disabled_at=r.disabled_at,
                   removed_at=r.removed_at) for r in rows]  # fmt: skip


@dataclass(frozen=True)
class UserEvent:
    at: datetime
    actor: str
    action: str
    subject: str
    note: str | None


def user_events(session: Session, *, limit: int = 50) -> list[UserEvent]:
    """The users' audit trail, newest first."""
    rows = session.scalars(select(UserEventRow).order_by(UserEventRow.id.desc()).limit(limit))
    return [UserEvent(at=r.at, actor=r.actor, action=r.action, subject=r.subject, note=r.note) for r in rows]


def _record(session: Session, *, actor: str, action: str, subject: str, note: str | None = None) -> None:
    session.add(UserEventRow(actor=actor, action=action, subject=subject, note=note))


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


def _present(session: Session, name: str) -> UserRow:
    """A user not removed: a removed user is kept for the record only, never changed again."""
    row = _named(session, name)
    if row.removed_at is not None:
        raise BeatdeskError(f"{name} was removed on {row.removed_at:%Y-%m-%d}; removed users stay removed")
    return row


def _check_password(password: str, *, name: str) -> None:
    """Every path that sets a password comes here: judged by zxcvbn, the user's name counted as known."""
    problem = password_problem(password, user_inputs=(name,))
    if problem is not None:
        raise BeatdeskError(problem)


def _user(row: UserRow) -> User:
    return User(id=row.id, name=row.name, role=row.role)  # type: ignore[arg-type]
