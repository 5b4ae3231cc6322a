"""The scorer, :class:`LinearScorer`: TF-IDF features (:class:`FeatureRows`) and calibrated probabilities of
texts, built from an estimator, saved and loaded; and :func:`softmax`."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from triage.archives import npz_members, read_regular_file
from triage.hashing import code_points
from triage.scoring.compiled import _character_columns, _compiled_columns, _featurize, _key_filter
from triage.scoring.keys import _char_term_keys, _ngram_keys, _token_keys, _word_term_keys
from triage.scoring.layout import _ALL_ARRAYS, _LAYOUTS, _TERM_ARRAYS, MAX_SCORER_BYTES, _expand_layout_2, _table_parts
from triage.scoring.levels import _term_levels, int8_levels, int8_scales
from triage.scoring.tables import _build_table, _check_table, _compact_table, _look_up
from triage.scoring.terms import TermStrings
from triage.segmentation import compiled_segmenter, segment
from triage.text import prepared_texts

if TYPE_CHECKING:
    from triage.estimator import TriageClassifier


_WHITE_SPACES = re.compile(r"\s\s+")  # what TfidfVectorizer's char analyzer collapses
_CHUNK_DOCUMENTS = 256  # bounds the temporary arrays of one scoring step
#: Longest n-gram a scorer accepts (TfidfVectorizer's are a few units long).
MAX_NGRAM = 32


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax (numpy only: serving imports no SciPy)."""
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class FeatureRows:
    """TF-IDF features of several documents in CSR layout: row ``i`` is
    ``columns[offsets[i]:offsets[i + 1]]`` with ``values`` alongside; :attr:`tokens` are the
    documents' segments, which another scorer of the same texts can reuse (segmenting is the costly
    part): ``known_tokens`` when the featuriser had them, else segmented from ``texts`` on first use."""

    offsets: np.ndarray
    columns: np.ndarray
    values: np.ndarray
    texts: list[str]
    known_tokens: list[list[str]] | None = None

    @cached_property
    def tokens(self) -> list[list[str]]:
        """The documents' segments (:func:`~triage.segmentation.segment` of each text)."""
        if self.known_tokens is not None:
            return self.known_tokens
        return [segment(text) for text in self.texts]

    def row(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        start, end = self.offsets[index], self.offsets[index + 1]
        return self.columns[start:end], self.values[start:end]


class LinearScorer:
    """Calibrated class probabilities of prepared texts, computed with numpy only.

    Built from a fitted estimator with :meth:`from_estimator`, written with :meth:`save` and
    read with :meth:`load`. Read-only after construction, so threads can share one instance.
    ``weights`` (classes by terms) are float32, or, with ``weight_scales``, the int8 levels of
    those scales that a compact scorer's file holds (each weight is its level times its class's scale).
    """

    def __init__(
        self,
        *,
        classes: np.ndarray,
        terms: np.ndarray | TermStrings,
        term_offsets: np.ndarray | None = None,
        word_table: tuple[np.ndarray, np.ndarray],
        char_table: tuple[np.ndarray, np.ndarray],
        idf: np.ndarray,
        weights: np.ndarray,
        intercept: np.ndarray,
        word_ngram_range: tuple[int, int],
        char_ngram_range: tuple[int, int],
        sublinear_tf: bool,
        temperature: float,
        weight_scales: np.ndarray | None = None,
    ) -> None:
        if isinstance(terms, TermStrings):
            strings = terms
        elif term_offsets is None:
            raise ValueError("terms given as bytes need their term_offsets")
        else:
            strings = TermStrings.given(terms, term_offsets)
        if weights.shape != (len(classes), strings.count) or idf.shape != (weights.shape[1],):
            raise ValueError(f"weights of shape {weights.shape} do not match the vocabulary and classes")
        if intercept.shape != (len(classes),):
            raise ValueError(f"intercept of shape {intercept.shape} does not match {len(classes)} classes")
        given_levels = weights.dtype == np.int8
        for name, array in (("idf", idf), ("weights", weights), ("intercept", intercept)):
            if name == "weights" and given_levels:
                continue  # int8 levels hold no NaN; their scales are checked below
            if array.dtype != np.float32:
                raise ValueError(f"{name} has dtype {array.dtype}, expected float32")
            if not np.isfinite(array).all():
                raise ValueError(f"{name} holds NaN or infinite values")
        if weight_scales is not None and (
            weight_scales.shape != intercept.shape or not (np.isfinite(weight_scales) & (weight_scales > 0)).all()
        ):
            raise ValueError(
                f"weight scales must be {len(classes)} positive numbers (no NaN or infinite), one per class"
            )
        if given_levels and (weight_scales is None or weight_scales.dtype != np.float32):
            raise ValueError("int8 weights are levels of per-class scales: pass weight_scales as float32")
        for keys, columns in (word_table, char_table):
            _check_table(keys, columns, len(idf))
        for name, (low, high) in (("word", word_ngram_range), ("character", char_ngram_range)):
            if not 1 <= low <= high <= MAX_NGRAM:
                raise ValueError(f"{name} n-gram range ({low}, {high}) is not within 1 <= low <= high <= {MAX_NGRAM}")
        if not (math.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature {temperature} is not a positive number")
        self.classes = classes
        self._term_strings = strings
        # contiguous: the compiled featuriser reads these arrays as raw buffers
        self._word_table = (np.ascontiguousarray(word_table[0]), np.ascontiguousarray(word_table[1]))
        self._char_table = (np.ascontiguousarray(char_table[0]), np.ascontiguousarray(char_table[1]))
        self.n_word_features = int(word_table[1].max(initial=-1)) + 1
        self._char_unigrams = _character_columns(self._char_table, char_ngram_range)
        # what the compiled featuriser reads of each table: its keys, and its columns or their directory
        self._compiled_tables = (
            tuple((keys, _compiled_columns((keys, columns))) for keys, columns in (self._word_table, self._char_table))
            if _featurize is not None
            else ()
        )
        self._key_filters = tuple(_key_filter(keys) for keys, _ in self._compiled_tables)
        self.idf = np.ascontiguousarray(idf)
        # term by term: one row holds a term's weights for every class, so scoring a term reads one
        # cache line instead of one per class (the file keeps scikit-learn's classes-by-terms layout).
        # A compact scorer's are kept as int8 levels (7 MB for the default model, not 29: the compiled
        # scorer reads them at random); float32 weights are made from them when first asked for.
        if given_levels:
            self._term_levels: np.ndarray | None = np.ascontiguousarray(weights.T)
        else:
            self._term_levels = _term_levels(weights, weight_scales) if _featurize is not None else None
        if _featurize is None or self._term_levels is None:  # the numpy scorer reads float32 weights
            self.__dict__["_term_weights"] = (
                np.ascontiguousarray(weights.T) if self._term_levels is None else self._term_levels * weight_scales
            )
            self._term_levels = None
        self.intercept = np.ascontiguousarray(intercept)
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.sublinear_tf = sublinear_tf
        self.temperature = temperature
        #: Per-class scales when the weights are int8 levels times them (a compact scorer), else None.
        self.weight_scales = weight_scales

    @property
    def _terms(self) -> np.ndarray:
        return self._term_strings.arrays[0]

    @property
    def _term_offsets(self) -> np.ndarray:
        return self._term_strings.arrays[1]

    @property
    def weights(self) -> np.ndarray:
        """SVM weights, shape ``(classes, terms)`` (a view)."""
        return self._term_weights.T

    def _levels_in_use(self) -> np.ndarray | None:
        """The int8 levels term by term while the float32 weights have not been made: those are what
        :attr:`weights` shows (and what a caller may have edited through it); levels and weights give
        the same scores. ``None`` once the weights exist, or when there are no levels."""
        return None if "_term_weights" in self.__dict__ else self._term_levels

    @cached_property
    def _term_weights(self) -> np.ndarray:
        """float32 weights term by term, made from the int8 levels (set in ``__init__`` when there are none)."""
        levels, scales = self._term_levels, self.weight_scales
        assert levels is not None and scales is not None  # __init__ sets this attribute otherwise
        return np.ascontiguousarray(levels * scales)  # int8 times float32: the float32 products loading made

    @classmethod
    def from_estimator(cls, estimator: TriageClassifier) -> LinearScorer:
        """The numpy form of a fitted :class:`~triage.estimator.TriageClassifier`; raises
        :class:`~triage.exceptions.UnservableEstimatorError` naming any setting the scorer does not
        implement (:func:`triage.scorer_contract.check_servable`)."""
        from triage.scorer_contract import check_servable

        parts = check_servable(estimator)
        words, chars = parts.words, parts.chars
        word_terms = sorted(words.vocabulary_, key=words.vocabulary_.__getitem__)
        char_terms = sorted(chars.vocabulary_, key=chars.vocabulary_.__getitem__)
        n_words = len(word_terms)
        return cls(
            classes=np.asarray(estimator.classes_),
            terms=TermStrings.encoded(word_terms + char_terms),
            word_table=_build_table(_word_term_keys(word_terms), np.arange(n_words)),
            char_table=_build_table(_char_term_keys(char_terms), n_words + np.arange(len(char_terms))),
            idf=np.concatenate([words.idf_, chars.idf_]).astype(np.float32),
            weights=np.ascontiguousarray(parts.weights),
            intercept=parts.intercept,
            word_ngram_range=tuple(words.ngram_range),
            char_ngram_range=tuple(chars.ngram_range),
            sublinear_tf=bool(words.sublinear_tf),
            temperature=float(estimator.temperature_),
        )

    def compacted(self) -> LinearScorer:
        """This scorer as :meth:`save` writes it: weights quantised to int8 with one scale per class,
        features whose quantised weights are all zero left out, features renumbered in the order of
        their table slots. A compact scorer is its own compact form.

        Leaving features out changes the L2 norm of the texts holding them, so scores move slightly
        (measured on the default model: probabilities within 0.05, the same top department).
        """
        if self.weight_scales is not None:
            return self
        scales = int8_scales(self.weights)
        levels = int8_levels(self.weights, scales)
        carrying = np.asarray(levels.any(axis=0))
        word_columns, word_table = _compact_table(self._word_table, carrying, 0)
        char_columns, char_table = _compact_table(self._char_table, carrying, len(word_columns))
        columns = np.concatenate([word_columns, char_columns])
        return LinearScorer(
            classes=self.classes,
            terms=TermStrings.encoded([self.term(column) for column in columns]),
            word_table=word_table,
            char_table=char_table,
            idf=self.idf[columns],
            weights=np.ascontiguousarray(levels[:, columns] * scales[:, None], dtype=np.float32),
            intercept=self.intercept,
            word_ngram_range=self.word_ngram_range,
            char_ngram_range=self.char_ngram_range,
            sublinear_tf=self.sublinear_tf,
            temperature=self.temperature,
            weight_scales=scales,
        )

    def save(self, path: str | Path, *, estimator: TriageClassifier | None = None) -> None:
        """Write :meth:`compacted` as a deflated ``.npz`` (layout 2; no pickled objects).

        With ``estimator`` (the one this scorer was converted from), raises
        :class:`~triage.exceptions.ScorerMismatchError` and writes nothing unless the compact form
        answers the probe texts as the estimator does (:func:`triage.scorer_contract.check_agreement`).
        """
        data = self.to_bytes(estimator=estimator)
        with open(path, "wb") as handle:
            handle.write(data)

    def to_bytes(self, *, estimator: TriageClassifier | None = None) -> bytes:
        """The content :meth:`save` writes (what :meth:`from_bytes` reads back)."""
        compact = self.compacted()
        if estimator is not None:
            from triage.scorer_contract import check_agreement

            check_agreement(compact, estimator)
        settings = np.array(
            [*compact.word_ngram_range, *compact.char_ngram_range, int(compact.sublinear_tf), compact.temperature],
            dtype=np.float64,
        )
        scales = np.asarray(compact.weight_scales)  # compacted() always sets them
        levels = compact._levels_in_use()
        lengths = np.diff(compact._term_offsets)
        arrays: dict[str, Any] = {
            "layout": np.array(2, dtype=np.int64),
            "classes": np.array([str(c) for c in compact.classes], dtype=np.str_),
            "terms": compact._terms,
            "term_lengths": lengths.astype(np.uint8 if lengths.max(initial=0) < 256 else np.uint32),
            **{f"word_{name}": part for name, part in _table_parts(compact._word_table).items()},
            **{f"char_{name}": part for name, part in _table_parts(compact._char_table).items()},
            "idf": compact.idf,
            # classes by terms, in the terms-major memory order held (numpy writes it as Fortran order)
            "weights": np.rint(compact.weights / scales[:, None]).astype(np.int8) if levels is None else levels.T,
            "weight_scales": scales,
            "intercept": compact.intercept,
            "settings": settings,
        }
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def load(cls, path: str | Path) -> LinearScorer:
        """Read a file written by :meth:`save` (or by triage before file layout 2); raises
        ``ValueError`` if it is not one."""
        try:
            data = read_regular_file(path, max_bytes=MAX_SCORER_BYTES)
        except ValueError as error:
            raise ValueError(f"not a readable scorer file: {error}") from None
        return cls.from_bytes(data, source=str(path))

    @classmethod
    def from_bytes(cls, data: bytes, *, source: str) -> LinearScorer:
        """Read the content of a scorer file; ``source`` names it in errors. Every array's size is
        checked before it is expanded (:func:`triage.archives.npz_members`); the terms' strings are
        expanded when first named (:class:`TermStrings`)."""
        try:
            members = npz_members(data, _ALL_ARRAYS, max_bytes=MAX_SCORER_BYTES, source=source)
            term_members = {name: members.pop(name).detached() for name in sorted(_TERM_ARRAYS & members.keys())}
            arrays = {name: member.read() for name, member in members.items()}
        except ValueError as error:
            raise ValueError(f"not a readable scorer file: {error}") from None
        layout = 2 if "layout" in arrays else 1
        if layout == 2 and (
            arrays["layout"].shape != () or arrays["layout"].dtype.kind not in "iu" or arrays["layout"] != 2
        ):
            raise ValueError(f"{source} has an unknown scorer layout {arrays['layout']!r}; upgrade triage")
        present = arrays.keys() | term_members.keys()
        missing = [name for name in _LAYOUTS[layout] if name not in present]
        if missing:
            raise ValueError(f"{source} lacks the arrays {', '.join(missing)}")
        extra = sorted(present - set(_LAYOUTS[layout]))
        if extra:
            raise ValueError(f"{source} mixes arrays of two layouts: {', '.join(extra)}")
        if arrays["settings"].shape != (6,) or arrays["settings"].dtype != np.float64:
            raise ValueError(f"{source} has settings of shape {arrays['settings'].shape}, expected (6,) float64")
        if not np.isfinite(arrays["settings"][:5]).all():  # the temperature is checked with the weights
            raise ValueError(f"{source} has NaN or infinite n-gram ranges or sublinear flag in its settings")
        word_low, word_high, char_low, char_high, sublinear, temperature = arrays["settings"].tolist()
        common: dict[str, Any] = {
            "classes": arrays["classes"].astype(object),
            "terms": TermStrings.deferred(term_members, source),
            "idf": arrays["idf"],
            "intercept": arrays["intercept"],
            "word_ngram_range": (int(word_low), int(word_high)),
            "char_ngram_range": (int(char_low), int(char_high)),
            "sublinear_tf": bool(sublinear),
            "temperature": float(temperature),
        }
        if layout == 1:
            return cls(
                **common,
                word_table=(arrays["word_slots"], arrays["word_columns"]),
                char_table=(arrays["char_slots"], arrays["char_columns"]),
                weights=arrays["weights"],
            )
        return cls(**common, **_expand_layout_2(arrays, source))

    def term(self, column: int) -> str:
        """The n-gram behind a feature column (words are space-joined tokens)."""
        return self._term_strings.term(column)

    def _tfidf(
        self, columns: np.ndarray, documents: np.ndarray, n_documents: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Count each document's n-gram columns and weight them as TfidfVectorizer does, one L2
        norm per vectorizer block."""
        known = columns >= 0
        pairs, counts = np.unique(documents[known] * len(self.idf) + columns[known], return_counts=True)
        owner, column = np.divmod(pairs, len(self.idf))
        tf = 1.0 + np.log(counts) if self.sublinear_tf else counts.astype(np.float64)
        values = tf * self.idf[column]
        block = owner * 2 + (column >= self.n_word_features)
        norms = np.sqrt(np.bincount(block, weights=values * values, minlength=2 * n_documents))
        values = (values / norms[block]).astype(np.float32)
        offsets = np.searchsorted(owner, np.arange(n_documents + 1))
        return offsets, column, values

    def transform_prepared(
        self, texts: Sequence[str], tokens: list[list[str]] | None = None, *, keep_tokens: bool = False
    ) -> FeatureRows:
        """TF-IDF features of texts already through :func:`triage.text.prepare` (raw text here would
        skip the masking of personal data); ``tokens``, their segments if already known.

        Without ``tokens``, the compiled featuriser cuts the texts itself where it can, keeping no
        tokens (:attr:`FeatureRows.tokens` segments again when read): ``keep_tokens=True`` segments
        them once here, for a caller that will read them.
        """
        if not isinstance(texts, list):
            texts = list(texts)
        segmenter = compiled_segmenter() if tokens is None and not keep_tokens and _featurize is not None else None
        if segmenter is not None:
            offsets, columns, values = self._features_segmented(segmenter, texts)
            return FeatureRows(offsets=offsets, columns=columns, values=values, texts=texts)
        token_lists = [list(t) for t in tokens] if tokens is not None else [segment(text) for text in texts]
        if _featurize is None:
            offsets, columns, values = self._features_numpy(texts, token_lists)
        else:
            offsets, columns, values = self._features_compiled(texts, token_lists)
        return FeatureRows(offsets=offsets, columns=columns, values=values, texts=texts, known_tokens=token_lists)

    def _features_numpy(
        self, texts: list[str], token_lists: list[list[str]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Whole-batch array passes: all keys, then all lookups, then counting."""
        char_texts = [_WHITE_SPACES.sub(" ", text) for text in texts]
        n = len(char_texts)
        token_owner = np.repeat(np.arange(n), [len(t) for t in token_lists])
        tokens = list(chain.from_iterable(token_lists))
        word_keys, word_owner = _ngram_keys(_token_keys(tokens), token_owner, *self.word_ngram_range)
        char_owner = np.repeat(np.arange(n), [len(t) for t in char_texts])
        char_keys, char_doc = _ngram_keys(code_points("".join(char_texts)), char_owner, *self.char_ngram_range)
        columns = np.concatenate([_look_up(*self._word_table, word_keys), _look_up(*self._char_table, char_keys)])
        return self._tfidf(columns, np.concatenate([word_owner, char_doc]), n)

    def _features_compiled(
        self, texts: list[str], token_lists: list[list[str]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One pass per document in ``triage._featurize`` (the GIL released while it counts), which
        reads whitespace runs as one space as it reads the texts."""
        return self._feature_arrays(_featurize.tfidf_rows(texts, token_lists, *self._featurizer_arguments()))

    def _features_segmented(self, segmenter: object, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`_features_compiled` of the texts and their segments, the texts cut by ``segmenter``
        (the compiled one :func:`~triage.segmentation.segment` runs on) inside the featuriser."""
        return self._feature_arrays(_featurize.tfidf_rows_segmented(segmenter, texts, *self._featurizer_arguments()))

    def _featurizer_arguments(self) -> tuple[Any, ...]:
        """The scorer's part of the compiled featuriser's arguments: tables, IDF weights, settings."""
        return (
            *self._compiled_tables[0],
            *self._compiled_tables[1],
            self.idf,
            self.n_word_features,
            *self.word_ngram_range,
            *self.char_ngram_range,
            self.sublinear_tf,
            self._char_unigrams,
            *self._key_filters,
        )

    @staticmethod
    def _feature_arrays(raw: tuple[bytes, bytes, bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        offsets, columns, values = raw
        return (
            np.frombuffer(offsets, dtype=np.int64),
            np.frombuffer(columns, dtype=np.int64),
            np.frombuffer(values, dtype=np.float32),
        )

    def logits(self, rows: FeatureRows) -> np.ndarray:
        """SVM scores divided by the temperature: a softmax over any subset of the columns gives the
        calibrated probabilities renormalised to that subset, without underflow."""
        n = len(rows.offsets) - 1
        if _featurize is not None:
            levels = self._levels_in_use()
            weights: tuple[np.ndarray, ...]
            if levels is not None and self.weight_scales is not None:
                weights = (levels, self.intercept, self.weight_scales)
            else:
                weights = (self._term_weights, self.intercept)
            scores = _featurize.linear_scores(rows.offsets, rows.columns, rows.values, *weights)
            return np.frombuffer(scores, dtype=np.float64).reshape(n, len(self.classes)) / self.temperature
        scores = np.tile(self.intercept.astype(np.float64), (n, 1))
        present = np.flatnonzero(np.diff(rows.offsets) > 0)
        if len(present):
            # float64 products, as the compiled path sums them
            weighted = self._term_weights[rows.columns].astype(np.float64) * rows.values[:, None]
            scores[present] += np.add.reduceat(weighted, rows.offsets[present], axis=0)
        return scores / self.temperature

    def proba(self, rows: FeatureRows) -> np.ndarray:
        """Calibrated probabilities, one row per document, columns in the order of ``classes``."""
        return softmax(self.logits(rows))

    def score_prepared_chunks(
        self, texts: Sequence[str], *, keep_tokens: bool = False
    ) -> Iterator[tuple[int, FeatureRows, np.ndarray]]:
        """``(start, features, probabilities)`` of consecutive chunks of texts already through
        :func:`triage.text.prepare`, so temporary arrays stay bounded however many texts come in
        (for callers that prepare texts themselves, e.g. to score each distinct one once);
        ``keep_tokens`` as in :meth:`transform_prepared`."""
        for start in range(0, len(texts), _CHUNK_DOCUMENTS):
            rows = self.transform_prepared(texts[start : start + _CHUNK_DOCUMENTS], keep_tokens=keep_tokens)
            yield start, rows, self.proba(rows)

    def predict_proba(self, texts: Iterable[str]) -> np.ndarray:
        """Calibrated probabilities of raw messages, one row each, columns in the order of
        :attr:`classes`: each is prepared first (normalised, personal data masked, cut), as
        :meth:`TriageClassifier.predict_proba <triage.estimator.TriageClassifier.predict_proba>` does."""
        parts = [proba for _, _, proba in self.score_prepared_chunks(prepared_texts(texts))]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.classes)))

    def contributions(self, rows: FeatureRows, index: int, class_index: int) -> tuple[np.ndarray, np.ndarray]:
        """Columns of row ``index``'s terms that push it towards ``class_index``, with their
        contributions (value times weight), largest first. Name them with :meth:`term`."""
        columns, values = rows.row(index)
        levels = self._levels_in_use()
        if levels is None or self.weight_scales is None:
            weights = self.weights[class_index, columns]
        else:  # the weights' own float32 products, without making all of them (29 MB for the default model)
            weights = levels[columns, class_index].astype(np.float32) * self.weight_scales[class_index]
        contribution = values * weights
        positive = contribution > 0
        order = np.argsort(-contribution[positive], kind="stable")
        return columns[positive][order], contribution[positive][order]
