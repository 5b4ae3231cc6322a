"""The open-addressing (linear probing) table from n-gram keys to feature columns, two numpy arrays that forked
workers share page for page: built, probed for a whole batch at once, compacted, and checked before a featuriser
reads one."""

from __future__ import annotations

import numpy as np

from triage.scoring.keys import _MULTIPLIER

_EMPTY = np.uint64(0)  # marks a free slot; no term's key may be 0 (checked when building)


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


def _check_table(keys: np.ndarray, columns: np.ndarray, n_terms: int) -> None:
    """Refuse an n-gram table the featurisers could read out of bounds or loop on forever."""
    if keys.dtype != np.uint64 or columns.dtype != np.int32:
        raise ValueError(f"an n-gram table has dtypes {keys.dtype}/{columns.dtype}, expected uint64/int32")
    size = len(keys)
    if size != len(columns) or size < 2 or size & (size - 1) or not (keys == _EMPTY).any():
        raise ValueError("an n-gram table is malformed (size not a power of two, or no free slot)")
    if len(columns) and not -1 <= columns.min() <= columns.max() < n_terms:
        raise ValueError("an n-gram table points outside the vocabulary")
