"""Planners by name (BEATDESK_LLM): `offline` today; LLM planners register here."""

from __future__ import annotations

from beatdesk.registry import Registry
from planner.base import Planner
from planner.offline import OfflinePlanner

PLANNERS: Registry[Planner] = Registry("planner", "BEATDESK_LLM")
PLANNERS.register("offline", lambda _model: OfflinePlanner())


def planner_for(name: str) -> Planner:
    return PLANNERS.resolve(name)
