"""Similarity is scikit-learn's TF-IDF cosine, computed without importing scikit-learn (a test dependency only)."""

from __future__ import annotations

import random
import tracemalloc
from datetime import UTC, datetime

import numpy as np
import pytest

import planner.similarity as similarity_module
from beatdesk.models import BatchSpec, Beat, ContentFormat, Persona
from planner.base import PlanningContext, RecentPost
from planner.offline import OfflinePlanner
from planner.similarity import Vectors, similarity, tokens
from planner.stop_words import ENGLISH_STOP_WORDS

sklearn_text = pytest.importorskip("sklearn.feature_extraction.text")
sklearn_pairwise = pytest.importorskip("sklearn.metrics.pairwise")

TEXTS = [
    "Benchmarks overstate what models can do in production",
    "Why benchmark leaderboards are gamed, and what changes when they are",
    "Inference economics: the cost of serving tokens is falling faster than training",
    "the and of",  # stop words only: no terms
    "",
    "Inference costs, inference costs, inference costs: serving is the bill",
    "GPU shortages change how labs plan training runs",
]


def reference(left: list[str], right: list[str]) -> np.ndarray:
    vectorizer = sklearn_text.TfidfVectorizer(analyzer=tokens, sublinear_tf=True)
    matrix = vectorizer.fit_transform([*left, *right])
    return sklearn_pairwise.linear_kernel(matrix[: len(left)], matrix[len(left) :])


def test_the_stop_words_are_scikit_learns() -> None:
    assert frozenset(sklearn_text.ENGLISH_STOP_WORDS) == ENGLISH_STOP_WORDS


@pytest.mark.parametrize("seed", range(5))
def test_similarity_equals_scikit_learns_tf_idf_cosine(seed: int) -> None:
    rng = random.Random(seed)
    words = " ".join(TEXTS).split()
    made = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 30))) for _ in range(40)]
    left, right = TEXTS[:4] + made[:20], TEXTS[4:] + made[20:]
    assert np.allclose(similarity(left, right), reference(left, right), rtol=0, atol=1e-12)


def test_a_text_is_most_like_itself_and_empty_ones_like_nothing() -> None:
    scores = similarity(TEXTS, TEXTS)
    assert scores.shape == (len(TEXTS), len(TEXTS))
    for i, text in enumerate(TEXTS):
        if tokens(text):
            assert scores[i, i] == pytest.approx(1.0)
            assert scores[i].argmax() == i
        else:
            assert not scores[i].any()
    assert similarity([], TEXTS).shape == (0, len(TEXTS))
    assert similarity(["the and"], ["of the"]).tolist() == [[0.0]]  # no terms at all: nothing alike, no error


def test_nearest_in_chunks_equals_the_whole_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(11)
    words = " ".join(TEXTS).split()
    left = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(70)]
    right = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(30)]
    whole = similarity(left, right)
    monkeypatch.setattr(similarity_module, "ROWS_PER_CHUNK_CELLS", 7 * len(right))  # chunks of 7 rows
    best, where = Vectors.of(left, right).nearest()
    assert np.array_equal(best, whole.max(axis=1)) and np.array_equal(where, whole.argmax(axis=1))
    among = Vectors.among(left)
    picked = [5, 0, 33, 69]
    assert np.array_equal(among.block(picked, picked), similarity(left, left)[np.ix_(picked, picked)])


def many_beats(count: int, angles: int) -> Persona:
    rng = random.Random(count)
    words = " ".join(TEXTS).split() + [f"term{i}" for i in range(400)]
    beats = tuple(
        Beat(key=f"beat_{i:04d}", title=f"Beat number {i}",
             angles=tuple(" ".join(rng.choice(words) for _ in range(9)) for _ in range(angles)))
        for i in range(count)
    )  # fmt: skip
    return Persona(key="many", handle="@many", display_name="Many", voice="plain", beats=beats)


def planning_peak(persona: Persona, recent: int) -> tuple[int, int]:
    """Plans of a 20-item batch, and the peak of memory traced while planning (Python and numpy allocations)."""
    now = datetime(2026, 11, 20, 9, tzinfo=UTC)
    history = [RecentPost(post_id=i, title=f"Post {i}", angle=persona.beats[i % len(persona.beats)].angles[0])
               for i in range(recent)]  # fmt: skip
    spec = BatchSpec(persona=persona.key, counts={ContentFormat.hero_text: 20})
    tracemalloc.start()
    try:
        result = OfflinePlanner().plan(PlanningContext(persona=persona, sources=[], spec=spec, now=now, recent=history))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return len(result.plans), peak


def test_planning_memory_stays_bounded_as_candidates_grow() -> None:
    """1,000 beats (the cap) of 8 and of 16 angles: 8,000 and 16,000 candidates, whose dense similarity matrices
    alone would be 512 MB and 2 GB. Similarities are computed in chunks of at most 16 MB, so the peak is the same."""
    for angles in (8, 16):
        planned, peak = planning_peak(many_beats(1_000, angles), recent=1_000)
        assert planned == 20
        assert peak < 60 * 1024**2, f"{angles} angles: {peak / 1e6:.0f} MB"
