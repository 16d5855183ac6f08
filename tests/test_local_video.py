"""The local video as a viewer gets it: decoded with the ffmpeg of imageio-ffmpeg, its sound as long as its
pictures, 30 fps at 1080x1920, captions timed to the scenes, and no text near the frame's edge."""

from __future__ import annotations

import itertools
import re
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image, ImageDraw

from beatdesk.models import Persona, Scene
from renderers.base import RenderResult, VideoRequest
from renderers.captions import chunks, cues_for
from renderers.layout import fit
from renderers.local_video import LocalVideoRenderer, scene_images, timeline
from renderers.scene_cards import MOTION_PX, caption_plate, motion, scene_card
from renderers.voiceover import NOT_INSTALLED, Espeak, voice_scenes

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
LONG_TITLE = "Why your agent needs a step limit before it needs a better model: notes from forty failed deployments"
SCENES = (
    Scene(on_screen="Agents loop until the money runs out", seconds=2,
          voiceover="Most teams learn this the hard way. The agent keeps calling tools until the budget is gone."),
    Scene(on_screen="Cap the steps", voiceover="Cap the steps.", seconds=2),
    Scene(on_screen="Supercalifragilisticexpialidociousness-of-retry-loops and the only fix that held up in practice",
          voiceover="Log every call, and stop at twenty steps.", seconds=2),
)  # fmt: skip


