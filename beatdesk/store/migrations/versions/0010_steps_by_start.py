"""steps indexed by their start: a persona's spend today is summed from today's steps, not its history

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_pipeline_steps_started_at", "pipeline_steps", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_pipeline_steps_started_at", "pipeline_steps")
