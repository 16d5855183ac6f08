"""Beat tagging files real-length articles and digest lines the way a person would, and keeps the score."""

from __future__ import annotations

from pathlib import Path

from beatdesk.models import Persona
from bench.tagging import labelled
from planner.sources import read_sources, tag_beats

EXAMPLE = Path(__file__).resolve().parent.parent / "beatdesk" / "example" / "sources"


def test_the_article_set_is_tagged_as_a_person_filed_it(ash: Persona) -> None:
    items = labelled(ash)
    assert len(items) >= 30 and sum(1 for _, _, truth in items if not truth) >= 10  # off-beat pieces too
    tagged = tag_beats([source for _, source, _ in items], ash)
    wrong = [(name, s.beats, sorted(truth)) for (name, _, truth), s in zip(items, tagged, strict=True)
             if set(s.beats) != truth]  # fmt: skip
    assert wrong == []
    assert all(s.beat_score is not None and 0 <= s.beat_score <= 1 for s in tagged)


def test_a_piece_is_tagged_the_same_alone_or_with_others(ash: Persona) -> None:
    items = [source for _, source, _ in labelled(ash)][:6]
    together = tag_beats(items, ash)
    alone = [tag_beats([source], ash)[0] for source in items]
    assert [(s.beats, s.beat_score) for s in together] == [(s.beats, s.beat_score) for s in alone]


def test_the_example_notes_get_their_main_beat_back(ash: Persona) -> None:
    for path in sorted(EXAMPLE.glob("*.md")):
        [note] = read_sources(str(path), persona=ash)
        [again] = tag_beats([note.model_copy(update={"beats": ()})], ash)
        assert again.beats[:1] == note.beats[:1], path.name
    given = tag_beats([note.model_copy(update={"beats": ()})], ash, given=("open_weights",))
    assert given[0].beats == ("open_weights",) and given[0].beat_score is None  # given by hand: no score
