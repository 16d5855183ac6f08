"""A temporary beatdesk home whose persona `ash` can plan hundreds of fresh items offline."""

from __future__ import annotations

import random
from pathlib import Path

BEATS = 30
ANGLES_PER_BEAT = 10
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "bu", "da", "fe", "gi", "ho", "ju", "pe"]


def make_home(home: Path, *, beats: int = BEATS, angles_per_beat: int = ANGLES_PER_BEAT) -> Path:
    """The example home, with `beats` x `angles_per_beat` extra evergreen angles appended to ash.toml.

    Each angle is made of words no other angle uses, so the planner's near-duplicate rule (TF-IDF
    cosine) never turns one down and the bench measures the batch, not the persona's catalogue."""
    from beatdesk.home import init_home

    init_home(home)
    rng = random.Random(17)
    used: set[str] = set()

    def word() -> str:
        while True:
            made = "".join(rng.choice(SYLLABLES) for _ in range(4))
            if made not in used:
                used.add(made)
                return made

    blocks = []
    for b in range(beats):
        angles = ",\n".join(f'  "{" ".join(word() for _ in range(6))}"' for _ in range(angles_per_beat))
        notes = " ".join(word() for _ in range(30))
        blocks.append(
            f'\n[[beats]]\nkey = "bench_{b}"\ntitle = "Bench {word()}"\nkind = "evergreen"\nweight = 1.0\n'
            f'cooldown_days = 1\nhashtags = ["#AI", "#Bench"]\nnotes = """\n{notes}.\n"""\nangles = [\n{angles},\n]\n'
        )
    persona = home / "personas" / "ash.toml"
    persona.write_text(persona.read_text() + "".join(blocks))
    return home
