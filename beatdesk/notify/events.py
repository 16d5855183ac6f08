"""What is announced: each event once per subject within its window, agreed through the store by every process.

Callers say what happened in one call (`announce`, or one of the helpers below); the work (reading the
persona's URLs, claiming the notice in the store, composing the text, sending) runs on the sender's thread.
A call never raises and never waits: a notifier is never a reason for a step to fail.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session, SessionTransaction

from beatdesk.notify.sender import SENDER, deliver
from beatdesk.store import Store, open_store
from beatdesk.store import notices as notice_rows
from beatdesk.store.schema import utcnow

log = logging.getLogger(__name__)


class Event(StrEnum):
    batch_ready = "batch_ready"
    publication_blocked = "publication_blocked"
    publication_given_up = "publication_given_up"
    credentials_refused = "credentials_refused"
    budget_near = "budget_near"
    budget_exhausted = "budget_exhausted"
    posts_failed = "posts_failed"
    no_live_worker = "no_live_worker"
    mentioned = "mentioned"


REPEAT_AFTER = timedelta(hours=1)
UNTIL_CLEARED = frozenset({Event.batch_ready, Event.credentials_refused, Event.budget_near, Event.budget_exhausted})
"""Said once per subject: a batch is ready once, a refusal until the channel takes a post again, a budget
share once per batch or day (their subjects name it)."""

Compose = Callable[[Store, str], tuple[str, str]]
"""(store, the desk's address) -> (title, body): text that needs the store is written on the sender's thread."""


@dataclass(frozen=True)
class _Where:
    """What the sender needs of the settings, read when the notice was made (a later test or reload may differ)."""

    urls: tuple[str, ...]
    home: Path
    database_url: str
    desk_url: str
    store: Store | None


def announce(
    event: Event, subject: str, *, title: str, body: str, persona: str | None = None, store: Store | None = None
) -> None:
    """Tell the configured URLs (and the persona's) now, unless this event was told for `subject` within its
    window. The one call publishing, budgets and the reconciler make; it returns at once."""
    _queue(event, subject, persona=persona, store=store, compose=lambda _store, _desk: (title, body))


def announce_on_commit(
    session: Session, event: Event, subject: str, *, title: str, body: str, persona: str | None = None
) -> None:
    """As `announce`, once the session's transaction has committed (never for one rolled back)."""
    _on_commit(session, lambda: announce(event, subject, title=title, body=body, persona=persona))


def resolved(event: Event, subject: str, *, store: Store | None = None) -> None:
    """The trouble is mended (a channel took a post again): the next occurrence is told again."""
    where = _where(store)
    if where is not None:
        SENDER.put(lambda: _clear(where, event, subject))


# --- the events -----------------------------------------------------------------------------------


def announce_batch_ready(*, batch_id: int, persona: str, store: Store | None = None) -> None:
    """A batch's posts all settled: say so once, with its counts and a link to it on the desk."""
    _queue(Event.batch_ready, f"batch {batch_id}", persona=persona, store=store,
           compose=lambda store, desk: _batch_text(store, desk, batch_id))  # fmt: skip


def batch_ready_on_commit(session: Session, *, batch_id: int, persona: str, store: Store | None = None) -> None:
    _on_commit(session, lambda: announce_batch_ready(batch_id=batch_id, persona=persona, store=store))


def announce_publication_problem(
    *,
    post_id: int,
    persona: str,
    channel: str,
    reason: str,
    given_up: bool = False,
    credentials: bool = False,
    store: Store | None = None,
) -> None:
    """A publication blocked (a refusal that needs a person) or given up (past its deadline). `credentials`:
    the channel refused the persona's credentials, told once for the channel rather than once per post."""
    if credentials:
        credentials_refused(persona=persona, channel=channel, post_id=post_id, reason=reason, store=store)
        return
    what = "given up" if given_up else "blocked"
    announce(
        Event.publication_given_up if given_up else Event.publication_blocked,
        f"post {post_id} on {channel}",
        title=f"Post {post_id} of @{persona}: {channel} {what}",
        body=f"Post {post_id} was not published to {channel}: {reason}",
        persona=persona,
        store=store,
    )


def publication_problem_on_commit(session: Session, **problem: Any) -> None:
    """As `announce_publication_problem`, once the session's transaction has committed."""
    _on_commit(session, lambda: announce_publication_problem(**problem))


def credentials_accepted_on_commit(session: Session, *, persona: str, channel: str, store: Store | None = None) -> None:
    _on_commit(session, lambda: credentials_accepted(persona=persona, channel=channel, store=store))


def credentials_refused(*, persona: str, channel: str, post_id: int, reason: str, store: Store | None = None) -> None:
    """The channel refused the persona's credentials: once, until a publication there goes through."""
    announce(
        Event.credentials_refused,
        f"{persona} on {channel}",
        title=f"@{persona}: {channel} refused the credentials",
        body=f"Post {post_id} was not published to {channel}: {reason}. Renew the credentials, then "
        "`beatdesk publish due` tries again.",
        persona=persona,
        store=store,
    )


def credentials_accepted(*, persona: str, channel: str, store: Store | None = None) -> None:
    resolved(Event.credentials_refused, f"{persona} on {channel}", store=store)


def posts_failed_by_reconciler(*, post_ids: list[int], batch_ids: list[int], store: Store | None = None) -> None:
    """Work the reconciler gave up (nothing moved it, no live worker took it): one notice per pass."""
    parts = [f"post(s) {', '.join(map(str, post_ids))}"] if post_ids else []
    parts += [f"batch(es) {', '.join(map(str, batch_ids))} (not planned)"] if batch_ids else []
    announce(
        Event.posts_failed,
        "; ".join(parts),
        title=f"{len(post_ids) + len(batch_ids)} item(s) failed: no progress",
        body=f"Failed by the reconciler after no progress and no live worker on them: {'; '.join(parts)}. "
        "Is `beatdesk worker` running? Send them back to try again.",
        store=store,
    )


def no_live_worker(*, waiting: int, store: Store | None = None) -> None:
    """Work is handed on and no worker takes it, none beating on any step."""
    announce(
        Event.no_live_worker,
        "workers",
        title="No live worker",
        body=f"{waiting} post(s) were handed to workers and none took them; no step has a live worker. "
        "Start `beatdesk worker` (or `beatdesk up`).",
        store=store,
    )


def mentioned_on_commit(
    session: Session, *, post_id: int, comment_id: int, persona: str, author: str, mentions: list[str], text: str
) -> None:
    """People named in a comment: told once the comment is kept, with the desk's link to the post's thread."""
    names = ", ".join(f"@{name}" for name in mentions)
    excerpt = text if len(text) <= 280 else text[:279].rsplit(" ", 1)[0] + " …"

    def compose(_store: Store, desk: str) -> tuple[str, str]:
        title = f"{author} mentioned {names} on post {post_id} of @{persona}"
        return title, f"{excerpt}\n\nReply: {desk}/posts/{post_id}#comments"

    subject = f"comment {comment_id}"
    _on_commit(session, lambda: _queue(Event.mentioned, subject, persona=persona, store=None, compose=compose))


# --- how -----------------------------------------------------------------------------------------


def _where(store: Store | None) -> _Where | None:
    from beatdesk.settings import get_settings

    try:
        settings = get_settings()
        return _Where(settings.notify_url_list, settings.home, settings.effective_database_url, settings.desk_url,
                      store)  # fmt: skip
    except Exception as err:  # settings that cannot be read were said where the process started
        log.warning("notification not queued: %s", err)
        return None


def _queue(event: Event, subject: str, *, persona: str | None, store: Store | None, compose: Compose) -> None:
    where = _where(store)
    if where is None or (not where.urls and persona is None):
        return  # nobody to tell: nothing is stored either
    SENDER.put(lambda: _send(where, event, subject, persona, compose))


def _send(where: _Where, event: Event, subject: str, persona: str | None, compose: Compose) -> None:
    urls = list(dict.fromkeys([*where.urls, *_persona_urls(where.home, persona)]))  # a URL in both is told once
    if not urls:
        return
    store = where.store or open_store(where.database_url)
    with store.session() as session:
        every = None if event in UNTIL_CLEARED else REPEAT_AFTER
        if not notice_rows.claim(session, event=event.value, subject=subject, every=every, now=utcnow()):
            return  # told already, by this process or another
    title, body = compose(store, where.desk_url)
    failed = [d for d in deliver(urls, title=title, body=body) if d.error]
    if not failed:
        return
    log.warning("notification %s (%s) not sent to %s", event.value, subject,
                "; ".join(f"{d.url}: {d.error}" for d in failed))  # fmt: skip
    if len(failed) == len(urls):  # nobody was told: the next occurrence tries again
        with store.session() as session:
            notice_rows.clear(session, event=event.value, subject=subject)


def _clear(where: _Where, event: Event, subject: str) -> None:
    store = where.store or open_store(where.database_url)
    with store.session() as session:
        notice_rows.clear(session, event=event.value, subject=subject)


def _persona_urls(home: Path, persona: str | None) -> tuple[str, ...]:
    if persona is None:
        return ()
    from beatdesk.personas import load_persona

    try:
        return load_persona(home, persona).notify
    except Exception as err:  # its file broke since: the global URLs are still told
        log.warning("notification: cannot read persona %s's notify URLs: %s", persona, err)
        return ()


def _batch_text(store: Store, desk: str, batch_id: int) -> tuple[str, str]:
    from beatdesk.prices import format_usd
    from beatdesk.store import repo

    with store.session() as session:
        batch = repo.get_batch(session, batch_id, with_history=False)
    statuses = Counter(post.status.value for post in batch.posts)
    formats = Counter(post.content_format.value for post in batch.posts if post.status.value == "in_review")
    in_review = statuses.pop("in_review", 0)
    shapes = ", ".join(f"{count} {name}" for name, count in sorted(formats.items()))
    others = "".join(f", {count} {name}" for name, count in sorted(statuses.items()))
    body = (f"{in_review} post(s) to review" + (f" ({shapes})" if shapes else "") + others
            + f"; cost {format_usd(batch.total_cost_usd)} USD. Review: {desk}/batches/{batch_id}")  # fmt: skip
    return f"Batch {batch_id} of @{batch.persona} is ready for review", body


# --- after commit ---------------------------------------------------------------------------------

_PENDING = "beatdesk.notify.pending"


def _on_commit(session: Session, job: Callable[[], None]) -> None:
    session.info.setdefault(_PENDING, []).append(job)


@orm_event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    for job in session.info.pop(_PENDING, ()):
        try:
            job()
        except Exception as err:  # the transaction is committed: nothing here may make its caller think otherwise
            log.warning("notification not queued: %s", err)


@orm_event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost one ended without a commit (a commit took them already)
        session.info.pop(_PENDING, None)
