"""Drafters by name (BEATDESK_LLM): `offline` today; LangChain chat models register here."""

from __future__ import annotations

from beatdesk.registry import Registry
from drafter.base import Drafter
from drafter.offline import OfflineDrafter

DRAFTERS: Registry[Drafter] = Registry("drafter", "BEATDESK_LLM")
DRAFTERS.register("offline", lambda _model: OfflineDrafter())


def drafter_for(name: str) -> Drafter:
    return DRAFTERS.resolve(name)
