"""Recording a pipeline step: a row marked running before the work, and done or failed after it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from beatdesk.models import Artifact, StepStatus
from beatdesk.store import Store, repo

Admit = Callable[[Session, int], str | None]
"""Asked in the transaction that starts a step (with the step's id): why it may not start, or None."""


class StepNotStarted(Exception):
    """The step was refused before any work (e.g. by a budget); it is recorded as skipped with `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class StepRun:
    """What the work inside a step reports back (cost, artifact, detail), and its provider request id."""

    store: Store
    step_id: int
    request_id: str | None = None
    """Set when an earlier attempt of this step already submitted work to the provider."""
    cost_usd: Decimal = Decimal("0")
    artifact: Artifact | None = None
    detail: str | None = None

    def remember_request(self, request_id: str) -> None:
        """Store the provider's request id now, before waiting, so a retry resumes instead of paying again."""
        self.request_id = request_id
        with self.store.session() as session:
            repo.set_request_id(session, step_id=self.step_id, request_id=request_id)


def one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 500 else text[:497] + "..."


@contextmanager
def run_step(
    store: Store,
    *,
    post_id: int,
    name: str,
    provider: str,
    model: str,
    transient: tuple[type[BaseException], ...] = (),
    admit: Admit | None = None,
    then: Callable[[Session], None] | None = None,
) -> Iterator[StepRun]:
    """Run the block as the post's step `name`; a failure is recorded on the step and re-raised.

    A `transient` error leaves the step running, with its request id and the error noted, for the
    retry that will resume it. `admit` (a budget, say) may refuse the step in the same transaction
    that starts it: it is then skipped with the reason and `StepNotStarted` raised; the block never runs.
    `then` runs in the transaction that records the step done (handing the post on), so both land together."""
    with store.session() as session:
        step_id, request_id = repo.start_step(session, post_id=post_id, name=name, provider=provider, model=model)
        refusal = admit(session, step_id) if admit else None
        if refusal:
            repo.end_step(session, step_id=step_id, status=StepStatus.skipped, error=f"not started: {refusal}")
    if refusal:
        raise StepNotStarted(refusal)
    run = StepRun(store=store, step_id=step_id, request_id=request_id)
    started = time.perf_counter()
    try:
        yield run
    except transient as err:
        with store.session() as session:
            repo.note_step_error(session, step_id=step_id, error=f"will retry: {one_line(err)}")
        raise
    except Exception as err:
        with store.session() as session:
            repo.end_step(
                session,
                step_id=step_id,
                status=StepStatus.failed,
                cost_usd=getattr(err, "cost_usd", run.cost_usd),  # money spent before the failure still counts
                latency_s=time.perf_counter() - started,
                error=one_line(err),
            )
        raise
    latency = time.perf_counter() - started
    try:
        with store.session() as session:
            _record_done(session, run, latency)
            if then:
                then(session)
    except Exception:
        if then is None:
            raise
        with store.session() as session:  # the hand-on failed: the work and its cost are still recorded
            _record_done(session, run, latency)
        raise


def _record_done(session: Session, run: StepRun, latency_s: float) -> None:
    repo.end_step(session, step_id=run.step_id, status=StepStatus.done, cost_usd=run.cost_usd, latency_s=latency_s,
                  artifact=run.artifact, detail=run.detail)  # fmt: skip
