"""What a batch's media will cost, before it starts."""

from __future__ import annotations

from decimal import Decimal

from beatdesk.models import BatchSpec, ContentFormat, Persona
from renderers.base import ImageRenderer, VideoRenderer


def estimate_batch(spec: BatchSpec, *, image: ImageRenderer, video: VideoRenderer, persona: Persona) -> Decimal:
    """Images for every item (a cover for videos), and each video at the persona's longest length."""
    videos = spec.counts.get(ContentFormat.video, 0)
    return image.estimate() * spec.total + video.estimate(persona.drafting.video_max_seconds) * videos
