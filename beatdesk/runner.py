"""The runner: the one place that owns a step's life, the same way for every stage.

    claim the step (reserve its budget estimate; skip it with the reason when over budget)
      -> call the stage (a paid call marks itself under way, then stores its request id, before waiting)
      -> end the step + store the result + move the post + hand it on      (one transaction)

Stages are plain calls that return what they made and what it cost; they never write step rows,
change a post's status or reserve budget. A step run twice (a redelivered task, a second worker, a
worker that died) resumes the stored request or returns; it never pays again. Money on every path:
once a provider holds a request id, or a paid call may have reached it, its price stays on the
step whatever happens next (a failed download, an NSFW flag, a timeout, a dead worker).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from beatdesk import budget, logs, retries
from beatdesk.disk import DiskFullError, disk_full, full_where, store_place
from beatdesk.errors import BeatdeskError, ChannelBlocked, TransientError
from beatdesk.models import (
    Artifact,
    Batch,
    BatchSpec,
    BatchStatus,
    Check,
    Draft,
    Persona,
    Plan,
    Post,
    PostStatus,
    StepStatus,
)
from beatdesk.notify import events as notify
from beatdesk.personas import load_persona
from beatdesk.pipeline import DRAFT, MEDIA_STEPS, PLAN, STEPS
from beatdesk.prices import format_usd, split_cost
from beatdesk.publishing import all_out, channel_of, channel_states, is_publish, step_name
from beatdesk.slots import channel_time
from beatdesk.store import Store, books, repo
from beatdesk.store import steps as step_rows
from beatdesk.store.heartbeat import Heartbeat, is_stale, worker_name
from beatdesk.store.schema import BatchRow, PostRow, StepRow, utcnow

log = logging.getLogger(__name__)

ZERO = Decimal("0")
WORKING = (PostStatus.planned, PostStatus.drafting, PostStatus.rendering)
"""The states in which a post is the runner's: it moves on by itself."""
PUBLISHING = PostStatus.scheduled
"""A post whose `publish_<channel>` steps are queued: the runner's too, until every channel settles."""
PUBLISH_GIVE_UP_AFTER_S = 6 * 3600.0
"""A channel still failing transiently this long after its slot is given up (failed)."""
STATUS_OF_STEP = {DRAFT: PostStatus.drafting, **{name: PostStatus.rendering for name in MEDIA_STEPS}}
ACTION_INTO = {PostStatus.drafting: "draft", PostStatus.rendering: "drafted"}
"""How the audit log names the moves the runner makes before a step."""
MAX_ATTEMPTS = 5
"""A step taken up this often without finishing (workers dying on it) ends failed instead."""


def one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 500 else text[:497] + "..."


class Next(StrEnum):
    """What the caller of `advance` does next."""

    again = "again"
    """The post has another step: the caller runs it next."""
    settled = "settled"
    """The post left the runner's hands (in review or failed)."""
    busy = "busy"
    """A live worker is on it; this call did nothing."""
    idle = "idle"
    """Nothing to do: the post is not the runner's (already reviewed, published...)."""


@dataclass(frozen=True)
class Outcome:
    """What a stage made and what it cost."""

    cost_usd: Decimal = ZERO
    detail: str | None = None
    artifact: Artifact | None = None
    draft: Draft | None = None
    """A draft the stage wrote, with its `checks`: stored in the transaction that ends the step."""
    checks: tuple[Check, ...] = ()
    parts: tuple[Part, ...] = ()
    """Sub-steps the stage went through (a video's voiceover, scene images, assembly): each recorded as a
    step of its own, named `step.part`, with its share of `cost_usd`."""
    posted: Posted | None = None
    """Where a publish step put the post: stored as its publication on the step's channel."""


@dataclass(frozen=True)
class Posted:
    remote_id: str
    url: str | None = None


@dataclass(frozen=True)
class Part:
    name: str
    provider: str
    model: str
    cost_usd: Decimal = ZERO
    latency_s: float | None = None
    detail: str | None = None
    request_id: str | None = None


