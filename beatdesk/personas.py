"""Persona files under $BEATDESK_HOME/personas/: one `KEY.toml` per persona."""

from __future__ import annotations

import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from beatdesk.bounds import PERSONA_MAX_BYTES, TooLargeError, loads_toml, read_capped
from beatdesk.errors import PersonaFileError, UnknownPersonaError, describe_validation_error
from beatdesk.models import Persona
from beatdesk.notify.urls import apprise_problem, shape_problem


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
        data = read_capped(path, max_bytes=PERSONA_MAX_BYTES, what="a persona file")
        return parse_persona_text(data.decode("utf-8"), key=path.stem, source=path)
    except TooLargeError as err:
        raise PersonaFileError(str(err)) from None
    except UnicodeDecodeError:
        raise PersonaFileError(f"{path}: not UTF-8 text") from None
    except OSError as err:
        raise PersonaFileError(f"{path}: cannot read it ({err.strerror or err})") from None


def parse_persona_text(text: str, *, key: str, source: Path | str) -> Persona:
    try:
        data = loads_toml(text, source=source, max_bytes=PERSONA_MAX_BYTES, what="a persona file")
    except tomllib.TOMLDecodeError as err:
        raise PersonaFileError(f"{source}: not valid TOML: {err}") from None
    except TooLargeError as err:
        raise PersonaFileError(str(err)) from None
    data.setdefault("key", key)
    try:
        persona = Persona.model_validate(data)
    except ValidationError as err:
        raise PersonaFileError(describe_validation_error(err, source=source)) from None
    if persona.style.font_path:
        _check_font(persona.style.font_path, source=source)
    problem = shape_problem(persona.notify)
    if problem:  # said here, not by the model: its errors echo the value, and these URLs hold tokens
        raise PersonaFileError(f"{source}: notify: {problem}")
    return persona


def _check_font(path: str, *, source: Path | str) -> None:
    """A font the card renderer cannot open is said when the persona is read, not as failed posts later."""
    from PIL import ImageFont  # only personas with their own font pay for Pillow here

    try:
        ImageFont.truetype(path, 12)
    except (OSError, ValueError) as err:
        raise PersonaFileError(
            f"{source}: style.font_path: cannot open the font {path!r} ({err}); give a .ttf or .otf file"
        ) from None


def save_persona_text(home: Path, key: str, text: str) -> Persona:
    """Write a persona file from its text, only if it is valid; the file is replaced whole, never half-written."""
    key = normalise_key(key)
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", key):
        raise PersonaFileError(
            f"persona key {key!r}: use a lowercase letter, then letters, digits, - or _ (32 at most)"
        )
    path = personas_dir(home) / f"{key}.toml"
    persona = parse_persona_text(text, key=key, source=path)
    if persona.key != key:
        raise PersonaFileError(f"{path}: key = {persona.key!r} in the text, but the file is for {key!r}")
    for number, url in enumerate(persona.notify, start=1):  # a person is writing it: ask Apprise itself
        problem = apprise_problem(url)
        if problem:
            raise PersonaFileError(f"{path}: notify: URL {number}: {problem}")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".toml.part")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return persona
