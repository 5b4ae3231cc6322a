"""Serving a fitted :class:`~triage.estimator.TriageClassifier` with numpy alone.

Training needs scikit-learn; answering needs only the vocabularies, IDF weights, SVM weights
and the temperature. :class:`LinearScorer` holds exactly those as numpy arrays and reproduces
``TfidfVectorizer`` (word n-grams over :func:`triage.segmentation.segment`, character
n-grams, sublinear TF, L2 norm per block) followed by the calibrated SVM. Importing it pulls in
neither scikit-learn nor SciPy, which is most of triage's cold start and of each batch
worker's memory; its file is plain ``.npy`` arrays read with ``allow_pickle=False``, so loading
it runs no code from the file. ``tests/test_scoring.py`` checks it against ``predict_proba``.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from collections.abc import Sequence
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from triage.segmentation import segment

if TYPE_CHECKING:
    from triage.estimator import TriageClassifier

__all__ = ["LinearScorer", "SparseRow"]

_WHITE_SPACES = re.compile(r"\s\s+")  # what TfidfVectorizer's char analyzer collapses
_ARRAYS = ("classes", "word_terms", "char_terms", "idf", "weights", "intercept", "settings")

#: One message's features: column indices and TF-IDF values (the row of a CSR matrix).
SparseRow = tuple[np.ndarray, np.ndarray]


def _word_ngrams(tokens: list[str], low: int, high: int) -> list[str]:
    """Word n-grams exactly as scikit-learn forms them (space-joined)."""
    grams = list(tokens) if low == 1 else []
    for n in range(max(low, 2), min(high, len(tokens)) + 1):
        grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return grams


def _char_ngrams(text: str, low: int, high: int) -> list[str]:
    """Character n-grams exactly as scikit-learn's ``analyzer="char"`` forms them."""
    text = _WHITE_SPACES.sub(" ", text)
    grams: list[str] = []
    for n in range(low, min(high, len(text)) + 1):
        grams.extend(text[i : i + n] for i in range(len(text) - n + 1))
    return grams


def _split_terms(packed: np.ndarray) -> list[str]:
    text = packed.tobytes().decode("utf-8")
    return text.split("\n") if text else []


