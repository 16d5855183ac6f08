"""What every command shares: the two consoles, one-line errors, the store a command opens, common arguments."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.text import Text
from sqlalchemy.exc import DatabaseError

from beatdesk.disk import disk_full, store_place
from beatdesk.errors import BeatdeskError, ConfigError
from beatdesk.logs import configure_logging
from beatdesk.review import parse_time
from beatdesk.settings import get_settings
from beatdesk.store import open_store, repo
from beatdesk_cli.show import post_summary, print_json
from beatdesk_cli.terminal import console, errors, say_error

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    # the commands import what they use, so `--help` and `queue list` start in a blink
    from beatdesk.settings import Settings
    from beatdesk.store import Store


SupervisedFlag = Annotated[
    bool, typer.Option("--supervised", hidden=True, help="Started by `beatdesk up`, which says what is not connected.")
]


F = TypeVar("F", bound=Callable[..., Any])


JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON only, on stdout.")]


StoredPostId = Annotated[int, typer.Argument(help="The post's id.", min=1, max=2**31 - 1)]


StoredBatchId = Annotated[int, typer.Argument(help="The batch's id.", min=1, max=2**31 - 1)]


def edge(func: F) -> F:
    """Show a BeatdeskError as one line on stderr and exit 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BeatdeskError as err:
            say_error(str(err))
            raise typer.Exit(1) from None
        except Exception as err:  # a full disk (a file, the database) is one line too; anything else is a bug
            full = _disk_full(err)
            if full is None:
                raise
            say_error(full)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _disk_full(err: BaseException) -> str | None:

    try:
        settings = get_settings()
        database, files = store_place(settings.effective_database_url), str(settings.home)
    except BeatdeskError:
        database, files = None, None
    full = disk_full(err, database=database, files=files)
    return None if full is None else str(full)


def cli_store(settings: Settings, *, reading: bool = False) -> Store:
    """The store, migrated; a home that cannot be written or a damaged SQLite file is one line saying so. A
    command that only reads (`reading`) never makes a store: without one it says where it looked."""
    configure_logging(settings, explicit_only=True)  # a one-shot command logs only when asked to
    if settings.database_url is None:
        if "home" not in settings.model_fields_set and not settings.home.exists():
            # Run in the wrong folder, a command would otherwise make an empty home there and report it empty.
            raise ConfigError(
                f"no beatdesk home here ({settings.home}): run this where you ran `beatdesk init`, "
                "set BEATDESK_HOME to your home, or run `beatdesk init` to start one here"
            )
        if reading and not (settings.home / "beatdesk.db").exists():
            raise ConfigError(
                f"no beatdesk store in {settings.home} (looked for {settings.home / 'beatdesk.db'}): point "
                "BEATDESK_HOME at your home, or run `beatdesk init` to start one there"
            )
        settings.check_home()
    try:
        return open_store(settings.effective_database_url)
    except DatabaseError as err:
        reason = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
        if settings.database_url is None:
            raise ConfigError(
                f"{settings.home / 'beatdesk.db'} is not a usable SQLite database ({reason}); "
                "move it aside and run `beatdesk init` for a new one"
            ) from None
        raise ConfigError(f"the database at BEATDESK_DATABASE_URL cannot be used: {reason}") from None


@contextmanager
def store_session(*, reading: bool = False) -> Iterator[Session]:
    """A session on the store of this home's settings, committed when the block ends (see `cli_store`)."""
    with cli_store(get_settings(), reading=reading).session() as session:
        yield session


def cli_actor() -> str:
    return os.environ.get("USER") or "cli"


def print_decision(store: Store, post_id: int, as_json: bool) -> None:

    with store.session() as session:
        post = repo.get_post(session, post_id)
    if as_json:
        print_json(
            post_summary(post)
            | {
                "slot_at": post.slot_at.isoformat() if post.slot_at else None,
                "reason": post.reason,
                "reason_code": post.reason_code,
            }
        )
    else:
        slot = f" for {post.slot_at:%Y-%m-%d %H:%M} UTC" if post.slot_at else ""
        console.print(f"post {post.id} is {post.status}{slot}")


def print_troubles(sweep: Any) -> None:
    """One line per due channel that did not go out: post, channel, status, reason, next try."""
    for trouble in sweep.troubles():
        colour = "yellow" if trouble.state.status == "retrying" else "red"
        errors.print(Text.assemble((f"post {trouble.post_id} {trouble.state.channel.name}:", colour), " ",
                                   trouble.state.line()), highlight=False, soft_wrap=True)  # fmt: skip


def collected_line(done: Any) -> str:
    gone = f", {done.gone} deleted on their channel" if done.gone else ""
    failed = f", {done.failed} not read (tried again next run)" if done.failed else ""
    return f"{done.readings} reading(s) stored{gone}{failed}"


def parse_clock(now: str | None) -> datetime:
    """`--now` as an aware time (UTC unless it names a zone), or the real time."""
    when = parse_time(now, label="--now") if now else datetime.now(UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def since_utc(since: str | None) -> datetime | None:
    """`--since` as an aware UTC time (UTC when it names no zone), or a one-line error."""
    start = parse_time(since, label="--since") if since else None
    if start is None:
        return None
    try:  # the first or last hours of year 1 or 9999 have no UTC time
        return (start.replace(tzinfo=UTC) if start.tzinfo is None else start).astimezone(UTC)
    except OverflowError:
        raise BeatdeskError(f"--since {since!r} is out of range") from None
