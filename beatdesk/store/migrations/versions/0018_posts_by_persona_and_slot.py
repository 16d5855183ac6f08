"""posts indexed by persona and slot: the calendar reads a persona's week or month as one range

Revision ID: 0018
Revises: 0016
"""

from alembic import op

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_posts_persona_slot_at", "posts", ["persona", "slot_at"])


def downgrade() -> None:
    op.drop_index("ix_posts_persona_slot_at", table_name="posts")