def probe(path: Path) -> str:
    """ffmpeg's description of the file's streams (imageio-ffmpeg ships ffmpeg, not ffprobe)."""
    return subprocess.run([FFMPEG, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr


def audio_seconds(path: Path) -> tuple[float, np.ndarray]:
    """The audio stream decoded to 16-bit mono samples at 48 kHz: its length and its samples."""
    raw = subprocess.run([FFMPEG, "-v", "error", "-i", str(path), "-map", "0:a", "-f", "s16le", "-ac", "1", "-ar",
                          "48000", "-"], capture_output=True, check=True).stdout  # fmt: skip
    samples = np.frombuffer(raw, dtype=np.int16)
    return len(samples) / 48000, samples


def render(persona: Persona, out: Path) -> RenderResult:
    request = VideoRequest(title=LONG_TITLE, scenes=SCENES, prompt="p", persona=persona, aspect="9:16", out_path=out)
    return LocalVideoRenderer().render(request)


@pytest.fixture(scope="module")
def voiced(ash: Persona, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RenderResult]:
    """One voiced render, looked at by several tests (an encode takes seconds on two cores)."""
    if Espeak.binary() is None:
        pytest.skip("espeak-ng is not installed (.ci/run installs it)")
    out = tmp_path_factory.mktemp("voiced") / "post-1-video.mp4"
    return out, render(ash, out)


def test_a_voiced_video_with_sound_as_long_as_its_pictures(voiced: tuple[Path, RenderResult], tmp_path: Path) -> None:
    out, result = voiced
    described = probe(out)
    assert re.search(r"Video: h264 .*1080x1920.* 30 fps", described), described
    assert re.search(r"Audio: aac", described), described
    frames, video_s = imageio_ffmpeg.count_frames_and_secs(str(out))
    sound_s, samples = audio_seconds(out)
    assert abs(sound_s - video_s) <= 0.2 and frames == pytest.approx(video_s * 30, abs=1)
    assert np.abs(samples).max() > 1000  # someone is speaking
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart: playable before the whole file arrives

    # Scene lengths come from the voiceover, not the drafted 2 s each: the long line lasts longest.
    voiced, _ = voice_scenes(SCENES, tmp_path)
    lengths = [v.seconds for v in voiced]
    assert lengths[0] > 4 > lengths[1] and abs(sum(lengths) - video_s) <= 0.1
    parts = {part.name: part for part in result.parts}
    assert list(parts) == ["voiceover", "scene_images", "assembly"]
    assert parts["voiceover"].model == "espeak-ng" and all(p.latency_s > 0 for p in parts.values())


def test_caption_files_follow_the_scenes(voiced: tuple[Path, RenderResult], tmp_path: Path) -> None:
    out, _ = voiced
    voiced, _ = voice_scenes(SCENES, tmp_path)
    bounds = timeline(voiced)
    srt_cues = re.findall(
        r"(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n(.+)", out.with_suffix(".srt").read_text()
    )
    vtt_text = out.with_suffix(".vtt").read_text()
    assert vtt_text.startswith("WEBVTT\n\n") and vtt_text.count(" --> ") == len(srt_cues)

    def seconds(h: str, m: str, s: str, ms: str) -> float:
        return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000

    cues = [(seconds(*c[0:4]), seconds(*c[4:8]), c[8]) for c in srt_cues]
    for (start, end), scene in zip(bounds, SCENES, strict=True):
        mine = [c for c in cues if start - 0.001 <= c[0] and c[1] <= end + 0.001]
        assert " ".join(c[2] for c in mine) == scene.voiceover  # every word, in order, within its scene
        assert mine[0][0] == pytest.approx(start, abs=0.001) and mine[-1][1] == pytest.approx(end, abs=0.001)
    assert all(a[1] == pytest.approx(b[0], abs=0.001) for a, b in itertools.pairwise(cues))  # no gaps, no overlaps


def test_without_espeak_the_video_renders_with_a_silent_track(
    ash: Persona, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no espeak-ng on the path; ffmpeg is the wheel's
    out = tmp_path / "silent.mp4"
    result = render(ash, out)
    _, video_s = imageio_ffmpeg.count_frames_and_secs(str(out))
    sound_s, samples = audio_seconds(out)
    assert abs(video_s - 6.0) <= 0.1 and abs(sound_s - video_s) <= 0.2  # the drafted lengths
    assert np.abs(samples).max() < 50
    assert NOT_INSTALLED in (result.detail or "")
    assert result.parts[0].detail == NOT_INSTALLED


def test_no_text_box_comes_near_the_frame_edge_at_any_point_of_the_motion(ash: Persona) -> None:
    width, height = 1080, 1920
    words = " ".join(["inference"] * 40)
    for text in (LONG_TITLE, SCENES[2].on_screen, words, "W" * 90):
        card = scene_card(ash, title=text, text=text, size=(width, height))
        assert card.image.size == (width + 2 * MOTION_PX, height + 2 * MOTION_PX)
        for index in range(4):
            for ox, oy in motion(index):
                for left, top, right, bottom in card.boxes:
                    shift_x, shift_y = MOTION_PX - ox, MOTION_PX - oy  # the window's offset from centred
                    assert left + shift_x >= 24 and top + shift_y >= 24, (text, card.boxes)
                    assert right + shift_x <= width - 24 and bottom + shift_y <= height - 24, (text, card.boxes)
        plate = caption_plate(ash, text[:60], (width, height))
        left, top, right, bottom = plate.box
        assert left >= 24 and right <= width - 24 and top >= 24 and bottom <= height - 24


@pytest.mark.parametrize("words", [1, 12, 60, 200])
def test_fitted_text_keeps_every_word(words: int) -> None:
    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    text = " ".join(["inference"] * words)
    fitted = fit(draw, text, None, (900, 500), start=98)
    assert " ".join(fitted.lines) == text  # shrunk and wrapped, never cut
    assert all(draw.textlength(line, font=fitted.font) <= 900 for line in fitted.lines)
    assert len(fitted.lines) * fitted.line_height <= 500


def test_a_word_wider_than_the_frame_is_broken_not_cut() -> None:
    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    fitted = fit(draw, "a " + "W" * 300 + " b", None, (400, 2000), start=200)
    assert "".join(fitted.lines).replace(" ", "") == "a" + "W" * 300 + "b"
    assert all(draw.textlength(line, font=fitted.font) <= 400 for line in fitted.lines)


def test_frames_have_a_clear_border(ash: Persona, voiced: tuple[Path, RenderResult]) -> None:
    """Frame-level: every tenth decoded frame's outer band is the card's background: no text reached the edge."""
    out, _ = voiced
    background = np.array(Image.new("RGB", (1, 1), ash.style.background).getpixel((0, 0)), dtype=int)
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    width, height = meta["size"]
    band = 20
    for index, raw in enumerate(reader):
        if index % 10:
            continue
        frame = np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3).astype(int)
        edges = np.concatenate([frame[:band].reshape(-1, 3), frame[-band:].reshape(-1, 3),
                                frame[:, :band].reshape(-1, 3), frame[:, -band:].reshape(-1, 3)])  # fmt: skip
        assert np.abs(edges - background).max() <= 12, f"frame {index} has ink in its outer {band} px"


def test_cues_split_a_scene_by_its_words() -> None:
    cues = cues_for(["one two three four five six seven eight nine. ten", "short"], [(0.0, 4.0), (4.0, 5.5)])
    assert cues[0].start == 0.0 and cues[-1].end == 5.5 and cues[-1].text == "short"
    assert " ".join(c.text for c in cues[:-1]) == "one two three four five six seven eight nine. ten"
    assert cues[-2].end == 4.0


def test_the_title_is_on_the_first_slide_only_and_each_slide_says_its_phrase(ash: Persona, tmp_path: Path) -> None:
    cues = cues_for([s.voiceover for s in SCENES], [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)])
    pictures, _ = scene_images(ash, title=LONG_TITLE, scenes=SCENES, cues=cues, size=(1080, 1920), work=tmp_path)
    assert [LONG_TITLE in texts for texts in pictures.texts] == [True, False, False]
    for scene, texts in zip(SCENES, pictures.texts, strict=True):  # the whole phrase (a too-long word broken)
        assert any(text.replace(" ", "") == scene.on_screen.replace(" ", "") for text in texts), texts


def test_frames_show_the_title_on_the_first_scene_only(ash: Persona, voiced: tuple[Path, RenderResult]) -> None:
    """Decoded frames, one in the middle of each scene: the title's region holds the accent colour's ink on the
    first scene and none on the others (the slides do not repeat a kicker)."""
    out, _ = voiced
    left, top, right, bottom = scene_card(ash, title=LONG_TITLE, text=SCENES[0].on_screen, size=(1080, 1920)).boxes[0]
    accent = np.array(Image.new("RGB", (1, 1), ash.style.accent).getpixel((0, 0)), dtype=int)
    voiced_scenes, _ = voice_scenes(SCENES, out.parent)
    accented = []
    for start, end in timeline(voiced_scenes):
        raw = subprocess.run([FFMPEG, "-v", "error", "-ss", f"{(start + end) / 2:.2f}", "-i", str(out), "-frames:v", "1",
                              "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout  # fmt: skip
        frame = np.frombuffer(raw, dtype=np.uint8).reshape(1920, 1080, 3).astype(int)
        region = frame[top - MOTION_PX : bottom + MOTION_PX, left : right + MOTION_PX]
        accented.append(int((np.abs(region - accent).max(axis=2) < 40).sum()))
    assert accented[0] > 2000 and all(count < 50 for count in accented[1:]), accented


def test_cues_end_at_phrases_not_in_the_middle_of_them() -> None:
    text = "Most teams learn this the hard way. The agent keeps calling tools until the budget is gone."
    runs = chunks(text)
    assert runs[0] == "Most teams learn this the hard way."  # a sentence in a cue of its own
    assert " ".join(runs) == text and all(2 <= len(run.split()) <= 7 for run in runs)  # no one-word stub
    assert chunks("Log every call, and stop at twenty steps.") == ["Log every call,", "and stop at twenty steps."]
