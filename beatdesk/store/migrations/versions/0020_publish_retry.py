"""publish steps run by the runner: a queued publish step that met a transient error waits until `retry_at`

Revision ID: 0020_publish
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

from beatdesk.store.schema import UTCDateTime

revision = "0020_publish"
down_revision = "0020_notify"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pipeline_steps") as steps:
        steps.add_column(sa.Column("retry_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pipeline_steps") as steps:
        steps.drop_column("retry_at")
