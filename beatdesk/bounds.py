"""Bounds on what people type, in one place: persona files, TOML front matter, the sources folder.

Each bound is far above what a real persona needs (the example has 6 beats of 4 angles in 4.5 KiB) and low
enough that planning, which grows linearly with beats and sources, stays within seconds and a few hundred MB.
docs/personas.md ("Limits") lists them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from beatdesk.errors import BeatdeskError

PERSONA_MAX_BYTES = 1024 * 1024
"""A persona file: 1 MiB (1,000 beats written out in full are about 700 KiB)."""
PERSONA_MAX_BEATS = 1_000
BEAT_MAX_ANGLES = 50
ANGLE_MAX_CHARS = 500
TOML_MAX_DEPTH = 16
"""Tables and arrays inside each other; a persona needs 4 (the file, beats, a beat, its hashtags)."""
FRONT_MATTER_MAX_BYTES = 16 * 1024
"""A source's `+++` front matter: a title, a date, beats."""
SECRETS_MAX_BYTES = 256 * 1024
"""secrets.toml: a few tokens per persona and channel."""


class TooLargeError(BeatdeskError):
    """Input over one of the bounds above; the message names the file and what to cut."""


def read_capped(path: Path, *, max_bytes: int, what: str, setting: str | None = None) -> bytes:
    """The file's bytes, read no further than the cap (a 1 GB file costs one read of `max_bytes + 1`)."""
    with path.open("rb") as file:
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        size = max(path.stat().st_size, len(data))
        knob = f" ({setting})" if setting else ""
        raise TooLargeError(f"{path}: {size:,} bytes, over the {max_bytes:,}-byte limit for {what}{knob}")
    return data


def loads_toml(text: str, *, source: Path | str, max_bytes: int, what: str) -> dict[str, object]:
    """TOML within the bounds: size checked before parsing, nesting after (tomllib recurses once per level of
    arrays, so 10,000 `[` would end in a RecursionError deep in its parser: caught here, said in one line).
    A syntax error is raised as tomllib's own `TOMLDecodeError` for the caller to word."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise TooLargeError(f"{source}: {size:,} bytes, over the {max_bytes:,}-byte limit for {what}")
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise TooLargeError(
            f"{source}: arrays or tables nested too deeply to read (at most {TOML_MAX_DEPTH} levels); flatten them"
        ) from None
    field = too_deep(data, max_depth=TOML_MAX_DEPTH)
    if field is not None:
        raise TooLargeError(f"{source}: {field}: nested more than {TOML_MAX_DEPTH} levels deep; flatten it")
    return data


def too_deep(value: object, *, max_depth: int) -> str | None:
    """The path of the first table or array nested deeper than `max_depth` (the top table is level 1), or None.
    Walked with a stack, not recursion: the value may be as deep as the parser allowed."""
    stack: list[tuple[object, str, int]] = [(value, "", 1)]
    while stack:
        item, path, depth = stack.pop()
        if depth > max_depth:
            return _short(path)
        children: list[tuple[str, object]] = []
        if isinstance(item, dict):
            children = [(f"{path}.{key}" if path else str(key), child) for key, child in item.items()]
        elif isinstance(item, list):
            children = [(f"{path}[{i}]", child) for i, child in enumerate(item)]
        stack.extend((child, name, depth + 1) for name, child in children if isinstance(child, dict | list))
    return None


def _short(path: str, limit: int = 120) -> str:
    return path if len(path) <= limit else path[: limit - 3] + "..."
