"""STUB for branch i21b only, until i21a's metrics store lands: there it reads the readings table. Take
i21a's file on merge; this one only keeps the planner and `beatdesk metrics` running meanwhile."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from beatdesk.engagement import PostEngagement


def engagement(session: Session, *, persona: str | None, since: datetime | None) -> list[PostEngagement]:
    """STUB: no readings are stored on this branch yet."""
    return []
