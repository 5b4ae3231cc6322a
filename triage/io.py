"""Reading exports: CSV/TSV (UTF-8, GBK/GB18030, UTF-16), XLSX, JSONL, Parquet — one streaming reader.

Every entry point reads through :func:`read_rows` (train and evaluate through :func:`read_table`,
tag and hot directly, Dask on byte ranges and row groups), so one file gives the same rows,
the same cells and the same per-row errors everywhere. The cell rule (:func:`to_cell`): text stays
as it is, a missing value is ``""``, whole floats lose their ``.0`` (IDs, phone numbers), nested
values become JSON, binary values are decoded as UTF-8, a Parquet value Python cannot hold (a date
past year 9999) is Arrow's text of it. A value that cannot become a cell, a cell
over :data:`MAX_CELL_CHARS`, or bytes the encoding cannot decode are that row's ``error``; the row
and its other cells are kept; so are the rows of a damaged Parquet row group, each with empty cells and an
error (:func:`_readable_batches`; a group pyarrow cannot read for another reason, LZO say, refuses the file:
:func:`_not_damage`). The encoding is decided from a large sample
(:func:`choose_encoding`). The columns of a JSONL file are the keys of all its objects (:func:`_jsonl_keys`:
the file is scanned once for them).

Needs the ``io`` extra (pandas, pyarrow, python-calamine).
"""

from __future__ import annotations

import bisect
import codecs
import contextlib
import csv
import datetime
import functools
import io
import itertools
import json
import multiprocessing
import re
import sys
import warnings
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np

from triage._optional import import_optional
from triage.defaults import DEFAULT_CHUNK_SIZE
from triage.exceptions import DuplicateColumnWarning, TitleRowsWarning, TriageError

__all__ = [
    "MAX_CELL_CHARS",
    "MAX_ERROR_SHARE",
    "MAX_JSONL_KEYS",
    "MAX_JSONL_KEY_CHARS",
    "CellError",
    "DataError",
    "EncodingChoice",
    "Export",
    "Row",
    "Unreadable",
    "batch_rows",
    "batch_text_columns",
    "byte_shares",
    "choose_encoding",
    "chunked",
    "detect_encoding",
    "detect_format",
    "detect_text_columns",
    "encoding_hint",
    "frame_texts",
    "join_text",
    "join_text_columns",
    "joined_keys",
    "joined_shares",
    "lost_rows_error",
    "read_rows",
    "read_table",
    "require_columns",
    "resolve_format",
    "spreadsheet_row",
    "spreadsheet_text",
    "to_cell",
    "unique_columns",
]

FORMATS = ("csv", "tsv", "xlsx", "jsonl", "parquet")
_SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
#: A run in which more than this share of the rows cannot be read counts as failed (tag and hot exit 1).
MAX_ERROR_SHARE = 0.5
#: The longest cell read, in characters: a longer one is an error of its row (the row is kept).
MAX_CELL_CHARS = 1_000_000
# How much of a text file the encoding is decided on (a BOM decides at once).
_ENCODING_SAMPLE_BYTES = 8 << 20
#: The most distinct keys the objects of a JSONL file may hold (its columns); exports have tens (a 12345 work
#: order: 20 to 60 fields). A file past it (an object used as a map, a new key per row) is refused: its columns,
#: and every row's cells, would otherwise grow with its rows. Memory grows with it: a chunk of 2,000 rows of
#: 15,986 cells held 1.5 GB (tagged at 72 rows/s, against 0.1 GB for a file of ten keys); 4,000 rows of 3,991
#: keys, 0.43 GB peak (211 rows/s). A quarter of what an XLSX sheet could hold (16,384 columns, 13 of triage's).
MAX_JSONL_KEYS = 4_000
#: The longest key, in characters, of a JSONL object (a column name, the header of every output). Exports' field
#: names are words (留言编号, create_time); a survey export keyed by its questions has names of a sentence or two, a
#: few hundred characters at most. A key longer than this is text used as a key (an object used as a map keyed by
#: messages) or a broken export, and is refused: it would be written in the header of every output, in every
#: checkpoint and every message listing the columns. Far below the 32,767 characters an XLSX cell holds; and
#: :data:`MAX_JSONL_KEYS` keys of this length are 4 million characters, a header still written at once.
MAX_JSONL_KEY_CHARS = 1_000
# A JSONL file smaller than this is scanned for its keys in one process even when more are asked for: scanning
# takes ~5 ms a MiB (0.75 s of CPU for 155 MB), so processes started for less gain less than they cost.
_PARALLEL_SCAN_BYTES = 16 << 20
# Parquet column chunks are read through a buffer of this size, a page at a time, instead of whole: a file
# written as one row group (pyarrow's default up to 1Mi rows) otherwise sat in memory at once (a 1M-row,
# 640 MB file of votes: Arrow held 648 MiB while reading, 10 with the buffer, and read it in 2.2 s, not 3.9).
_PARQUET_READ_BUFFER = 1 << 20
# The csv module refuses fields over its (process-wide) limit, losing the row; it is raised to well
# past MAX_CELL_CHARS so a long cell reaches the check that keeps its row.
_CSV_FIELD_LIMIT = 16 * MAX_CELL_CHARS
# Headers exports use for the message, best first; a subject/body pair is joined.
_TEXT_HEADERS = (
    ("留言主题", "留言详情"),
    ("标题", "内容"),
    ("主题", "内容"),
    ("subject", "body"),
    ("title", "content"),
    ("诉求内容",),
    ("工单内容",),
    ("来信内容",),
    ("留言内容",),
    ("留言详情",),
    ("内容",),
    ("诉求",),
    ("text",),
    ("content",),
    ("body",),
    ("message",),
)


class DataError(TriageError, ValueError):
    """An input file cannot be read as asked: wrong format, encoding or columns."""


def detect_format(path: str | Path) -> str:
    """The format named by the file's suffix (``.csv``, ``.tsv``, ``.xlsx``, ``.jsonl``, ``.parquet``)."""
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise DataError(f"cannot tell the format of {path} from its suffix; pass --format {'|'.join(FORMATS)}")
    return _SUFFIXES[suffix]


def resolve_format(path: str | Path, requested: str) -> str:
    """``requested`` checked against :data:`FORMATS`, or the format named by the suffix for ``"auto"``."""
    if requested == "auto":
        return detect_format(path)
    if requested not in FORMATS:
        raise DataError(f"unknown format {requested!r}; use one of auto, {', '.join(FORMATS)}")
    return requested


def join_text(parts: Iterable[str]) -> str:
    """One message from its parts (subject, then body), empty parts skipped."""
    return "\n".join(part for part in parts if part)


# ---------------------------------------------------------------- encodings


@dataclass(frozen=True)
class EncodingChoice:
    """The encoding a text file is read with, and why (shown to the user)."""

    encoding: str
    reason: str

    def __str__(self) -> str:
        return f"{self.encoding} ({self.reason})"


def choose_encoding(path: str | Path, requested: str = "auto") -> EncodingChoice:
    """The encoding of a CSV/TSV/JSONL file: ``requested`` unless it is ``"auto"``.

    Auto: a BOM (UTF-8, UTF-16, UTF-32) wins, then UTF-16 told by its NUL bytes; otherwise each line of the
    first 8 MiB holding non-ASCII bytes votes UTF-8 or GB18030 (the superset of GBK and GB2312 that Chinese
    government systems export), and the majority decides, so one odd row does not turn a file into mojibake;
    the minority's rows then become row errors naming the other encoding.
    """
    if requested != "auto":
        try:
            codec = codecs.lookup(requested)
        except LookupError:
            raise DataError(f"unknown encoding {requested!r}; use auto, utf-8-sig, gb18030, utf-16, ...") from None
        if not codec._is_text_encoding:  # hex, base64, rot13: codecs of bytes to bytes or str to str
            raise DataError(f"{requested!r} is not a text encoding; use auto, utf-8-sig, gb18030, utf-16, ...")
        _check_line_readable(requested)
        return EncodingChoice(requested, "given")
    with open(path, "rb") as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return EncodingChoice("utf-8-sig", "UTF-8 byte-order mark")
        if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16's: FF FE 00 00
            return EncodingChoice("utf-32", "UTF-32 byte-order mark")
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return EncodingChoice("utf-16", "UTF-16 byte-order mark")
        handle.seek(0)
        if wide := _utf16_without_bom(handle.read(_UTF16_SAMPLE_BYTES)):
            return EncodingChoice(wide, "no byte-order mark; NUL bytes at every other byte")
        handle.seek(0)
        votes, lines, truncated = _encoding_votes(handle)
    utf8, gb, neither = votes["utf-8"], votes["gb18030"], votes[""]
    scope = f"{lines:,} sampled lines" + (" (the first 8 MiB)" if truncated else "")
    if not utf8 and not gb:
        return EncodingChoice("utf-8-sig", f"no line decodes as UTF-8 or GB18030 of {scope}" if neither else "ASCII")
    if gb > utf8:
        return EncodingChoice("gb18030", f"{gb:,} lines GBK/GB18030, {utf8:,} UTF-8 of {scope}")
    return EncodingChoice("utf-8-sig", f"{utf8:,} lines UTF-8, {gb:,} GBK/GB18030 of {scope}")


# The bytes looked at for UTF-16 written without a byte-order mark (SQL Server's bcp -w, some 12345 systems).
_UTF16_SAMPLE_BYTES = 1 << 16


