"""Planners by name (BEATDESK_LLM): `offline`, or a LangChain chat model such as `openai:gpt-4.1-mini`."""

from __future__ import annotations

from beatdesk.llm import PROVIDER_PACKAGES, chat_model, llm_options
from beatdesk.registry import Registry
from beatdesk.settings import get_settings
from planner.base import Planner
from planner.offline import OfflinePlanner

PLANNERS: Registry[Planner] = Registry("planner", "BEATDESK_LLM")
PLANNERS.register("offline", lambda _model: OfflinePlanner())


def _llm_planner(provider: str) -> None:
    def build(model: str) -> Planner:
        from planner.llm import LLMPlanner  # LangChain, loaded only for a chat model

        chat = chat_model(provider, model, **llm_options(get_settings()))
        return LLMPlanner(chat, provider=provider, model=model)

    PLANNERS.register(provider, build)


for _provider in PROVIDER_PACKAGES:
    _llm_planner(_provider)


def planner_for(name: str) -> Planner:
    return PLANNERS.resolve(name)
