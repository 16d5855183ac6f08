"""Local renderers: card sizes per aspect, titles that wrap and never overflow, a playable MP4."""

from __future__ import annotations

from pathlib import Path

import imageio_ffmpeg
import pytest
from PIL import Image, ImageDraw

from beatdesk.models import Persona, Scene
from renderers.base import SIZES, ImageRequest, VideoRequest
from renderers.local_image import LocalImageRenderer, fit_text
from renderers.local_video import LocalVideoRenderer


@pytest.mark.parametrize("aspect", list(SIZES))
def test_card_size_per_aspect(ash: Persona, tmp_path: Path, aspect: str) -> None:
    out = tmp_path / f"{aspect.replace(':', 'x')}.png"
    result = LocalImageRenderer().render(
        ImageRequest(
            kind="hero_image", title="Short title", kicker="Beat", prompt="p", persona=ash, aspect=aspect, out_path=out
        )  # type: ignore[arg-type]
    )
    with Image.open(out) as image:
        assert image.size == SIZES[aspect] and (result.artifact.width, result.artifact.height) == SIZES[aspect]
    assert not out.with_suffix(".part").exists()


@pytest.mark.parametrize("words", [1, 12, 60, 200])
def test_titles_wrap_and_never_overflow(words: int) -> None:
    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    title = " ".join(["inference"] * words)
    box = (900, 900)
    font, lines, line_height = fit_text(draw, title, None, box, start=98)
    text = " ".join(lines)
    assert text == title or (text.endswith(" …") and title.startswith(text[:-2]))  # no word cut, at most shortened
    assert all(draw.textlength(line, font=font) <= box[0] for line in lines)
    assert len(lines) * line_height <= box[1]


def test_video_is_a_playable_mp4_of_the_scenes(ash: Persona, tmp_path: Path) -> None:
    scenes = (Scene(on_screen="One", voiceover="v", seconds=2.5), Scene(on_screen="Two", voiceover="v", seconds=3))
    out = tmp_path / "clip.mp4"
    result = LocalVideoRenderer().render(
        VideoRequest(title="Clip", scenes=scenes, prompt="p", persona=ash, aspect="9:16", out_path=out)
    )
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert abs(seconds - 5.5) < 0.2 and frames >= 5.5 * 10
    assert result.artifact.content_type == "video/mp4" and result.artifact.size_bytes == out.stat().st_size
