"""Narrow error types a person can act on, and the one-line form they are shown in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError


class BeatdeskError(Exception):
    """An error caused by input or set-up; its message says what to fix, in one line."""


class UnknownPersonaError(BeatdeskError):
    pass


class PersonaFileError(BeatdeskError):
    pass


class BatchSpecError(BeatdeskError):
    pass


class InvalidTransitionError(BeatdeskError):
    pass


class NotFoundError(BeatdeskError):
    pass


class UnreachableServiceError(BeatdeskError):
    pass


class ConfigError(BeatdeskError):
    pass


class UnknownProviderError(BeatdeskError):
    pass


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_validation_error(err: ValidationError, *, source: Path | str | None = None) -> str:
    """One line naming the file, the field path and the bad value of the first error."""
    first = err.errors()[0]
    loc = ""
    for part in first["loc"]:
        loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
    where = f"{source}: " if source else ""
    more = len(err.errors()) - 1
    extra = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    value = f" (got {_short(first['input'])})" if first["type"] != "missing" else ""
    return f"{where}{loc or 'value'}: {first['msg']}{value}{extra}"
