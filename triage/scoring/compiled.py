"""What the compiled featuriser (``triage._featurize``) reads besides the tables: whether it was built
(:data:`FEATURIZER`), each table's slot directory and key filter, and the column of each character of the Basic
Multilingual Plane."""

from __future__ import annotations

import numpy as np

from triage.scoring.keys import _fold
from triage.scoring.tables import _EMPTY, _look_up

try:
    from triage import _featurize
except ImportError:  # installed without a C compiler: the numpy path gives the same features, slower
    _featurize = None  # type: ignore[assignment]  # every use checks for None first


#: Which implementation computes features: ``"compiled"`` (``triage._featurize``) or ``"numpy"``.
FEATURIZER = "numpy" if _featurize is None else "compiled"
#: Characters below this code point (the Basic Multilingual Plane) have their column looked up once, at load.
_DIRECT_CHARACTERS = 1 << 16


def _compiled_columns(table: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """What the compiled featuriser reads a table's columns from: the columns themselves, or, when they
    run in slot order (every loaded table: :func:`~triage.scoring.layout._table_from_parts`), a directory
    of every 64 slots (a bitmap of the filled ones, then the column of the first), 128 kB for 512k slots
    instead of 2 MB."""
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
