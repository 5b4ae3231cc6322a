"""The scorer file's layouts: the arrays each holds, its size limit, and how layout 2 stores a table (a bitmap of
filled slots, each key's distance from its home slot and its other bits) and the weights (int8 levels)."""

from __future__ import annotations

from typing import Any

import numpy as np

from triage.scoring.keys import _MULTIPLIER
from triage.scoring.tables import _EMPTY, _home_slots

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
