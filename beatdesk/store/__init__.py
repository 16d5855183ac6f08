"""The store: SQLAlchemy 2 over SQLite (default) or PostgreSQL, migrated with Alembic."""

from beatdesk.store.engine import Store, forget_stores, open_store

__all__ = ["Store", "forget_stores", "open_store"]
