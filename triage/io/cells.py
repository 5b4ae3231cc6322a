"""Values to cells, the same for every format and entry point (:func:`to_cell`), rows of cells with their
errors (:func:`row_cells`, :class:`Row`), column names (:func:`unique_columns`), and cells safe to open in a
spreadsheet."""

from __future__ import annotations

import datetime
import json
import re
import sys
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from triage.exceptions import DuplicateColumnWarning, TriageError
from triage.io.encodings import _decodes, _not_valid_in

#: The longest cell read, in characters: a longer one is an error of its row (the row is kept).
MAX_CELL_CHARS = 1_000_000


class CellError(TriageError, ValueError):
    """A value that cannot become a cell; raised by :func:`to_cell`, reported as its row's error."""


_NULL_TYPES = ("NAType", "NaTType")


def to_cell(value: Any) -> str:
    """The text of one cell, the same for every format and entry point.

    ``None``, NaN and pandas' NA/NaT are ``""``; whole floats are written without ``.0``; bytes are
    decoded as UTF-8; lists, dicts and structs become JSON (their dates, decimals and bytes as text);
    anything else is its ``str``. Raises :class:`CellError` for values that cannot be text
    (undecodable bytes, nesting too deep, integers too long for Python to print).
    """
    if isinstance(value, str):
        return value
    if value is None or type(value).__name__ in _NULL_TYPES:
        return ""
    if isinstance(value, Unreadable):
        return value.cell()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError:  # over sys.get_int_max_str_digits()
            raise CellError(f"an integer of about {value.bit_length() * 0.30103:,.0f} digits is too long") from None
    if isinstance(value, float):
        if value != value:
            return ""
        return str(int(value)) if value.is_integer() else str(value)
    if _is_decimal(value):
        return "" if value.is_nan() else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return _decoded_bytes(bytes(value))
    if type(value).__name__ in ("datetime64", "timedelta64"):  # numpy's: as Python's (tolist() gives ns)
        return to_cell(value.astype(f"{type(value).__name__}[us]").item())
    if isinstance(value, dict | list | tuple) or hasattr(value, "tolist"):
        if hasattr(value, "tolist") and not isinstance(value, dict | list | tuple):
            value = value.tolist()  # numpy scalars and arrays (pandas and Dask frames)
            if not isinstance(value, dict | list | tuple):
                return to_cell(value)
        try:
            return json.dumps(value, ensure_ascii=False, default=_json_value)
        except RecursionError:
            raise CellError("a value nested too deep to write as JSON") from None
    return str(value)


def _is_decimal(value: Any) -> bool:
    """Whether ``value`` is a ``decimal.Decimal``, without importing :mod:`decimal` (0.45 MiB in every
    worker): no Decimal exists unless a reader such as pyarrow imported it."""
    module = sys.modules.get("decimal")
    return module is not None and isinstance(value, module.Decimal)


