"""batch schedule key: a scheduled batch is made once per due time, however many schedulers run

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schedule_key", sa.String(length=160), nullable=True))
        batch_op.create_unique_constraint("uq_batches_schedule_key", ["schedule_key"])


def downgrade() -> None:
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.drop_constraint("uq_batches_schedule_key", type_="unique")
        batch_op.drop_column("schedule_key")
