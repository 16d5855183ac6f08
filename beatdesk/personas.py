"""Persona files under $BEATDESK_HOME/personas/: one `KEY.toml` per persona."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from beatdesk.errors import PersonaFileError, UnknownPersonaError, describe_validation_error
from beatdesk.models import Persona


def personas_dir(home: Path) -> Path:
    return home / "personas"


def known_personas(home: Path) -> list[str]:
    return sorted(path.stem for path in personas_dir(home).glob("*.toml"))


def normalise_key(name: str) -> str:
    """`@ash`, `ash` and `Ash` all name the persona `ash`."""
    return name.strip().lstrip("@").lower()


def load_persona(home: Path, name: str) -> Persona:
    key = normalise_key(name)
    path = personas_dir(home) / f"{key}.toml"
    if not path.is_file():
        known = ", ".join(known_personas(home)) or f"none yet; run `beatdesk init` (home: {home})"
        raise UnknownPersonaError(f"unknown persona {name!r}; known personas: {known}")
    return _parsed(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=64)
def _parsed(path: Path, mtime_ns: int) -> Persona:
    """Parsed once per version of the file: every draft and render of a batch reads the same persona."""
    return parse_persona_file(path)


def parse_persona_file(path: Path) -> Persona:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise PersonaFileError(f"{path}: not valid TOML: {err}") from None
    except UnicodeDecodeError:
        raise PersonaFileError(f"{path}: not UTF-8 text") from None
    data.setdefault("key", path.stem)
    try:
        return Persona.model_validate(data)
    except ValidationError as err:
        raise PersonaFileError(describe_validation_error(err, source=path)) from None
