"""Providers by name: `provider:model` strings such as `local`, `offline` or `fal:fal-ai/flux-pro/v1.1-ultra`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from beatdesk.errors import UnknownProviderError

T = TypeVar("T")


class Registry(Generic[T]):
    """Factories by provider name; built-in providers register the same way an add-on would."""

    def __init__(self, what: str, setting: str) -> None:
        self.what, self.setting = what, setting
        self._factories: dict[str, Callable[[str], T]] = {}

    def register(self, provider: str, factory: Callable[[str], T]) -> None:
        """`factory` gets the model part of `provider:model` (empty when none was given)."""
        self._factories[provider] = factory

    def known(self) -> list[str]:
        return sorted(self._factories)

    def resolve(self, name: str) -> T:
        provider, _, model = name.partition(":")
        if provider not in self._factories:
            raise UnknownProviderError(
                f"unknown {self.what} {name!r} ({self.setting}); known: {', '.join(self.known())}"
            )
        return self._factories[provider](model)
