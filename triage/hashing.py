"""Stable 64-bit hashing with numpy, shared by the scorer's n-gram keys and near-duplicate sketches.

Python's ``hash`` changes from process to process; these functions give the same integers on
every machine and run, vectorised over whole arrays.
"""

from __future__ import annotations

import numpy as np

__all__ = ["code_points", "mix64"]


def mix64(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser of uint64 ``values``: every input bit moves about half the output bits."""
    values = values ^ (values >> np.uint64(30))
    values = values * np.uint64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> np.uint64(27))
    values = values * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def code_points(text: str) -> np.ndarray:
    """The code points of ``text`` as uint64 (lone surrogates kept, not an error)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
