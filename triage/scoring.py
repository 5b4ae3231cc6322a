"""Serving a fitted :class:`~triage.estimator.TriageClassifier` with numpy alone.

Training needs scikit-learn; answering needs only the vocabularies, IDF weights, SVM weights
and the temperature. :class:`LinearScorer` holds exactly those as numpy arrays and reproduces
``TfidfVectorizer`` (word n-grams over :func:`triage.segmentation.segment`, character n-grams,
sublinear TF, L2 norm per block) followed by the calibrated SVM (``tests/test_scoring.py``
checks it against ``predict_proba``). It serves no other settings: :mod:`triage.scorer_contract`
refuses an estimator fitted with any at conversion, and a scorer saved beside its estimator must
first answer probe texts as the estimator does. :meth:`LinearScorer.predict_proba` takes raw
messages, as the estimator does; the methods named ``..._prepared`` take prepared ones.

Why not call the estimator:

- importing scikit-learn and SciPy is most of a cold start (about 1.2 s of 2.4 s measured) and
  about 180 MB in every batch worker;
- a vocabulary held as a Python ``dict`` costs a cache miss or three per n-gram looked up and
  about 100 bytes per term in every process. Here every n-gram becomes a 64-bit key computed
  with vectorised integer arithmetic over a whole batch (code points for characters,
  per-token keys for words), looked up in an open-addressing table of two numpy arrays, which
  forked workers share page for page;
- the file is plain ``.npy`` arrays read with ``allow_pickle=False``: loading it runs no code.

What is saved is the scorer's compact form (:meth:`LinearScorer.compacted`, file layout 2): weights
quantised to int8 with one scale per class, features whose quantised weights are all zero left
out, features numbered in the order of their hash-table slots (so the file holds each table as a
bitmap of filled slots and the keys in slot order, not as two arrays with a free half), all of it
deflated. A key's top bits name its home slot, so for each key the file keeps only its distance
from home and its other bits, byte by byte (:func:`_table_parts`). Scorers written before
(layout 1: float32 weights and both tables, uncompressed) still load as they were.

The per-text work (keys, lookups, counting, weighting) runs in the compiled extension
``triage._featurize`` when it was built at install, else in the numpy functions below; both give
the same features (``tests/test_featurize.py``). :data:`FEATURIZER` says which one runs. Where
:func:`~triage.segmentation.segment` runs on the compiled segmenter too, the featuriser cuts the
texts itself and reads each token as offsets into its text: no list of str per text, a fifth of
the two steps' time on teddy2020c votes (``tests/test_featurize_fused.py`` checks the features are
the same).
"""

from __future__ import annotations

import io
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from triage.archives import NpzMember, npz_members, read_regular_file
from triage.exceptions import ModelIntegrityError
from triage.hashing import code_points, mix64
from triage.segmentation import compiled_segmenter, segment
from triage.text import prepared_texts

if TYPE_CHECKING:
    from triage.estimator import TriageClassifier

try:
    from triage import _featurize
except ImportError:  # installed without a C compiler: the numpy path gives the same features, slower
    _featurize = None  # type: ignore[assignment]  # every use checks for None first

__all__ = ["FEATURIZER", "FeatureRows", "LinearScorer", "TermStrings"]

#: Which implementation computes features: ``"compiled"`` (``triage._featurize``) or ``"numpy"``.
FEATURIZER = "numpy" if _featurize is None else "compiled"

