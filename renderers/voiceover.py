"""The voiceover: each scene spoken by a local text-to-speech engine (Debian's espeak-ng), and the scenes'
sound laid end to end as one WAV track exactly as long as the video.

Without espeak-ng the video still renders: the track is silence for each scene's drafted length, and
the part's detail says why.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import time
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from beatdesk.errors import BeatdeskError
from beatdesk.models import Scene
from renderers.base import RenderPart

SAMPLE_RATE = 22050
"""espeak-ng's own rate, mono 16-bit: the track is built at it so no resampling happens before AAC."""
FPS = 30
BREATH_S = 0.35
"""Quiet after each scene's words, so one scene's voice does not run into the next."""
SHORTEST_SCENE_S = 1.5
"""Long enough to read a card whose voiceover is a word or two."""
NOT_INSTALLED = "no voiceover: espeak-ng not installed"


class VoiceoverError(BeatdeskError):
    """The text-to-speech engine failed on a scene's words."""


@dataclass(frozen=True)
class VoicedScene:
    seconds: float
    """The scene's length on screen: its speech and a breath, in whole frames."""
    wav: Path | None
    """The scene's speech, or None when silent."""


def frames(seconds: float) -> float:
    """`seconds` rounded up to whole frames, so audio and video cut at the same instants."""
    return math.ceil(round(seconds * FPS, 6)) / FPS


class Espeak:
    """espeak-ng through its command line: words on stdin (never as arguments), a WAV out."""

    provider, model = "local", "espeak-ng"

    def __init__(self, voice: str = "en-us", words_per_minute: int = 165) -> None:
        self.voice, self.words_per_minute = voice, words_per_minute

    @staticmethod
    def binary() -> str | None:
        return shutil.which("espeak-ng")

    def speak(self, text: str, out: Path) -> float:
        """Write `text` spoken to `out`; return its length in seconds."""
        binary = self.binary()
        if binary is None:
            raise VoiceoverError(NOT_INSTALLED)
        command = [binary, "-v", self.voice, "-s", str(self.words_per_minute), "-w", str(out), "--stdin"]
        done = subprocess.run(command, input=text, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not out.exists():
            raise VoiceoverError(f"espeak-ng failed ({done.returncode}): {done.stderr.strip()[-200:]}")
        with wave.open(str(out), "rb") as spoken:
            if (spoken.getframerate(), spoken.getnchannels(), spoken.getsampwidth()) != (SAMPLE_RATE, 1, 2):
                raise VoiceoverError(f"espeak-ng wrote an unexpected format to {out.name}")
            return spoken.getnframes() / SAMPLE_RATE


def voice_scenes(
    scenes: Sequence[Scene], work: Path, engine: Espeak | None = None
) -> tuple[list[VoicedScene], RenderPart]:
    """Speak every scene; each scene lasts as long as its speech. Silent, at the drafted lengths, without espeak-ng."""
    engine = engine or Espeak()
    started = time.perf_counter()
    if engine.binary() is None:
        voiced = [VoicedScene(seconds=frames(scene.seconds), wav=None) for scene in scenes]
        part = RenderPart(name="voiceover", provider="local", model="none", latency_s=time.perf_counter() - started,
                          detail=NOT_INSTALLED)  # fmt: skip
        return voiced, part
    voiced = []
    for i, scene in enumerate(scenes):
        wav = work / f"voice-{i:02d}.wav"
        spoken = engine.speak(scene.voiceover, wav)
        voiced.append(VoicedScene(seconds=frames(max(spoken + BREATH_S, SHORTEST_SCENE_S)), wav=wav))
    total = sum(v.seconds for v in voiced)
    part = RenderPart(name="voiceover", provider=engine.provider, model=engine.model,
                      latency_s=time.perf_counter() - started,
                      detail=f"{len(voiced)} scenes spoken, {total:.1f}s")  # fmt: skip
    return voiced, part


def soundtrack(voiced: Sequence[VoicedScene], out: Path) -> float:
    """Lay the scenes' speech end to end, each padded with silence to its scene's length; return the length."""
    total_samples = 0
    with wave.open(str(out), "wb") as track:
        track.setnchannels(1)
        track.setsampwidth(2)
        track.setframerate(SAMPLE_RATE)
        for scene in voiced:
            # Each scene ends at a whole sample computed from the running total, so rounding never drifts.
            end = round((total_samples / SAMPLE_RATE + scene.seconds) * SAMPLE_RATE)
            want = end - total_samples
            speech = b""
            if scene.wav is not None:
                with wave.open(str(scene.wav), "rb") as spoken:
                    speech = spoken.readframes(spoken.getnframes())[: want * 2]
            track.writeframes(speech + b"\x00\x00" * (want - len(speech) // 2))
            total_samples = end
    return total_samples / SAMPLE_RATE
