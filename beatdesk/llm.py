"""Chat models through LangChain: `provider:model` names, token costs, and untrusted text fenced as data."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from beatdesk.errors import ConfigError
from beatdesk.models import Source
from beatdesk.prices import price_for, token_cost
from beatdesk.registry import Registry
from beatdesk.settings import Settings

if TYPE_CHECKING:  # LangChain loads only when a chat model is asked for: the offline default never needs it
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage

PROVIDER_PACKAGES = {
    "openai": "langchain-openai",
    "anthropic": "langchain-anthropic",
    "ollama": "langchain-ollama",
}
"""Providers beatdesk accepts in BEATDESK_LLM, and the package each needs."""
T = TypeVar("T")


def chat_model(provider: str, model: str, **options: Any) -> BaseChatModel:
    """A LangChain chat model for `provider:model`; a missing package or price is a one-line error."""
    from langchain.chat_models import init_chat_model

    if not model:
        raise ConfigError(f"BEATDESK_LLM={provider!r} names no model; use e.g. {provider}:gpt-4.1-mini")
    try:
        price_for(model)
    except KeyError as err:
        raise ConfigError(f"BEATDESK_LLM={provider}:{model}: {err.args[0]}") from None
    try:
        return init_chat_model(model, model_provider=provider, **options)
    except ImportError:
        package = PROVIDER_PACKAGES.get(provider, f"langchain-{provider}")
        raise ConfigError(
            f"BEATDESK_LLM={provider}:{model} needs the package {package}: pip install {package}"
        ) from None
    except Exception as err:  # the client refused its settings, most often a missing API key
        reason = " ".join(str(err).split())[:200]
        raise ConfigError(
            f"BEATDESK_LLM={provider}:{model}: the client could not start ({reason}); "
            "set the provider's API key or BEATDESK_LLM_API_KEY"
        ) from None


def llm_options(settings: Settings) -> dict[str, Any]:
    """The chat model's options from settings, with the rate limiter and the shared cache when asked for."""
    from beatdesk.llm_cache import StoreCache
    from beatdesk.rate_limits import RateLimiter, limits_storage
    from beatdesk.store import open_store

    options = settings.llm_options()
    if settings.llm_requests_per_second:
        # Counted in the broker's Redis when there is one: N workers share the rate, not multiply it.
        options["rate_limiter"] = RateLimiter(
            requests_per_second=settings.llm_requests_per_second, storage=limits_storage(settings)
        )
    if settings.llm_cache:
        options["cache"] = StoreCache(open_store(settings.effective_database_url))
    return options


def usage(message: AIMessage | None) -> tuple[int, int]:
    """(input tokens, output tokens) a reply reports; (0, 0) when it reports none."""
    meta = getattr(message, "usage_metadata", None) or {}
    return int(meta.get("input_tokens", 0)), int(meta.get("output_tokens", 0))


def reply_cost(model: str, message: AIMessage | None) -> Decimal:
    return token_cost(model, *usage(message))


def fence(source: Source) -> str:
    """A source quoted as data: its text can say anything, and none of it is an instruction."""
    body = source.text.replace("<<<", "‹‹‹").replace(">>>", "›››")
    return (
        f"<<<SOURCE id={source.id} published={source.published or 'undated'} beats={','.join(source.beats) or '-'}\n"
        f"title: {source.title}\n" + (f"url: {source.url}\n" if source.url else "") + f"{body}\n>>>"
    )


def chat_registry(
    what: str, offline: Callable[[], T], with_chat: Callable[[BaseChatModel, str, str], T]
) -> Registry[T]:
    """A registry of `what` by BEATDESK_LLM name: `offline`, or each known provider's chat model handed to
    `with_chat(chat, provider, model)` (which imports its LangChain code only when called)."""
    from beatdesk.settings import get_settings

    found: Registry[T] = Registry(what, "BEATDESK_LLM")
    found.register("offline", lambda _model: offline())

    def register(provider: str) -> None:
        def build(model: str) -> T:
            return with_chat(chat_model(provider, model, **llm_options(get_settings())), provider, model)

        found.register(provider, build)

    for provider in PROVIDER_PACKAGES:
        register(provider)
    return found