def _decoded_bytes(value: bytes) -> str:
    """A binary value's text, UTF-8 only: a value in another encoding (GBK bytes in a Parquet binary column,
    say) is its row's error saying so, never text guessed per cell."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as problem:
        said = f"binary value is not UTF-8 text (byte {problem.start}: {problem.reason})"
    if _decodes(value, "gb18030"):
        raise CellError(f"{said}, it reads as GB18030 (GBK); export the column as text decoded from GB18030")
    raise CellError(f"{said}; export the column as text")


def _json_value(value: Any) -> Any:
    """What JSON cannot hold natively, inside a nested value: as its :func:`to_cell` text."""
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta | bytes | bytearray) or _is_decimal(value):
        return to_cell(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    raise CellError(f"a {type(value).__name__} inside a nested value cannot be written as JSON")


# Undecodable bytes (kept by errors="surrogateescape") and lone surrogates from JSON escapes:
# no UTF-8 writer can write them.
_SURROGATE = re.compile("[\ud800-\udfff]")


def has_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate (what ``_SURROGATE`` replaces): UTF-8's strict encoder
    refuses exactly those, and tells 2-3 times faster than the regex scans Chinese text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def row_cells(values: Sequence[Any], header: Sequence[str], encoding: str | None = None) -> tuple[list[str], str]:
    """``(cells, error)`` of one row: each value through :func:`to_cell`, one per header column.

    A value that cannot be converted, a cell over :data:`MAX_CELL_CHARS` (blanked) or one holding
    undecodable bytes (replaced by U+FFFD) makes ``error`` say which column and why; the row's other
    cells are kept whatever happens, so its id still reaches the output.
    """
    cells: list[str] = []
    problems: list[str] = []
    for column, value in zip(header, values, strict=False):
        try:
            cell = to_cell(value)
        except Exception as problem:  # one unconvertible value fails its row, never the batch
            cells.append("")
            problems.append(f"column {column!r}: {_describe(problem)}")
            continue
        if len(cell) > MAX_CELL_CHARS:
            problems.append(f"column {column!r}: {len(cell):,} characters, over the limit of {MAX_CELL_CHARS:,}")
            cell = ""
        elif has_surrogate(cell):
            if encoding:
                problems.append(_not_valid_in(encoding))
            else:
                problems.append(f"column {column!r}: lone UTF-16 surrogate escape, replaced by U+FFFD")
            cell = _SURROGATE.sub("\ufffd", cell)
        cells.append(cell)
    cells += [""] * (len(header) - len(cells))
    return cells, "; ".join(dict.fromkeys(problems))


def _describe(problem: BaseException) -> str:
    if isinstance(problem, CellError):
        return str(problem)
    if isinstance(problem, RecursionError):
        return "nested too deep"
    return f"{type(problem).__name__}: {str(problem)[:200]}"


def unique_columns(names: Sequence[Any], where: str = "the file") -> list[str]:
    """Column names as text, repeats renamed ``NAME.1``, ``NAME.2``, ... with a
    :class:`~triage.exceptions.DuplicateColumnWarning` (a repeated name would make Parquet output
    drop a column and JSONL output lose a value); a lone surrogate in a name (a JSON key's ``\\ud800``
    escape), which no output can write, is replaced by U+FFFD as in a cell, with the same warning."""
    seen: set[str] = set()
    unique: list[str] = []
    renamed: list[str] = []
    unwritable: list[str] = []
    for original in (to_cell(n) for n in names):
        name = _SURROGATE.sub("\ufffd", original) if has_surrogate(original) else original
        if name != original:
            unwritable.append(f"{original!r} -> {name!r}")
        candidate, n = name, 0
        while candidate in seen:
            n += 1
            candidate = f"{name}.{n}"
        if candidate != name:
            renamed.append(f"{name!r} -> {candidate!r}")
        seen.add(candidate)
        unique.append(candidate)
    if unwritable:
        warnings.warn(
            f"{where} names columns with a lone surrogate escape, which no output can write; renamed "
            f"{', '.join(unwritable)}",
            DuplicateColumnWarning,
            stacklevel=3,
        )
    if renamed:
        warnings.warn(
            f"{where} repeats column names; renamed {', '.join(renamed)}", DuplicateColumnWarning, stacklevel=3
        )
    return unique


@dataclass(slots=True)
class Row:
    """One input row: its 1-based data row ``number`` (the header is row 0), its ``cells`` (one per
    header column, text by :func:`to_cell`) and, when it could not be read whole, why."""

    number: int
    cells: list[str]
    error: str = ""
    suspect: bool = False  # read fine, but a cell looks like it swallowed further rows
    #: JSONL and Parquet: the values as parsed (ints, lists, ...), for outputs that keep types.
    values: Sequence[Any] | None = None


# What Arrow writes for a time it cannot place on its own calendar either (a timestamp in seconds 8 million
# years out): no text for a cell.
_ARROW_OUT_OF_RANGE = "<value out of range"


class Unreadable:
    """A Parquet value pyarrow cannot turn into a Python object (a date past year 9999, a string column's
    bytes that are not UTF-8), kept as the Arrow scalar read: Parquet output writes it back unchanged, and
    its cell is the text Arrow gives it where Arrow has one (``10183-09-21``)."""

    def __init__(self, scalar: Any, problem: Exception) -> None:
        self.scalar = scalar
        self.problem = problem

    def cell(self) -> str:
        """The value's text as Arrow writes it; :class:`CellError` when Arrow has none either."""
        try:
            text = self.scalar.cast(sys.modules["pyarrow"].string()).as_py()
        except Exception:  # no cast to text (nested values), or text that is not UTF-8
            text = None
        if not isinstance(text, str) or text.startswith(_ARROW_OUT_OF_RANGE):
            raise CellError(f"unreadable value: {_describe(self.problem)}")
        return text


# ---------------------------------------------------------------- writing cells

# Spreadsheets read a cell starting with these as a formula (OWASP: CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_text(value: str) -> str:
    """``value`` made safe to open in Excel/WPS: text starting with ``= + - @``, a tab or a carriage
    return gets a leading ``'`` so it reads as text, never as a formula (plain numbers such as
    ``-5`` are left alone: they cannot run anything)."""
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def spreadsheet_row(values: Iterable[Any]) -> list[Any]:
    """A row for CSV/XLSX output: its text cells through :func:`spreadsheet_text`, other values as they are.

    Only cells starting with a formula character are handed to it: a call per cell was most of the cost.
    """
    return [
        spreadsheet_text(value) if isinstance(value, str) and value.startswith(_FORMULA_START) else value
        for value in values
    ]
