"""A post's media as a channel takes it: images shrunk to its size limit, videos only where it takes them."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from publishers.http import PublishRefused


@dataclass(frozen=True)
class MediaLimits:
    image_bytes: int
    video_bytes: int | None = None
    """None: this publisher sends no video; a video post goes out with its cover image."""
    images: int = 4


def content_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def is_video(path: Path) -> bool:
    return content_type(path).startswith("video/")


def media_for(channel: str, media: tuple[Path, ...], limits: MediaLimits, work_dir: Path) -> tuple[Path, ...]:
    """What the channel gets: the video alone where it takes videos (a post holds one video or images,
    not both), else the images, each within the channel's size limit."""
    videos = [path for path in media if is_video(path)]
    if videos and limits.video_bytes is not None:
        video = videos[0]
        size = video.stat().st_size
        if size > limits.video_bytes:
            raise PublishRefused(
                f"{channel}: the video {video.name} is {size:,} bytes, over the channel's limit of "
                f"{limits.video_bytes:,}; render a shorter video"
            )
        return (video,)
    images = [shrink_image(channel, path, limits.image_bytes, work_dir) for path in media if not is_video(path)]
    return tuple(images[: limits.images])


def shrink_image(channel: str, path: Path, max_bytes: int, work_dir: Path) -> Path:
    """The image itself when it fits, else a JPEG copy scaled down until it does (the original stays)."""
    if path.stat().st_size <= max_bytes:
        return path
    work_dir.mkdir(parents=True, exist_ok=True)
    target = work_dir / f"{path.stem}-{channel}.jpg"
    with Image.open(path) as original:
        image = original.convert("RGB")
    for _ in range(12):
        image.save(target, format="JPEG", quality=85, optimize=True)
        if target.stat().st_size <= max_bytes:
            return target
        image = image.resize(
            (max(1, int(image.width * 0.8)), max(1, int(image.height * 0.8))), Image.Resampling.LANCZOS
        )
    target.unlink(missing_ok=True)
    raise PublishRefused(f"{channel}: the image {path.name} cannot be brought under the channel's {max_bytes:,} bytes")