_WHITE_SPACES = re.compile(r"\s\s+")  # what TfidfVectorizer's char analyzer collapses
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplication permutes 64-bit integers
_TOKEN_SEED = np.uint64(0x5BD1E9955BD1E995)
_EMPTY = np.uint64(0)  # marks a free slot; no term's key may be 0 (checked when building)
_INVERSE = np.uint64(pow(int(_MULTIPLIER), -1, 1 << 64))  # undoes multiplying by _MULTIPLIER
# The arrays of each file layout: 1, float32 weights and both tables as they are (read only);
# 2, what save writes (see the module docstring).
_LAYOUTS = {
    1: (
        "classes",
        "terms",
        "term_offsets",
        "word_slots",
        "word_columns",
        "char_slots",
        "char_columns",
        "idf",
        "weights",
        "intercept",
        "settings",
    ),
    2: (
        "layout",
        "classes",
        "terms",
        "term_lengths",
        "word_filled",
        "word_displacements",
        "word_key_bytes",
        "char_filled",
        "char_displacements",
        "char_key_bytes",
        "idf",
        "weights",
        "weight_scales",
        "intercept",
        "settings",
    ),
}
_ALL_ARRAYS = frozenset(name for names in _LAYOUTS.values() for name in names)
# The arrays of the terms' strings, which only explanations read: expanded on first use (TermStrings)
_TERM_ARRAYS = frozenset({"terms", "term_offsets", "term_lengths"})
#: Most bytes a scorer file may hold, and expand to (the default model's expands to about 20 MB).
MAX_SCORER_BYTES = 512 << 20
# int8 weights run from -127 to 127 times their class's scale. Measured on the default model: 2 of
# 149 real test messages (near ties, below the review threshold) change department, none of 495
# others; int16 levels of half the step change none but make the model directory 8.0 MB, not 6.6.
_QUANTISED_LEVELS = 127
_CHUNK_DOCUMENTS = 256  # bounds the temporary arrays of one scoring step
_LEVEL_BLOCK = 1 << 15  # terms whose int8 levels are checked at once when a compact scorer loads
#: Characters below this code point (the Basic Multilingual Plane) have their column looked up once, at load.
_DIRECT_CHARACTERS = 1 << 16
#: Longest n-gram a scorer accepts (TfidfVectorizer's are a few units long).
MAX_NGRAM = 32


def int8_scales(weights: np.ndarray) -> np.ndarray:
    """One float32 scale per class (row of ``weights``): its largest weight magnitude is 127 steps."""
    magnitude = np.abs(weights).max(axis=1)
    return np.where(magnitude > 0, magnitude / _QUANTISED_LEVELS, 1.0).astype(np.float32)


