"""Fakes that implement the real interfaces (no mocks): a LangChain chat model that answers with tool calls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from pydantic import Field


class FakeToolChatModel(GenericFakeChatModel):
    """LangChain's fake chat model, able to answer `with_structured_output` with tool calls, and recording prompts."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> FakeToolChatModel:  # type: ignore[override]
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.seen.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def tool_reply(name: str, args: dict[str, Any], *, input_tokens: int = 1200, output_tokens: int = 300) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[{"name": name, "args": args, "id": "call_1", "type": "tool_call"}],
        usage_metadata={
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        },
    )


def text_reply(text: str, *, input_tokens: int = 1000, output_tokens: int = 50) -> AIMessage:
    return AIMessage(
        content=text,
        usage_metadata={
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        },
    )


def fake_model(*replies: AIMessage) -> FakeToolChatModel:
    return FakeToolChatModel(messages=iter(replies))
