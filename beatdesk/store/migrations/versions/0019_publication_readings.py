"""engagement readings per publication over time, each persona's channels' metrics state (stale, rate-limited),
and publications by time (what is due for a reading)

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

from beatdesk.store.schema import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "publication_readings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("publication_id", sa.Integer, sa.ForeignKey("publications.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("fetched_at", UTCDateTime(timezone=True), nullable=False),
        *(
            sa.Column(group, sa.Integer, nullable=True)
            for group in ("reach", "approval", "redistribution", "conversation", "saves")
        ),
        sa.Column("raw", sa.JSON, nullable=False),
        sa.Column("gone", sa.Text, nullable=True),
    )
    op.create_index(
        "ix_publication_readings_publication_fetched", "publication_readings", ["publication_id", "fetched_at"]
    )
    op.create_index("ix_publications_published_at", "publications", ["published_at"])
    op.create_table(
        "metrics_channels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("persona", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("stale_reason", sa.Text, nullable=True),
        sa.Column("stale_since", UTCDateTime(timezone=True), nullable=True),
        sa.Column("rate_limited_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("persona", "channel", name="uq_metrics_channels_persona_channel"),
    )


def downgrade() -> None:
    op.drop_table("metrics_channels")
    op.drop_index("ix_publications_published_at", table_name="publications")
    op.drop_index("ix_publication_readings_publication_fetched", table_name="publication_readings")
    op.drop_table("publication_readings")
