"""Arrow arrays of the batch tagger's added columns, built from Python values through numpy buffers.

``pyarrow.array`` on a Python list (or a numpy array) first asks pyarrow's pandas shim whether the
value is a pandas object, and that imports pandas: ~0.25-0.3 s of CPU in every Parquet run, spent
before the workers fork. Parquet to Parquet with workers needs no other conversion, so these
builders keep pandas out of the run. The added columns hold few distinct strings (departments,
reasons, empty errors): each is encoded once and the rows take it by index (60-70 ns a value against
``pyarrow.array``'s 35-50). Input cells (CSV/TSV/XLSX/JSONL to Parquet) are long distinct texts: encoded
and joined (:func:`texts`). Typed input values of Parquet rows holding a value that could not be read keep
``pyarrow.array``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from triage._optional import import_optional

if TYPE_CHECKING:
    from triage.results import RankedCandidates


def _pyarrow() -> Any:
    return import_optional("pyarrow", extra="io", purpose="writing Parquet files")


def _bitmap(flags: np.ndarray) -> Any:
    """Arrow's bit-packed form (least significant bit first) of a boolean numpy array."""
    return _pyarrow().py_buffer(np.packbits(flags, bitorder="little"))


def _validity(present: np.ndarray) -> Any:
    """The validity bitmap of an array whose ``present`` rows hold a value; None when all do."""
    return None if present.all() else _bitmap(present)


def strings(values: Sequence[str | None]) -> Any:
    """An Arrow string array of ``values`` (None: null)."""
    distinct = list(dict.fromkeys(values))
    if len(distinct) == 1:  # e.g. every error empty
        indices = np.zeros(len(values), dtype=np.int32)
    else:
        position = {value: index for index, value in enumerate(distinct)}
        indices = np.fromiter(map(position.__getitem__, values), dtype=np.int32, count=len(values))
    return taken(distinct, indices)


def taken(distinct: Sequence[str | None], indices: np.ndarray) -> Any:
    """An Arrow string array of ``distinct[i]`` for each ``i`` of ``indices`` (None: null): each distinct
    value is encoded once."""
    return texts(distinct).take(numbers(indices, _pyarrow().int32()))


def candidates(ranked: RankedCandidates, kind: Any) -> Any:
    """The ``candidates`` column of ``ranked``: an Arrow array of ``kind`` (lists of ``{department,
    confidence}`` structs), null for rows not read."""
    pyarrow = _pyarrow()
    lengths = np.maximum(ranked.counts, 0)
    held = np.arange(ranked.ranked.shape[1]) < lengths[:, None]  # the (row, rank) pairs in the lists, in order
    departments = taken(ranked.codes, ranked.ranked[held])
    confidences = numbers(ranked.confidences[held], pyarrow.float64())
    values = pyarrow.StructArray.from_arrays([departments, confidences], fields=list(kind.value_type))
    return lists(ranked.counts >= 0, lengths, values, kind)


def texts(values: Sequence[str | None]) -> Any:
    """An Arrow string array of ``values`` (None: null), each encoded and the bytes joined: for the long
    distinct texts of input cells as fast as ``pyarrow.array`` (~0.9 µs a 1,200-character cell) without
    importing pandas. Over 2 GiB (int32 offsets cannot hold it) ``pyarrow.array`` decides."""
    pyarrow = _pyarrow()
    encoded = [value.encode("utf-8") if value is not None else b"" for value in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
    if offsets[-1] >= 2**31:
        return pyarrow.array(values, type=pyarrow.string())
    validity = _validity(np.fromiter((value is not None for value in values), dtype=bool, count=len(values)))
    buffers = [validity, pyarrow.py_buffer(offsets.astype(np.int32)), pyarrow.py_buffer(b"".join(encoded))]
    return pyarrow.Array.from_buffers(pyarrow.string(), len(encoded), buffers)


#: The numpy type of each Arrow type built here, by the Arrow type's name.
_NUMPY_TYPES = {"int32": np.int32, "int64": np.int64, "double": np.float64, "bool": np.bool_}


def numbers(values: Sequence[float] | np.ndarray, kind: Any) -> Any:
    """An Arrow array of ``kind`` (``pyarrow.int32()``, ``int64()`` or ``float64()``) of ``values``, none null."""
    pyarrow = _pyarrow()
    data: np.ndarray = np.asarray(values, dtype=_NUMPY_TYPES[str(kind)])
    return pyarrow.Array.from_buffers(kind, len(data), [None, pyarrow.py_buffer(data)])


def typed(values: Sequence[Any], kind: Any) -> Any:
    """An Arrow array of ``kind`` (float64, int64 or bool) of ``values``; ``""`` (a row with no tags) and
    None are null."""
    pyarrow = _pyarrow()
    numpy_type = _NUMPY_TYPES[str(kind)]
    validity = None
    if "" in values or None in values:  # rare (unread rows): looked for at C speed first
        present = np.array([value not in ("", None) for value in values], dtype=bool)
        values = [value if keep else 0 for value, keep in zip(values, present.tolist(), strict=True)]
        validity = _validity(present)
    filled: np.ndarray = np.array(values, dtype=numpy_type)
    data = _bitmap(filled) if numpy_type is np.bool_ else pyarrow.py_buffer(filled)
    return pyarrow.Array.from_buffers(kind, len(filled), [validity, data])


def lists(present: np.ndarray, lengths: np.ndarray, values: Any, kind: Any) -> Any:
    """An Arrow list array of ``kind`` whose rows hold the next ``lengths`` items of ``values`` each, null
    where not ``present``."""
    pyarrow = _pyarrow()
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    buffers = [_validity(present), pyarrow.py_buffer(offsets)]
    return pyarrow.Array.from_buffers(kind, len(lengths), buffers, children=[values])
