"""Beat tagging against a person's filing: precision and recall over the article set in tests/data/articles.

Each article (and each digest bullet) is tagged by `planner.sources.tag_beats` for the example persona @ash;
tests/data/articles/labels.toml says which beats a person would give it (none, for off-beat pieces).

    python bench/tagging.py [--threshold 0.2] [--verbose]
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from beatdesk.home import init_home  # noqa: E402
from beatdesk.models import Persona, Source  # noqa: E402
from beatdesk.personas import load_persona  # noqa: E402
from planner import sources as tagging  # noqa: E402

ARTICLES = ROOT / "tests" / "data" / "articles"


def labelled(persona: Persona) -> list[tuple[str, Source, set[str]]]:
    """(name, untagged source, the beats a person gave it) for every article and digest bullet."""
    labels = tomllib.loads((ARTICLES / "labels.toml").read_text())
    out = []
    for path in sorted(ARTICLES.glob("*.md")):
        read = tagging.read_sources(str(path), persona=persona, beats=())
        for i, source in enumerate(read, start=1):
            name = f"{path.name}#{i}" if source.kind == "digest" else path.name
            out.append((name, source.model_copy(update={"beats": (), "beat_score": None}), set(labels[name])))
    return out


def score(persona: Persona, items: list[tuple[str, Source, set[str]]], *, verbose: bool) -> tuple[float, float]:
    tagged = tagging.tag_beats([source for _, source, _ in items], persona)
    on = [s.beat_score or 0 for (_, _, truth), s in zip(items, tagged, strict=True) if truth]
    off = [s.beat_score or 0 for (_, _, truth), s in zip(items, tagged, strict=True) if not truth]
    print(f"best-beat score: on-beat pieces {min(on):.3f} and up, off-beat pieces {max(off):.3f} at most")
    hits = given = wanted = 0
    for (name, _, truth), source in zip(items, tagged, strict=True):
        got = set(source.beats)
        hits, given, wanted = hits + len(got & truth), given + len(got), wanted + len(truth)
        if verbose or got != truth:
            mark = "  " if got == truth else "!!"
            print(f"{mark} {name:34} score {source.beat_score or 0:.3f} got {sorted(got)} want {sorted(truth)}")
    precision = hits / given if given else 1.0
    recall = hits / wanted if wanted else 1.0
    return precision, recall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=None, help="override planner.sources.TAG_THRESHOLD")
    parser.add_argument("--verbose", action="store_true", help="every item, not only the misses")
    args = parser.parse_args()
    if args.threshold is not None:
        tagging.TAG_THRESHOLD = args.threshold
    with TemporaryDirectory() as home:
        init_home(Path(home))
        persona = load_persona(Path(home), "ash")
    items = labelled(persona)
    precision, recall = score(persona, items, verbose=args.verbose)
    pairs = sum(len(truth) for _, _, truth in items)
    print(f"{len(items)} items ({pairs} beat labels), threshold {tagging.TAG_THRESHOLD:g}: "
          f"precision {precision:.2f}, recall {recall:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
