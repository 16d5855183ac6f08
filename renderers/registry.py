"""Image renderers by name (BEATDESK_IMAGE_RENDERER): `local` today; fal.ai registers here the same way."""

from __future__ import annotations

from beatdesk.registry import Registry
from renderers.base import ImageRenderer
from renderers.local_image import LocalImageRenderer

IMAGE_RENDERERS: Registry[ImageRenderer] = Registry("image renderer", "BEATDESK_IMAGE_RENDERER")
IMAGE_RENDERERS.register("local", lambda _model: LocalImageRenderer())


def image_renderer(name: str) -> ImageRenderer:
    return IMAGE_RENDERERS.resolve(name)
