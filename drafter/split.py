"""Which drafting model a post gets when its persona compares two or more: a fixed share each, by post id."""

from __future__ import annotations

from pathlib import Path

from beatdesk.models import Persona
from beatdesk.personas import load_persona
from beatdesk.store import Store, repo

_GOLDEN = 0.6180339887498949
"""Post ids times the golden ratio spread over [0, 1) evenly: any run of consecutive posts splits close to the
shares (within one post), and the same post always lands in the same place."""


def model_for_post(persona: Persona, *, post_id: int, default: str) -> str:
    """The persona's drafting model for this post: one of `[drafting] models` by its share, else `default`."""
    models = persona.drafting.models
    if not models:
        return default
    point = (post_id * _GOLDEN) % 1.0 * sum(models.values())
    for name, share in models.items():
        if point < share:
            return name
        point -= share
    return next(reversed(models))  # float rounding at the very end of the range


def drafting_model(store: Store, *, home: Path, post_id: int, default: str) -> str:
    """The drafting model for a stored post (its persona read from the post)."""
    with store.session() as session:
        persona_key = repo.get_post(session, post_id, with_history=False).persona
    return model_for_post(load_persona(home, persona_key), post_id=post_id, default=default)
