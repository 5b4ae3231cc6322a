"""The n-gram behind each feature column (:class:`TermStrings`): the terms' UTF-8 bytes and their offsets, which a
scorer read from a file expands on first use."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from triage.archives import NpzMember
from triage.exceptions import ModelIntegrityError


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
