"""full-text search over posts: FTS5 on SQLite, a tsvector column with a GIN index on PostgreSQL

Revision ID: 0009
Revises: 0008
"""

import json

import sqlalchemy as sa
from alembic import op

from beatdesk.store.search import document

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE posts ADD COLUMN search tsvector")
        op.execute("CREATE INDEX ix_posts_search ON posts USING gin (search)")
    else:
        op.execute("CREATE VIRTUAL TABLE posts_fts USING fts5(body, tokenize = 'porter unicode61')")
    for post_id, plan, draft in bind.execute(sa.text("SELECT id, plan, draft FROM posts")).all():
        plan = json.loads(plan) if isinstance(plan, str) else plan
        draft = json.loads(draft) if isinstance(draft, str) else draft
        body = document(plan or {}, draft)
        if bind.dialect.name == "postgresql":
            bind.execute(sa.text("UPDATE posts SET search = to_tsvector('english', :b) WHERE id = :i"),
                         {"b": body, "i": post_id})  # fmt: skip
        else:
            bind.execute(sa.text("INSERT INTO posts_fts (rowid, body) VALUES (:i, :b)"), {"i": post_id, "b": body})


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_posts_search")
        op.execute("ALTER TABLE posts DROP COLUMN search")
    else:
        op.execute("DROP TABLE posts_fts")
