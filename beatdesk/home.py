"""Creating the beatdesk home: folders and the example persona, never overwriting a file."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from beatdesk.personas import personas_dir

EXAMPLE_KEY = "ash"


def init_home(home: Path) -> list[Path]:
    """Create what is missing under `home`; return the paths created (empty when all was there)."""
    created: list[Path] = []
    for folder in (home, personas_dir(home), home / "artifacts"):
        if not folder.exists():
            folder.mkdir(parents=True)
            created.append(folder)
    example = resources.files("beatdesk") / "example"
    targets = {example / "ash.toml": personas_dir(home) / f"{EXAMPLE_KEY}.toml"}
    for note in (example / "sources").iterdir():
        targets[note] = personas_dir(home) / EXAMPLE_KEY / "sources" / note.name
    for origin, target in targets.items():
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with resources.as_file(origin) as src:
                shutil.copyfile(src, target)
            created.append(target)
    return created
