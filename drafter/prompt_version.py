"""The version of the drafting prompts: a hash of the templates, so the evals can tell prompt changes apart."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib.resources import files

from beatdesk.evals import PROMPT_MARK


@lru_cache(maxsize=1)
def prompt_version() -> str:
    """sha256 over every drafting template's name and text, first ten hex digits."""
    digest = hashlib.sha256()
    for template in sorted(files("drafter").joinpath("templates").iterdir(), key=lambda t: t.name):
        if template.name.endswith(".j2"):
            digest.update(template.name.encode() + b"\0" + template.read_bytes() + b"\0")
    return digest.hexdigest()[:10]


def with_version(detail: str | None) -> str:
    """A draft step's detail, opened by the prompt version it was drafted with."""
    return f"{PROMPT_MARK}{prompt_version()}" + (f"; {detail}" if detail else "")
