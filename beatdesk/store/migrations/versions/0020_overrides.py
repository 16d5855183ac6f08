"""channel versions: a reviewer's own text for one channel of a post, and its first comment

Revision ID: 0020_overrides
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

from beatdesk.store.schema import UTCDateTime

revision = "0020_overrides"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("post_id", sa.Integer, sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("first_comment", sa.Text, nullable=True),
        sa.Column("changed_by", sa.String(64), nullable=False),
        sa.Column("changed_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("post_id", "channel", name="uq_channel_versions_post_channel"),
    )


def downgrade() -> None:
    op.drop_table("channel_versions")
