"""The local video: one typographic card per scene, held for its seconds, encoded as H.264 MP4.

ffmpeg comes from the imageio-ffmpeg wheel, so nothing is installed by hand. Cards are still images,
so ffmpeg's concat demuxer holds each one for its duration instead of piping every frame.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from decimal import Decimal
from pathlib import Path

import imageio_ffmpeg

from beatdesk.errors import BeatdeskError
from beatdesk.models import Artifact
from renderers.base import SIZES, RenderResult, RequestMemory, VideoRequest
from renderers.local_image import card

VIDEO_SIZE = (720, 1280)
"""9:16 at 720p: sharp on phones, quick to encode on two cores."""
FPS = 12


class VideoEncodeError(BeatdeskError):
    pass


class LocalVideoRenderer:
    provider = "local"
    model = "ffmpeg-cards"

    def estimate(self, seconds: float) -> Decimal:
        return Decimal("0")

    def render(self, request: VideoRequest, job: RequestMemory | None = None) -> RenderResult:
        width, height = VIDEO_SIZE if request.aspect == "9:16" else SIZES[request.aspect]
        request.out_path.parent.mkdir(parents=True, exist_ok=True)
        partial = request.out_path.with_suffix(".part.mp4")
        with tempfile.TemporaryDirectory(prefix="beatdesk-video-") as tmp:
            listing = []
            for i, scene in enumerate(request.scenes):
                frame = Path(tmp) / f"scene-{i:02d}.png"
                card(request.persona, title=scene.on_screen, kicker=request.title, size=(width, height)).save(frame)
                listing += [f"file '{frame}'", f"duration {scene.seconds:.3f}"]
            listing.append(f"file '{frame}'")  # concat drops the last duration unless the image repeats; -t trims
            total = sum(scene.seconds for scene in request.scenes)
            concat = Path(tmp) / "scenes.txt"
            concat.write_text("\n".join(listing) + "\n")
            command = [
                imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "concat", "-safe", "0",
                "-i", str(concat), "-vf", f"fps={FPS},format=yuv420p", "-c:v", "libx264", "-preset", "veryfast",
                "-tune", "stillimage", "-movflags", "+faststart", "-t", f"{total:.3f}", str(partial),
            ]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            partial.unlink(missing_ok=True)
            raise VideoEncodeError(f"ffmpeg could not encode {request.out_path.name}: {done.stderr.strip()[-300:]}")
        os.replace(partial, request.out_path)
        return RenderResult(
            artifact=Artifact(
                kind="video",
                path=str(request.out_path),
                content_type="video/mp4",
                size_bytes=request.out_path.stat().st_size,
                width=width,
                height=height,
            ),
            detail=f"{sum(s.seconds for s in request.scenes):g}s, {len(request.scenes)} scenes",
        )
