"""Drafters by name (BEATDESK_LLM): `offline`, or a LangChain chat model such as `openai:gpt-4.1-mini`."""

from __future__ import annotations

from beatdesk.llm import PROVIDER_PACKAGES, chat_model, llm_options
from beatdesk.registry import Registry
from beatdesk.settings import get_settings
from drafter.base import Drafter
from drafter.offline import OfflineDrafter

DRAFTERS: Registry[Drafter] = Registry("drafter", "BEATDESK_LLM")
DRAFTERS.register("offline", lambda _model: OfflineDrafter())


def _llm_drafter(provider: str) -> None:
    def build(model: str) -> Drafter:
        from drafter.llm import LLMDrafter  # LangChain, loaded only for a chat model

        chat = chat_model(provider, model, **llm_options(get_settings()))
        return LLMDrafter(chat, provider=provider, model=model)

    DRAFTERS.register(provider, build)


for _provider in PROVIDER_PACKAGES:
    _llm_drafter(_provider)


def drafter_for(name: str) -> Drafter:
    return DRAFTERS.resolve(name)
