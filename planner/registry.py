"""Planners by name (BEATDESK_LLM): `offline`, or a LangChain chat model such as `openai:gpt-4.1-mini`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from beatdesk.llm import chat_registry
from planner.base import Planner
from planner.offline import OfflinePlanner

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


def _with_chat(chat: BaseChatModel, provider: str, model: str) -> Planner:
    from planner.llm import LLMPlanner  # LangChain, loaded only for a chat model

    return LLMPlanner(chat, provider=provider, model=model)


PLANNERS = chat_registry("planner", OfflinePlanner, _with_chat)


def planner_for(name: str) -> Planner:
    return PLANNERS.resolve(name)
