"""The tables. Money is exact: whole nano-USD in a BIGINT on every store, a `Decimal` to callers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

NANOS_PER_USD = 1_000_000_000
"""Money is kept as whole nano-USD (billionths of a dollar): an integer sums exactly with plain SUM on every store."""


class Money(TypeDecorator[Decimal]):
    """USD as an exact `Decimal` to callers, an integer count of nano-USD in the database."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> int | None:
        return None if value is None else to_nanos(Decimal(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else from_nanos(int(value))  # PostgreSQL's SUM(bigint) is a numeric


def to_nanos(usd: Decimal) -> int:
    """Whole nano-USD; a finer amount is rounded half up, as PostgreSQL's NUMERIC(18, 9) did before."""
    return int(usd.scaleb(9).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_nanos(nanos: int) -> Decimal:
    """The exact USD amount, without trailing zeros or an exponent: 10000000 -> Decimal("0.01")."""
    usd = Decimal(nanos).scaleb(-9)
    return usd.quantize(Decimal(1)) if usd == usd.to_integral_value() else usd.normalize()


class local_day(FunctionElement[str]):
    """The calendar day ('YYYY-MM-DD') of a UTCDateTime column moved by a whole number of minutes (a zone's
    offset, `literal_column`), for GROUP BY: SQLite's `date()` takes it as a modifier on its UTC text;
    PostgreSQL adds an interval to the UTC wall time. A zone whose offset changes (DST) is split by the caller."""

    type = String()
    inherit_cache = True


@compiles(local_day)
def _local_day(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    column, minutes = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"to_char(timezone('UTC', {column}) + make_interval(mins => {minutes}), 'YYYY-MM-DD')"


@compiles(local_day, "sqlite")
def _local_day_sqlite(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    column, minutes = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"date({column}, '{minutes} minutes')"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the backend keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class BatchRow(Base):
    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    persona: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    schedule_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    """persona:schedule:due time for a batch the scheduler made: unique, so two schedulers make one."""
    nudged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the reconciler last handed the batch to a worker again."""
    dropped: Mapped[list[str] | None] = mapped_column(JSON)
    """What the planner turned down for this batch, one line each with the reason."""
    posts_settled: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """How many of its posts no longer hold the batch up (`TERMINAL_FOR_BATCH`), kept by `repo.transition`:
    a progress poll reads this one row, not the batch's posts."""

    posts: Mapped[list[PostRow]] = relationship(back_populates="batch", order_by="PostRow.id")


class PostRow(Base):
    __tablename__ = "posts"
    __table_args__ = (
        # The queue's filters, each walked in id order and counted from the index alone.
        Index("ix_posts_status_id", "status", "id"),
        Index("ix_posts_persona_status_id", "persona", "status", "id"),
        Index("ix_posts_batch_status", "batch_id", "status"),
        Index("ix_posts_persona_slot_at", "persona", "slot_at"),  # the calendar: a persona's week or month
        # The persona page's spend per beat and format, read from the index alone (a post row is wide).
        Index("ix_posts_persona_beat_format", "persona", "beat_key", "content_format", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"), index=True)
    persona: Mapped[str] = mapped_column(String(32), index=True)
    beat_key: Mapped[str] = mapped_column(String(64), index=True)
    content_format: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    checks: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    draft_history: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    reason_code: Mapped[str | None] = mapped_column(String(16))
    """A rejection's kind (too_close, off_beat, …), beside its free text."""
    edit_distance: Mapped[int | None] = mapped_column(Integer)
    """Words reviewers changed in the current draft (a new draft starts again at 0)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    touched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    """The post's last progress (a step started or ended, its status changed): a post that stops moving is recovered."""
    nudged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the reconciler last handed the post to a worker again."""

    batch: Mapped[BatchRow] = relationship(back_populates="posts")
    steps: Mapped[list[StepRow]] = relationship(order_by="StepRow.position", cascade="all, delete-orphan")
    events: Mapped[list[EventRow]] = relationship(order_by="EventRow.id", cascade="all, delete-orphan")
    publications: Mapped[list[PublicationRow]] = relationship(cascade="all, delete-orphan")
    channel_versions: Mapped[list[ChannelVersionRow]] = relationship(cascade="all, delete-orphan")


class ArtifactRow(Base):
    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    path: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StepRow(Base):
    """One step of a post (or of a batch: its planning, before there are posts), with what it cost."""

    __tablename__ = "pipeline_steps"
    __table_args__ = (
        UniqueConstraint("post_id", "position"),
        Index("ix_pipeline_steps_persona_started_at", "persona", "started_at", "name", "cost_usd"),  # spend by day
        # Lists and the persona page sum costs per post and per day and kind from this index alone.
        Index("ix_pipeline_steps_costs", "post_id", "started_at", "name", "cost_usd"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"), index=True)
    persona: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    provider: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(128))
    artifact_id: Mapped[int | None] = mapped_column(ForeignKey("artifacts.id", ondelete="SET NULL"))
    cost_usd: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    """What the step is on the books for: spent, or (a paid call that may have been charged) taken as spent."""
    reserved_usd: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"), server_default="0")
    """The budget held for the step while it runs (its estimate): not a cost; released or booked when it ends."""
    day: Mapped[date | None] = mapped_column(Date)
    """The persona's calendar day (in its zone) the step started on: the day its cost is booked to (`books`)."""
    latency_s: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # a day's spend
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[str | None] = mapped_column(Text)
    """A note on how the step went, e.g. that a reply came from the cache."""
    request_id: Mapped[str | None] = mapped_column(String(128))
    """The provider's request id, stored before waiting so a retry resumes instead of paying again."""
    submit_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Set just before a paid call is sent: found without a request id, the call may have been charged."""
    beat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Renewed every few seconds while a worker runs the step: a stale beat means nobody does."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """How many times a worker took the step up (1 on a clean run)."""
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """A queued publish step that met a transient error (its reason in `error`): not taken up before this."""

    artifact: Mapped[ArtifactRow | None] = relationship(lazy="joined")


class DayTotalRow(Base):
    """What a persona's steps of one kind cost on one of its days: kept by `books` as steps are booked."""

    __tablename__ = "day_totals"

    persona: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    """The step's name (draft, hero_image, video.voiceover...)."""
    cost_usd: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))


class BeatTotalRow(Base):
    """What a persona's posts of one beat and format cost, all time: the persona page's spend tables."""

    __tablename__ = "beat_totals"

    persona: Mapped[str] = mapped_column(String(32), primary_key=True)
    beat_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_format: Mapped[str] = mapped_column(String(16), primary_key=True)
    cost_usd: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))


class BatchTotalRow(Base):
    """What a batch's steps (its posts' and its own planning) cost."""

    __tablename__ = "batch_totals"

    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True)
    cost_usd: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))


