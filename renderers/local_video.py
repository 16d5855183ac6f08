"""The local video: a spoken explainer made offline. Each scene is voiced (espeak-ng) and lasts as long as
its voiceover; its card drifts slowly; captions of the spoken words are burned in and written beside
the MP4 as SRT and WebVTT. 30 fps H.264 with AAC sound, 9:16 at 1080x1920, moov atom first.

The work is three parts, each a plain function that returns what it made and a RenderPart (provider,
model, cost, latency) for the runner to record as a step: the voiceover, the scene images, and the
assembly. ffmpeg comes from the imageio-ffmpeg wheel, so nothing is installed by hand for it.
"""

from __future__ import annotations

import errno
import os
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import imageio_ffmpeg

from beatdesk.errors import BeatdeskError
from beatdesk.models import Artifact, Persona, Scene
from renderers.base import SIZES, RenderPart, RenderResult, RequestMemory, VideoRequest
from renderers.captions import Cue, cues_for, srt, vtt
from renderers.layout import Box
from renderers.scene_cards import caption_plate, motion, scene_card
from renderers.voiceover import FPS, Espeak, VoicedScene, soundtrack, voice_scenes

AUDIO_RATE = 48000
"""What phones and the channels (Instagram, TikTok) expect of AAC."""


class VideoEncodeError(BeatdeskError):
    pass


@dataclass(frozen=True)
class Plated:
    path: Path
    at: tuple[int, int]
    cue: Cue


@dataclass(frozen=True)
class ScenePictures:
    cards: tuple[Path, ...]
    plates: tuple[Plated, ...]
    boxes: tuple[tuple[Box, ...], ...]
    """Per scene: every text's ink bounds on the frame with the card centred (cards) and the caption plates."""
    texts: tuple[tuple[str, ...], ...] = ()
    """Per scene: the texts its card shows, in the order of `boxes`."""


def timeline(voiced: Sequence[VoicedScene]) -> list[tuple[float, float]]:
    """Each scene's (start, end) in seconds."""
    bounds, at = [], 0.0
    for scene in voiced:
        bounds.append((round(at, 6), round(at + scene.seconds, 6)))
        at += scene.seconds
    return bounds


def scene_images(
    persona: Persona, *, title: str, scenes: Sequence[Scene], cues: Sequence[Cue], size: tuple[int, int], work: Path
) -> tuple[ScenePictures, RenderPart]:
    """A card per scene and a caption plate per cue, as PNG files in `work`."""
    started = time.perf_counter()
    cards, boxes, texts = [], [], []
    for i, scene in enumerate(scenes):
        # The title once, on the first card, unless that card's words already say it.
        said = title if i == 0 and title.lower().split() != scene.on_screen.lower().split() else ""
        card = scene_card(persona, text=scene.on_screen, size=size, title=said)
        path = work / f"card-{i:02d}.png"
        card.image.save(path, compress_level=1)  # read once by ffmpeg: fast to write beats small
        cards.append(path)
        boxes.append(card.boxes)
        texts.append(card.texts)
    plates = []
    for j, cue in enumerate(cues):
        plate = caption_plate(persona, cue.text, size)
        path = work / f"caption-{j:03d}.png"
        plate.image.save(path, compress_level=1)
        plates.append(Plated(path=path, at=plate.at, cue=cue))
    part = RenderPart(name="scene_images", provider="local", model="pillow-card",
                      latency_s=time.perf_counter() - started,
                      detail=f"{len(cards)} cards, {len(plates)} captions")  # fmt: skip
    pictures = ScenePictures(cards=tuple(cards), plates=tuple(plates), boxes=tuple(boxes), texts=tuple(texts))
    return pictures, part


