"""Text similarity for freshness and beat tagging: TF-IDF over lightly stemmed words and word pairs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.metrics.pairwise import linear_kernel

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_SUFFIXES = ("ingly", "edly", "ings", "ing", "ied", "ies", "ed", "es", "ly", "s")


def _stem(word: str) -> str:
    """Strip common English suffixes so `changing`, `changed` and `changes` meet; crude, fast, enough here."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 4 else word  # cache/caching, change/changed


def tokens(text: str) -> list[str]:
    words = [_stem(w) for w in _WORD.findall(text.lower()) if w not in ENGLISH_STOP_WORDS]
    return words + [f"{a} {b}" for a, b in pairwise(words)]


def similarity(left: Sequence[str], right: Sequence[str]) -> np.ndarray:
    """Cosine similarity (0..1) of every text in `left` to every text in `right`, shape (len(left), len(right))."""
    if not left or not right:
        return np.zeros((len(left), len(right)))
    vectorizer = TfidfVectorizer(analyzer=tokens, sublinear_tf=True)
    matrix = vectorizer.fit_transform([*left, *right])
    return linear_kernel(matrix[: len(left)], matrix[len(left) :])
