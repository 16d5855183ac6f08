"""Renderers by name: `local`, or `fal:MODEL` (BEATDESK_IMAGE_RENDERER, BEATDESK_VIDEO_RENDERER)."""

from __future__ import annotations

from functools import lru_cache

from beatdesk.errors import ConfigError
from beatdesk.prices import PRICES
from beatdesk.registry import Registry
from beatdesk.settings import get_settings
from renderers.base import ImageRenderer, VideoRenderer
from renderers.fal import FalImageRenderer, FalQueue, FalVideoRenderer
from renderers.local_image import LocalImageRenderer
from renderers.local_video import LocalVideoRenderer

IMAGE_RENDERERS: Registry[ImageRenderer] = Registry("image renderer", "BEATDESK_IMAGE_RENDERER")
VIDEO_RENDERERS: Registry[VideoRenderer] = Registry("video renderer", "BEATDESK_VIDEO_RENDERER")
IMAGE_RENDERERS.register("local", lambda _model: LocalImageRenderer())
VIDEO_RENDERERS.register("local", lambda _model: LocalVideoRenderer())


def _fal_queue(model: str, unit: str) -> FalQueue:
    settings = get_settings()
    priced = sorted(name for name, price in PRICES.items() if getattr(price, unit) > 0)
    if model not in priced:
        raise ConfigError(f"unknown fal model {model!r}; priced models: {', '.join(priced)}")
    if settings.fal_key is None:
        raise ConfigError("a fal renderer is selected but FAL_KEY is not set")
    return _shared_queue(settings.fal_key.get_secret_value(), settings.fal_url, settings.fal_timeout_s)


@lru_cache(maxsize=8)
def _shared_queue(key: str, base_url: str, timeout_s: float) -> FalQueue:
    """One queue client per key and endpoint in a process: its HTTP connections are reused across renders."""
    settings = get_settings()
    return FalQueue(key=key, base_url=base_url, timeout_s=timeout_s, download_max_bytes=settings.fal_download_max_bytes,
                    download_timeout_s=settings.fal_download_timeout_s)  # fmt: skip


IMAGE_RENDERERS.register("fal", lambda model: FalImageRenderer(model, _fal_queue(model, "per_image")))
VIDEO_RENDERERS.register("fal", lambda model: FalVideoRenderer(model, _fal_queue(model, "per_video_second")))


def image_renderer(name: str) -> ImageRenderer:
    return IMAGE_RENDERERS.resolve(name)


def video_renderer(name: str) -> VideoRenderer:
    return VIDEO_RENDERERS.resolve(name)
