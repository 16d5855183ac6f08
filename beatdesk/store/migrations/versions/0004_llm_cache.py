"""llm cache

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 13:59:17.677022
"""

from alembic import op
import sqlalchemy as sa

import beatdesk.store.schema


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "llm_cache",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("generations", sa.Text(), nullable=False),
        sa.Column("created_at", beatdesk.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("llm_cache")
