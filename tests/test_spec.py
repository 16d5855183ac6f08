"""Batch specs from messages as people write them, and from flags: exact counts or a clear refusal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beatdesk.errors import BatchSpecError
from beatdesk.models import ContentFormat, Persona
from planner.spec import NUMBER_WORDS, build_spec

V, H = ContentFormat.video, ContentFormat.hero_text


CASES = [
    ("Generate exactly 5 items: 1 with content_format='video' and 4 with content_format='hero_text'.", 1, 4),
    ('Generate exactly 3 items: 2 with content_format="hero_text" and 1 with content_format="video".', 1, 2),
    ("six posts, two of them videos", 2, 4),
    ("3 hero_text only", 0, 3),
    ("5 items, 1 video", 1, 4),
    ("two videos and three hero posts", 2, 3),
    ("a video and 4 hero_text", 1, 4),
    ("5 posts, no video", 0, 5),
    ("all hero_text, 4 posts", 0, 4),
    ("make 7 posts: 3 are videos", 3, 4),
    ("one video only", 1, 0),
    ("Give me a batch of 4 items with 2 videos", 2, 2),
    ("2 clips + 3 cards", 2, 3),
    ("4 hero text posts and a video", 1, 4),
    ("Write 6 items; 2 as video", 2, 4),
    ("A dozen posts, half… no: 4 videos", 4, 8),
    ("Ten items. Three videos.", 3, 7),
    ("2 videos", 2, 0),
    ("write a post about open weights: 3 hero_text", 0, 3),
]


@pytest.mark.parametrize(("message", "videos", "heroes"), CASES)
def test_messages_people_write(ash: Persona, message: str, videos: int, heroes: int) -> None:
    spec = build_spec(ash, message=message)
    assert (spec.counts[V], spec.counts[H]) == (videos, heroes)
    assert spec.message == message


@pytest.mark.parametrize(
    ("message", "flags", "error"),
    [
        ("5 items: 2 videos, 4 hero_text", {}, "asks for 5 items in all but 2 video and 4 hero_text make 6"),
        ("3 videos, 1 video", {}, "asks for 3 and for 1 video"),
        ("hello there", {}, "has no counts beatdesk can read"),
        ("5 posts, 7 videos", {}, "asks for 7 video items out of 5"),
        ("5 items and 6 posts", {}, "more than one total"),
        ("six posts, two of them videos", {"items": 5}, '--items 5 contradicts the message "six posts'),
        ("six posts, two of them videos", {"video": 1}, "--video 1 contradicts"),
        ("3 hero_text only", {"video": 1}, "--video 1 contradicts"),
        ("3 hero_text", {"items": 5, "video": 1}, "asks for 3 hero_text items, but the flags make 4"),
    ],
)
def test_contradictions_quote_the_message(ash: Persona, message: str, flags: dict[str, int], error: str) -> None:
    with pytest.raises(BatchSpecError, match=None) as err:
        build_spec(ash, message=message, **flags)
    assert error in str(err.value) and "\n" not in str(err.value)
    assert message in str(err.value) or "contradicts" not in error


@pytest.mark.parametrize(
    ("flags", "videos", "heroes"),
    [({}, 1, 4), ({"items": 3}, 1, 2), ({"video": 2}, 2, 3), ({"items": 1, "video": 0}, 0, 1), ({"items": 2}, 1, 1)],
)
def test_flags_and_persona_defaults(ash: Persona, flags: dict[str, int], videos: int, heroes: int) -> None:
    spec = build_spec(ash, **flags)
    assert (spec.counts[V], spec.counts[H]) == (videos, heroes)


def test_flags_fill_what_the_message_leaves_open(ash: Persona) -> None:
    spec = build_spec(ash, items=6, message="2 videos please")
    assert (spec.counts[V], spec.counts[H]) == (2, 4)
    spec = build_spec(ash, video=1, message="3 hero_text")
    assert (spec.counts[V], spec.counts[H]) == (1, 3)


WORDS = {n: w for w, n in NUMBER_WORDS.items() if w.isalpha() and w not in ("no", "none", "a", "an", "single", "zero")}


def spoken(n: int, words: bool) -> str:
    return WORDS[n] if words and n in WORDS else str(n)


TEMPLATES = [
    "Generate exactly {t} items: {v} with content_format='video' and {h} with content_format='hero_text'.",
    "{t} posts, {v} of them videos",
    "{v} videos and {h} hero_text",
    "{h} hero_text and {v} videos, {t} items in all",
    "Please make {t} posts: {v} videos, {h} hero posts.",
]


@given(
    videos=st.integers(min_value=0, max_value=20),
    heroes=st.integers(min_value=0, max_value=20),
    words=st.booleans(),
    template=st.sampled_from(TEMPLATES),
)
def test_counts_sum_to_the_total_and_match_the_message(
    ash: Persona, videos: int, heroes: int, words: bool, template: str
) -> None:
    if videos + heroes == 0:
        return
    message = template.format(t=spoken(videos + heroes, words), v=spoken(videos, words), h=spoken(heroes, words))
    spec = build_spec(ash, message=message)
    assert spec.counts == {V: videos, H: heroes}
    assert sum(spec.counts.values()) == spec.total == videos + heroes
    assert spec.formats().count(V) == videos


@given(text=st.text(max_size=80))
def test_any_text_gives_a_spec_or_one_clear_error(ash: Persona, text: str) -> None:
    try:
        spec = build_spec(ash, message=text)
    except BatchSpecError as err:
        assert "\n" not in str(err)
    else:
        assert spec.total >= 1 and all(n >= 0 for n in spec.counts.values())


def test_empty_batch_refused(ash: Persona) -> None:
    with pytest.raises(BatchSpecError, match="at least one item"):
        build_spec(ash, message="0 videos and 0 hero_text")
