"""Text similarity for freshness and beat tagging: TF-IDF over lightly stemmed words and word pairs.

The weighting is scikit-learn's `TfidfVectorizer(sublinear_tf=True)` (smoothed idf, rows scaled to unit
length; `tests/test_similarity.py` holds the two equal), written out over SciPy's sparse matrices:
importing scikit-learn cost every batch command 1.5 s of its start, for these few lines.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise

import numpy as np
from scipy.sparse import csr_matrix, diags

from planner.stop_words import ENGLISH_STOP_WORDS

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
    weights = _tf_idf([*left, *right])
    return (weights[: len(left)] @ weights[len(left) :].T).toarray()


def _tf_idf(texts: Sequence[str]) -> csr_matrix:
    """One row per text: (1 + ln count) x idf per term, idf = ln((1 + texts) / (1 + texts with it)) + 1,
    each row scaled to unit length (a text with no terms stays zero)."""
    vocabulary: dict[str, int] = {}
    rows: list[int] = []
    columns: list[int] = []
    counts: list[int] = []
    for row, text in enumerate(texts):
        for term, count in Counter(tokens(text)).items():
            rows.append(row)
            columns.append(vocabulary.setdefault(term, len(vocabulary)))
            counts.append(count)
    shape = (len(texts), len(vocabulary))
    tf = csr_matrix((1 + np.log(np.asarray(counts, dtype=float)), (rows, columns)), shape=shape)
    with_term = np.bincount(np.asarray(columns, dtype=np.intp), minlength=len(vocabulary))
    weighted = tf @ diags(np.log((1 + len(texts)) / (1 + with_term)) + 1)
    lengths = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    return csr_matrix(diags(1 / np.where(lengths > 0, lengths, 1)) @ weighted)
