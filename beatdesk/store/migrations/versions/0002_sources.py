"""sources

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:40:48.928486
"""

from alembic import op
import sqlalchemy as sa
import beatdesk.store.schema


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("persona", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("published", sa.Date(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("beats", sa.JSON(), nullable=False),
        sa.Column("added_at", beatdesk.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("persona", "content_hash"),
        sa.UniqueConstraint("persona", "key"),
    )
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sources_persona"), ["persona"], unique=False)
        batch_op.create_index(batch_op.f("ix_sources_published"), ["published"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sources_published"))
        batch_op.drop_index(batch_op.f("ix_sources_persona"))

    op.drop_table("sources")
