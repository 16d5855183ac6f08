"""Render a 30 s local video (voiceover, cards that drift, burned-in captions, 1080x1920 at 30 fps, AAC);
print the wall time of each part and the peak memory of this process and of ffmpeg.

Target: under 20 s on the project's 2-core machine.
Run: python bench/local_video.py [--seconds 30] [--runs 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg

from beatdesk.home import init_home
from beatdesk.models import Scene
from beatdesk.personas import load_persona
from renderers.base import VideoRequest
from renderers.local_video import LocalVideoRenderer
from renderers.voiceover import Espeak

LINES = [
    "Most teams learn this the hard way: the agent keeps calling tools until the budget is gone.",
    "The fix is boring. Cap the number of steps, and log every call with its cost.",
    "Twenty steps covered ninety five percent of the tickets we looked at last month.",
    "When the cap hits, hand the ticket to a person with the log attached, not a retry.",
    "Then read the logs every Friday: the loops tell you which tool descriptions confuse the model.",
    "Better models help, but a limit you can explain to finance helps first.",
]


def scenes_for(seconds: float) -> tuple[Scene, ...]:
    """Scenes whose voiceover runs about `seconds` (about 2.6 words a second at espeak-ng's 165 wpm)."""
    scenes, words = [], 0.0
    while words / 2.6 < seconds:
        line = LINES[len(scenes) % len(LINES)]
        scenes.append(Scene(on_screen=line.split(":")[0][:110], voiceover=line, seconds=min(30, seconds / 6)))
        words += len(line.split())
    return tuple(scenes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="beatdesk-bench-"))
    init_home(home)
    persona = load_persona(home, "ash")
    scenes = scenes_for(args.seconds)
    print(f"espeak-ng: {Espeak.binary() or 'not installed (silent track)'}; ffmpeg: {imageio_ffmpeg.get_ffmpeg_exe()}")
    walls = []
    for run in range(args.runs):
        out = home / f"bench-{run}.mp4"
        request = VideoRequest(title="Why your agent needs a step limit before a better model", scenes=scenes,
                               prompt="", persona=persona, aspect="9:16", out_path=out)  # fmt: skip
        started = time.perf_counter()
        result = LocalVideoRenderer().render(request)
        walls.append(time.perf_counter() - started)
        _, video_s = imageio_ffmpeg.count_frames_and_secs(str(out))
        parts = ", ".join(f"{p.name} {p.latency_s:.2f}s" for p in result.parts)
        print(f"run {run + 1}: {walls[-1]:.2f}s wall for {video_s:.1f}s of video "
              f"({out.stat().st_size / 1e6:.1f} MB; {parts})")  # fmt: skip
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"median {statistics.median(walls):.2f}s (target < 20 s); peak memory: python {own:.0f} MB, "
          f"largest child (ffmpeg) {children:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
