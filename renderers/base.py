"""The renderers' interface: a request for one piece of media, and what came back."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal, Protocol

from beatdesk.models import Artifact, Persona, Scene

Aspect = Literal["4:5", "9:16", "1:1", "16:9"]

SIZES: dict[Aspect, tuple[int, int]] = {
    "4:5": (1080, 1350),
    "9:16": (1080, 1920),
    "1:1": (1080, 1080),
    "16:9": (1920, 1080),
}


class RequestMemory(Protocol):
    """Where a renderer marks a paid submit under way and keeps the provider's request id, so a retried
    render resumes instead of paying again (`beatdesk.runner.Call`)."""

    request_id: str | None

    def submitting(self, *, not_sent: tuple[type[BaseException], ...] = ()) -> AbstractContextManager[None]: ...

    def remember_request(self, request_id: str) -> None: ...


@dataclass(frozen=True)
class ImageRequest:
    kind: str
    """What the image is for: hero_image, cover_image."""
    title: str
    kicker: str
    """A short line above the title (the beat)."""
    prompt: str
    persona: Persona
    aspect: Aspect
    out_path: Path
    landing: str = ""
    """The line the piece lands on, set smaller below the title (a local card's; generated images ignore it)."""
    credit: str = ""
    """"Source: …" when the post quotes a figure, set at the card's foot."""


@dataclass(frozen=True)
class VideoRequest:
    title: str
    scenes: tuple[Scene, ...]
    prompt: str
    persona: Persona
    aspect: Aspect
    out_path: Path


@dataclass(frozen=True)
class RenderPart:
    """One sub-step of a render (voiceover, scene images, assembly), for the runner to record as its own step."""

    name: str
    provider: str
    model: str
    cost_usd: Decimal = Decimal("0")
    latency_s: float = 0.0
    detail: str | None = None
    request_id: str | None = None
    """The provider's id for a paid part, so a retried render resumes it instead of paying again."""


@dataclass(frozen=True)
class RenderResult:
    artifact: Artifact
    cost_usd: Decimal = Decimal("0")
    detail: str | None = None
    parts: tuple[RenderPart, ...] = ()
    """The sub-steps that made the artifact, in order; their costs add up to `cost_usd`."""
    sidecars: tuple[Path, ...] = ()
    """Files written beside the artifact (captions as SRT and WebVTT)."""


class ImageRenderer(Protocol):
    provider: str
    model: str

    def estimate(self) -> Decimal: ...

    def render(self, request: ImageRequest, job: RequestMemory) -> RenderResult: ...


class VideoRenderer(Protocol):
    provider: str
    model: str

    def estimate(self, seconds: float) -> Decimal: ...

    def render(self, request: VideoRequest, job: RequestMemory) -> RenderResult: ...
