"""desk sessions, token scopes/expiry/revocation, disabled users, indexes for the queue's filters and cost sums

Revision ID: 0012
Revises: 0011
"""

from alembic import op
import sqlalchemy as sa
import beatdesk.store.schema


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", beatdesk.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", beatdesk.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_index("ix_desk_sessions_user_id", "desk_sessions", ["user_id"])
    op.create_index("ix_desk_sessions_expires_at", "desk_sessions", ["expires_at"])
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("disabled_at", beatdesk.store.schema.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("scope", sa.String(length=16), nullable=False, server_default="review"))
        batch_op.add_column(sa.Column("expires_at", beatdesk.store.schema.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", beatdesk.store.schema.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", beatdesk.store.schema.UTCDateTime(timezone=True), nullable=True))
    op.create_index("ix_posts_status_id", "posts", ["status", "id"])
    op.create_index("ix_posts_persona_status_id", "posts", ["persona", "status", "id"])
    op.create_index("ix_posts_batch_status", "posts", ["batch_id", "status"])
    op.create_index("ix_pipeline_steps_costs", "pipeline_steps", ["post_id", "started_at", "name", "cost_usd"])


def downgrade() -> None:
    op.drop_index("ix_pipeline_steps_costs", "pipeline_steps")
    op.drop_index("ix_posts_batch_status", "posts")
    op.drop_index("ix_posts_persona_status_id", "posts")
    op.drop_index("ix_posts_status_id", "posts")
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("scope")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("disabled_at")
    op.drop_index("ix_desk_sessions_expires_at", "desk_sessions")
    op.drop_index("ix_desk_sessions_user_id", "desk_sessions")
    op.drop_table("desk_sessions")
