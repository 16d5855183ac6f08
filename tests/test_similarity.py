"""Similarity is scikit-learn's TF-IDF cosine, computed without importing scikit-learn (a test dependency only)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from planner.similarity import similarity, tokens
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