def _filter_graph(voiced: Sequence[VoicedScene], pictures: ScenePictures, size: tuple[int, int]) -> str:
    width, height = size
    chains, labels = [], []
    for i, scene in enumerate(voiced):
        count = round(scene.seconds * FPS)
        (ax, ay), (bx, by) = motion(i)
        span = max(1, count - 1)
        # The card is decoded once and held in memory (loop), then a frame-sized window drifts across it.
        chains.append(
            f"[{i}:v]format=yuv420p,loop=loop={count - 1}:size=1:start=0,setpts=N/{FPS}/TB,"
            f"crop={width}:{height}:x='{ax}+({bx - ax})*n/{span}':y='{ay}+({by - ay})*n/{span}'[s{i}]"
        )
        labels.append(f"[s{i}]")
    chains.append(f"{''.join(labels)}concat=n={len(labels)}:v=1:a=0[c0]")
    first = len(voiced)
    for j, plated in enumerate(pictures.plates):
        start, end = plated.cue.start, plated.cue.end
        x, y = plated.at
        chains.append(f"[c{j}][{first + j}:v]overlay=x={x}:y={y}:enable='gte(t,{start:.3f})*lt(t,{end:.3f})'[c{j + 1}]")
    chains.append(f"[c{len(pictures.plates)}]format=yuv420p[v]")
    return ";".join(chains)


def assemble(
    voiced: Sequence[VoicedScene], pictures: ScenePictures, *, size: tuple[int, int], out: Path, work: Path
) -> RenderPart:
    """The soundtrack and the pictures encoded into one MP4 at `out` (written whole, then renamed)."""
    started = time.perf_counter()
    track = work / "soundtrack.wav"
    total = soundtrack(voiced, track)
    inputs: list[str] = []
    for card in pictures.cards:
        inputs += ["-framerate", str(FPS), "-i", str(card)]
    for plated in pictures.plates:
        inputs += ["-i", str(plated.path)]
    audio = len(pictures.cards) + len(pictures.plates)
    inputs += ["-i", str(track)]
    partial = out.with_name(out.stem + ".part.mp4")
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", *inputs,
        "-filter_complex", _filter_graph(voiced, pictures, size), "-map", "[v]", "-map", f"{audio}:a",
        "-c:v", "libx264", "-preset", "superfast", "-crf", "22", "-profile:v", "high", "-pix_fmt", "yuv420p",
        "-r", str(FPS), "-c:a", "aac", "-b:a", "128k", "-ar", str(AUDIO_RATE), "-ac", "1",
        "-t", f"{total:.3f}", "-movflags", "+faststart", str(partial),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        if "No space left on device" in done.stderr:  # said as the OS says it: a full disk, not a bad video
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(partial))
        raise VideoEncodeError(f"ffmpeg could not encode {out.name}: {done.stderr.strip()[-300:]}")
    os.replace(partial, out)
    return RenderPart(name="assembly", provider="local", model="ffmpeg-libx264-aac",
                      latency_s=time.perf_counter() - started,
                      detail=f"{total:.2f}s at {FPS} fps, {size[0]}x{size[1]}")  # fmt: skip


class LocalVideoRenderer:
    provider = "local"
    model = "ffmpeg-cards"

    def __init__(self, voice: Espeak | None = None) -> None:
        self.voice = voice or Espeak()

    def estimate(self, seconds: float) -> Decimal:
        return Decimal("0")

    def render(self, request: VideoRequest, job: RequestMemory | None = None) -> RenderResult:
        size = SIZES[request.aspect]
        request.out_path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="beatdesk-video-") as tmp:
            work = Path(tmp)
            voiced, voice_part = voice_scenes(request.scenes, work, self.voice)
            bounds = timeline(voiced)
            cues = cues_for([scene.voiceover for scene in request.scenes], bounds)
            pictures, images_part = scene_images(request.persona, title=request.title, scenes=request.scenes,
                                                 cues=cues, size=size, work=work)  # fmt: skip
            assembly_part = assemble(voiced, pictures, size=size, out=request.out_path, work=work)
        sidecars = (request.out_path.with_suffix(".srt"), request.out_path.with_suffix(".vtt"))
        sidecars[0].write_text(srt(cues), encoding="utf-8")
        sidecars[1].write_text(vtt(cues), encoding="utf-8")
        total = bounds[-1][1]
        detail = f"{total:.1f}s, {len(request.scenes)} scenes"
        if voice_part.model == "none":
            detail += f"; {voice_part.detail}"
        return RenderResult(
            artifact=Artifact(
                kind="video",
                path=str(request.out_path),
                content_type="video/mp4",
                size_bytes=request.out_path.stat().st_size,
                width=size[0],
                height=size[1],
            ),
            detail=detail,
            parts=(voice_part, images_part, assembly_part),
            sidecars=sidecars,
        )