def int8_levels(weights: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """``weights`` (classes by terms, or a subset of their columns) as int8 multiples of ``scales``."""
    return np.rint(weights / scales[:, None]).astype(np.int8)


def _fold(units: np.ndarray, seed: np.uint64) -> np.ndarray:
    """One 64-bit key per row of ``units`` (shape ``(m, n)``).

    A polynomial rolling hash, finished with splitmix64's mixer: without it, word n-gram keys
    built from token keys would again be a polynomial in the code points, and ``04 28`` and
    ``06 08`` would share a key.
    """
    keys = np.full(units.shape[0], seed, dtype=np.uint64)
    for column in range(units.shape[1]):
        keys = keys * _MULTIPLIER + units[:, column]
    return mix64(keys)


def _lengths(items: Sequence[Sequence[Any]]) -> np.ndarray:
    return np.fromiter(map(len, items), dtype=np.intp, count=len(items))


def _fold_runs(units: np.ndarray, lengths: np.ndarray, seed: np.uint64 | None = None) -> np.ndarray:
    """One key per consecutive run of ``units`` (run ``i`` is ``lengths[i]`` long), vectorised by
    grouping runs of equal length; ``seed=None`` seeds each run with its length, as n-gram keys are."""
    starts = np.cumsum(lengths) - lengths
    keys = np.empty(len(lengths), dtype=np.uint64)
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        keys[rows] = _fold(units[starts[rows, None] + np.arange(length)], np.uint64(length) if seed is None else seed)
    return keys


def _token_keys(tokens: Sequence[str]) -> np.ndarray:
    """A key per token, from its code points."""
    return _fold_runs(code_points("".join(tokens)), _lengths(tokens), _TOKEN_SEED)


def _ngram_keys(units: np.ndarray, owner: np.ndarray, low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    """Keys of all n-grams (``low <= n <= high``) of ``units`` that stay within one document.

    ``owner`` gives each unit's document and never decreases, so an n-gram lies in one
    document exactly when its first and last units have the same owner.
    """
    keys, documents = [], []
    for n in range(low, high + 1):
        if len(units) < n:
            break
        inside = owner[: len(units) - n + 1] == owner[n - 1 :]
        keys.append(_fold(sliding_window_view(units, n)[inside], np.uint64(n)))
        documents.append(owner[: len(units) - n + 1][inside])
    if not keys:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.intp)
    return np.concatenate(keys), np.concatenate(documents)


def _word_term_keys(terms: Sequence[str]) -> np.ndarray:
    """Keys of vocabulary word n-grams (tokens joined by spaces), as :func:`_ngram_keys` makes them."""
    split = [term.split(" ") for term in terms]
    return _fold_runs(_token_keys(list(chain.from_iterable(split))), _lengths(split))


def _char_term_keys(terms: Sequence[str]) -> np.ndarray:
    """Keys of vocabulary character n-grams, as :func:`_ngram_keys` makes them."""
    return _fold_runs(code_points("".join(terms)), _lengths(terms))


def _home_slots(keys: np.ndarray, size: int) -> np.ndarray:
    return ((keys * _MULTIPLIER) >> np.uint64(64 - size.bit_length() + 1)).astype(np.intp)


def _build_table(keys: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An open-addressing (linear probing) table holding ``columns`` under ``keys``.

    Filled in rounds: every key still unplaced tries its current slot, one key per free slot
    wins, the others move one slot on. A key therefore sits after an unbroken run of filled
    slots starting at its home slot, which is all :func:`_look_up` relies on.
    """
    if len(np.unique(keys)) != len(keys) or (keys == _EMPTY).any():
        raise ValueError("two vocabulary terms share a 64-bit key; this model cannot be served by LinearScorer")
    size = 1 << max(4, int(2 * len(keys)).bit_length())  # load factor at most 1/2
    slots_keys = np.zeros(size, dtype=np.uint64)
    slots_columns = np.full(size, -1, dtype=np.int32)
    pending = np.arange(len(keys))
    position = _home_slots(keys, size)
    while len(pending):
        free = slots_keys[position] == _EMPTY
        _, first = np.unique(position[free], return_index=True)
        winners = np.flatnonzero(free)[first]
        slots_keys[position[winners]] = keys[pending[winners]]
        slots_columns[position[winners]] = columns[pending[winners]]
        placed = np.zeros(len(pending), dtype=bool)
        placed[winners] = True
        pending, position = pending[~placed], (position[~placed] + 1) & (size - 1)
    return slots_keys, slots_columns


def _look_up(slots_keys: np.ndarray, slots_columns: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Column of each key in the table (-1 where absent), probing all keys at once."""
    size = len(slots_keys)
    found = np.full(len(keys), -1, dtype=np.intp)
    pending = np.arange(len(keys))
    position = _home_slots(keys, size)
    while len(pending):
        stored = slots_keys[position]
        hit = stored == keys[pending]
        found[pending[hit]] = slots_columns[position[hit]]
        going_on = ~hit & (stored != _EMPTY)
        pending, position = pending[going_on], (position[going_on] + 1) & (size - 1)
    return found


def _compact_table(
    table: tuple[np.ndarray, np.ndarray], carrying: np.ndarray, first_column: int
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """A new table of the terms of ``table`` whose columns are ``carrying``, numbered from
    ``first_column`` on in slot order; returns their old columns in that order, and the table."""
    keys, columns = table
    kept = columns >= 0
    kept[kept] = carrying[columns[kept]]
    old_columns = columns[kept]
    slots_keys, positions = _build_table(keys[kept], np.arange(len(old_columns)))
    filled = positions >= 0
    slots_columns = np.full(len(slots_keys), -1, dtype=np.int32)
    slots_columns[filled] = first_column + np.arange(int(filled.sum()), dtype=np.int32)
    return old_columns[positions[filled]], (slots_keys, slots_columns)


def _table_parts(table: tuple[np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
    """What layout 2 stores of a table whose columns run in slot order: a bitmap of filled slots and,
    per filled slot, how far its key sits from its home slot and the key's bits below those naming
    the home (``_home_slots``: the top bits of key times _MULTIPLIER), as little-endian byte planes.
    Home bits and the zero bytes above the rest then cost nothing once deflated."""
    keys = table[0]
    size, home_bits = len(keys), len(keys).bit_length() - 1
    slots = np.flatnonzero(keys != _EMPTY)
    mixed = keys[slots] * _MULTIPLIER
    displacements = (slots - _home_slots(keys[slots], size)) & (size - 1)
    rest = mixed & np.uint64((1 << (64 - home_bits)) - 1)
    return {
        "filled": np.packbits(keys != _EMPTY),
        "displacements": displacements.astype(np.min_scalar_type(size - 1)),
        "key_bytes": rest.astype("<u8").view(np.uint8).reshape(-1, 8).T.copy(),
    }


def _table_from_parts(
    filled_bits: np.ndarray, displacements: np.ndarray, key_bytes: np.ndarray, first_column: int, source: str
) -> tuple[np.ndarray, np.ndarray]:
    """The table :func:`_table_parts` stored (columns numbered from ``first_column`` on in slot order)."""
    if filled_bits.dtype != np.uint8 or filled_bits.ndim != 1 or displacements.dtype.kind != "u":
        raise ValueError(f"{source} has an n-gram table of dtypes {filled_bits.dtype}/{displacements.dtype}")
    filled = np.unpackbits(filled_bits).astype(bool)
    slots = np.flatnonzero(filled)
    if key_bytes.dtype != np.uint8 or key_bytes.shape != (8, len(slots)) or displacements.shape != slots.shape:
        raise ValueError(f"{source} has an n-gram table whose bitmap and keys disagree")
    size, home_bits = len(filled), len(filled).bit_length() - 1
    home = ((slots - displacements.astype(np.intp)) & (size - 1)).astype(np.uint64)
    rest = np.ascontiguousarray(key_bytes.T).view("<u8").ravel().astype(np.uint64)
    keys = ((home << np.uint64(64 - home_bits)) | rest) * _INVERSE
    if (keys == _EMPTY).any():
        raise ValueError(f"{source} has an n-gram table holding the empty key")
    slots_keys = np.zeros(size, dtype=np.uint64)
    slots_keys[slots] = keys
    slots_columns = np.full(size, -1, dtype=np.int32)
    slots_columns[slots] = first_column + np.arange(len(slots), dtype=np.int32)
    return slots_keys, slots_columns


def _expand_layout_2(arrays: dict[str, np.ndarray], source: str) -> dict[str, Any]:
    """The constructor arguments layout 2 stores compactly: the tables, and the weights as the file
    holds them, int8 levels of their scales (making float32 weights of them and checking them back
    against the scales took a third of a load)."""
    levels, scales = arrays["weights"], arrays["weight_scales"]
    if levels.dtype != np.int8 or levels.ndim != 2 or scales.dtype != np.float32 or scales.shape != levels.shape[:1]:
        raise ValueError(
            f"{source} has weights of dtype {levels.dtype} and scales of shape {scales.shape}, "
            "expected int8 levels with one float32 scale per class"
        )
    if not (np.isfinite(scales) & (scales > 0)).all():
        raise ValueError(f"{source} has weight scales that are NaN or infinite or not positive")
    word_table = _table_from_parts(
        arrays["word_filled"], arrays["word_displacements"], arrays["word_key_bytes"], 0, source
    )
    n_words = int((word_table[1] >= 0).sum())
    return {
        "word_table": word_table,
        "char_table": _table_from_parts(
            arrays["char_filled"], arrays["char_displacements"], arrays["char_key_bytes"], n_words, source
        ),
        "weights": levels,
        "weight_scales": scales,
    }


def _term_offsets(lengths: np.ndarray) -> np.ndarray:
    """Where each term's bytes start, from the terms' lengths, and where the last ends (int64)."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def _check_terms(data: np.ndarray, offsets: np.ndarray, count: int) -> None:
    if (
        data.dtype != np.uint8
        or data.ndim != 1
        or offsets.dtype.kind not in "iu"
        or offsets.shape != (count + 1,)
        or offsets[0] != 0
        or offsets[-1] != len(data)
        or (np.diff(offsets) < 0).any()
    ):
        raise ValueError("the terms and their offsets do not match")


class TermStrings:
    """The n-gram behind each feature column: the terms' UTF-8 bytes one after another (uint8) and
    where each starts (one offset more than there are terms).

    A scorer read from a file holds them unexpanded (:meth:`deferred`) and expands and checks them on
    first use: only explanations name terms, and expanding the default model's (4 MB) took a fifth
    of a load. Threads that first use them at once expand them once.
    """

    def __init__(self, count: int, expand: Callable[[], tuple[np.ndarray, np.ndarray]]) -> None:
        """``count`` terms, which ``expand`` reads and checks (a ``ValueError`` naming the file if not)."""
        self.count = count
        self._expand: Callable[[], tuple[np.ndarray, np.ndarray]] | None = expand
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None
        self._lock = threading.Lock()

    @classmethod
    def given(cls, data: np.ndarray, offsets: np.ndarray) -> TermStrings:
        """Terms already expanded, checked now (``ValueError`` when the offsets do not fit the bytes)."""
        if offsets.ndim != 1 or not len(offsets):
            raise ValueError("the terms and their offsets do not match")
        _check_terms(data, offsets, len(offsets) - 1)
        return cls(len(offsets) - 1, lambda: (data, offsets))

    @classmethod
    def encoded(cls, terms: Sequence[str]) -> TermStrings:
        """``terms``, column by column, as UTF-8 bytes one after another."""
        encoded = [term.encode("utf-8") for term in terms]
        offsets = _term_offsets(np.array([len(term) for term in encoded], dtype=np.int64))
        return cls.given(np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets)

    @classmethod
    def deferred(cls, members: dict[str, NpzMember], source: str) -> TermStrings:
        """The terms of a scorer file (``terms`` with ``term_lengths``, or in layout 1 ``term_offsets``),
        their headers checked now, their content on first use."""
        terms = members["terms"]
        if terms.dtype != np.uint8 or len(terms.shape) != 1:
            raise ValueError(f"{source} has terms of dtype {terms.dtype} and shape {terms.shape}, expected uint8 bytes")
        lengths = "term_lengths" in members
        counted = members["term_lengths" if lengths else "term_offsets"]
        if counted.dtype.kind not in "iu" or len(counted.shape) != 1 or not counted.shape[0]:
            raise ValueError(f"{source} has term lengths or offsets of dtype {counted.dtype}, expected integers")
        count = counted.shape[0] if lengths else counted.shape[0] - 1

        def expand() -> tuple[np.ndarray, np.ndarray]:
            data, offsets = terms.read(), _term_offsets(counted.read()) if lengths else counted.read()
            try:
                _check_terms(data, offsets, count)
            except ValueError as error:
                raise ValueError(f"{source}: {error}") from None
            return data, offsets

        return cls(count, expand)

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The terms' bytes and offsets, expanded and checked on the first call
        (:class:`~triage.exceptions.ModelIntegrityError` when the file's are damaged)."""
        arrays = self._arrays
        if arrays is None:
            with self._lock:
                if self._arrays is None:
                    assert self._expand is not None  # dropped only once the arrays are set
                    try:
                        data, offsets = self._expand()
                    except ValueError as error:
                        raise ModelIntegrityError(f"{error}; re-save or retrain the model") from None
                    self._arrays, self._expand = (data, offsets), None  # the unexpanded bytes are freed
                arrays = self._arrays
        return arrays

    def term(self, column: int) -> str:
        """The n-gram behind feature column ``column``."""
        data, offsets = self.arrays
        return data[offsets[column] : offsets[column + 1]].tobytes().decode("utf-8")

    def __reduce__(self) -> tuple[Any, ...]:
        return (TermStrings.given, self.arrays)  # expanded: a lock and the reader do not pickle


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


def _check_table(keys: np.ndarray, columns: np.ndarray, n_terms: int) -> None:
    """Refuse an n-gram table the featurisers could read out of bounds or loop on forever."""
    if keys.dtype != np.uint64 or columns.dtype != np.int32:
        raise ValueError(f"an n-gram table has dtypes {keys.dtype}/{columns.dtype}, expected uint64/int32")
    size = len(keys)
    if size != len(columns) or size < 2 or size & (size - 1) or not (keys == _EMPTY).any():
        raise ValueError("an n-gram table is malformed (size not a power of two, or no free slot)")
    if len(columns) and not -1 <= columns.min() <= columns.max() < n_terms:
        raise ValueError("an n-gram table points outside the vocabulary")


def _term_levels(weights: np.ndarray, scales: np.ndarray | None) -> np.ndarray | None:
    """``weights`` (classes by terms) as int8 levels of ``scales``, term by term, for the compiled
    scorer; ``None`` unless every weight is exactly its level times its class's scale. Checked a
    block of terms at a time, so loading holds no float32 temporaries the size of the weights."""
    if scales is None:
        return None
    levels = np.empty(weights.shape[::-1], dtype=np.int8)
    for start in range(0, weights.shape[1], _LEVEL_BLOCK):
        block = weights[:, start : start + _LEVEL_BLOCK]
        block_levels = int8_levels(block, scales)
        if not np.array_equal(block_levels * scales[:, None], block):
            return None
        levels[start : start + block.shape[1]] = block_levels.T
    return levels


def _compiled_columns(table: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """What the compiled featuriser reads a table's columns from: the columns themselves, or, when they
    run in slot order (every loaded table: :func:`_table_from_parts`), a directory of every 64 slots (a
    bitmap of the filled ones, then the column of the first), 128 kB for 512k slots instead of 2 MB."""
    keys, columns = table
    filled = keys != _EMPTY
    in_order = columns[filled]
    if len(keys) % 64 or not len(in_order) or (np.diff(in_order) != 1).any():
        return columns
    bits = np.packbits(filled, bitorder="little").view("<u8")
    before = np.concatenate([[0], np.cumsum(filled.reshape(-1, 64).sum(axis=1))[:-1]])
    first_columns = (int(in_order[0]) + before).astype(np.uint64)
    return np.ascontiguousarray(np.stack([bits, first_columns], axis=1))


def _key_filter(keys: np.ndarray) -> np.ndarray:
    """The compiled featuriser's key filter of a table: bit ``key & (bits - 1)`` set for each key it holds,
    2 bits per slot (128 kB for 512k slots, which stays in cache): with a table a third full, about one
    n-gram in six that the table lacks still gets probed, and those a vote mostly lacks (word bigrams,
    character trigrams) are found absent without reading megabytes of keys at random."""
    n_bytes = max(1, len(keys) // 4)
    bitmap = np.zeros(n_bytes * 8, dtype=bool)
    bitmap[(keys[keys != _EMPTY] & np.uint64(n_bytes * 8 - 1)).astype(np.intp)] = True
    return np.packbits(bitmap, bitorder="little")


def _character_columns(char_table: tuple[np.ndarray, np.ndarray], char_ngram_range: tuple[int, int]) -> np.ndarray:
    """The column of each character of the Basic Multilingual Plane (-1: none), as the table holds it.

    The compiled featuriser reads a text's single characters here (256 kB, in cache) instead of
    probing the table (megabytes) for a third of a message's character n-grams; empty when it cannot.
    """
    if char_ngram_range[0] != 1 or _featurize is None:
        return np.zeros(0, dtype=np.int32)
    characters = _fold(np.arange(_DIRECT_CHARACTERS, dtype=np.uint64)[:, None], np.uint64(1))
    return _look_up(*char_table, characters).astype(np.int32)


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
