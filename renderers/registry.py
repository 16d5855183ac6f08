"""Renderers by name: `local` today; a provider registers here the same way a built-in one does."""

from __future__ import annotations

from collections.abc import Callable

from beatdesk.errors import UnknownProviderError
from renderers.base import ImageRenderer
from renderers.local_image import LocalImageRenderer

IMAGE_RENDERERS: dict[str, Callable[[str], ImageRenderer]] = {
    "local": lambda _model: LocalImageRenderer(),
}


def image_renderer(name: str) -> ImageRenderer:
    """Turn `local` or `provider:model` into a renderer; an unknown provider lists the known ones."""
    provider, _, model = name.partition(":")
    factory = IMAGE_RENDERERS.get(provider)
    if factory is None:
        known = ", ".join(sorted(IMAGE_RENDERERS))
        raise UnknownProviderError(f"unknown image renderer {name!r} (BEATDESK_IMAGE_RENDERER); known: {known}")
    return factory(model)
