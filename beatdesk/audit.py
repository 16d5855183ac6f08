"""The books, checked over a whole database: every cent on a step, and every total (stored or not) the sum of its steps.

`beatdesk audit` prints what it finds; the fault tests run it after killing workers. A finding is a
defect of beatdesk, never of the user: each names the row and what is wrong with it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from beatdesk.models import BatchSpec, BatchStatus, PostStatus, StepStatus
from beatdesk.prices import PRICES, format_usd
from beatdesk.store import books
from beatdesk.store.schema import BatchRow, PostRow, StepRow

ZERO = Decimal("0")
WORKING = {PostStatus.planned, PostStatus.drafting, PostStatus.rendering}


@dataclass
class Audit:
    steps: int = 0
    posts: int = 0
    batches: int = 0
    total_usd: Decimal = ZERO
    findings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def audit(session: Session) -> Audit:
    """Check the invariants of the books; read-only."""
    report = Audit()
    by_post: dict[int, Decimal] = defaultdict(lambda: ZERO)
    by_batch: dict[int, Decimal] = defaultdict(lambda: ZERO)
    open_steps: dict[int, int] = defaultdict(int)
    posts = {row.id: row for row in session.scalars(select(PostRow))}
    batches = {row.id: row for row in session.scalars(select(BatchRow))}
    for step in session.scalars(select(StepRow)):
        report.steps += 1
        cost = step.cost_usd
        report.total_usd += cost
        where = f"step {step.id} ({step.name}" + (
            f" of post {step.post_id})" if step.post_id else f" of batch {step.batch_id})"
        )
        if cost < 0:
            report.findings.append(f"{where}: negative cost {cost}")
        if step.reserved_usd and step.status != StepStatus.running:
            report.findings.append(f"{where} is {step.status} but still holds {step.reserved_usd} USD reserved")
        paid_model = step.model is not None and any(
            getattr(PRICES.get(step.model), unit, ZERO) > 0 for unit in ("per_image", "per_video_second")
        )
        if paid_model and step.request_id and cost == 0 and step.status != StepStatus.skipped:
            report.findings.append(f"{where}: the provider holds request {step.request_id} but the step shows $0")
        if step.post_id is not None:
            post = posts.get(step.post_id)
            if post is None or post.batch_id != step.batch_id or post.persona != step.persona:
                report.findings.append(f"{where}: its batch or persona does not match its post's")
            by_post[step.post_id] += cost
            if step.status in (StepStatus.queued, StepStatus.running):
                open_steps[step.post_id] += 1
        by_batch[step.batch_id] += cost
    for post in posts.values():
        report.posts += 1
        if PostStatus(post.status) not in WORKING and open_steps[post.id]:
            report.findings.append(f"post {post.id} is {post.status} but has {open_steps[post.id]} open step(s)")
    counts: dict[int, int] = defaultdict(int)
    for post in posts.values():
        counts[post.batch_id] += 1
    for batch in batches.values():
        report.batches += 1
        summed = session.scalar(select(func.sum(StepRow.cost_usd)).where(StepRow.batch_id == batch.id)) or ZERO
        posts_total = sum((by_post[p.id] for p in posts.values() if p.batch_id == batch.id), ZERO)
        own = (
            session.scalar(
                select(func.sum(StepRow.cost_usd)).where(StepRow.batch_id == batch.id, StepRow.post_id.is_(None))
            )
            or ZERO
        )
        if summed != by_batch[batch.id] or summed != posts_total + own:
            report.findings.append(
                f"batch {batch.id}: its steps sum to {summed}, its posts and own steps to {posts_total + own}"
            )
        if batch.status == BatchStatus.done and counts[batch.id] != BatchSpec.model_validate(batch.spec).total:
            report.findings.append(
                f"batch {batch.id} is done with {counts[batch.id]} posts; its spec asks for "
                f"{BatchSpec.model_validate(batch.spec).total}"
            )
    report.findings += total_differences(session)
    return report


TOTALS = {
    "day": lambda key: f"day total of {key[0]} on {key[1]} for {key[2]}",
    "beat": lambda key: f"beat total of {key[0]} for {key[1]} ({key[2]})",
    "batch": lambda key: f"batch total of batch {key[0]}",
}


def total_differences(session: Session) -> list[str]:
    """Each stored total (`books`) that differs from its steps' sum, one line each."""
    summed, stored = books.from_steps(session), books.stored(session)
    lines = []
    for kind, name in TOTALS.items():
        for key in sorted(summed[kind].keys() | stored[kind].keys(), key=str):
            kept, steps = stored[kind].get(key, ZERO), summed[kind].get(key, ZERO)
            if kept != steps:
                lines.append(f"{name(key)}: {format_usd(kept)} USD stored, its steps sum to {format_usd(steps)} USD")
    return lines
