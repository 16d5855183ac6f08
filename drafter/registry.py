"""Drafters by name (BEATDESK_LLM): `offline` today; LangChain chat models register here."""

from __future__ import annotations

from collections.abc import Callable

from beatdesk.errors import UnknownProviderError
from drafter.base import Drafter
from drafter.offline import OfflineDrafter

DRAFTERS: dict[str, Callable[[str], Drafter]] = {"offline": lambda _model: OfflineDrafter()}


def drafter_for(name: str) -> Drafter:
    provider, _, model = name.partition(":")
    if provider not in DRAFTERS:
        raise UnknownProviderError(f"unknown drafter {name!r} (BEATDESK_LLM); known: {', '.join(sorted(DRAFTERS))}")
    return DRAFTERS[provider](model)
