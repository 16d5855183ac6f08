"""notices: which notification went out last for which subject, so processes agree not to repeat it

Revision ID: 0020_notify
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

from beatdesk.store.schema import UTCDateTime

revision = "0020_notify"
down_revision = "0020_overrides"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("event", sa.String(40), primary_key=True),
        sa.Column("subject", sa.String(200), primary_key=True),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notices")
