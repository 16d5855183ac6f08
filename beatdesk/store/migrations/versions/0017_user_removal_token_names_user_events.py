"""removed users (kept, so the audit log's names stay unambiguous), token names, the users' audit trail,
an index for the persona page's spend per beat and format

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

import beatdesk.store.schema

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as users:
        users.add_column(sa.Column("removed_at", beatdesk.store.schema.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("api_tokens") as tokens:
        tokens.add_column(sa.Column("name", sa.String(length=64), nullable=True))
    op.create_table(
        "user_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", beatdesk.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_posts_persona_beat_format", "posts", ["persona", "beat_key", "content_format", "id"])


def downgrade() -> None:
    op.drop_index("ix_posts_persona_beat_format", "posts")
    op.drop_table("user_events")
    with op.batch_alter_table("api_tokens") as tokens:
        tokens.drop_column("name")
    with op.batch_alter_table("users") as users:
        users.drop_column("removed_at")