def _utf16_without_bom(sample: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` when ``sample`` is UTF-16 without a byte-order mark, else None. The
    ASCII in an export (delimiters, digits, line ends) is a NUL byte and its own in UTF-16: text in an 8-bit
    encoding holds no NUL, so NULs in a tenth of the bytes, nine in ten of them on one side, and a sample that
    decodes, tell UTF-16 and its byte order."""
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if not even + odd or (even + odd) * 10 < len(sample) or max(even, odd) * 10 < (even + odd) * 9:
        return None  # an empty file too: no NUL at all
    wide = "utf-16-le" if odd > even else "utf-16-be"
    try:
        codecs.getincrementaldecoder(wide)().decode(sample)  # not final: the sample may end inside a character
    except UnicodeDecodeError:
        return None
    return wide


def _encoding_votes(handle: Any) -> tuple[dict[str, int], int, bool]:
    """``(votes, lines read, whether the sample ended before the file)``: each line of the first
    8 MiB holding non-ASCII bytes votes ``"utf-8"``, ``"gb18030"`` or ``""`` (neither); a line cut
    by the sample's end does not count. Read a block at a time, so the sample never sits in memory whole."""
    votes = {"utf-8": 0, "gb18030": 0, "": 0}
    budget, lines, rest = _ENCODING_SAMPLE_BYTES, 0, b""
    while True:
        data = handle.read(min(budget, _BLOCK_BYTES)) if budget > 0 else b""
        budget -= len(data)
        block = rest + data if rest else data
        if data:
            cut = block.rfind(b"\n") + 1
            block, rest = block[:cut], block[cut:]
        elif budget <= 0:  # cut by the sample's end, perhaps inside a character
            block = block[: block.rfind(b"\n") + 1]
        lines += _vote_lines(block, votes)
        if not data:
            return votes, lines, budget <= 0


def _vote_lines(block: bytes, votes: dict[str, int]) -> int:
    """Add the votes of the lines of ``block`` (whole lines) to ``votes``; how many lines it holds.
    A block that is UTF-8 throughout (the usual export) is decoded once, not a line at a time."""
    pieces = block.split(b"\n")
    if not pieces[-1]:
        pieces.pop()  # after the last line end
    if _decodes(block, "utf-8"):
        votes["utf-8"] += len(pieces) - sum(map(bytes.isascii, pieces))
        return len(pieces)
    for line in pieces:
        if not line.isascii():
            votes[next((e for e in ("utf-8", "gb18030") if _decodes(line, e)), "")] += 1
    return len(pieces)


def detect_encoding(path: str | Path) -> str:
    """The encoding :func:`choose_encoding` picks for ``path`` (``utf-8-sig``, ``utf-16`` or ``gb18030``)."""
    return choose_encoding(path).encoding


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def encoding_hint(encoding: str) -> str:
    """The encoding to suggest when text does not decode as ``encoding``."""
    return "gb18030" if encoding.lower().startswith("utf") else "utf-8-sig"


# The codecs of two- and four-byte code units, by the start of their names ("utf-16", "utf-16-le", ...).
_WIDE_CODECS = ("utf-16", "utf-32")


def _not_valid_in(encoding: str) -> str:
    """The error of a row holding bytes ``encoding`` cannot decode: the encoding to try instead; in UTF-16 or
    UTF-32 (certain once the header decoded: a byte-order mark or NUL bytes told it), a broken character."""
    if codecs.lookup(encoding).name.startswith(_WIDE_CODECS):
        return f"bytes not valid in {encoding}: a broken character, shown as U+FFFD; correct it in the export"
    return f"bytes not valid in {encoding}; try --encoding {encoding_hint(encoding)} (or auto)"


def _is_gb(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("gb18030", "gbk", "gb2312")


@functools.cache
def _utf8_tells() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Characters two bytes long in UTF-8 (but a few Latin-1 signs), and Han characters. UTF-8 Chinese
    text is three-byte characters (plus ASCII and those signs); GBK bytes read as UTF-8 almost never
    are, so a row like this was UTF-8 in a file read as GBK/GB18030. Compiled on first use (3 ms):
    only files read as GBK/GB18030 need them."""
    return re.compile("[\u0080-\u00af\u00b1-\u00b6\u00b8-\u00d6\u00d8-\u07ff]"), re.compile("[\u4e00-\u9fff]")


_UTF8_CHECK_CHARS = 60  # characters checked (GB18030 reads a 3-byte UTF-8 character as 1.5 characters)


def _utf8_read_as_gb(cells: list[str], encoding: str) -> str:
    """A row error when a file read as GBK/GB18030 holds a row whose bytes are UTF-8 Chinese (which
    GB18030 decodes without complaint, into mojibake); the first non-ASCII cell's start tells."""
    for cell in cells:
        if not cell.isascii():
            # a prefix may end inside a UTF-8 character: one U+FFFD at the very end is no evidence
            original = cell[:_UTF8_CHECK_CHARS].encode(encoding).decode("utf-8", "replace").rstrip("\ufffd")
            break
    else:
        return ""
    two_byte, han = _utf8_tells()
    if "\ufffd" in original or two_byte.search(original) or len(han.findall(original)) < 2:
        return ""
    return f"the row's bytes are UTF-8 but the file is read as {encoding}; try --encoding utf-8-sig"


# ---------------------------------------------------------------- cells


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
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as problem:
        raise CellError(f"binary value is not UTF-8 text (byte {problem.start}: {problem.reason})") from None


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


# ---------------------------------------------------------------- readers


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


@dataclass
class Export:
    """An open export, as :func:`read_rows` yields it."""

    path: Path
    format: str
    header: list[str]
    #: Chunks of :class:`Row`, in file order.
    chunks: Iterator[list[Row]]
    #: For CSV/TSV/JSONL: the encoding read with, and why it was chosen.
    encoding: EncodingChoice | None = None
    #: For XLSX: the sheet asked for (None: the first).
    sheet: str | int | None = None
    #: For Parquet: the file's Arrow schema (the types outputs keep).
    schema: Any = None
    #: For Parquet: the file's footer (pyarrow's ``FileMetaData``: its row groups, their rows and bytes), read
    #: once, for a caller that plans the reading in row groups (Dask).
    footer: Any = None
    #: CSV/TSV/JSONL: the byte offset where the data rows begin (after the header), from which the file
    #: can be read in shares (``byte_range``); None otherwise.
    data_start: int | None = None
    #: For Parquet: the Arrow record batches ``chunks`` is made of, for a caller that hands whole batches
    #: to workers (:func:`batch_rows` turns one into rows; the rows of a damaged row group come as batches of
    #: nulls it gives their error, :func:`batch_text_columns` none). Read either these or ``chunks``, not both.
    batches: Iterator[Any] | None = None
    #: For JSONL: the keys of all its objects (up to row ``stop_after``) in the order they first appear, the columns
    #: ``header`` names (:func:`unique_columns`), for readers of its byte ranges (``read_rows(jsonl_keys=...)``).
    keys: list[str] | None = None
    _lines: _Lines | None = field(default=None, repr=False)
    _bar: Any = field(default=None, repr=False)

    def position(self) -> int | None:
        """Byte offset of the first record not yet read (CSV/TSV/JSONL; else None).

        Once a ``byte_range`` is read to its end, this is where the next share must start for the two to
        join up: past the range's stop when its last record runs on (a quoted cell holding line breaks).
        """
        return self._lines.position if self._lines is not None else None

    def show_progress(self, done: int) -> None:
        """Move the progress bar to ``done`` (bytes for CSV/TSV/JSONL, rows otherwise), for a caller that
        has the file's shares read elsewhere instead of taking ``chunks``."""
        if self._bar is not None:
            self._bar.update(done - self._bar.n)


class _CountingReader(io.RawIOBase):
    """A binary file that counts the bytes read through it (for progress by bytes), telling ``on_read`` the bytes
    of each read when given (a read is of a buffer, 64 KiB or more: no cost to speak of)."""

    def __init__(self, raw: Any, count: int = 0, on_read: Callable[[int], object] | None = None) -> None:
        self._raw = raw
        self.count = count
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)
        self.count += n or 0
        if self._on_read is not None and n:
            self._on_read(n)
        return n

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset``; the count follows (a record read again is progress shown again)."""
        self.count = self._raw.seek(offset, whence)
        return self.count

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()
        super().close()


# Codecs whose bytes mean different characters after an escape or shift sequence, or that write ASCII's
# line ends, quotes and delimiters as other bytes (EBCDIC): a line cannot be read on its own in them.
_STATEFUL_CODECS = ("iso2022", "hz", "utf-7")
_ASCII_SYNTAX = '\n\r",\t'

# A byte for each kind of code unit in a chart (:meth:`_TextEncoding.chart`): what the readers look for, and
# "x" for any other character.
_CHARTED = b'\n\r"'
_UNCHARTED = ord("x")

# Codecs of more than one byte per code unit, read in whole units: numpy's dtype of a unit, and the byte-order
# mark ("utf-16"/"utf-32" take their byte order from it: little-endian without one, as Windows writes).
_UNIT_CODECS = {
    "utf-16-le": ("<u2", codecs.BOM_UTF16_LE),
    "utf-16-be": (">u2", codecs.BOM_UTF16_BE),
    "utf-32-le": ("<u4", codecs.BOM_UTF32_LE),
    "utf-32-be": (">u4", codecs.BOM_UTF32_BE),
}


# The byte-order marks of one-byte-unit codecs, skipped at a file's start (GB18030 has its own: U+FEFF in it).
_BOMS = {"utf-8": codecs.BOM_UTF8, "utf-8-sig": codecs.BOM_UTF8, "gb18030": "\ufeff".encode("gb18030")}


@dataclass(frozen=True)
class _TextEncoding:
    """How the bytes of a CSV/TSV/JSONL file are read a line at a time: the codec that decodes a line, the
    byte-order mark skipped at the start of the file, and the size of a code unit (1; 2 in UTF-16, 4 in UTF-32).

    Line ends and quotes are looked for in a :meth:`chart` of the bytes, one byte per code unit, so a UTF-16
    file is cut at line starts, read in byte ranges and read again after a runaway quote as a UTF-8 or GB18030
    one is; the ``0A`` byte inside 上 (U+4E0A) is never taken for a line end.
    """

    codec: str
    bom: bytes = b""
    unit: int = 1
    dtype: str | None = None

    @classmethod
    def of(cls, path: Path, encoding: str) -> _TextEncoding:
        """The way to read ``path`` in ``encoding`` (a name :func:`choose_encoding` accepted)."""
        name = codecs.lookup(encoding).name
        if name in _WIDE_CODECS:
            with path.open("rb") as handle:
                head = handle.read(4)
            big = head.startswith(codecs.BOM_UTF32_BE if name == "utf-32" else codecs.BOM_UTF16_BE)
            name = f"{name}-{'be' if big else 'le'}"
        if name in _UNIT_CODECS:
            dtype, bom = _UNIT_CODECS[name]
            return cls(name, bom, np.dtype(dtype).itemsize, dtype)
        return cls("utf-8" if name == "utf-8-sig" else name, _BOMS.get(name, b""))

    @property
    def errors(self) -> str:
        """The error handler of a line that does not decode: ``surrogateescape`` in a one-byte-unit codec
        (GB18030 fails a lead byte and the ASCII after it as one error, ``CE 37 0A`` ending a line, and that
        ASCII, a digit, quote or line end, stays text), whole bad units as surrogates in UTF-16/32."""
        return _UNDECODABLE_UNITS if self.unit > 1 else "surrogateescape"

    def chart(self, raw: bytes) -> bytes:
        """``raw`` with one byte per code unit: line feeds, carriage returns and double quotes as themselves,
        anything else (a part unit at the end too) as ``x``. Byte offsets are its offsets times :attr:`unit`;
        in a one-byte encoding it is ``raw`` itself (no multi-byte character there holds those bytes)."""
        if self.unit == 1:
            return raw
        units = np.frombuffer(raw, dtype=self.dtype, count=len(raw) // self.unit)
        chart = np.full(-(-len(raw) // self.unit), _UNCHARTED, dtype=np.uint8)
        for char in _CHARTED:
            chart[: len(units)][units == char] = char
        return chart.tobytes()

    def after_last_line_end(self, data: bytes) -> int:
        """The offset after the last line end of ``data`` (0: none): after its last LF, else its last CR
        that cannot be the first half of a CRLF (the next read may start with the LF)."""
        chart = self.chart(data)
        return (chart.rfind(b"\n") + 1 or chart.rfind(b"\r", 0, len(chart) - 1) + 1) * self.unit

    def last_line_start(self, raw: bytes, before: int) -> int:
        """The offset of the last line of ``raw`` (whole lines) that starts before offset ``before`` (> 0, at a
        code unit's start)."""
        return _last_line_start(self.chart(raw), before // self.unit) * self.unit

    def lines(self, raw: bytes) -> list[bytes]:
        """The lines of ``raw``, each with its line end, split where a universal-newline reader splits."""
        if self.unit == 1:
            return raw.splitlines(keepends=True)
        ends = itertools.accumulate(len(line) * self.unit for line in self.chart(raw).splitlines(keepends=True))
        return [raw[start:end] for start, end in itertools.pairwise(itertools.chain((0,), ends))]


def _undecodable_as_surrogates(error: UnicodeError) -> tuple[str, int]:
    """Each byte of a bad UTF-16/32 code unit as the lone surrogate U+DC00 + byte: what ``surrogateescape``
    gives for a byte of 128 or more, for any byte (a unit may hold one under 128, which ``surrogateescape``
    refuses), so that :func:`has_surrogate` tells the line."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "".join(chr(0xDC00 + byte) for byte in error.object[error.start : error.end]), error.end


#: The decoding error handler of UTF-16/32 lines that do not decode (:func:`_undecodable_as_surrogates`).
_UNDECODABLE_UNITS = "triage.undecodable_units"
codecs.register_error(_UNDECODABLE_UNITS, _undecodable_as_surrogates)


def _check_line_readable(encoding: str) -> None:
    """Refuse an encoding whose lines cannot be read on their own (:data:`_STATEFUL_CODECS`, EBCDIC)."""
    name = codecs.lookup(encoding).name
    if name.startswith(("utf-8", *_WIDE_CODECS)):  # utf-8-sig's encoder would write a byte-order mark first
        return
    try:
        ascii_syntax = _ASCII_SYNTAX.encode(name) == _ASCII_SYNTAX.encode("ascii")
    except UnicodeError:  # "undefined" encodes nothing
        ascii_syntax = False
    if not ascii_syntax or name.startswith(_STATEFUL_CODECS):
        raise DataError(
            f"encoding {encoding!r} cannot be read a line at a time (it shifts state or is not ASCII-based); "
            f"convert the file first, e.g. iconv -f {encoding} -t UTF-8 FILE > FILE.utf8.csv"
        )


# Bytes read and decoded at a time: the first read of a file (often just its header) and a record
# running on past its share's stop read small; each further read doubles, up to the largest (256 KiB
# blocks read faster than 1 MiB ones, which no longer sit in the CPU's cache, and hold less memory).
_FIRST_BLOCK_BYTES = 1 << 16
_BLOCK_BYTES = 1 << 18


@dataclass(slots=True)
class _Block:
    """Where the lines of one block of bytes (cut after a line end) lie in the file."""

    first: int  # lines before it
    start: int  # its byte offset
    raw: bytes
    encoding: _TextEncoding
    _ends: list[int] | None = None

    def offset_after(self, lines: int) -> int:
        """The byte offset after its first ``lines`` lines."""
        if self._ends is None:  # only for a block the reading ends in, when asked where
            self._ends = list(itertools.accumulate(map(len, self.encoding.lines(self.raw))))
        if lines >= len(self._ends):
            return self.start + len(self.raw)
        return self.start + self._ends[lines - 1] if lines > 0 else self.start


def _last_line_start(raw: bytes, before: int) -> int:
    """The offset of the last line of ``raw`` that starts before offset ``before`` (> 0)."""
    newline = raw.rfind(b"\n", 0, before - 1)
    cr = raw.rfind(b"\r", newline + 1, before - 1)
    if cr >= 0 and raw[cr + 1 : cr + 2] == b"\n":  # the CR of a CRLF that ends at ``before``
        cr = raw.rfind(b"\r", newline + 1, cr)
    return max(newline, cr) + 1


class _Lines:
    """The decoded lines of a text file from byte ``start``, split where a universal-newline reader
    splits (after ``\\n``, ``\\r\\n`` or a lone ``\\r``), counting bytes: :attr:`position` is the
    offset of the first line not yet handed out. A line decoded on its own reads as it does inside the
    whole file (line ends are found in whole code units: :class:`_TextEncoding`); the one line source of
    every CSV, TSV and JSONL read, whole or in shares, so both give the same rows.
    ``translate`` turns line ends into ``\\n`` (as :class:`io.TextIOWrapper` does for JSONL).
    :attr:`count` and :attr:`undecodable` count the lines handed out and those holding bytes not valid in
    the encoding (kept as lone surrogates), so a reader can tell whether a record ran over several
    lines or holds such bytes without looking at its cells. :attr:`stop_reached` tells when the last
    line starting before byte ``stop`` (the end of a share) has been handed out.

    Lines are handed out either one at a time by iterating (up to ``stop``), or all of them to
    :meth:`csv_reader`, whose ``line_num`` is then the count (its caller stops at records, which may
    run on past ``stop``); use one or the other. A record the csv reader ran away with is read again
    from its second line (:meth:`reread_after_first_line`). Either way the bytes are read and decoded in blocks
    cut after a line end, and the lines reach the reader through C-level iterators: a block that
    decodes whole is split at LF, or by :class:`io.StringIO` if it holds a CR (which splits where this
    reader does, unlike ``str.splitlines``); one that does not decode whole is decoded line by line,
    which finds the undecodable lines."""

    def __init__(
        self, handle: Any, start: int, encoding: _TextEncoding, translate: bool = False, stop: int | None = None
    ) -> None:
        self._handle = handle  # buffered, positioned at ``start``
        bom = encoding.bom
        if bom and start == 0 and handle.peek(len(bom))[: len(bom)] == bom:
            start += len(handle.read(len(bom)))  # as the utf-8-sig decoder does: only at the very start
        self._start, self._stop = start, stop
        self._encoding = encoding
        self._newline = None if translate else ""
        self.stop_reached = stop is not None and start >= stop
        #: Numbers (from 1) of the undecodable lines read and not yet looked past (:meth:`undecodable_in`).
        self.bad: list[int] = []
        self._bad_forgotten = 0
        #: The block the last line handed out came from (None before the first): with :attr:`count` taken at
        #: the same time, where the next record starts (:meth:`reread_after_first_line`).
        self.block: _Block | None = None
        self._handed = 0
        self._reader: Any = None
        self._before = 0  # lines handed out before the current reader started (a record read again)
        self._lines = itertools.chain.from_iterable(self._blocks())

    @property
    def count(self) -> int:
        return self._before + (self._reader.line_num if self._reader is not None else self._handed)

    @property
    def position(self) -> int:
        return self._offset_after(self.block, self.count)

    def _offset_after(self, block: _Block | None, count: int) -> int:
        """The byte offset after line ``count``, which ``block`` (the block current then) holds or ends."""
        return self._start if block is None else block.offset_after(count - block.first)

    @property
    def undecodable(self) -> int:
        return self._bad_forgotten + bisect.bisect_right(self.bad, self.count)

    def undecodable_in(self, first: int, last: int) -> bool:
        """Whether any of lines ``first`` to ``last`` (numbered from 1) holds undecodable bytes; asked
        in file order, so the lines before ``first`` are forgotten (only counted)."""
        self._forget_bad_before(first)
        return bool(self.bad) and self.bad[0] <= last

    def csv_reader(self, delimiter: str) -> Any:
        """A reader of all the lines that reads as :func:`csv.reader` does (:class:`_SplittingReader`)."""
        self._reader = _csv_reader(self._lines, delimiter)
        return self._reader

    def reread_after_first_line(self, block: _Block | None, count: int, delimiter: str) -> tuple[str, Any]:
        """``(first line, new csv reader of the lines after it)`` of the record that started after line ``count``
        (``block`` being :attr:`block` then). For a record whose quoted cell never closed: it swallowed the
        lines after its first, which are read again as records of their own (nothing is lost)."""
        start = self._offset_after(block, count)
        del self.bad[bisect.bisect_right(self.bad, count) :]  # decoded again, and counted again, below
        self._handle.seek(start)
        self._start, self.block, self._reader, self._handed, self._before = start, None, None, 0, count
        self.stop_reached = self._stop is not None and start >= self._stop
        self._lines = itertools.chain.from_iterable(self._blocks())
        first = next(self._lines)  # the record has one, so the file does
        self._before = count + 1
        return first, self.csv_reader(delimiter)

    def __iter__(self) -> Iterator[str]:
        lines = self._lines
        while not self.stop_reached and (line := next(lines, None)) is not None:
            self._handed += 1
            yield line

    def _forget_bad_before(self, line: int) -> None:
        """Keep only a count of the undecodable lines before ``line`` (memory stays flat)."""
        if passed := bisect.bisect_left(self.bad, line):
            self._bad_forgotten += passed
            del self.bad[:passed]

    def _blocks(self) -> Iterator[Iterable[str]]:
        """The lines of each block. Each is made when the reader has taken all lines before it (so
        :attr:`count` then numbers them); the block that reaches ``stop`` is cut before the last line
        starting before ``stop``, so :attr:`stop_reached` turns true when the reader gets to that line."""
        stop = self._stop
        for offset, raw in self._raw_blocks():
            if self.stop_reached or stop is None or offset + len(raw) < stop:
                yield self._decoded(offset, raw)
                continue
            cut = self._encoding.last_line_start(raw, stop - offset)
            if cut:
                yield self._decoded(offset, raw[:cut])
            self.stop_reached = True
            yield self._decoded(offset + cut, raw[cut:])

    def _raw_blocks(self) -> Iterator[tuple[int, bytes]]:
        """``(byte offset, bytes)`` of blocks cut after a line end; none runs past ``stop`` unless a
        line does."""
        read, stop = self._handle.read, self._stop
        offset, size = self._start, _FIRST_BLOCK_BYTES
        pending: list[bytes] = []  # read since the last line end (a long line: joined once)
        ahead = offset
        while True:
            if stop is not None and ahead < stop:
                data = read(min(_BLOCK_BYTES, stop - ahead))
            else:
                data, size = read(size), min(2 * size, _BLOCK_BYTES)
            ahead += len(data)
            if not data:
                if pending:
                    yield offset, b"".join(pending)
                return
            cut = self._encoding.after_last_line_end(data)
            if not cut:
                pending.append(data)  # no line end yet: read on
                continue
            head, tail = (data, b"") if cut == len(data) else (data[:cut], data[cut:])
            raw = b"".join([*pending, head]) if pending else head
            pending = [tail] if tail else []
            yield offset, raw
            offset += len(raw)

    def _decoded(self, offset: int, raw: bytes) -> Iterable[str]:
        """The lines of the block at ``offset``, decoded whole when it can be."""
        first = self.count
        self.block = _Block(first, offset, raw, self._encoding)
        if self._reader is None:
            self._forget_bad_before(first + 1)
        codec = self._encoding.codec
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            pass
        else:
            if "\r" in text:
                return io.StringIO(text, newline=self._newline)
            lines = text.split("\n")  # LF only: split twice as fast as by a StringIO
            last = lines.pop()  # after the last LF: empty unless the file ends without one
            lines = [line + "\n" for line in lines]
            if last:
                lines.append(last)
            return lines
        lines = []
        for number, piece in enumerate(self._encoding.lines(raw), first + 1):
            try:
                line = piece.decode(codec)
            except UnicodeDecodeError:
                line = piece.decode(codec, self._encoding.errors)
                self.bad.append(number)
            if self._newline is None and "\r" in line[-2:]:
                line = line.rstrip("\r\n") + "\n"
            lines.append(line)
        return lines


def _merged_rows(cells: list[str], delimiter: str, width: int) -> bool:
    """Whether a cell may have swallowed following rows: a stray quote makes the CSV reader read on
    to the next quote, so lines holding a whole row's delimiters end up inside one cell. Legitimate
    multi-line cells can look the same, so such rows are tagged and reported, not failed."""
    return width > 2 and any(
        line.count(delimiter) == width - 1 for cell in cells if "\n" in cell for line in cell.split("\n")[1:]
    )


def _csv_reader(lines: Iterable[str], delimiter: str) -> _SplittingReader:
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
    return _SplittingReader(lines, delimiter)


class _SplittingReader:
    r"""What ``csv.reader(lines, delimiter=delimiter)`` reads, records and ``line_num``, with every line
    that holds no quote split by :meth:`str.split`: such a line is one whole record whose fields hold no
    line break (the lines end at ``\n``, ``\r\n`` or ``\r``, as a universal-newline reader cuts them),
    and the csv module reads a character at a time (a votes line, ~1 KB: 1.5 us, split 0.8 us).
    A line with a quote goes to a ``csv.reader``, which reads on through the following lines while its
    quoted field runs over them, up to its field limit (a stray quote cannot swallow the rest of the file).
    A line without one is split however long: where csv.reader would refuse a field over its limit and
    lose the whole record, the row keeps its other cells and the long one is its error (the cell rule)."""

    def __init__(self, lines: Iterable[str], delimiter: str) -> None:
        self._lines = iter(lines)
        self._delimiter = delimiter
        self._held: list[str] = []  # the quoted line the csv reader starts its next record with
        self._csv = csv.reader(self._feed(), delimiter=delimiter)
        self._split = 0  # lines split here
        #: Whether the input ended inside a quoted field: the last record ran on to the end of the file
        #: (csv.reader, not strict, reads on to the end and gives the record as it stands).
        self.ran_out_in_quotes = False

    @property
    def line_num(self) -> int:
        """Lines read so far (also while the csv reader reads on: :class:`_Lines` numbers blocks by it)."""
        return self._split + self._csv.line_num

    def _feed(self) -> Iterator[str]:
        while True:
            if self._held:
                yield self._held.pop()
            elif (line := next(self._lines, None)) is not None:
                yield line
            else:  # only a record still inside a quoted field reads past the last line
                self.ran_out_in_quotes = True
                return

    def __iter__(self) -> _SplittingReader:
        return self

    def __next__(self) -> list[str]:
        line = next(self._lines)
        if '"' in line:
            self._held.append(line)
            return next(self._csv)
        self._split += 1
        text = line.rstrip("\r\n")
        return text.split(self._delimiter) if text else []


def _delimited_header(first: list[str] | None, encoding: str) -> list[str]:
    """The column names of a CSV/TSV whose header record is ``first`` (None: the file has no record)."""
    if first is None:
        raise DataError("the file is empty: no header row")
    if any(has_surrogate(cell) for cell in first):
        raise DataError(f"the header row is not valid {encoding}; try --encoding {encoding_hint(encoding)} or auto")
    return unique_columns(first)


def _delimited_rows(reader: Any, header: list[str], delimiter: str, encoding: str, lines: _Lines) -> Generator[Row]:
    """The data rows of a CSV/TSV ``reader`` of ``lines``, numbered from 1: the records that start before
    its stop (the last may run on past it)."""
    check_utf8 = _is_gb(encoding)
    width = len(header)
    number = 0
    # a record read from one line whose bytes all decoded holds no line break and no surrogate
    taken = 0  # lines the reader has used
    base = 0  # lines used before the reader started (records read again after a runaway quote)
    undecodable_lines = lines.bad
    while not lines.stop_reached:
        before, block = taken, lines.block
        try:
            values, runaway = next(reader), ""
        except StopIteration:
            return
        except csv.Error as problem:  # e.g. a runaway quote past the field limit: keep the row, say why
            values = []
            runaway = _unreadable_record(problem, base + reader.line_num - before)
        taken = base + reader.line_num
        if not values and not runaway:
            continue  # a blank line is no row (as in pandas)
        number += 1
        if reader.ran_out_in_quotes:  # its text holds every line after it: no tag would mean anything
            runaway = _open_quote(taken - before)
        if runaway:  # the row is its first line; the lines after it are read again as rows
            first, reader = lines.reread_after_first_line(block, before, delimiter)
            taken = base = before + 1
            yield Row(number, _line_cells(first, header, delimiter), runaway)
            continue
        one_line = taken - before == 1
        undecodable = bool(undecodable_lines) and lines.undecodable_in(before + 1, taken)
        if undecodable or max(map(len, values)) > MAX_CELL_CHARS:
            cells, error = row_cells(values, header, encoding)
        elif len(values) == width:  # text cells pass the cell rule unchanged
            cells, error = values, ""
        else:  # only the width to fix
            cells, error = (values + [""] * (width - len(values)))[:width], ""
        if not error and len(values) != width:
            error = f"row has {len(values)} fields, the header has {width} (stray quote or delimiter?)"
        if not error and check_utf8:
            error = _utf8_read_as_gb(cells, encoding)
        if not error and _repeats_header(cells, header):
            error = _REPEATED_HEADER
        yield Row(number, cells, error, not error and not one_line and _merged_rows(cells, delimiter, width))


# The error of a data row that holds the header's names again.
_REPEATED_HEADER = "the row repeats the header (files joined together?): it is not a message"


def _repeats_header(cells: list[str], header: list[str]) -> bool:
    """Whether a row holds the header's names again, as exports joined with ``cat`` do (each with its header,
    a byte-order mark before the later ones): tagged, it would be a message made of column names."""
    return bool(cells) and cells[0].lstrip("\ufeff") == header[0] and cells[1:] == header[1:]


def _line_cells(line: str, header: list[str], delimiter: str) -> list[str]:
    """The cells of a record's first line split at every delimiter (its stray quote kept as text): the row of
    a runaway quote keeps its id, to find it by."""
    return row_cells(line.rstrip("\r\n").split(delimiter), header)[0]


# What the row of a runaway quote says became of the lines after its own: read again, as rows of their own.
_READ_AGAIN = (
    "The row is not tagged; the lines after it are read as rows: close or remove the quote and tag the row again"
)


def _open_quote(lines: int) -> str:
    """The error of a record whose quoted cell ran on over ``lines`` lines to the end of the file."""
    return f"a quoted cell runs on to the end of the file ({lines:,} lines): an unclosed quote? {_READ_AGAIN}"


def _unreadable_record(problem: csv.Error, lines: int) -> str:
    """A record the csv module refused, as its row's error: past the field limit, what usually caused it."""
    if "field larger than field limit" not in str(problem):
        return f"unreadable CSV row: {problem}"
    return f"unreadable CSV row: {problem}, over {lines:,} lines: an unclosed quote? {_READ_AGAIN}"


@dataclass(frozen=True)
class _KeysSeen:
    """What scanning lines of a JSONL file found: each key with the row it first appeared in, the rows read and the
    first row that is no object, with why (rows numbered from 1 as :func:`_jsonl_rows` numbers them)."""

    keys: dict[str, int]
    rows: int
    first_problem: tuple[int, str] | None


def _keys_seen(lines: Iterable[str], stop_after: int | None = None) -> _KeysSeen:
    """The keys of the objects on ``lines``, in the order they first appear, up to row ``stop_after``; it stops
    once more than :data:`MAX_JSONL_KEYS` are seen, or one over :data:`MAX_JSONL_KEY_CHARS` (the file is refused).
    A line that is no object, or holds bytes not valid in the encoding, gives no key: it is its row's error
    (:func:`_jsonl_rows`)."""
    keys: dict[str, int] = {}
    rows, problem = 0, None
    for rows, line in enumerate(itertools.islice((line for line in lines if line.strip()), stop_after), 1):
        record, reason = _json_object(line)
        if record is None:
            problem = problem or (rows, reason)
        elif not record.keys() <= keys.keys() and not has_surrogate(line):  # only new keys need the check
            keys.update((key, rows) for key in record if key not in keys)
            if len(keys) > MAX_JSONL_KEYS or max(map(len, record)) > MAX_JSONL_KEY_CHARS:
                break
    return _KeysSeen(keys, rows, problem)


def _share_keys(
    path: Path,
    encoding: str,
    start: int,
    stop: int | None,
    stop_after: int | None = None,
    shown: Callable[[int], object] | None = None,
) -> _KeysSeen:
    """:func:`_keys_seen` of the lines of ``path`` that start in bytes ``[start, stop)`` (read as rows are), up to
    row ``stop_after`` of them; ``shown`` is told the bytes of each read."""
    lines, handle = _text_lines(path, start, encoding, True, count=shown is not None, stop=stop, on_read=shown)
    with handle:
        return _keys_seen(lines, stop_after)


def _merged_keys(shares: Iterable[_KeysSeen]) -> list[str]:
    """The keys of a whole JSONL file from what its consecutive shares saw, in the order they first appear;
    refused past :data:`MAX_JSONL_KEYS` or with a key over :data:`MAX_JSONL_KEY_CHARS`, naming the row, and when
    no object has a key."""
    keys: dict[str, None] = {}
    rows, problem = 0, None
    for share in shares:
        for key, row in share.keys.items():
            if key not in keys:
                keys[key] = None
                if len(keys) > MAX_JSONL_KEYS:
                    raise DataError(_too_many_keys("its objects", f"row {rows + row:,}", key))
                if len(key) > MAX_JSONL_KEY_CHARS:
                    raise DataError(_key_too_long(rows + row, key))
        if problem is None and share.first_problem is not None:
            problem = (rows + share.first_problem[0], share.first_problem[1])
        rows += share.rows
    if not rows:
        raise DataError("the file is empty")
    if not keys:
        first = f" (row {problem[0]}: {problem[1]})" if problem else ""
        raise DataError(
            f"no JSON object with a key in its {rows:,} row(s), so the columns cannot be told{first}; "
            "JSON Lines hold one object a line: convert a JSON array with `jq -c '.[]'`"
        )
    return list(keys)


def joined_keys(keys_of: Iterable[tuple[str | Path, Sequence[str]]]) -> list[str]:
    """The columns of JSONL files read as one (a glob on Dask), from each file's keys in turn: their keys in the
    order they first appear, as their concatenation's are; refused past :data:`MAX_JSONL_KEYS`, naming the file."""
    keys: dict[str, None] = {}
    for path, found in keys_of:
        keys.update(dict.fromkeys(found))
        if len(keys) > MAX_JSONL_KEYS:
            key = next(itertools.islice(keys, MAX_JSONL_KEYS, None))
            raise DataError(_too_many_keys("the objects of the files", str(path), key))
    return list(keys)


def _too_many_keys(whose: str, where: str, key: str) -> str:
    """Why JSONL objects (``whose``) holding too many distinct keys are refused, the first past the limit coming
    ``where`` (a row, a file), and what to do."""
    return (
        f"{whose} hold more than {MAX_JSONL_KEYS:,} distinct keys ({where} brings key number "
        f"{MAX_JSONL_KEYS + 1:,}, {key[:80]!r}), far more than an export's fields: an object "
        f"used as a map, a new key per row? {_KEEP_FIELDS}"
    )


def _key_too_long(row: int, key: str) -> str:
    """Why a JSONL file with a key over :data:`MAX_JSONL_KEY_CHARS` is refused, and what to do."""
    return (
        f"row {row:,} holds a key of {len(key):,} characters ({key[:40]!r}...), over the {MAX_JSONL_KEY_CHARS:,} "
        "a column name may have (each key is a column, named in the header of every output): an object used as "
        f"a map keyed by text, or a broken export? {_KEEP_FIELDS}"
    )


# What to do with JSONL objects whose keys cannot all be columns.
_KEEP_FIELDS = (
    "Keep the fields to tag by and put the others in one, e.g. "
    "jq -c '{id, content, rest: (del(.id, .content) | tojson)}' IN.jsonl > OUT.jsonl"
)


def _jsonl_keys(
    path: Path,
    encoding: str,
    jobs: int,
    stop_after: int | None = None,
    shown: Callable[[int], object] | None = None,
) -> list[str]:
    """The columns of a JSONL file: the keys of all its objects, in the order they first appear, so that no value
    is lost (exporters such as mongoexport leave out null fields, so a rare field may first appear on any row);
    with ``stop_after``, of its rows up to that one, the only rows read.
    The file is scanned as its rows are read (:func:`_keys_seen`), by ``jobs`` processes in byte shares on Linux
    (forked, as the batch tagger's workers are) when the file is large enough to gain from them. Up to a row, it
    is scanned in one process: where a share's rows start is known only once the shares before it are scanned,
    and the scan takes a fraction of the time the parent then spends reading those rows itself.
    ``shown`` is told the bytes scanned: as they are read in one process, a share's as it is taken in many."""
    size = path.stat().st_size
    serial = jobs <= 1 or size < _PARALLEL_SCAN_BYTES or stop_after is not None
    if serial or sys.platform != "linux":  # forked only where batch's workers are
        return _merged_keys([_share_keys(path, encoding, 0, None, stop_after, shown)])
    shares = list(byte_shares(path, "jsonl", 0, 1, jobs, share_bytes=-(-size // (4 * jobs)), encoding=encoding))
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        starts, stops = zip(*shares, strict=True)
        seen = pool.map(_share_keys, itertools.repeat(path), itertools.repeat(encoding), starts, stops)
        return _merged_keys(seen if shown is None else _told(seen, shares, shown))


def _told(
    seen: Iterable[_KeysSeen], shares: Sequence[tuple[int, int]], shown: Callable[[int], object]
) -> Iterator[_KeysSeen]:
    """What each of the byte ``shares`` saw, telling ``shown`` its bytes as it is taken."""
    for share, (start, stop) in zip(seen, shares, strict=True):
        shown(stop - start)
        yield share


def _jsonl_rows(lines: Iterable[str], header: list[str], keys: list[str], encoding: str) -> Generator[Row]:
    """Rows of JSONL ``lines``, a cell for each of ``keys`` (the file's: :func:`_jsonl_keys`). An object with a
    key not among them is its row's error, not a value silently lost: a key holding bytes not valid in the
    encoding (no column is made of it), or a key the file gained after its keys were found."""
    check_utf8 = _is_gb(encoding)
    known = dict.fromkeys(keys).keys()
    for number, line in enumerate((line for line in lines if line.strip()), 1):
        record, reason = _json_object(line)
        if record is None:
            if has_surrogate(line):
                reason = _not_valid_in(encoding)
            yield Row(number, [""] * len(header), reason)
            continue
        values = [record.get(key) for key in keys]
        cells, error = row_cells(values, header, encoding)
        if not error and check_utf8:
            error = _utf8_read_as_gb(cells, encoding)
        if not error and not record.keys() <= known:
            error = _not_valid_in(encoding) if has_surrogate(line) else _keys_not_in_columns(record.keys() - known)
        yield Row(number, cells, error, values=values)


def _keys_not_in_columns(extra: Iterable[str]) -> str:
    """The error of a JSONL row with keys the file's columns lack."""
    named = ", ".join(repr(key[:80]) for key in sorted(extra)[:5])
    return f"the object has keys not among the file's columns ({named}): was the file changed while read? Tag it again"


def _text_lines(
    path: Path,
    start: int,
    encoding: str,
    translate: bool,
    count: bool,
    stop: int | None = None,
    on_read: Callable[[int], object] | None = None,
) -> tuple[_Lines, Any]:
    """``(lines from byte start, the file to close)``; with ``count``, a :class:`_CountingReader` for progress
    (telling ``on_read`` the bytes of each read)."""
    text = _TextEncoding.of(path, encoding)
    if start % text.unit:
        raise DataError(f"byte {start:,} is inside a {text.codec} character: a byte range starts at a line start")
    if stop is not None:  # records start at whole code units: the same records, and every read is of whole units
        stop = -(-stop // text.unit) * text.unit
    raw = path.open("rb")
    raw.seek(start)
    source = _CountingReader(raw, start, on_read) if count else raw
    return _Lines(io.BufferedReader(source, buffer_size=1 << 16), start, text, translate, stop), source


def _text_header(path: Path, kind: str, encoding: str, jsonl_keys: Sequence[str]) -> tuple[list[str], list[str], int]:
    """``(header, JSONL keys, byte offset of the first data record)`` of a text file; a JSONL file's columns are
    its ``jsonl_keys`` (:func:`_jsonl_keys`)."""
    if kind == "jsonl":
        keys = list(jsonl_keys)
        return unique_columns(keys), keys, 0  # the first object is also the first row
    lines, handle = _text_lines(path, 0, encoding, False, count=False)
    with handle:
        first = _leading_records(lines, _DELIMITERS[kind])
        records = [record for record, _ in first]
        # a title row as a spreadsheet saves one has the table's width ("title,,,") or is blank: a one-field
        # row is a one-column header, whatever rows follow
        titles = _title_rows(records)
        if titles and all(len(record) != 1 for record in records[:titles]):
            _warn_title_rows(f"file {path.name!r}", records[:titles])
        else:
            titles = 0
        header = _delimited_header(first[titles][0] if first else None, encoding)  # raises when there is none
        return header, header, first[titles][1]


_DELIMITERS = {"csv": ",", "tsv": "\t"}


def _leading_records(lines: _Lines, delimiter: str) -> list[tuple[list[str], int]]:
    """The first records of a CSV/TSV, each with the byte offset after it: up to the first with a value past
    its first cell (the header, unless title rows come first: :func:`_title_rows`), at most
    :data:`_MAX_TITLE_ROWS` + 1. A record after the first that cannot be read ends them (it is a data row)."""
    reader = lines.csv_reader(delimiter)
    first: list[tuple[list[str], int]] = []
    try:
        for record in reader:
            first.append((record, lines.position))
            if len(first) > _MAX_TITLE_ROWS or any(cell.strip() for cell in record[1:]):
                break
    except csv.Error:
        if not first:
            raise
    return first


def _read_text(
    path: Path,
    kind: str,
    encoding: str,
    byte_range: tuple[int, int] | None,
    jsonl_keys: Sequence[str],
) -> tuple[list[str], list[str], Generator[Row], _CountingReader, _Lines, int]:
    """``(header, JSONL keys, rows, byte counter, lines, data start)`` of a CSV/TSV/JSONL file (a JSONL file's
    columns: its ``jsonl_keys``), whole or the records that start in ``byte_range`` (numbered from 1 there), read
    line by line from bytes (:class:`_Lines`)."""
    if byte_range is None:
        header, keys, data_start = _text_header(path, kind, encoding, jsonl_keys)
    else:
        with warnings.catch_warnings():  # the whole file's reader has warned of these already
            warnings.simplefilter("ignore", DuplicateColumnWarning)
            warnings.simplefilter("ignore", TitleRowsWarning)
            header, keys, data_start = _text_header(path, kind, encoding, jsonl_keys)
    start, stop = byte_range or (data_start, None)
    lines, counter = _text_lines(path, start, encoding, kind == "jsonl", count=True, stop=stop)
    if kind == "jsonl":
        rows = _jsonl_rows(lines, header, keys, encoding)
    else:
        rows = _delimited_rows(lines.csv_reader(_DELIMITERS[kind]), header, _DELIMITERS[kind], encoding, lines)
    return header, keys, rows, counter, lines, data_start


#: The smallest share near a file's end, as a fraction of a whole one (see :func:`byte_shares`).
_SMALLEST_TAIL_SHARE = 8

#: What reading one byte share gives (see :func:`joined_shares`).
_Share = TypeVar("_Share")


def byte_shares(
    path: str | Path,
    format: str,
    start: int,
    rows: int,
    workers: int = 1,
    *,
    share_bytes: int | None = None,
    encoding: str = "utf-8",
) -> Iterator[tuple[int, int]]:
    """Byte ranges ``(start, stop)`` covering a CSV/TSV/JSONL file in ``encoding`` from ``start`` to its end,
    each of about ``rows`` records (or ``share_bytes`` bytes), for workers that read their own share
    (``read_rows(byte_range=...)``).

    Near the end, once fewer bytes are left than two shares per worker, shares get smaller (down to
    an eighth), so that ``workers`` processes run out of work at nearly the same time instead of one
    finishing a whole last share while the others wait.

    Ranges are cut at line starts; in CSV/TSV only where an even number of quotes has gone by since
    ``start``, so not inside a quoted cell that holds line breaks. A stray quote can still mislead the
    count: then the range before reads on past its stop (:meth:`Export.position` says how far), and
    the caller re-reads the next range from there. The file is read once, at the speed of counting bytes.
    """
    path = Path(path)
    end = path.stat().st_size
    text = _TextEncoding.of(path, encoding)
    unit = text.unit
    with path.open("rb") as handle:
        handle.seek(start)
        sample = handle.read(1 << 20)
        size = share_bytes or max(1, rows * len(sample) // max(text.chart(sample).count(b"\n"), 1))
        smallest = max(1, size // _SMALLEST_TAIL_SHARE)
        quote = b"" if format == "jsonl" else b'"'
        while end - start > (share := max(smallest, min(size, (end - start) // (2 * workers)))):
            handle.seek(start)
            block = handle.read(-(-share // unit) * unit)  # whole code units
            odd = bool(quote) and text.chart(block).count(quote) % 2 == 1
            stop = _next_line_start(handle, start + len(block), odd, quote, text)
            if stop >= end:
                break
            yield start, stop
            start = stop
    yield start, end


def joined_shares(
    read: Iterable[tuple[tuple[int, int], _Share]],
    start: int,
    end_of: Callable[[_Share], int],
    read_again: Callable[[int, int], _Share],
) -> Iterator[tuple[int, _Share]]:
    """``(where it starts, what was read)`` of each of the :func:`byte_shares` ``read`` in order (each share
    with what reading it gave), joined up from byte ``start``: a share whose start lies inside the record the
    share before ran on with (a stray quote fooled the cut) is read again (``read_again(from, stop)``) from
    where that one ended (``end_of``), or skipped when that record ran past its stop."""
    expected = start
    for (first, stop), result in read:
        if first != expected:
            if expected >= stop:
                continue
            result = read_again(expected, stop)
        yield expected, result
        expected = end_of(result)


def _next_line_start(handle: Any, offset: int, odd: bool, quote: bytes, text: _TextEncoding) -> int:
    """The first line start after byte ``offset`` (where ``handle`` is, at a code unit's start) with an even
    number of ``quote`` characters before it (``odd``: the count up to ``offset`` is odd; no ``quote``: any
    line start); the file's end if there is none."""
    while block := handle.read(1 << 16):
        chart, at = text.chart(block), 0
        while (newline := chart.find(b"\n", at)) >= 0:
            if quote:
                odd ^= chart.count(quote, at, newline) % 2 == 1
            at = newline + 1
            if not odd:
                return offset + at * text.unit
        if quote:
            odd ^= chart.count(quote, at) % 2 == 1
        offset += len(block)
    return offset


def _json_object(line: str) -> tuple[dict[str, Any] | None, str]:
    """``(the line's JSON object, "")``, or ``(None, why it is not one)``. A byte-order mark before the line
    (files joined with ``cat``, each saved with one) is skipped, as the decoder skips the file's first."""
    try:
        record = json.loads(line.removeprefix("\ufeff"))
    except json.JSONDecodeError as problem:
        return None, f"line is not JSON ({problem})"
    except RecursionError:
        return None, "line is nested too deep to read"
    except ValueError as problem:  # e.g. an integer over sys.get_int_max_str_digits()
        return None, f"line cannot be read: {str(problem)[:200]}"
    if not isinstance(record, dict):
        return None, f"line is not a JSON object (a {_JSON_TYPES.get(type(record), 'value')})"
    return record, ""


# The JSON names of what json.loads gives, for the row error of a line that is not an object.
_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


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


def _column_values(column: Any) -> tuple[list[Any], bool]:
    """``(the column's values as Python objects, whether pyarrow converted every one)``."""
    try:
        return column.to_pylist(), True
    except Exception:  # one bad value: convert value by value so only its row fails
        values: list[Any] = []
        for k in range(len(column)):
            scalar = column[k]
            try:
                values.append(scalar.as_py())
            except Exception as problem:
                values.append(Unreadable(scalar, problem))
        return values, False


def _is_text(column: Any) -> bool:
    """Whether an Arrow column holds strings."""
    types = sys.modules["pyarrow"].types
    return bool(types.is_string(column.type) or types.is_large_string(column.type))


def _text_cells(column: Any, values: list[Any], converted: bool) -> list[str] | None:
    """The cells of an Arrow string column, for a column whose values all pass the cell rule unchanged
    (None as ""; Arrow strings are valid UTF-8, so hold no surrogate); None when :func:`row_cells` must
    look at them (another type, a value pyarrow could not convert, a cell over :data:`MAX_CELL_CHARS`)."""
    if not converted or not _is_text(column):
        return None
    cells = [value if value is not None else "" for value in values] if column.null_count else values
    return None if max(map(len, cells), default=0) > MAX_CELL_CHARS else cells


def _text_columns(batch: Any, converted: list[tuple[list[Any], bool]]) -> list[list[str]] | None:
    """The cells of a record batch column by column (``converted``: :func:`_column_values` of each) when
    every column is text passing the cell rule unchanged, so no row can have an error; else None."""
    texts = [_text_cells(batch.column(i), *values) for i, values in enumerate(converted)]
    return None if any(cells is None for cells in texts) else cast(list[list[str]], texts)


def batch_text_columns(batch: Any) -> list[list[str]] | None:
    """The cells of an Arrow record batch column by column, for a caller that needs only the text: when
    no row can have an error (every column text that passes the cell rule unchanged); else None, and the
    rows are :func:`batch_rows`. Skips building a :class:`Row` per row (~0.7 µs a row of two columns).
    A batch with a column of another type is not converted here, only once by :func:`batch_rows`; nor is a
    batch of rows that could not be read (:func:`_damaged_batches`)."""
    if lost_rows_error(batch) or not all(_is_text(column) for column in batch.columns):
        return None
    return _text_columns(batch, [_column_values(batch.column(i)) for i in range(batch.num_columns)])


def batch_rows(batch: Any, header: Sequence[str], first_number: int = 0) -> Iterator[Row]:
    """The rows of one Arrow record batch of a Parquet export, numbered from ``first_number + 1``, as
    :func:`read_rows` gives them (workers handed whole batches turn them into rows here). A batch of
    text columns only is turned into cells a column at a time. Rows that could not be read (a damaged row
    group: :func:`_damaged_batches`) come with empty cells, no values and their error."""
    if error := lost_rows_error(batch):
        for number in range(first_number + 1, first_number + batch.num_rows + 1):
            yield Row(number, [""] * len(header), error, values=[None] * len(header))
        return
    converted = [_column_values(batch.column(i)) for i in range(batch.num_columns)]
    columns = [values for values, _ in converted]
    texts = _text_columns(batch, converted)
    if len(header) == len(columns) and texts is not None:
        rows = zip(zip(*texts, strict=True), zip(*columns, strict=True), strict=True)
        yield from (
            Row(number, list(cells), values=values) for number, (cells, values) in enumerate(rows, first_number + 1)
        )
        return
    for number, values in enumerate(zip(*columns, strict=True), first_number + 1):
        cells, error = row_cells(values, header)
        yield Row(number, cells, error, values=values)


def _read_parquet(
    path: Path, chunk_size: int, row_groups: Sequence[int] | None, closing: ExitStack
) -> tuple[list[str], Generator[Row], Any, Any, Iterator[Any]]:
    """``(header, rows, Arrow schema, footer, the record batches the rows are made of)``."""
    parquet = import_optional("pyarrow.parquet", extra="io", purpose="reading Parquet files")
    arrow_error = import_optional("pyarrow", extra="io", purpose="reading Parquet files").ArrowException
    try:
        file = parquet.ParquetFile(path, buffer_size=_PARQUET_READ_BUFFER, pre_buffer=False)
    except arrow_error as problem:
        raise DataError(f"not a readable Parquet file ({problem})") from None
    closing.callback(file.close)
    header = unique_columns(file.schema_arrow.names)
    groups = list(range(file.num_row_groups)) if row_groups is None else list(row_groups)
    first = sum(file.metadata.row_group(g).num_rows for g in range(min(groups, default=0)))
    batches = _named_refusals(path, _readable_batches(file, groups, chunk_size))

    def rows() -> Generator[Row]:
        number = first
        for batch in batches:
            yield from batch_rows(batch, header, number)
            number += batch.num_rows

    return header, rows(), file.schema_arrow, file.metadata, batches


def _named_refusals(path: Path, batches: Iterator[Any]) -> Generator[Any]:
    """``batches``, a refusal met while reading them naming the file, as one met opening it does (Dask reads
    many)."""
    try:
        yield from batches
    except DataError as refused:
        raise DataError(f"{path}: {refused}") from None


def _readable_batches(file: Any, groups: list[int], batch_size: int) -> Generator[Any]:
    """The record batches of the Parquet row ``groups``, read across groups (pyarrow's batches run on from
    one group into the next). Where a page stops the reading, the group it is in is read alone
    (:func:`_group_batches`): if the page is damaged, only the rows that cannot be read are lost, each as a row
    with its error, and the groups after it are read on; else (:func:`_not_damage`) the reading ends in a
    :class:`DataError`."""
    sizes = [file.metadata.row_group(g).num_rows for g in range(file.num_row_groups)]
    while groups:
        read = 0
        try:
            for batch in _file_batches(file, groups, batch_size):
                yield batch
                read += batch.num_rows
            return
        except _read_errors():
            pass  # read the group again alone: its failure is damage, or the file's (_not_damage)
        failed = 0  # the group holding the first row not read (a batch that failed may run into the next)
        while failed < len(groups) - 1 and read >= sizes[groups[failed]]:
            read -= sizes[groups[failed]]
            failed += 1
        yield from _group_batches(file, groups[failed], read, batch_size, sum(sizes[: groups[failed]]))
        groups = groups[failed + 1 :]


def _group_batches(file: Any, group: int, skip: int, batch_size: int, before: int) -> Generator[Any]:
    """Row ``group`` of a Parquet file, whose rows are numbered after row ``before``, read alone past its
    first ``skip`` rows: its record batches up to a damaged page, then its rows not read as
    :func:`_damaged_batches` (how many there are is in the file's footer). A failure that is no damage raises
    :class:`DataError`."""
    read = 0
    try:
        for batch in _file_batches(file, [group], batch_size):
            if read + batch.num_rows > skip:
                yield batch.slice(max(skip - read, 0))
            read += batch.num_rows
        return
    except _read_errors() as problem:
        if refusal := _not_damage(problem, group):
            raise refusal from None
        reason = problem
    lost = range(before + max(read, skip) + 1, before + file.metadata.row_group(group).num_rows + 1)
    yield from _damaged_batches(file.schema_arrow, lost, group, reason, batch_size)


# The key of the schema metadata that marks a record batch of nulls standing for Parquet rows that could not
# be read; its value is their error.
_DAMAGED = b"triage.damaged"


def _file_batches(file: Any, groups: list[int], batch_size: int) -> Iterator[Any]:
    """pyarrow's record batches of the row ``groups`` of a Parquet ``file``. Decoded on this thread: Arrow's
    thread pool cost the parent of a 100,000-row Parquet-to-Parquet run with two workers ~0.5-3 µs a row more
    CPU (wakeups, page faults) for no gain. A file's own schema metadata under :data:`_DAMAGED` (written so by
    someone) is dropped: batches read carry the file's metadata, and only lost rows may have that mark."""
    batches = file.iter_batches(batch_size=batch_size, row_groups=groups, use_threads=False)
    metadata = file.schema_arrow.metadata or {}
    if _DAMAGED not in metadata:
        return cast(Iterator[Any], batches)
    kept = {key: value for key, value in metadata.items() if key != _DAMAGED}
    return (batch.replace_schema_metadata(kept) for batch in batches)


def _read_errors() -> tuple[type[Exception], ...]:
    """What pyarrow raises for a row group it cannot read: ``OSError`` for most (a page header it cannot read:
    "Couldn't deserialize thrift"; a gzip check that fails), an ``ArrowException`` for others."""
    return (sys.modules["pyarrow"].ArrowException, OSError)


# How pyarrow says that a Parquet file uses LZO, which it reads in no build (an OSError, as damage is).
_LZO_REFUSED = re.compile(r"\bLZO compression\b.* not supported")


def _not_damage(problem: Exception, group: int) -> DataError | None:
    """The error for a row ``group`` pyarrow could not read for a reason that is no damage, and would stop
    every group alike: what the file uses that this pyarrow cannot read, or memory; None for damage. What
    damage raises, measured on 7,500 random corruptions of pages (pyarrow 26, six codecs, plain, dictionary and
    delta encodings; 5,594 stopped the reading): ``OSError`` 5,291 times, ``ArrowInvalid`` 301,
    ``ArrowIndexError`` 2, nothing else."""
    pyarrow = sys.modules["pyarrow"]
    said = f"{type(problem).__name__}: {_one_line(problem)}"
    where = f"row group {group} (counted from 0) of the Parquet file cannot be read ({said})"
    if isinstance(problem, OSError) and _LZO_REFUSED.search(str(problem)):
        return DataError(
            f"{where}: it is compressed with LZO, which pyarrow reads in no version; the file is not "
            "damaged: write it again with snappy or zstd compression"
        )
    if isinstance(problem, (OSError, pyarrow.ArrowInvalid, pyarrow.ArrowIndexError)):
        return None
    if isinstance(problem, (MemoryError, pyarrow.ArrowCapacityError)):
        return DataError(f"{where}: too much to hold at once; pass a smaller --chunk-size, or free memory")
    return DataError(
        f"{where}: it uses something pyarrow {pyarrow.__version__} cannot read (a compression codec, an encoding "
        "or a type); the file is not damaged: install a newer pyarrow (pip install -U pyarrow), or write the "
        "file again with snappy or zstd compression and common column types"
    )


def _one_line(problem: Exception) -> str:
    """pyarrow's reason, its control characters and line breaks as spaces."""
    return " ".join("".join(c if c.isprintable() else " " for c in str(problem)).split())


def _damaged_batches(schema: Any, lost: range, group: int, problem: Exception, batch_size: int) -> Iterator[Any]:
    """The rows ``lost`` (their numbers) of a damaged row ``group``, as record batches of at most
    ``batch_size`` rows of nulls in the file's columns, marked with their error: they travel where read
    batches go (to workers, to a resumed run's skipping, beside the tags in Parquet output), and
    :func:`batch_rows` turns them into rows with that error. The columns are nullable here, whatever
    the file's schema says: these rows have no values."""
    if not lost:
        return
    pyarrow = sys.modules["pyarrow"]
    error = (
        f"the Parquet data of rows {lost[0]} to {lost[-1]} (row group {group}, counted from 0) cannot be read "
        f"({_one_line(problem)}): the file is damaged; export the file again; the other rows were read"
    )
    fields = [field.with_nullable(True) for field in schema]
    nulls = pyarrow.RecordBatch.from_arrays(  # one batch's worth, not the group's (a text column's offsets)
        [pyarrow.nulls(min(batch_size, len(lost)), field.type) for field in fields],
        schema=pyarrow.schema(fields, metadata={_DAMAGED: error.encode()}),
    )
    for start in range(0, len(lost), batch_size):
        yield nulls.slice(0, min(batch_size, len(lost) - start))


def lost_rows_error(batch: Any) -> str:
    """The error of the rows of a record batch made by :func:`_damaged_batches`; "" for a batch read."""
    metadata = batch.schema.metadata
    return metadata[_DAMAGED].decode() if metadata and _DAMAGED in metadata else ""


def _read_xlsx(path: Path, sheet: str | int | None) -> tuple[list[str], Generator[Row]]:
    calamine = import_optional("python_calamine", extra="io", purpose="reading XLSX files")
    workbook = _open_workbook(calamine, path)
    names = workbook.sheet_names
    if isinstance(sheet, int) and not -len(names) <= sheet < len(names):
        raise DataError(f"no sheet number {sheet} (counted from 0); the workbook has {len(names)}: {', '.join(names)}")
    name = names[sheet] if isinstance(sheet, int) else (sheet or names[0])
    if name not in names:
        raise DataError(f"no sheet {name!r}; the workbook has: {', '.join(names)}")
    try:
        values = workbook.get_sheet_by_name(name).iter_rows()
    except calamine.CalamineError as problem:
        raise DataError(f"sheet {name!r} cannot be read ({problem}): save the workbook again from Excel/WPS") from None
    first, values = _past_title_rows(values, name)
    if not first:
        others = [other for other in names if other != name]
        hint = f"; the workbook also has: {', '.join(others)} (pick one with --sheet)" if others else ""
        raise DataError(f"sheet {name!r} is empty{hint}")
    header = unique_columns(first)  # as wide as the sheet: calamine gives every row the sheet's width
    return header, (Row(number, *row_cells(row, header)) for number, row in enumerate(values, 1))


# How a workbook's bytes begin: a zip archive (XLSX), an OLE compound file (XLS, or an XLSX saved with a password).
_ZIP_START, _OLE_START = b"PK\x03\x04", bytes.fromhex("d0cf11e0a1b11ae1")


def _open_workbook(calamine: Any, path: Path) -> Any:
    """The workbook at ``path``; calamine goes by the suffix, so one whose bytes say otherwise (an XLSX saved
    as .xls) is opened again by its bytes. A file that is no readable workbook raises :class:`DataError`
    saying what it looks like and what to do."""
    try:
        return calamine.CalamineWorkbook.from_path(str(path))
    except calamine.CalamineError as problem:
        failure = problem
    with path.open("rb") as handle:
        head = handle.read(4096)
        if head.startswith((_ZIP_START, _OLE_START)):
            handle.seek(0)
            with contextlib.suppress(calamine.CalamineError):
                return calamine.CalamineWorkbook.from_filelike(handle)
    if isinstance(failure, calamine.PasswordError) or head.startswith(_OLE_START):
        fix = "a password-protected workbook, or a damaged .xls? Save a copy without a password as .xlsx and try again"
    elif not head:
        fix = "the file is empty"
    elif _looks_like_text(head):
        fix = _text_not_workbook(head, path.suffix)
    else:
        fix = "the file is damaged or cut short, or not a workbook; save it again from Excel/WPS as .xlsx"
    raise DataError(f"not a readable XLSX workbook ({failure}): {fix}")


def _text_not_workbook(head: bytes, suffix: str) -> str:
    """What to do with a text file named as a workbook: a web page (some systems export HTML as .xls) is saved
    again by Excel/WPS; CSV or TSV (by its first line) is read as such."""
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return f"it is a web page (HTML or XML) saved as {suffix}; open it in Excel/WPS and save it as .xlsx"
    line = head.split(b"\n", 1)[0]
    kind = "tsv" if line.count(b"\t") > line.count(b",") else "csv"
    return f"it holds text, not a workbook ({kind.upper()} named {suffix}?); pass --format {kind}, or rename it .{kind}"


def _looks_like_text(head: bytes) -> bool:
    """Whether the first bytes of a file read as UTF-8 or GB18030 text (its last character may be cut)."""
    for encoding in ("utf-8", "gb18030"):
        with contextlib.suppress(UnicodeDecodeError):
            codecs.getincrementaldecoder(encoding)().decode(head)
            return b"\0" not in head
    return False


# The most rows above a table's column names that are skipped as its title (see _title_rows).
_MAX_TITLE_ROWS = 10


def _title_rows(first_rows: Sequence[Sequence[Any]]) -> int:
    """How many of a table's first rows are a title above its column names, as spreadsheet exports put one:
    up to :data:`_MAX_TITLE_ROWS` rows with no value past their first cell (a merged title, a blank row),
    counted only when the row after them holds two names or more. A one-column table, or a header followed by
    one-value rows, has none."""
    for index, row in enumerate(first_rows[: _MAX_TITLE_ROWS + 1]):
        filled = [bool(to_cell(value).strip()) for value in row]
        if any(filled[1:]):
            return index if sum(filled) >= 2 else 0
    return 0


def _warn_title_rows(where: str, titles: Sequence[Sequence[Any]]) -> None:
    shown = ", ".join(repr(to_cell(title[0]) if title else "") for title in titles)
    warnings.warn(
        f"{where}: {len(titles)} row(s) above the column names skipped as its title: {shown}",
        TitleRowsWarning,
        stacklevel=5,
    )


def _past_title_rows(rows: Iterator[list[Any]], sheet: str) -> tuple[list[Any], Iterator[list[Any]]]:
    """``(the header row, the rows after it)`` of a sheet, past its title rows (:func:`_title_rows`), which a
    :class:`~triage.exceptions.TitleRowsWarning` names."""
    first = list(itertools.islice(rows, _MAX_TITLE_ROWS + 1))
    if not first:
        return [], rows
    if titles := _title_rows(first):
        _warn_title_rows(f"sheet {sheet!r}", first[:titles])
    return first[titles], itertools.chain(first[titles + 1 :], rows)


def chunked(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    """``rows`` in lists of ``size`` (the last may be shorter)."""
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


@contextmanager
def read_rows(
    path: str | Path,
    *,
    format: str = "auto",
    encoding: str = "auto",
    sheet: str | int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    stop_after: int | None = None,
    progress: str | None = None,
    row_groups: Sequence[int] | None = None,
    byte_range: tuple[int, int] | None = None,
    jsonl_keys: Sequence[str] | None = None,
    jobs: int = 1,
) -> Iterator[Export]:
    """Open an export and stream it as an :class:`Export`: its header and chunks of :class:`Row`,
    up to data row ``stop_after``; the file closes on leaving the ``with`` block.

    ``encoding`` applies to CSV/TSV/JSONL (``"auto"``: :func:`choose_encoding`); ``sheet`` picks an
    XLSX sheet by name or index. Workers can each read their own share: ``row_groups`` reads only
    those Parquet row groups (row numbers stay those of the whole file); ``byte_range`` ``(start,
    stop)`` reads the CSV/TSV/JSONL records that start in that range of bytes (:func:`byte_shares`;
    rows numbered from 1 in the range; :meth:`Export.position` tells where the next range must start).
    A JSONL file's columns are the keys of all its objects, found by scanning it whole first (up to row
    ``stop_after``), in ``jobs`` processes (byte shares, where processes can be forked); a reader of a byte
    range passes the whole file's (:attr:`Export.keys`) as ``jsonl_keys`` so that it is not scanned again.
    ``progress`` names a progress bar on stderr (bytes read, or rows for Parquet and XLSX), and one of the
    bytes of a JSONL file scanned for its keys before it.
    Whole-file problems (no such file, no header, an unknown format) raise :class:`DataError`;
    problems of one row are that row's ``error``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} is a folder, not a file" if path.is_dir() else f"no such file: {path}")
    kind = resolve_format(path, format)
    if byte_range is not None and kind not in _DELIMITERS and kind != "jsonl":
        raise DataError(f"{path}: byte ranges are for CSV, TSV and JSONL files, not {kind}")
    with ExitStack() as closing:
        counter = choice = lines = data_start = schema = footer = batches = keys = None
        try:
            if kind == "parquet":
                header, rows, schema, footer, batches = _read_parquet(path, chunk_size, row_groups, closing)
            elif kind == "xlsx":
                header, rows = _read_xlsx(path, sheet)
            else:
                choice = choose_encoding(path, encoding)
                if kind == "jsonl" and jsonl_keys is None:  # a range's rows count from its start: not up to a row
                    scanned = stop_after if byte_range is None else None
                    jsonl_keys = _scanned_keys(path, choice.encoding, jobs, scanned, progress)
                header, keys, rows, counter, lines, data_start = _read_text(
                    path, kind, choice.encoding, byte_range, jsonl_keys or ()
                )
                closing.callback(counter.close)
        except DataError as problem:
            raise DataError(f"{path}: {problem}") from None
        closing.callback(rows.close)  # the generators hold their file open
        kept = rows if stop_after is None else itertools.takewhile(lambda row: row.number <= stop_after, rows)
        chunks = chunked(kept, chunk_size)
        bar = None
        if progress is not None:
            bar = closing.enter_context(_progress_bar(path, counter is not None, progress))
            chunks = _counted(chunks, bar, counter)
        found = keys if kind == "jsonl" else None
        yield Export(path, kind, header, chunks, choice, sheet, schema, footer, data_start, batches, found, lines, bar)


def _scanned_keys(path: Path, encoding: str, jobs: int, stop_after: int | None, progress: str | None) -> list[str]:
    """:func:`_jsonl_keys`, with a bar of the bytes scanned named after ``progress`` (None: no bar)."""
    if progress is None:
        return _jsonl_keys(path, encoding, jobs, stop_after)
    with _progress_bar(path, True, f"{progress} (finding the JSONL keys)") as bar:
        return _jsonl_keys(path, encoding, jobs, stop_after, bar.update)


@contextmanager
def _progress_bar(path: Path, in_bytes: bool, description: str) -> Iterator[Any]:
    """A bar on stderr of the bytes of ``path`` read (``in_bytes``), else of rows."""
    tqdm = import_optional("tqdm", extra="io", purpose="the progress bar").tqdm
    # No monitor thread: worker processes are forked while the bar runs, and forking a
    # process with other threads running can deadlock.
    bar = type("ProgressBar", (tqdm,), {"monitor_interval": 0})
    if in_bytes:
        shown = bar(total=path.stat().st_size, unit="B", unit_scale=True, desc=description, file=sys.stderr)
    else:
        shown = bar(unit=" rows", desc=description, file=sys.stderr)
    with contextlib.closing(shown):
        yield shown


def _counted(chunks: Iterator[list[Row]], bar: Any, counter: _CountingReader | None) -> Iterator[list[Row]]:
    for chunk in chunks:
        yield chunk
        bar.update((counter.count - bar.n) if counter else len(chunk))


def read_table(
    path: str | Path, *, format: str = "auto", encoding: str = "auto", sheet: str | int | None = None
) -> Any:
    """A whole export as a pandas DataFrame of strings (missing cells as ``""``), read by :func:`read_rows`.

    Raises :class:`DataError` naming the first unreadable row (and how many there are): a model
    should not be trained or measured on rows silently left out. For CSV/TSV/JSONL,
    ``frame.attrs["encoding"]`` says which encoding was used and why.
    """
    pandas = import_optional("pandas", extra="io", purpose="reading data files")
    records: list[list[str]] = []
    bad: list[Row] = []
    with read_rows(path, format=format, encoding=encoding, sheet=sheet, chunk_size=10_000) as export:
        for chunk in export.chunks:
            for row in chunk:
                records.append(row.cells)
                if row.error:
                    bad.append(row)
    if bad:
        more = f" ({len(bad):,} rows in all)" if len(bad) > 1 else ""
        raise DataError(f"{path}: row {bad[0].number} cannot be read: {bad[0].error}{more}")
    frame = pandas.DataFrame(records, columns=export.header, dtype=object)
    if export.encoding is not None:
        frame.attrs["encoding"] = str(export.encoding)  # what was chosen and why, for the user
    return frame


def require_columns(
    columns: Iterable[Any],
    wanted: Iterable[str],
    *,
    role: str = "",
    source: str | Path | None = None,
    holder: str = "the file",
) -> None:
    """Refuse ``wanted`` names missing from ``columns``, naming them and listing the columns there are.

    ``role`` says what the column is for ("label": "no label column ..."); the listing names
    ``source`` when given ("no column 'x' in in.csv; it has: ..."), else ``holder`` ("the file has: ...").
    """
    columns = list(columns)
    missing = [c for c in wanted if c not in columns]
    if not missing:
        return
    where = f" in {source}; it has" if source is not None else f"; {holder} has"
    named = ", ".join(map(repr, missing))
    listed = ", ".join(map(str, columns))
    spaced = {str(c).strip(): str(c) for c in columns if str(c) != str(c).strip()}
    # a header cell with spaces around its name looks the same in the listing: name the exact one
    hints = "".join(f"; {m!r} is written {spaced[m.strip()]!r} there" for m in missing if m.strip() in spaced)
    raise DataError(f"no {role + ' ' if role else ''}column {named}{where}: {listed}{hints}{_header_hint(columns)}")


def _header_hint(columns: Sequence[Any]) -> str:
    """What to do when the header read is not the table's column names: a spreadsheet's title above the table
    (one value in the first cell of a wider row, as a merged title cell is exported; blank names come renamed
    ``.1``, ``.2``, or by pandas, ``Unnamed: 1``), or names joined by another delimiter
    than the one read (a ``;``-separated file)."""
    names = [str(c) for c in columns]
    if len(names) == 1 and (other := next((d for d in ";|" if d in names[0]), None)):
        return (
            f"; the header is one column holding {other!r}: a file delimited by {other!r} is not read as CSV "
            "(save it comma-separated, or tab-separated as .tsv) and try again"
        )
    if len(names) < 2 or not names[0].strip() or not all(re.fullmatch(r"(\.\d+|Unnamed: \d+)?", n) for n in names[1:]):
        return ""
    return (
        f"; the first row looks like a title above the table ({names[0]!r} alone across {len(names)} columns): "
        "delete the rows above the column names (or save the table alone) and try again"
    )


def detect_text_columns(columns: Sequence[str]) -> list[str]:
    """The text columns of an export by their headers: a subject/body pair if present, else one column."""
    normalised = {str(c).strip().lower(): str(c) for c in columns}
    for headers in _TEXT_HEADERS:
        if all(h in normalised for h in headers):
            return [normalised[h] for h in headers]
    hint = _header_hint(columns) or "; name it with --text-column"
    raise DataError(f"no text column recognised among: {', '.join(map(str, columns))}{hint}")


def frame_texts(frame: Any, columns: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(each row's text, each row's error)`` of a pandas DataFrame: the given columns joined by a newline
    (subject, then body), each value a cell by the rule every reader follows (:func:`to_cell`: a missing value
    is ``""``, bytes are UTF-8, lists JSON), so a frame gives the texts its file would; a value that cannot be a
    cell (bytes that are not UTF-8, text over :data:`MAX_CELL_CHARS`) is ``""`` and its row's error says why."""
    require_columns(frame.columns, columns)
    selected = frame[list(columns)]
    cells, errors = [], [""] * len(selected)
    for index, name in enumerate(selected.columns):
        values = selected.iloc[:, index].tolist()
        if _plain_texts(values):  # a frame read by read_table or read_export: cells already (4 times faster)
            cells.append(values)
            continue
        column: list[str] = []
        header = [to_cell(name)]
        for row, value in enumerate(values):
            (cell,), error = row_cells([value], header)
            column.append(cell)
            if error:
                errors[row] = f"{errors[row]}; {error}" if errors[row] else error
        cells.append(column)
    texts = cells[0] if len(cells) == 1 else [join_text(parts) for parts in zip(*cells, strict=True)]
    return texts, errors


def _plain_texts(values: list[Any]) -> bool:
    """Whether every value is text that passes the cell rule unchanged (no surrogate, none over the limit)."""
    if not all(type(value) is str for value in values):
        return False
    return max(map(len, values), default=0) <= MAX_CELL_CHARS and not has_surrogate("".join(values))


def join_text_columns(frame: Any, columns: Sequence[str]) -> list[str]:
    """Each row's text (:func:`frame_texts`); a value that cannot be a cell counts as empty."""
    return frame_texts(frame, columns)[0]
