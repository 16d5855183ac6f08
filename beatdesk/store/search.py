"""Full-text search over posts: SQLite's FTS5 (porter stemming) or PostgreSQL's tsvector with a GIN index.

Each post's searchable text (title, angle, beat, body, caption, hashtags, script) is re-indexed when
its plan or draft is written; a query is a person's words, not a query language.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, literal_column, text
from sqlalchemy.orm import Session


def document(plan: dict[str, Any], draft: dict[str, Any] | None) -> str:
    parts = [plan.get("title", ""), plan.get("beat_title", ""), plan.get("angle", "")]
    if draft:
        parts += [draft.get(k) or "" for k in ("title", "body", "hook", "caption", "button")]
        parts += list(draft.get("hashtags") or [])
        parts += [scene.get("voiceover", "") + " " + scene.get("on_screen", "") for scene in draft.get("scenes") or []]
    return "\n".join(p for p in parts if p)


def index_posts(session: Session, posts: Sequence[tuple[int, dict[str, Any], dict[str, Any] | None]]) -> None:
    """(Re)index posts given as (id, plan, draft): one executemany per statement, however many."""
    if not posts:
        return
    rows = [{"id": post_id, "body": document(plan, draft)} for post_id, plan, draft in posts]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("UPDATE posts SET search = to_tsvector('english', :body) WHERE id = :id"), rows)
    else:
        session.execute(text("DELETE FROM posts_fts WHERE rowid = :id"), rows)
        session.execute(text("INSERT INTO posts_fts (rowid, body) VALUES (:id, :body)"), rows)


def matches(session: Session, query: str) -> ColumnElement[bool]:
    """A filter for posts holding every word of `query`, unranked: for the queue, which keeps its own order."""
    if session.get_bind().dialect.name == "postgresql":
        return text("posts.search @@ websearch_to_tsquery('english', :q)").bindparams(q=query)  # type: ignore[return-value]
    found = text("SELECT rowid FROM posts_fts WHERE posts_fts MATCH :q").bindparams(q=_words(query))
    return literal_column("posts.id").in_(found.columns(rowid=Integer))


def _words(query: str) -> str:
    """The words of a person's query, each quoted: never FTS5 syntax."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in query.split())


RANKED_WINDOW = 1000
"""How many of the newest matches a search ranks. Ranking scores every row it is given (bm25, ts_rank), and
neither FTS5 nor a GIN index can find the best few without scoring all: a word in every post would rank them
all (0.3 s at 100,000 posts). Exact for a query that matches fewer posts; for a commoner one, the best of the
newest, which is what a desk looking for a post wants."""


def matching_ids(session: Session, query: str, *, limit: int) -> list[int]:
    """Post ids for the words in `query` (all of them, stemmed), best match first among the newest matches."""
    window = max(limit, RANKED_WINDOW)
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text("SELECT id FROM (SELECT id, search FROM posts, websearch_to_tsquery('english', :q) AS query "
                 "WHERE search @@ query ORDER BY id DESC LIMIT :window) AS newest, "
                 "websearch_to_tsquery('english', :q) AS query "
                 "ORDER BY ts_rank(newest.search, query) DESC, id DESC LIMIT :limit"),
            {"q": query, "limit": limit, "window": window},
        )  # fmt: skip
    else:
        words = _words(query)
        if not words:
            return []
        rows = session.execute(
            text("SELECT rowid FROM (SELECT rowid, rank FROM posts_fts WHERE posts_fts MATCH :q "
                 "ORDER BY rowid DESC LIMIT :window) ORDER BY rank, rowid DESC LIMIT :limit"),
            {"q": words, "limit": limit, "window": window},
        )  # fmt: skip
    return [row[0] for row in rows]
