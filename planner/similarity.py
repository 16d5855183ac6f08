"""Text similarity for freshness and beat tagging: TF-IDF over lightly stemmed words and word pairs.

The weighting is scikit-learn's `TfidfVectorizer(sublinear_tf=True)` (smoothed idf, rows scaled to unit
length; `tests/test_similarity.py` holds the two equal), written out over SciPy's sparse matrices:
importing scikit-learn cost every batch command 1.5 s of its start, for these few lines.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import numpy as np
from scipy.sparse import csr_matrix, diags

from planner.stop_words import ENGLISH_STOP_WORDS

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_SUFFIXES = ("ingly", "edly", "ings", "ing", "ied", "ies", "ed", "es", "ly", "s")


@lru_cache(maxsize=1 << 16)
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


def terms(text: str) -> Counter[str]:
    """A text's terms and how often each occurs: tokenise once, compare against many (`Vectors.of_terms`)."""
    return Counter(tokens(text))


def similarity(left: Sequence[str], right: Sequence[str]) -> np.ndarray:
    """Cosine similarity (0..1) of every text in `left` to every text in `right`, shape (len(left), len(right)).
    For few texts on one side (a source against the beats); `Vectors` keeps many against many linear."""
    return Vectors.of(left, right).block(range(len(left)), range(len(right)))


ROWS_PER_CHUNK_CELLS = 2_000_000
"""A chunk of `nearest` holds at most this many similarities at once (16 MB), whatever the sizes."""


@dataclass(frozen=True)
class Vectors:
    """The TF-IDF rows of two lists of texts, weighted over both together, kept sparse: similarities are
    computed a few rows at a time, so memory grows with the number of texts, never with their product
    (10,000 angles against each other as one dense matrix were 800 MB)."""

    left: csr_matrix
    right: csr_matrix

    @classmethod
    def of(cls, left: Sequence[str], right: Sequence[str]) -> Vectors:
        return cls.of_terms([terms(text) for text in left], [terms(text) for text in right])

    @classmethod
    def of_terms(cls, left: Sequence[Counter[str]], right: Sequence[Counter[str]]) -> Vectors:
        """As `of`, from texts already counted with `terms`."""
        weights = _tf_idf([*left, *right])
        return cls(weights[: len(left)], weights[len(left) :])

    @classmethod
    def among(cls, texts: Sequence[str]) -> Vectors:
        """`texts` against themselves, weighted as `of(texts, texts)` weighs them (each text counted twice),
        tokenised once."""
        weights = _tf_idf([terms(text) for text in texts], copies=2)
        return cls(weights, weights)

    def block(self, rows: Iterable[int], columns: Iterable[int]) -> np.ndarray:
        """Similarities of the given left rows to the given right rows, dense (len(rows), len(columns))."""
        rows, columns = list(rows), list(columns)
        if not rows or not columns:
            return np.zeros((len(rows), len(columns)))
        return (self.left[rows] @ self.right[columns].T).toarray()

    def nearest(self) -> tuple[np.ndarray, np.ndarray]:
        """For each left row, its highest similarity to a right row and that row (the first, on a tie);
        computed in chunks of rows. Without right rows: zeros and -1."""
        count, others = self.left.shape[0], self.right.shape[0]
        best, where = np.zeros(count), np.full(count, -1, dtype=np.intp)
        if not others:
            return best, where
        step = max(1, ROWS_PER_CHUNK_CELLS // others)
        right_t = self.right.T.tocsc()
        for start in range(0, count, step):
            chunk = (self.left[start : start + step] @ right_t).toarray()
            where[start : start + step] = chunk.argmax(axis=1)
            best[start : start + step] = chunk.max(axis=1)
        return best, where


def _tf_idf(texts: Sequence[Counter[str]], *, copies: int = 1) -> csr_matrix:
    """One row per text: (1 + ln count) x idf per term, idf = ln((1 + texts) / (1 + texts with it)) + 1,
    each row scaled to unit length (a text with no terms stays zero). `copies`: weigh as if each text
    came that many times (the rows are the same; only the idf sees the copies)."""
    vocabulary: dict[str, int] = {}
    rows: list[int] = []
    columns: list[int] = []
    counts: list[int] = []
    for row, counted in enumerate(texts):
        rows += [row] * len(counted)
        columns += [vocabulary.setdefault(term, len(vocabulary)) for term in counted]
        counts += counted.values()
    shape = (len(texts), len(vocabulary))
    tf = csr_matrix((1 + np.log(np.asarray(counts, dtype=float)), (rows, columns)), shape=shape)
    with_term = copies * np.bincount(np.asarray(columns, dtype=np.intp), minlength=len(vocabulary))
    weighted = tf @ diags(np.log((1 + copies * len(texts)) / (1 + with_term)) + 1)
    lengths = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    return csr_matrix(diags(1 / np.where(lengths > 0, lengths, 1)) @ weighted)