class EventRow(Base):
    __tablename__ = "post_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)


class CommentRow(Base):
    """A comment in a post's thread: open until someone marks it resolved (and open again if reopened)."""

    __tablename__ = "post_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list[str]] = mapped_column(JSON, default=list)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(64))


class ClientLinkRow(Base):
    """A link to one post or one batch for someone without an account: only the token's SHA-256 is kept."""

    __tablename__ = "client_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    target_id: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(40))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(64))


class PublicationRow(Base):
    __tablename__ = "publications"
    __table_args__ = (
        UniqueConstraint("post_id", "channel"),
        Index("ix_publications_published_at", "published_at"),  # what is due for an engagement reading
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    remote_id: Mapped[str] = mapped_column(String(256))
    url: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChannelVersionRow(Base):
    """A reviewer's text for one channel of a post (None: the generated text), and its first comment."""

    __tablename__ = "channel_versions"
    __table_args__ = (UniqueConstraint("post_id", "channel", name="uq_channel_versions_post_channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    first_comment: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelMediaRow(Base):
    """Media a channel already holds for a post (its id there), so a retry attaches it instead of uploading again."""

    __tablename__ = "channel_media"
    __table_args__ = (
        UniqueConstraint("post_id", "channel", "artifact", name="uq_channel_media_post_channel_artifact"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    artifact: Mapped[str] = mapped_column(String(1024))
    """The file uploaded (a rerender is a new file, so a new upload)."""
    media_id: Mapped[str] = mapped_column(Text)
    """The channel's id for it: a media id, a blob reference as JSON, a container id."""
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InstallationRow(Base):
    """This installation's id, made with the database; part of every idempotency key sent to a channel."""

    __tablename__ = "installation"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SourceRow(Base):
    """Material a persona may draw on; untrusted text, quoted to models as data."""

    __tablename__ = "sources"
    __table_args__ = (UniqueConstraint("persona", "key"), UniqueConstraint("persona", "content_hash"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    persona: Mapped[str] = mapped_column(String(32), index=True)
    key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(Text)
    """The file or feed URL it was added from."""
    published: Mapped[date | None] = mapped_column(Date, index=True)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    beats: Mapped[list[str]] = mapped_column(JSON)
    author: Mapped[str | None] = mapped_column(Text)
    beat_score: Mapped[float | None] = mapped_column(Float)
    """How close the text is to the beat it was tagged with (None: beats given by hand)."""
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DecisionRow(Base):
    """A reviewer's decision on a post, with what made the post: the private evals' record."""

    __tablename__ = "review_decisions"
    __table_args__ = (Index("ix_review_decisions_persona_at", "persona", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    persona: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    planner: Mapped[str | None] = mapped_column(String(160))
    """provider:model of the plan step."""
    drafter: Mapped[str | None] = mapped_column(String(160))
    prompt_version: Mapped[str | None] = mapped_column(String(16))
    """A hash of the drafting templates the draft was made with."""
    decision: Mapped[str] = mapped_column(String(16))
    """approved, edited (approved after edits) or rejected."""
    edit_distance: Mapped[int] = mapped_column(Integer, default=0)
    reason_code: Mapped[str | None] = mapped_column(String(16))
    decide_seconds: Mapped[float | None] = mapped_column(Float)
    """From the post reaching review to the decision."""
    cost_usd: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))


class LLMCacheRow(Base):
    """LangChain's LLM cache, kept in the store so every worker shares it."""

    __tablename__ = "llm_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    """sha256 of the prompt and the model's settings."""
    generations: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserRow(Base):
    """A person who reviews (or administers) posts; the password is kept only as an Argon2 hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Set when an admin disables the user: no login, no session, no token works from then on."""
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Set when an admin removes the user (always disabled too). The row stays: see `users.remove_user`."""


class ApiTokenRow(Base):
    """A token for the JSON API; only its sha256 is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(64))
    """What the token is for (`ci`, `chat bot`), as its owner named it: tells tokens apart in lists."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    scope: Mapped[str] = mapped_column(String(16), default="review", server_default="review")
    """read, review or admin: what the token may do, never more than its user's role allows."""
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserEventRow(Base):
    """The users' audit trail: who added, disabled, enabled or removed whom, reset a password, revoked a token.

    Names, not ids, like the posts' audit log: a line reads the same after its people are removed."""

    __tablename__ = "user_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    """The admin's name, or `cli` for the command line."""
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    """The user acted on."""
    note: Mapped[str | None] = mapped_column(Text)


class SessionRow(Base):
    """A login to the review desk: the cookie holds a random key, the store only its sha256."""

    __tablename__ = "desk_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ChatReferenceRow(Base):
    """A chat bot's turn that referenced a post."""

    __tablename__ = "chat_references"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    bot: Mapped[str] = mapped_column(String(64))
    turn_id: Mapped[str] = mapped_column(String(128))
    excerpt: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReadingRow(Base):
    """One fetch of a publication's numbers on its channel (a time series), or the fetch that found it gone."""

    __tablename__ = "publication_readings"
    __table_args__ = (Index("ix_publication_readings_publication_fetched", "publication_id", "fetched_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reach: Mapped[int | None] = mapped_column(Integer)
    """None: the channel does not report it (never 0 for unknown)."""
    approval: Mapped[int | None] = mapped_column(Integer)
    redistribution: Mapped[int | None] = mapped_column(Integer)
    conversation: Mapped[int | None] = mapped_column(Integer)
    saves: Mapped[int | None] = mapped_column(Integer)
    raw: Mapped[dict[str, int]] = mapped_column(JSON)
    """The channel's own named counts, as it reported them."""
    gone: Mapped[str | None] = mapped_column(Text)
    """Set when the channel no longer has the post (deleted: 404): why; it is not fetched again."""


class MetricsChannelRow(Base):
    """Whether a persona's channel can be read for metrics now: stale (credentials refused) or rate-limited."""

    __tablename__ = "metrics_channels"
    __table_args__ = (UniqueConstraint("persona", "channel", name="uq_metrics_channels_persona_channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    persona: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    stale_reason: Mapped[str | None] = mapped_column(Text)
    """Set when the channel refused the token (revoked, expired, missing scope); cleared by the next good fetch."""
    stale_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rate_limited_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """The channel said to come back then (429 and its reset header): nothing is fetched from it before."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NoticeRow(Base):
    """A notification sent (event, subject): the same one is not sent again within its window, by any process."""

    __tablename__ = "notices"

    event: Mapped[str] = mapped_column(String(40), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
