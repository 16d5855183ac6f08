"""client links: a post or a batch shown to someone without an account, until the link expires or is revoked

Revision ID: 0022_client_links
Revises: 0021_comments
"""

import sqlalchemy as sa
from alembic import op

from beatdesk.store.schema import UTCDateTime

revision = "0022_client_links"
down_revision = "0021_comments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "client_links",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("target_id", sa.Integer, nullable=False),
        sa.Column("label", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(64), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("client_links")
