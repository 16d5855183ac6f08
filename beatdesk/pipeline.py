"""The steps each format's post goes through, in order, as recorded in its pipeline."""

from __future__ import annotations

from beatdesk.models import ContentFormat

PLAN, DRAFT, HERO_IMAGE, COVER_IMAGE = "plan", "draft", "hero_image", "cover_image"

STEPS: dict[ContentFormat, tuple[str, ...]] = {
    ContentFormat.hero_text: (PLAN, DRAFT, HERO_IMAGE),
    # The video file itself comes with the video renderer; until then a video item gets its cover.
    ContentFormat.video: (PLAN, DRAFT, COVER_IMAGE),
}
