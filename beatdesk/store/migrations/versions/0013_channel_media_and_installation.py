"""media uploaded to a channel, kept per post, channel and file so a retry reuses it; and this
installation's id (made with the database, at `beatdesk init`), part of every idempotency key

Revision ID: 0013
Revises: 0012
"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from beatdesk.store.schema import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_media",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("post_id", sa.Integer, sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("artifact", sa.String(1024), nullable=False),
        sa.Column("media_id", sa.Text, nullable=False),
        sa.Column("uploaded_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("post_id", "channel", "artifact", name="uq_channel_media_post_channel_artifact"),
    )
    installation = op.create_table(
        "installation",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
    )
    # A new database is a new installation: a reset store never reuses an earlier store's keys.
    op.bulk_insert(installation, [{"id": uuid.uuid4().hex, "created_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("installation")
    op.drop_table("channel_media")