class LinearScorer:
    """Calibrated class probabilities of prepared texts, computed with numpy only.

    Built from a fitted estimator with :meth:`from_estimator`, written with :meth:`save` and
    read with :meth:`load`. Read-only after construction, so threads can share one instance.
    """

    def __init__(
        self,
        *,
        classes: np.ndarray,
        word_terms: list[str],
        char_terms: list[str],
        idf: np.ndarray,
        weights: np.ndarray,
        intercept: np.ndarray,
        word_ngram_range: tuple[int, int],
        char_ngram_range: tuple[int, int],
        sublinear_tf: bool,
        temperature: float,
    ) -> None:
        if weights.shape != (len(word_terms) + len(char_terms), len(classes)):
            raise ValueError(f"weights of shape {weights.shape} do not match the vocabularies and classes")
        self.classes = classes
        #: Feature names, words then characters, in column order (for explanations).
        self.terms = word_terms + char_terms
        self._word_index = {term: i for i, term in enumerate(word_terms)}
        offset = len(word_terms)
        self._char_index = {term: offset + i for i, term in enumerate(char_terms)}
        self.n_word_features = offset
        self.idf = idf
        self.weights = weights
        self.intercept = intercept
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.sublinear_tf = sublinear_tf
        self.temperature = temperature

    @classmethod
    def from_estimator(cls, estimator: TriageClassifier) -> LinearScorer:
        """The numpy form of a fitted :class:`~triage.estimator.TriageClassifier`."""
        vectorizers = dict(estimator.vectorizer_.transformer_list)
        words, chars = vectorizers["words"], vectorizers["chars"]
        coef = np.asarray(estimator.svm_.coef_, dtype=np.float32)
        intercept = np.asarray(estimator.svm_.intercept_, dtype=np.float32)
        if coef.shape[0] == 1:  # binary SVM: one signed score, split as in TriageClassifier
            coef = np.vstack([-coef / 2, coef / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2], dtype=np.float32)
        return cls(
            classes=np.asarray(estimator.classes_),
            word_terms=sorted(words.vocabulary_, key=words.vocabulary_.__getitem__),
            char_terms=sorted(chars.vocabulary_, key=chars.vocabulary_.__getitem__),
            idf=np.concatenate([words.idf_, chars.idf_]).astype(np.float32),
            weights=np.ascontiguousarray(coef.T),
            intercept=intercept,
            word_ngram_range=tuple(words.ngram_range),
            char_ngram_range=tuple(chars.ngram_range),
            sublinear_tf=bool(words.sublinear_tf),
            temperature=float(estimator.temperature_),
        )

    def save(self, path: str | Path) -> None:
        """Write the arrays as an uncompressed ``.npz`` (no pickled objects)."""
        n_words = self.n_word_features
        settings = np.array(
            [*self.word_ngram_range, *self.char_ngram_range, int(self.sublinear_tf), self.temperature],
            dtype=np.float64,
        )
        arrays = {
            "classes": np.array([str(c) for c in self.classes], dtype=np.str_),
            "word_terms": np.frombuffer("\n".join(self.terms[:n_words]).encode("utf-8"), dtype=np.uint8),
            "char_terms": np.frombuffer("\n".join(self.terms[n_words:]).encode("utf-8"), dtype=np.uint8),
            "idf": self.idf,
            "weights": self.weights,
            "intercept": self.intercept,
            "settings": settings,
        }
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> LinearScorer:
        """Read a file written by :meth:`save`; raises ``ValueError`` if it is not one."""
        try:
            with np.load(path, allow_pickle=False) as archive:
                missing = [name for name in _ARRAYS if name not in archive.files]
                if missing:
                    raise ValueError(f"{path} lacks the arrays {', '.join(missing)}")
                arrays = {name: archive[name] for name in _ARRAYS}
        except (OSError, zipfile.BadZipFile, EOFError) as error:
            raise ValueError(f"{path} is not a readable scorer file: {error}") from error
        word_low, word_high, char_low, char_high, sublinear, temperature = arrays["settings"].tolist()
        return cls(
            classes=arrays["classes"].astype(object),
            word_terms=_split_terms(arrays["word_terms"]),
            char_terms=_split_terms(arrays["char_terms"]),
            idf=arrays["idf"],
            weights=arrays["weights"],
            intercept=arrays["intercept"],
            word_ngram_range=(int(word_low), int(word_high)),
            char_ngram_range=(int(char_low), int(char_high)),
            sublinear_tf=bool(sublinear),
            temperature=float(temperature),
        )

    def _block(self, grams: list[str], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """Column indices and L2-normalised TF-IDF values of one vectorizer's n-grams."""
        counts = Counter(grams)
        columns = np.fromiter(map(index.get, counts, repeat(-1)), dtype=np.intp, count=len(counts))
        known = columns >= 0
        columns = columns[known]
        if not len(columns):
            return columns, np.zeros(0, dtype=np.float32)
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))[known]
        if self.sublinear_tf:
            tf = 1.0 + np.log(tf)
        values = tf * self.idf[columns]
        return columns, (values / np.sqrt(values @ values)).astype(np.float32)

    def features(self, text: str) -> SparseRow:
        """The TF-IDF row of one prepared text: word columns, then character columns."""
        word_columns, word_values = self._block(_word_ngrams(segment(text), *self.word_ngram_range), self._word_index)
        char_columns, char_values = self._block(_char_ngrams(text, *self.char_ngram_range), self._char_index)
        return np.concatenate([word_columns, char_columns]), np.concatenate([word_values, char_values])

    def proba(self, row: SparseRow) -> np.ndarray:
        """Calibrated probabilities of one feature row, in the order of ``classes``."""
        columns, values = row
        scores = values @ self.weights[columns] + self.intercept
        scaled = scores.astype(np.float64) / self.temperature
        scaled -= scaled.max()
        exp = np.exp(scaled)
        return exp / exp.sum()

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities of many prepared texts, one row each; identical texts are scored once."""
        rows: dict[str, np.ndarray] = {}
        for text in texts:
            if text not in rows:
                rows[text] = self.proba(self.features(text))
        return np.array([rows[text] for text in texts]).reshape(len(texts), len(self.classes))

    def contributions(self, row: SparseRow, class_index: int) -> list[tuple[str, str, float]]:
        """``(kind, term, contribution)`` of one row's terms that push it towards ``class_index``,
        largest first; ``kind`` is ``"words"`` or ``"chars"``."""
        columns, values = row
        contribution = values * self.weights[columns, class_index]
        order = np.argsort(-contribution, kind="stable")
        return [
            ("words" if columns[i] < self.n_word_features else "chars", self.terms[columns[i]], float(contribution[i]))
            for i in order
            if contribution[i] > 0
        ]
