"""N-gram keys: every token and n-gram as a 64-bit key, computed with vectorised integer arithmetic over a
whole batch (code points for characters, per-token keys for words), and a vocabulary's terms keyed the same way."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from triage.hashing import code_points, mix64

_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplication permutes 64-bit integers
_TOKEN_SEED = np.uint64(0x5BD1E9955BD1E995)


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
