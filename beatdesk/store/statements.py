"""Prebuilt Core statements for what every pipeline step does (read the post, start, request id, end,
budget, batch).

A worker runs these a dozen times per step. Built once here with named parameters, each costs a
fraction of a statement built per call and run through the ORM (bench/render_parallel.py). They
run on the session's connection, so they share its transaction; see `repo.connection_of`.
"""

from __future__ import annotations

from sqlalchemy import BindParameter, Table, bindparam, case, exists, func, literal, select

from beatdesk.models import BatchStatus, StepStatus
from beatdesk.states import TERMINAL_FOR_BATCH
from beatdesk.store.schema import ArtifactRow, Base, BatchRow, EventRow, PostRow, PublicationRow, StepRow, money_sum


def _table(row: type[Base]) -> Table:
    return Base.metadata.tables[row.__tablename__]


def _each(*values: str) -> list[BindParameter[str]]:
    """Fixed values for an IN, one parameter each: a list of values is one "expanding" parameter, which
    re-renders the statement on every run."""
    return [literal(value) for value in values]


steps, posts, batches, artifacts, events, publications = map(
    _table, (StepRow, PostRow, BatchRow, ArtifactRow, EventRow, PublicationRow)
)

START_STEP = (
    steps.update()
    .where(
        steps.c.id
        == select(steps.c.id)
        .where(
            steps.c.post_id == bindparam("of_post"),
            steps.c.name == bindparam("of_name"),
            steps.c.status.in_(_each(StepStatus.queued, StepStatus.running)),
        )
        .order_by(steps.c.position)
        .limit(1)
        .scalar_subquery()
    )
    .values(started_at=case((steps.c.status == StepStatus.queued, bindparam("now")), else_=steps.c.started_at))
    .returning(steps.c.id, steps.c.request_id)
)
"""Runs the queued or running row of a post's step (sets the columns named by the other parameters);
a resumed (running) one keeps its start time."""

NEXT_POSITION = select(func.coalesce(func.max(steps.c.position) + 1, 0)).where(steps.c.post_id == bindparam("post_id"))
NEW_STEP = steps.insert().returning(steps.c.id)
STEP_BY_ID = steps.update().where(steps.c.id == bindparam("step_id"))
"""Sets the columns named by the parameters besides `step_id`."""

NEW_ARTIFACT = (
    artifacts.insert()
    .values(post_id=select(steps.c.post_id).where(steps.c.id == bindparam("step_id")).scalar_subquery())
    .returning(artifacts.c.id)
)

POST_STATUS = select(posts.c.status).where(posts.c.id == bindparam("post_id")).with_for_update()
POST_BY_ID = posts.update().where(posts.c.id == bindparam("post_id"))
"""Sets the columns named by the parameters besides `post_id`."""
POST_IF_STATUS = posts.update().where(posts.c.id == bindparam("post_id"), posts.c.status == bindparam("expected"))
"""As POST_BY_ID, if the post's status is still `expected`."""
NEW_EVENT = events.insert()

BATCH_LOCK = select(batches.c.id).where(batches.c.id == bindparam("batch_id")).with_for_update(key_share=True)
"""PostgreSQL: settling posts of one batch take turns (NO KEY UPDATE: adding a post to it is not held up)."""
FINISH_BATCH = batches.update().where(
    batches.c.id == bindparam("batch_id"),
    batches.c.status.in_(_each(BatchStatus.queued, BatchStatus.running)),
    ~exists().where(
        posts.c.batch_id == bindparam("batch_id"), posts.c.status.not_in(_each(*sorted(TERMINAL_FOR_BATCH)))
    ),
)
"""Done, once no post of the batch holds it up."""

BUDGET_LOCK = select(func.pg_advisory_xact_lock(func.hashtext(bindparam("key"))))
_PAID = select(money_sum(steps.c.cost_usd)).where(steps.c.cost_usd != bindparam("zero"))
_PERSONA_OF_STEP = select(posts.c.persona).where(posts.c.id == steps.c.post_id).scalar_subquery()
SPENT = select(
    _PAID.join_from(steps, posts, posts.c.id == steps.c.post_id)
    .where(posts.c.batch_id == bindparam("batch_id"))
    .scalar_subquery(),
    # Driven by the index on the steps' start, whatever the planner's statistics: today's steps are read, and
    # not the persona's whole history (a join on the persona would let SQLite start from that).
    _PAID.where(
        steps.c.started_at >= bindparam("day_start"), bindparam("persona") == _PERSONA_OF_STEP
    ).scalar_subquery(),
    select(batches.c.spec).where(batches.c.id == bindparam("batch_id")).scalar_subquery(),
)
"""What the batch's paid steps cost, and what the persona's paid steps started today cost (a step's
reservation is written as it starts, so in-flight ones count): (batch, today), each None when
there are none; and the batch's spec, which holds its own cap."""

POST = (
    select(posts, batches.c.spec)
    .join(batches, batches.c.id == posts.c.batch_id)
    .where(posts.c.id == bindparam("post_id"))
)
POST_STEPS = (
    select(steps, *(column.label(f"artifact_{column.name}") for column in artifacts.c))
    .outerjoin(artifacts, artifacts.c.id == steps.c.artifact_id)
    .where(steps.c.post_id == bindparam("post_id"))
    .order_by(steps.c.position)
)
POST_EVENTS = select(events).where(events.c.post_id == bindparam("post_id")).order_by(events.c.id)
POST_PUBLICATIONS = (
    select(publications).where(publications.c.post_id == bindparam("post_id")).order_by(publications.c.id)
)
