"""api tokens and chat references

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 15:04:10.714912
"""

from alembic import op
import sqlalchemy as sa
import beatdesk.store.schema


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", beatdesk.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "chat_references",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("bot", sa.String(length=64), nullable=False),
        sa.Column("turn_id", sa.String(length=128), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("at", beatdesk.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("chat_references", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_references_post_id"), ["post_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chat_references", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_references_post_id"))

    op.drop_table("chat_references")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
