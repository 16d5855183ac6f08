"""Drafters by name (BEATDESK_LLM): `offline`, or a LangChain chat model such as `openai:gpt-4.1-mini`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from beatdesk.llm import chat_registry
from drafter.base import Drafter
from drafter.offline import OfflineDrafter

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


def _with_chat(chat: BaseChatModel, provider: str, model: str) -> Drafter:
    from drafter.llm import LLMDrafter  # LangChain, loaded only for a chat model

    return LLMDrafter(chat, provider=provider, model=model)


DRAFTERS = chat_registry("drafter", OfflineDrafter, _with_chat)


def drafter_for(name: str) -> Drafter:
    return DRAFTERS.resolve(name)
