"""Batch specs from flags and persona defaults: exact counts per format, checked before anything starts."""

from __future__ import annotations

from pydantic import ValidationError

from beatdesk.errors import BatchSpecError, describe_validation_error
from beatdesk.models import BatchSpec, ContentFormat, Persona


def spec_from_flags(persona: Persona, *, items: int | None, video: int | None, message: str | None) -> BatchSpec:
    """Counts from `--items/--video`, falling back to the persona's batch defaults."""
    total = persona.batch.items if items is None else items
    videos = min(persona.batch.video, total) if video is None else video
    if total < 1:
        raise BatchSpecError(f"--items must be at least 1 (got {total})")
    if videos < 0:
        raise BatchSpecError(f"--video cannot be negative (got {videos})")
    if videos > total:
        raise BatchSpecError(f"--video ({videos}) cannot be larger than --items ({total})")
    try:
        return BatchSpec(
            persona=persona.key,
            counts={ContentFormat.video: videos, ContentFormat.hero_text: total - videos},
            message=message,
        )
    except ValidationError as err:
        raise BatchSpecError(describe_validation_error(err, source="batch spec")) from None
