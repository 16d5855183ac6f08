"""the runner's books: steps carry their batch and persona (a batch's planning is a step of its own),
a submit-under-way mark, a heartbeat and attempts; posts and batches note progress and nudges

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_when = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("pipeline_steps") as steps:
        steps.add_column(sa.Column("batch_id", sa.Integer(), nullable=True))
        steps.add_column(sa.Column("persona", sa.String(32), nullable=True))
        steps.add_column(sa.Column("submit_started_at", _when, nullable=True))
        steps.add_column(sa.Column("beat_at", _when, nullable=True))
        steps.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        steps.alter_column("post_id", existing_type=sa.Integer(), nullable=True)
    op.execute(
        "UPDATE pipeline_steps SET batch_id = (SELECT batch_id FROM posts WHERE posts.id = pipeline_steps.post_id),"
        " persona = (SELECT persona FROM posts WHERE posts.id = pipeline_steps.post_id)"
    )
    with op.batch_alter_table("pipeline_steps") as steps:
        steps.alter_column("batch_id", existing_type=sa.Integer(), nullable=False)
        steps.alter_column("persona", existing_type=sa.String(32), nullable=False)
        steps.create_foreign_key("fk_pipeline_steps_batch_id", "batches", ["batch_id"], ["id"], ondelete="CASCADE")
        steps.create_index("ix_pipeline_steps_batch_id", ["batch_id"])
        steps.create_index("ix_pipeline_steps_persona_started_at", ["persona", "started_at", "name", "cost_usd"])
    with op.batch_alter_table("posts") as posts:
        posts.add_column(sa.Column("touched_at", _when, nullable=True))
        posts.add_column(sa.Column("nudged_at", _when, nullable=True))
    op.execute("UPDATE posts SET touched_at = status_changed_at")
    with op.batch_alter_table("batches") as batches:
        batches.add_column(sa.Column("nudged_at", _when, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("batches") as batches:
        batches.drop_column("nudged_at")
    with op.batch_alter_table("posts") as posts:
        posts.drop_column("nudged_at")
        posts.drop_column("touched_at")
    op.execute("DELETE FROM pipeline_steps WHERE post_id IS NULL")
    with op.batch_alter_table("pipeline_steps") as steps:
        steps.drop_index("ix_pipeline_steps_persona_started_at")
        steps.drop_index("ix_pipeline_steps_batch_id")
        steps.drop_constraint("fk_pipeline_steps_batch_id", type_="foreignkey")
        steps.alter_column("post_id", existing_type=sa.Integer(), nullable=False)
        for column in ("attempts", "beat_at", "submit_started_at", "persona", "batch_id"):
            steps.drop_column(column)
