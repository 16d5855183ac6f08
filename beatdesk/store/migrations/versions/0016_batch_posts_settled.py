"""batches count their settled posts, so a progress poll reads one row whatever the batch's size

Revision ID: 0016
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None

SETTLED = ("in_review", "approved", "scheduled", "published", "rejected", "failed")


def upgrade() -> None:
    with op.batch_alter_table("batches") as batches:
        batches.add_column(sa.Column("posts_settled", sa.Integer(), nullable=False, server_default="0"))
    settled = ", ".join(f"'{status}'" for status in SETTLED)
    op.execute(
        "UPDATE batches SET posts_settled = (SELECT count(*) FROM posts"
        f" WHERE posts.batch_id = batches.id AND posts.status IN ({settled}))"
    )


def downgrade() -> None:
    with op.batch_alter_table("batches") as batches:
        batches.drop_column("posts_settled")
