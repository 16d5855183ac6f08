"""Planners by name (BEATDESK_LLM): `offline` today; LLM planners register here."""

from __future__ import annotations

from collections.abc import Callable

from beatdesk.errors import UnknownProviderError
from planner.base import Planner
from planner.offline import OfflinePlanner

PLANNERS: dict[str, Callable[[str], Planner]] = {"offline": lambda _model: OfflinePlanner()}


def planner_for(name: str) -> Planner:
    provider, _, model = name.partition(":")
    if provider not in PLANNERS:
        raise UnknownProviderError(f"unknown planner {name!r} (BEATDESK_LLM); known: {', '.join(sorted(PLANNERS))}")
    return PLANNERS[provider](model)