class Call:
    """A stage's handle on its step: the request id to resume, and where a paid call records itself."""

    def __init__(self, store: Store, step_id: int, request_id: str | None) -> None:
        self.store, self.step_id, self.request_id = store, step_id, request_id

    @contextmanager
    def submitting(self, *, not_sent: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
        """Mark a paid call under way (committed before it is sent): a worker that dies inside it leaves
        the mark, and whoever takes the step over knows the call may have been charged. Errors in
        `not_sent` say the call certainly never arrived: the mark is lifted."""
        self._set(submit_started_at=utcnow())
        try:
            yield
        except not_sent:
            self._set(submit_started_at=None)
            raise

    def remember_request(self, request_id: str) -> None:
        """Store the provider's request id now, before waiting, so a retry resumes instead of paying again."""
        self.request_id = request_id
        self._set(request_id=request_id)

    def _set(self, **values: object) -> None:
        """Written at once, and tried again while the database is away: a request id kept only in memory
        would be paid again by whoever takes the step over."""

        def write() -> None:
            with self.store.session() as session:
                step_rows.set_columns(session, step_id=self.step_id, **values)

        _retry_store(write)


class StepWork(Protocol):
    """One kind of post step (a draft, an image, a video): what it may cost, and the call that does it."""

    provider: str
    model: str

    def estimate(self, post: Post, persona: Persona) -> Decimal: ...

    def run(self, post: Post, persona: Persona, call: Call) -> Outcome: ...


@dataclass(frozen=True)
class Planned:
    plans: list[Plan]
    cost_usd: Decimal = ZERO
    notes: list[str] = field(default_factory=list)


class PlanWork(Protocol):
    """A batch's planning: what it may cost, and the call that plans it."""

    provider: str
    model: str

    def estimate(self, spec: BatchSpec, persona: Persona) -> Decimal: ...

    def plan(self, batch: Batch, persona: Persona, call: Call) -> Planned: ...


Works = Callable[[str, Persona, str | None, int], StepWork]
"""The work for a step name, for a persona, with the provider:model chosen for it (a reviewer's, or the one
a step taken over was running with; else None), for a post (by id: a persona may split drafting by post)."""


class _Claimed:
    """A step this worker has taken up, with what the stage needs."""

    def __init__(self, row: StepRow, post: Post, persona: Persona, work: StepWork, carried: Decimal) -> None:
        self.step_id, self.name, self.request_id = row.id, row.name, row.request_id
        self.booked, self.day = row.cost_usd, row.day  # on the books before this attempt (`carried` among it)
        self.post, self.persona, self.work, self.carried = post, persona, work, carried
        # What ending it writes besides the outcome: the step is ended by its id, never read again.
        self.worker, self.started_at, self.detail = row.worker or "", row.started_at or utcnow(), row.detail


class Runner:
    def __init__(
        self,
        store: Store,
        *,
        home: Path,
        works: Works,
        planning: PlanWork | None = None,
        stale_after_s: float = 30,
        publish_give_up_after_s: float = PUBLISH_GIVE_UP_AFTER_S,
    ) -> None:
        self.store, self.home, self.works, self.planning = store, home, works, planning
        self.stale_after_s, self.publish_give_up_after_s = stale_after_s, publish_give_up_after_s
        self.heartbeat = Heartbeat(store, every_s=max(0.1, stale_after_s / 6))
        """This runner's beats on the steps it runs, at its own interval (a sixth of the time a beat goes stale)."""

    # --- posts --------------------------------------------------------------------------------

    def advance(
        self, post_id: int, *, wait_in_place: bool = False, last_try: bool = False, through_until: float | None = None
    ) -> Next:
        """Run the post's next step. `wait_in_place`: retry transient errors here (no broker to hand them
        to); `last_try`: a transient error ends the step failed instead of being raised for a retry;
        `through_until` (a `time.monotonic()` reading): run the steps after it too, each taken up in the
        transaction that ends the one before, while that time has not come; after it, `again` is returned
        for a fresh task to run the next step (a worker's task time limit covers a step, not a whole post)."""
        with self._full_disk_said():
            claimed = self._claim(post_id, through=through_until is not None and time.monotonic() < through_until)
            while isinstance(claimed, _Claimed):
                started, step_id = time.perf_counter(), claimed.step_id
                call = Call(self.store, step_id, claimed.request_id)
                tries = retries.STEP_IN_PLACE.attempts if wait_in_place else 1
                through = through_until is not None and time.monotonic() < through_until
                try:
                    with logs.step_context(post_id=post_id, batch_id=claimed.post.batch_id, step_id=step_id,
                                           step=claimed.name):  # fmt: skip
                        log.info("%s started", claimed.name)
                        ran = self._run(claimed, call, tries=tries, last_try=last_try, wait_in_place=wait_in_place,
                                        started=started, through=through)  # fmt: skip
                        if not isinstance(ran, Outcome):  # ended without an outcome; a publish step hands on
                            claimed = ran
                            continue
                        through = through_until is not None and time.monotonic() < through_until
                        name, latency_s = claimed.name, time.perf_counter() - started
                        claimed = self._finish(claimed, ran, latency_s=latency_s, through=through)
                        log.info("%s done in %.2f s", name, latency_s)
                except TransientError:
                    # Handed to a retry: its beat is cleared, so the retry takes the step over at once (resuming any
                    # request it holds) instead of finding it alive and leaving it to the reconciler a minute later.
                    with contextlib.suppress(*_STORE_DOWN):
                        self._release(step_id)
                    raise
                except Exception as err:
                    if full_where(err) is not None:  # not the step's try: left for whoever takes it once there is room
                        with contextlib.suppress(*_STORE_DOWN):
                            self._release(step_id, tried=False)
                    raise
            return claimed

    def _run(
        self,
        claimed: _Claimed,
        call: Call,
        *,
        tries: int,
        last_try: bool,
        wait_in_place: bool,
        started: float,
        through: bool = False,
    ) -> Outcome | _Claimed | Next:
        """The stage's call, beating meanwhile; transient errors tried again here up to `tries` times. A publish
        step ends here without failing its post (see `_end_publish`), and the post's next channel is handed on."""
        with self.heartbeat.beating(claimed.step_id):
            for attempt in range(tries):
                try:
                    outcome = claimed.work.run(claimed.post, claimed.persona, call)
                    break
                except TransientError as err:
                    if is_publish(claimed.name):  # a publisher retries in place itself; then it waits its turn
                        return self._park(claimed, err, latency_s=time.perf_counter() - started, through=through)
                    spent = retries.spent(err)
                    if spent is None:
                        self._note(claimed.step_id, f"will retry: {one_line(err)}")
                        log.info("%s will retry: %s", claimed.name, one_line(err))
                    wait = retries.STEP_IN_PLACE.wait_s(attempt + 1)
                    if spent is None and attempt + 1 < tries and wait is not None:
                        time.sleep(wait)
                        continue
                    if spent is None and not (last_try or wait_in_place):
                        raise  # the task retries later: the step stays running, released (see advance), and resumes
                    # A call its boundary's policy already retried is never sent again by the step's retry.
                    prefix = (f"gave up after the {spent} retries: " if spent is not None
                              else f"gave up after {tries} tries: " if wait_in_place
                              else "gave up after the last retry: ")  # fmt: skip
                    return self._fail(claimed, err, latency_s=time.perf_counter() - started, prefix=prefix)
                except _STORE_DOWN:
                    raise  # not the stage's failure: the task retries, and the step is taken over or resumed
                except Exception as err:
                    if full_where(err) is not None:
                        raise  # a full disk is not the post's failure either: it moves on once there is room
                    if is_publish(claimed.name):
                        blocked = isinstance(err, ChannelBlocked)
                        return self._publish_ended(claimed, StepStatus.blocked if blocked else StepStatus.failed,
                                                   one_line(err), latency_s=time.perf_counter() - started,
                                                   through=through)  # fmt: skip
                    return self._fail(claimed, err, latency_s=time.perf_counter() - started)
        return outcome

    def _claim(self, post_id: int, *, through: bool) -> _Claimed | Next:
        """In one transaction: find the post's next step, take it up (or over), reserve its budget."""
        with self.store.session() as session:
            post = repo.get_post(session, post_id, with_history=False, lock=True)
            if post.status not in WORKING and post.status is not PUBLISHING:
                return Next.idle
            return self._take_up(session, post, through=through)

    def _take_up(self, session: Session, post: Post, row: StepRow | None = None, *, through: bool) -> _Claimed | Next:
        """Take up the post's next open step (`row`, if the caller found it; or over, from a dead worker) and
        reserve its budget, in the caller's transaction: a claim of its own, or the one that ended the step
        before. A step the budget refuses is skipped, and (`through`) the one after it taken up instead."""
        me, post_id = worker_name(), post.id
        try:
            persona = load_persona(self.home, post.persona)
        except BeatdeskError as err:
            self._end_post(session, post, failed=f"cannot load persona {post.persona}: {one_line(err)}")
            return Next.settled
        row = row or step_rows.next_open_step(session, post_id=post_id)
        if row is None:  # every step ended (the last one skipped): the post is ready for review (or published)
            self._end_post(session, post)
            return Next.settled
        carried, moved = ZERO, False
        if row.status == StepStatus.running:
            if self._alive(row):
                return Next.busy
            if row.attempts >= MAX_ATTEMPTS and is_publish(row.name):
                reason = f"taken up {row.attempts} times without finishing (its workers died)"
                self._end_publish(session, post, row, StepStatus.failed, reason)
                return self._hand_on(session, post, through=through)
            if row.attempts >= MAX_ATTEMPTS:
                self._end_post(session, post, failed=f"{row.name} was taken up {row.attempts} times without "
                               "finishing (its workers died or gave up)")  # fmt: skip
                return Next.settled
            if row.submit_started_at is not None and row.request_id is None and is_publish(row.name):
                # The last worker died while the channel was being asked: it may hold the post. Asked again with
                # the same idempotency key (or after a look for what it made), it answers with that post.
                row.submit_started_at = None
                row.detail = "taken over from a worker that stopped while publishing"
            elif row.submit_started_at is not None and row.request_id is None:
                # The last worker died inside a paid call: it may have been taken and charged.
                if row.name in MEDIA_STEPS:  # never submitted blindly again: the reviewer asks for a new one
                    row.error = (f"outcome unknown: the worker stopped while submitting; may have been charged "
                                 f"{format_usd(row.cost_usd + row.reserved_usd)} USD (kept on the books)")  # fmt: skip
                    self._end_post(session, post, failed=f"{row.name}: {row.error}; rerender to try again")
                    return Next.settled
                # A model call has no request to resume: its reservation is booked as spent, and it runs again.
                carried = step_rows.book_reservation(session, row)
                row.submit_started_at = None
                row.detail = (f"an earlier attempt stopped inside a paid call; its estimate, "
                              f"{format_usd(carried)} USD, stays on the books")  # fmt: skip
        elif row.name in STATUS_OF_STEP and post.status is not STATUS_OF_STEP[row.name]:
            target = STATUS_OF_STEP[row.name]
            repo.transition(session, post_id=post_id, to=target, actor="drafter", action=ACTION_INTO[target])
            post, moved = post.model_copy(update={"status": target}), True
        # A reviewer's choice of model, or the model of the request being resumed: the same renderer either way.
        chosen = f"{row.provider}:{row.model}" if row.provider and row.model else None
        try:
            work = self.works(row.name, persona, chosen, post_id)
        except BeatdeskError as err:  # no key, an unknown model: the item fails with the reason
            step_rows.claim(row, worker=me, provider=row.provider, model=row.model, now=utcnow(), zone=persona.timezone)
            if is_publish(row.name):  # a channel without a publisher: that channel fails, the others go on
                self._end_publish(session, post, row, StepStatus.failed, one_line(err))
                return self._hand_on(session, post, through=through)
            step_rows.abandon(session, row, reason=one_line(err))
            self._end_post(session, post, failed=f"{row.name} failed: {one_line(err)}")
            return Next.settled
        # A step taken over still holds its reservation; a queued one, or a model call run again (its earlier
        # reservation booked above), reserves now.
        reserve = row.status == StepStatus.queued or not row.reserved_usd
        step_rows.claim(row, worker=me, provider=work.provider, model=work.model, now=utcnow(), zone=persona.timezone)
        row.retry_at = None
        if not moved:  # seen moving (a move above touched it): the reconciler leaves a post alone while it moves
            self._touch(session, post_id)
        estimate = work.estimate(post, persona) if reserve else ZERO
        refusal = (  # a free step (an offline draft, a local card) reserves nothing: no need to read the spec
            budget.reserve(session, step=row, persona=persona, spec=self._spec(session, post.batch_id),
                           estimate=estimate)
            if estimate > 0 else None
        )  # fmt: skip
        if refusal:
            step_rows.end(session, row, status=StepStatus.skipped, cost_usd=row.cost_usd,
                          error=f"not started: {refusal}")  # fmt: skip
            flag = Check(name="budget", level="fail", detail=f"{row.name} skipped: {refusal}")
            post = post.model_copy(update={"checks": [*post.checks, flag]})
            repo.save_checks(session, post_id=post_id, checks=post.checks)
            if row.name == DRAFT:
                self._end_post(session, post, failed=f"draft skipped: {refusal}")
                return Next.settled
            return self._hand_on(session, post, through=through)  # the next step, or the post goes to review
        return _Claimed(row, post, persona, work, carried)

    def _finish(self, claimed: _Claimed, outcome: Outcome, *, latency_s: float, through: bool) -> _Claimed | Next:
        """End the step done, store its result, move the post and hand it on (`through`: take up its next
        step for this caller): one transaction."""

        def record(session: Session) -> _Claimed | Next:
            post = claimed.post
            in_parts = sum((part.cost_usd for part in outcome.parts), ZERO)
            for part in outcome.parts:  # each its own row; the step keeps what they do not account for
                sub = step_rows.new_step(
                    session,
                    batch_id=post.batch_id,
                    persona=post.persona,
                    post_id=post.id,
                    name=f"{claimed.name}.{part.name}",
                    provider=part.provider,
                    model=part.model,
                )
                step_rows.claim(sub, worker=claimed.worker, provider=part.provider, model=part.model,
                                now=claimed.started_at, zone=claimed.persona.timezone)  # fmt: skip
                sub.request_id = part.request_id
                step_rows.end(session, sub, status=StepStatus.done, cost_usd=part.cost_usd, latency_s=part.latency_s,
                              detail=part.detail)  # fmt: skip
            own = max(outcome.cost_usd - in_parts, ZERO)
            step_rows.end_done(session, step_id=claimed.step_id, post_id=post.id, cost_usd=claimed.booked + own,
                               latency_s=latency_s, artifact=outcome.artifact,
                               detail=_joined(claimed.detail if claimed.carried else None, outcome.detail))  # fmt: skip
            day = claimed.day or books.local_day(claimed.started_at, claimed.persona.timezone)
            books.book(session, [books.Entry(persona=post.persona, day=day, kind=claimed.name, batch_id=post.batch_id,
                                             post_id=post.id, amount=own)])  # fmt: skip
            if outcome.draft is not None:
                repo.save_draft(session, post_id=claimed.post.id, draft=outcome.draft, checks=outcome.checks,
                                plan=claimed.post.plan)  # fmt: skip
            if outcome.posted is not None:
                repo.add_publication(session, post_id=post.id, channel=channel_of(claimed.name),
                                     remote_id=outcome.posted.remote_id, url=outcome.posted.url)  # fmt: skip
                notify.credentials_accepted_on_commit(session, persona=post.persona, channel=channel_of(claimed.name),
                                                      store=self.store)  # fmt: skip
            return self._hand_on(session, _left_by(claimed, outcome), through=through_here)

        through_here = through
        try:
            return self._in_transaction(record)
        except _STORE_DOWN:
            raise
        except Exception:
            if not through:
                raise
            # Taking up the next step failed (a renderer that cannot be built, a bug): that rolled back the
            # step just done, and it must never be redone (a paid draft would be paid again). End it alone;
            # the next step's claim, in a transaction of its own, meets the error again and is dealt with there.
            log.exception("post %s: taking up the step after %s failed; handing it on", claimed.post.id, claimed.name)
            through_here = False
            return self._in_transaction(record)

    def _fail(self, claimed: _Claimed, err: BaseException, *, latency_s: float, prefix: str = "") -> Next:
        """End the step failed with what it cost, and the post with the reason: one transaction."""
        told = getattr(err, "cost_usd", None)

        def record(session: Session) -> Next:
            row = step_rows.step(session, claimed.step_id, lock=True)
            paid_call = row.request_id is not None or row.submit_started_at is not None
            # What the stage says it spent; else, once a paid call may have been taken, the estimate reserved for it.
            spent = told if told is not None else (row.reserved_usd if paid_call else ZERO)
            reason = prefix + one_line(err)
            if paid_call and told is None:
                reason += f" (charged {format_usd(spent)} USD: the provider took the request)"
            log.info("%s failed: %s", claimed.name, reason)
            step_rows.end(session, row, status=StepStatus.failed, cost_usd=row.cost_usd + spent,
                          latency_s=latency_s, error=reason)  # fmt: skip
            self._end_post(session, claimed.post, failed=f"{claimed.name} failed: {reason}")
            return Next.settled

        return self._in_transaction(record)

    # --- publish steps: a channel's failure is that channel's, never the post's ---------------------

    def queue_publishing(self, post_id: int, *, channels: dict[str, str | None]) -> bool:
        """Queue a `publish_<channel>` step for each channel named, and take the post (approved -> scheduled):
        one transaction. A channel named with a reason (not connected) gets its step ended blocked instead.
        False when nothing was queued (the post was not approved: another sweep took it)."""
        with self.store.session() as session:
            post = repo.get_post(session, post_id, with_history=False, lock=True)
            if post.status is not PostStatus.approved:
                return False
            queued = False
            for channel, blocked in channels.items():
                if step_rows.open_step_named(session, post_id=post_id, name=step_name(channel)) is not None:
                    queued = True
                    continue
                row = step_rows.new_step(session, batch_id=post.batch_id, persona=post.persona, post_id=post_id,
                                         name=step_name(channel), provider=channel)  # fmt: skip
                if blocked is None:
                    queued = True
                else:
                    self._end_publish(session, post, row, StepStatus.blocked, blocked)
            if queued:
                repo.transition(session, post_id=post_id, to=PUBLISHING, actor="publisher", action="publishing")
            else:
                self._settle_publishing(session, post_id)
            return queued

    def retry_publish(self, post_id: int, *, channel: str, actor: str) -> None:
        """A person asks for the channel again now (fresh credentials, a server back): its step queued for now."""
        with self.store.session() as session:
            post = self._publishable(session, post_id, channel)
            row = step_rows.open_step_named(session, post_id=post_id, name=step_name(channel))
            if row is None:
                step_rows.new_step(session, batch_id=post.batch_id, persona=post.persona, post_id=post_id,
                                   name=step_name(channel), provider=channel)  # fmt: skip
            elif row.status == StepStatus.queued:
                row.retry_at = None
            repo.log_event(session, post_id=post_id, actor=actor, action="publish_retry", note=channel)
            if post.status is PostStatus.approved:
                repo.transition(session, post_id=post_id, to=PUBLISHING, actor=actor, action="publishing")

    def skip_publish(self, post_id: int, *, channel: str, actor: str) -> None:
        """A person gives the channel up for this post: its step ends skipped; the post is published once every
        other channel is out."""
        with self.store.session() as session:
            post = self._publishable(session, post_id, channel)
            row = step_rows.open_step_named(session, post_id=post_id, name=step_name(channel))
            if row is not None and row.status == StepStatus.running and self._alive(row):
                raise BeatdeskError(f"post {post_id} is being published on {channel} now; try again in a minute")
            if row is None:
                row = step_rows.new_step(session, batch_id=post.batch_id, persona=post.persona, post_id=post_id,
                                         name=step_name(channel), provider=channel)  # fmt: skip
            step_rows.end(session, row, status=StepStatus.skipped, cost_usd=row.cost_usd, error=f"skipped by {actor}")
            row.retry_at = None
            repo.log_event(session, post_id=post_id, actor=actor, action="publish_skip", note=channel)
            if step_rows.next_open_step(session, post_id=post_id) is None:
                self._settle_publishing(session, post_id)

    def _publishable(self, session: Session, post_id: int, channel: str) -> Post:
        post = repo.get_post(session, post_id, with_history=False, lock=True)
        if post.status not in (PostStatus.approved, PUBLISHING):
            raise BeatdeskError(f"post {post_id} is {post.status}; only an approved post is published")
        if channel not in {c.name for c in load_persona(self.home, post.persona).channels}:
            raise BeatdeskError(f"persona {post.persona} has no channel {channel!r}")
        if any(s.name == step_name(channel) and s.status is StepStatus.done for s in post.steps):
            raise BeatdeskError(f"post {post_id} is already out on {channel}")
        return post

    def _park(self, claimed: _Claimed, err: BaseException, *, latency_s: float, through: bool) -> _Claimed | Next:
        """A transient failure: the step waits, queued, until its next try (Retry-After, else a growing
        backoff); past the deadline after the channel's slot it is given up. Then the next channel."""
        now, reason, channel = utcnow(), one_line(err), channel_of(claimed.name)
        late_s = (now - self._channel_due(claimed.post, claimed.persona, channel, now)).total_seconds()

        def record(session: Session) -> _Claimed | Next:
            row = step_rows.step(session, claimed.step_id, lock=True)
            if late_s >= self.publish_give_up_after_s:
                gave_up = f"given up {late_s / 3600:.1f} h after its slot: {reason}"
                self._end_publish(session, claimed.post, row, StepStatus.failed, gave_up, latency_s=latency_s)
            else:
                wait = getattr(err, "retry_after_s", None) or publish_backoff(row.attempts)
                row.status, row.retry_at, row.error = StepStatus.queued, now + timedelta(seconds=wait), reason
                row.beat_at, row.latency_s = None, latency_s
                row.reserved_usd = ZERO  # a queued step holds nothing: it reserves again when taken up
                repo.log_event(session, post_id=claimed.post.id, actor="publisher", action="publish_retry_later",
                               note=f"{channel}: retrying at {row.retry_at:%Y-%m-%d %H:%M} UTC: {reason}")  # fmt: skip
            return self._hand_on(session, claimed.post, through=through)

        return self._in_transaction(record)

    def _publish_ended(
        self, claimed: _Claimed, status: StepStatus, reason: str, *, latency_s: float, through: bool
    ) -> _Claimed | Next:
        def record(session: Session) -> _Claimed | Next:
            row = step_rows.step(session, claimed.step_id, lock=True)
            self._end_publish(session, claimed.post, row, status, reason, latency_s=latency_s)
            return self._hand_on(session, claimed.post, through=through)

        return self._in_transaction(record)

    def _end_publish(
        self,
        session: Session,
        post: Post,
        row: StepRow,
        status: StepStatus,
        reason: str,
        *,
        latency_s: float | None = None,
    ) -> None:
        """A publish step ends blocked (credentials refused or not set) or failed (refused, or given up): the one
        place where a publication stops for a person, e.g. to be announced."""
        step_rows.end(session, row, status=status, cost_usd=row.cost_usd, latency_s=latency_s, error=reason)
        row.retry_at = None
        repo.log_event(session, post_id=post.id, actor="publisher", action=f"publish_{status}",
                       note=f"{channel_of(row.name)}: {reason}")  # fmt: skip
        refused = status is StepStatus.blocked and not reason.startswith("not connected")
        notify.publication_problem_on_commit(
            session, post_id=post.id, persona=post.persona, channel=channel_of(row.name), reason=reason,
            given_up=status is StepStatus.failed and reason.startswith("given up"), credentials=refused,
            store=self.store,
        )  # fmt: skip

    def _settle_publishing(self, session: Session, post_id: int) -> None:
        """No channel left to try now: published once every channel is out (or skipped); back to approved
        while one is blocked, failed or not yet due; still the runner's while one waits to be tried again."""
        self._touch(session, post_id)
        if step_rows.waiting_steps(session, post_id=post_id):
            return
        post = repo.get_post(session, post_id)
        try:
            states = channel_states(post, load_persona(self.home, post.persona), now=utcnow())
        except BeatdeskError as err:
            repo.transition(session, post_id=post_id, to=PostStatus.approved, actor="publisher",
                            action="publish_partly", note=one_line(err))  # fmt: skip
            return
        if all_out(states):
            repo.transition(session, post_id=post_id, to=PostStatus.published, actor="publisher", action="publish")
        elif post.status is PUBLISHING:
            where = ", ".join(f"{s.channel.name}: {s.status}" for s in states)
            repo.transition(session, post_id=post_id, to=PostStatus.approved, actor="publisher",
                            action="publish_partly", note=where)  # fmt: skip

    @staticmethod
    def _channel_due(post: Post, persona: Persona, channel: str, now: datetime) -> datetime:
        """When the post was due on `channel`: its slot, or the channel's own posting time after it."""
        found = next((c for c in persona.channels if c.name == channel), None)
        if post.slot_at is None or found is None:
            return post.slot_at or now
        try:
            return channel_time(persona, found, post.slot_at)
        except BeatdeskError:
            return post.slot_at

    def _hand_on(self, session: Session, post: Post, *, through: bool = False) -> _Claimed | Next:
        """After a step: another to do (moving drafting -> rendering), or the post goes to review. `through`:
        the next step is taken up here, for the caller to run."""
        following = step_rows.next_open_step(session, post_id=post.id)
        if following is None:
            self._end_post(session, post)
            return Next.settled
        if through:
            return self._take_up(session, post, following, through=True)
        target = STATUS_OF_STEP.get(following.name)
        current = repo.post_status(session, post.id)
        if target is not None and current is not target:  # e.g. drafted: on to rendering, in this transaction
            repo.transition(session, post_id=post.id, to=target, actor="drafter", action=ACTION_INTO[target])
        self._touch(session, post.id)
        return Next.again

    def _end_post(self, session: Session, post: Post, *, failed: str | None = None) -> None:
        if failed is not None:
            self._post_failed(session, post_id=post.id, batch_id=post.batch_id, persona=post.persona, reason=failed)
            return
        if post.status is PUBLISHING:
            self._settle_publishing(session, post.id)
            return
        repo.transition(session, post_id=post.id, to=PostStatus.in_review, actor="runner", action="rendered")
        self._finish_batch(session, batch_id=post.batch_id, persona=post.persona)

    def _post_failed(
        self, session: Session, *, post_id: int, batch_id: int, persona: str, reason: str, actor: str = "runner"
    ) -> bool:
        """The one place a post ends failed: its open steps ended with what they have on the books, the move in
        its audit log by `actor`, and its batch done if this was its last post (announced once committed)."""
        repo.fail_post(session, post_id=post_id, actor=actor, reason=reason)
        return self._finish_batch(session, batch_id=batch_id, persona=persona)

    def _finish_batch(self, session: Session, *, batch_id: int, persona: str) -> bool:
        if not repo.finish_batch_if_done(session, batch_id=batch_id):
            return False
        notify.batch_ready_on_commit(session, batch_id=batch_id, persona=persona, store=self.store)
        return True

    # --- giving up: asked by the reconciler when nothing moves a post or a batch ----------------------

    def give_up_post(self, session: Session, *, post_id: int, reason: str) -> bool:
        """End a post nothing moves (no live worker took it) failed with the reason, in the caller's transaction;
        whether that made its batch done."""
        batch_id, persona = session.execute(
            select(PostRow.batch_id, PostRow.persona).where(PostRow.id == post_id)
        ).one()  # fmt: skip
        return self._post_failed(session, post_id=post_id, batch_id=batch_id, persona=persona, reason=reason,
                                 actor="reconciler")  # fmt: skip

    def give_up_batch(self, session: Session, *, batch_id: int, reason: str) -> None:
        """End a batch nobody planned failed with the reason, its planning step (if one is open) with what it has
        on the books, in the caller's transaction."""
        batch_row = repo.batch_row(session, batch_id, lock=True)
        row = step_rows.open_batch_step(session, batch_id=batch_id, name=PLAN)
        cost = step_rows.cost_if_abandoned(row) if row is not None else None
        self._batch_failed(session, batch_row, row, reason, cost_usd=cost, latency_s=row.latency_s if row else None)

    def _alive(self, row: StepRow) -> bool:
        """Whether a worker is on the running step: this process (a sibling thread), or one whose beat is fresh."""
        return self.heartbeat.running_here(row.id) or not is_stale(row.beat_at, stale_after_s=self.stale_after_s)

    def _touch(self, session: Session, post_id: int) -> None:
        row = session.get(PostRow, post_id)
        if row is not None:
            row.touched_at = utcnow()

    def _release(self, step_id: int, *, tried: bool = True) -> None:
        """Clear the step's beat, so the next taker takes it over at once; `tried=False` gives its attempt back
        (a full disk is not a try of the step: waiting for space must not use up its MAX_ATTEMPTS)."""
        with self.store.session() as session:
            if tried:
                step_rows.set_columns(session, step_id=step_id, beat_at=None)
            else:
                row = step_rows.step(session, step_id, lock=True)
                row.beat_at, row.attempts = None, max((row.attempts or 1) - 1, 0)

    @contextmanager
    def _full_disk_said(self) -> Iterator[None]:
        """A full disk anywhere below (a file, the database) comes out as one `DiskFullError` naming it."""
        try:
            yield
        except DiskFullError:
            raise
        except Exception as err:
            full = disk_full(err, database=store_place(self.store.engine.url.render_as_string()),
                             files=str(self.home / "artifacts"))  # fmt: skip
            if full is None:
                raise
            raise full from err

    def _note(self, step_id: int, error: str) -> None:
        with self.store.session() as session:
            step_rows.set_columns(session, step_id=step_id, error=error)

    def _spec(self, session: Session, batch_id: int) -> BatchSpec:
        """The batch's spec alone (its row also holds what the planner turned down: hundreds of notes at scale)."""
        spec = session.scalar(select(BatchRow.spec).where(BatchRow.id == batch_id))
        assert spec is not None  # a post's batch always exists (foreign key)
        return BatchSpec.model_validate(spec)

    def _in_transaction(self, record: Callable[[Session], T]) -> T:
        """Run the ending transaction; while the database is away, try again for a while: the work is
        done and paid for, and redoing it would pay twice."""
        return _retry_store(lambda: self._once(record))

    def _once(self, record: Callable[[Session], T]) -> T:
        with self.store.session() as session:
            return record(session)

    # --- batches ------------------------------------------------------------------------------

    def advance_batch(self, batch_id: int) -> list[int]:
        """Plan the batch (once: a second call returns its posts), create its posts with their plans in
        one transaction, and return the posts to hand on. A batch is never done with fewer posts than
        its spec: one that cannot be planned fails with the reason."""
        with self._full_disk_said():
            claimed = self._claim_batch(batch_id)
            if isinstance(claimed, list):
                return claimed
            row_id, batch, persona, planning = claimed
            started = time.perf_counter()
            call = Call(self.store, row_id, None)
            try:
                with logs.step_context(batch_id=batch_id, step_id=row_id, step=PLAN):
                    planned = planning.plan(batch, persona, call)
                if len(planned.plans) != batch.spec.total:
                    raise BeatdeskError(
                        f"planned {len(planned.plans)} of {batch.spec.total} items"
                        + (f": {'; '.join(planned.notes)}" if planned.notes else "")
                    )
            except Exception as err:
                if full_where(err) is not None:  # the batch waits for room, its planning step free to take over
                    with contextlib.suppress(*_STORE_DOWN):
                        self._release(row_id, tried=False)
                    raise
                return self._fail_batch(row_id, batch, err, latency_s=time.perf_counter() - started)
            try:
                return self._store_plans(row_id, batch, persona, planned, latency_s=time.perf_counter() - started)
            except Exception as err:
                if full_where(err) is not None:
                    with contextlib.suppress(*_STORE_DOWN):
                        self._release(row_id, tried=False)
                raise

    def _claim_batch(self, batch_id: int) -> list[int] | tuple[int, Batch, Persona, PlanWork]:
        me = worker_name()
        with self.store.session() as session:
            batch_row = repo.batch_row(session, batch_id, lock=True)
            status = BatchStatus(batch_row.status)
            if status is BatchStatus.running:  # planned already: its posts that still have work, handed on again
                return repo.post_ids_of_batch(session, batch_id=batch_id, statuses=WORKING)
            if status in (BatchStatus.done, BatchStatus.failed):
                return []
            row = step_rows.open_batch_step(session, batch_id=batch_id, name=PLAN)
            carried = ZERO
            if row is not None and row.status == StepStatus.running:
                if self._alive(row):
                    return []
                if row.submit_started_at is not None:  # the last planner died inside a paid call: booked as spent
                    carried, row.submit_started_at = step_rows.book_reservation(session, row), None
                    row.detail = (f"an earlier attempt stopped inside a paid call; its estimate, "
                                  f"{format_usd(carried)} USD, stays on the books")  # fmt: skip
                if row.attempts >= MAX_ATTEMPTS:
                    self._batch_failed(session, batch_row, row, f"planning was taken up {row.attempts} times "
                                       "without finishing")  # fmt: skip
                    return []
            reserve = row is None or not row.reserved_usd  # a planning taken over may still hold its reservation
            if row is None:
                row = step_rows.new_step(session, batch_id=batch_id, persona=batch_row.persona, name=PLAN)
            batch_row.status = BatchStatus.planning
            batch = repo.get_batch(session, batch_id)
            try:
                persona = load_persona(self.home, batch.persona)
                if self.planning is None:
                    raise BeatdeskError("no planner is configured")
                planning = self.planning
            except BeatdeskError as err:
                self._batch_failed(session, batch_row, row, one_line(err))
                return []
            step_rows.claim(row, worker=me, provider=planning.provider, model=planning.model, now=utcnow(),
                            zone=persona.timezone)  # fmt: skip
            estimate = planning.estimate(batch.spec, persona) if reserve else ZERO
            refusal = budget.reserve(session, step=row, persona=persona, spec=batch.spec, estimate=estimate)
            if refusal:
                self._batch_failed(session, batch_row, row, f"planning not started: {refusal}",
                                   status=StepStatus.skipped)  # fmt: skip
                return []
            return row.id, batch, persona, planning

    def _store_plans(
        self, step_id: int, batch: Batch, persona: Persona, planned: Planned, *, latency_s: float
    ) -> list[int]:
        """The posts, each with a plan step carrying its share of the planning's cost (with what an earlier
        attempt booked), the batch step closed at 0 (its cost moved to them), and the batch running: one transaction."""

        def record(session: Session) -> list[int]:
            row = step_rows.step(session, step_id, lock=True)
            total = row.cost_usd + planned.cost_usd
            shares = split_cost(total, len(planned.plans))
            day = row.day or books.local_day(row.started_at or utcnow(), persona.timezone)
            done = {"status": StepStatus.done, "worker": row.worker or "", "provider": row.provider,
                    "model": row.model, "started_at": row.started_at or utcnow(), "finished_at": utcnow(),
                    "attempts": 1, "latency_s": latency_s, "day": day,
                    "detail": f"planned in batch step {row.id} with {len(shares)} items"}  # fmt: skip
            # Every pipeline starts with its plan: stored done, carrying its share of the planning's cost.
            post_ids = repo.add_planned_posts(session, batch_id=batch.id, persona=persona.key, posts=[
                (plan, STEPS[plan.content_format], done | {"cost_usd": share})
                for plan, share in zip(planned.plans, shares, strict=True)
            ])  # fmt: skip
            made = zip(post_ids, planned.plans, shares, strict=True)
            books.book(session, [books.Entry(persona=persona.key, day=day, kind=STEPS[plan.content_format][0],
                                             batch_id=batch.id, post_id=post_id, amount=share)
                                 for post_id, plan, share in made])  # fmt: skip
            notes = "; ".join(planned.notes)
            step_rows.end(session, row, status=StepStatus.done, cost_usd=ZERO, latency_s=latency_s,
                          detail=_joined(f"{format_usd(total)} USD split over posts {post_ids[0]}-{post_ids[-1]}",
                                         notes or None))  # fmt: skip
            batch_row = session.get(BatchRow, batch.id)
            assert batch_row is not None
            batch_row.status = BatchStatus.running
            repo.set_batch_dropped(session, batch_id=batch.id, dropped=planned.notes)  # what the planner turned down
            return post_ids

        return self._in_transaction(record)

    def _fail_batch(self, step_id: int, batch: Batch, err: BaseException, *, latency_s: float) -> list[int]:
        told = getattr(err, "cost_usd", None)

        def record(session: Session) -> list[int]:
            row = step_rows.step(session, step_id, lock=True)
            spent = told if told is not None else (row.reserved_usd if row.submit_started_at is not None else ZERO)
            batch_row = session.get(BatchRow, batch.id)
            assert batch_row is not None
            self._batch_failed(
                session, batch_row, row, one_line(err), cost_usd=row.cost_usd + spent, latency_s=latency_s
            )
            return []

        return self._in_transaction(record)

    def _batch_failed(
        self,
        session: Session,
        batch_row: BatchRow,
        row: StepRow | None,
        reason: str,
        *,
        status: StepStatus = StepStatus.failed,
        cost_usd: Decimal | None = None,
        latency_s: float | None = None,
    ) -> None:
        """The one place a batch ends failed: its planning step (when it has one) ended at `cost_usd` (else what
        it has on the books), the change booked."""
        if row is not None:
            step_rows.end(session, row, status=status, cost_usd=row.cost_usd if cost_usd is None else cost_usd,
                          latency_s=latency_s, error=reason, detail=row.detail)  # fmt: skip
        batch_row.status, batch_row.error, batch_row.finished_at = BatchStatus.failed, reason, utcnow()


def _left_by(claimed: _Claimed, outcome: Outcome) -> Post:
    """The post as its step left it (its draft, the step done), for the next step taken up in the same
    transaction: what reading it again would give, without the read."""
    post = claimed.post
    steps = [
        step.model_copy(update={"status": StepStatus.done, "artifact": outcome.artifact or step.artifact})
        if step.id == claimed.step_id else step
        for step in post.steps
    ]  # fmt: skip
    changes: dict[str, object] = {"steps": steps}
    if outcome.draft is not None:
        changes |= {"draft": outcome.draft, "checks": list(outcome.checks)}
    return post.model_copy(update=changes)


def _joined(*parts: str | None) -> str | None:
    text = "; ".join(part for part in parts if part)
    return text or None


def publish_backoff(attempts: int) -> float:
    """How long a publish step waits after its `attempts`-th transient failure: 1, 2, 4 ... 60 minutes."""
    return min(3600.0, 60.0 * 2 ** max(attempts - 1, 0))


_STORE_DOWN = (DBAPIError,)
T = TypeVar("T")


def _store_away(err: BaseException) -> bool:
    """The database is away for a while (a restart, a dropped connection), not full: worth trying again here."""
    return isinstance(err, _STORE_DOWN) and full_where(err) is None


def _retry_store(action: Callable[[], T]) -> T:
    """An ending transaction, tried again while the database is away (the store's one policy, `retries.STORE`)."""
    return retries.STORE.call(action, retry_if=_store_away)
