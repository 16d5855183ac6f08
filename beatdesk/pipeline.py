"""The steps each format's post goes through, in order, as recorded in its pipeline."""

from __future__ import annotations

from beatdesk.models import ContentFormat

PLAN, DRAFT, HERO_IMAGE, COVER_IMAGE, VIDEO = "plan", "draft", "hero_image", "cover_image", "video"

STEPS: dict[ContentFormat, tuple[str, ...]] = {
    ContentFormat.hero_text: (PLAN, DRAFT, HERO_IMAGE),
    ContentFormat.video: (PLAN, DRAFT, COVER_IMAGE, VIDEO),
}
MEDIA_STEPS = frozenset({HERO_IMAGE, COVER_IMAGE, VIDEO})
