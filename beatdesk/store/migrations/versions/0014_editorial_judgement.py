"""editorial judgement: authors and beat scores on sources, dropped items on batches, reject reason codes, review decisions

Revision ID: 0014
Revises: 0013
"""

from alembic import op
import sqlalchemy as sa
import beatdesk.store.schema


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("beat_score", sa.Float(), nullable=True))
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dropped", sa.JSON(), nullable=True))
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason_code", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("edit_distance", sa.Integer(), nullable=True))
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("persona", sa.String(length=32), nullable=False),
        sa.Column("at", beatdesk.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("planner", sa.String(length=160), nullable=True),
        sa.Column("drafter", sa.String(length=160), nullable=True),
        sa.Column("prompt_version", sa.String(length=16), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("edit_distance", sa.Integer(), nullable=False),
        sa.Column("reason_code", sa.String(length=16), nullable=True),
        sa.Column("decide_seconds", sa.Float(), nullable=True),
        sa.Column("cost_usd", sa.Numeric(18, 9).with_variant(sa.String(40), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_decisions_post_id"), ["post_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_decisions_persona_at"), ["persona", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_decisions_persona_at"))
        batch_op.drop_index(batch_op.f("ix_review_decisions_post_id"))
    op.drop_table("review_decisions")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("edit_distance")
        batch_op.drop_column("reason_code")
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.drop_column("dropped")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("beat_score")
        batch_op.drop_column("author")
