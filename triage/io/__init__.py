"""Reading exports: CSV/TSV (UTF-8, GBK/GB18030, UTF-16), XLSX, JSONL, Parquet — one streaming reader.

Every entry point reads through :func:`read_rows` (train and evaluate through :func:`read_table`,
tag and hot directly, Dask on byte ranges and row groups), so one file gives the same rows,
the same cells and the same per-row errors everywhere. The cell rule (:func:`to_cell`): text stays
as it is, a missing value is ``""``, whole floats lose their ``.0`` (IDs, phone numbers), nested
values become JSON, binary values are decoded as UTF-8, a Parquet value Python cannot hold (a date
past year 9999) is Arrow's text of it. A value that cannot become a cell, a cell
over :data:`MAX_CELL_CHARS`, or bytes the encoding cannot decode are that row's ``error``; the row
and its other cells are kept; so are the rows of a damaged Parquet row group, each with empty cells and an
error (:func:`~triage.io.parquet._readable_batches`; a group pyarrow cannot read for another reason, LZO say,
refuses the file: :func:`~triage.io.parquet._not_damage`). The encoding is decided from a large sample
(:func:`choose_encoding`). The columns of a JSONL file are the keys of all its objects
(:func:`~triage.io.jsonl._jsonl_keys`: the file is scanned once for them). An XLSX cell holding a formula whose
value was never saved reads as empty: :meth:`Export.unsaved_formulas` finds such columns, for callers to refuse
those they read (:func:`require_saved_values`); so does one holding an Excel error value (``#REF!``, ``#N/A``), which
:meth:`Export.mark_error_values` makes its row's error where the caller reads its column.

This package holds the reading API; the work is done in its modules: ``encodings``, ``cells``, ``titles``,
``lines`` (and byte shares), one per format (``delimited``, ``jsonl``, ``parquet``, ``xlsx``) and ``textfiles``.

Needs the ``io`` extra (pandas, pyarrow, python-calamine).
"""

from __future__ import annotations

import contextlib
import itertools
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triage._optional import import_optional
from triage.defaults import DEFAULT_CHUNK_SIZE
from triage.io.cells import (
    MAX_CELL_CHARS,
    CellError,
    Row,
    Unreadable,
    has_surrogate,
    row_cells,
    spreadsheet_row,
    spreadsheet_text,
    to_cell,
    unique_columns,
)
from triage.io.delimited import _DELIMITERS
from triage.io.encodings import EncodingChoice, choose_encoding, detect_encoding, encoding_hint, is_wide
from triage.io.errors import DataError
from triage.io.jsonl import MAX_JSONL_KEY_CHARS, MAX_JSONL_KEYS, _jsonl_keys, joined_keys
from triage.io.lines import _CountingReader, _Lines, byte_shares, joined_shares
from triage.io.parquet import _read_parquet, batch_rows, batch_text_columns, lost_rows_error
from triage.io.sniff import what_it_is
from triage.io.textfiles import _read_text
from triage.io.xlsx import (
    ErrorValues,
    FormulaScan,
    UnsavedFormulas,
    _read_xlsx,
    marked_error_values,
    require_saved_values,
)

__all__ = [
    "MAX_CELL_CHARS",
    "MAX_ERROR_SHARE",
    "MAX_JSONL_KEYS",
    "MAX_JSONL_KEY_CHARS",
    "CellError",
    "DataError",
    "EncodingChoice",
    "ErrorValues",
    "Export",
    "Row",
    "Unreadable",
    "UnsavedFormulas",
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
    "require_saved_values",
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
    _formulas: FormulaScan | None = field(default=None, repr=False)

    def unsaved_formulas(self) -> dict[str, UnsavedFormulas]:
        """For XLSX: the columns whose cells hold formulas with no saved value, which read as empty cells
        (:class:`~triage.io.xlsx.FormulaScan`: the sheet's XML is decompressed again the first time, a quarter
        of the time reading its rows takes); for a caller to refuse those it reads (:func:`require_saved_values`).
        Empty for other formats."""
        return self._formulas.found() if self._formulas is not None else {}

    def error_values(self) -> dict[str, ErrorValues]:
        """For XLSX: the columns whose cells hold Excel error values (``#REF!``, ``#N/A``...), which read as empty
        cells, found with :meth:`unsaved_formulas`, up to row ``stop_after``. Empty for other formats."""
        return self._formulas.error_values() if self._formulas is not None else {}

    def mark_error_values(self, columns: Iterable[str]) -> None:
        """For a caller that reads ``columns``: each row of ``chunks`` whose cell in one holds an Excel error
        value gets an error naming the cell and the value (:func:`~triage.io.xlsx.marked_error_values`), so that
        it is not taken for a row with an empty cell; its other cells are kept. Nothing for other formats."""
        if self._formulas is not None:
            self.chunks = marked_error_values(self.chunks, self._formulas.error_values(), columns)

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
        counter = choice = lines = data_start = schema = footer = batches = keys = formulas = None
        try:
            if kind == "parquet":
                header, rows, schema, footer, batches = _read_parquet(path, chunk_size, row_groups, closing)
            elif kind == "xlsx":
                header, rows, formulas = _read_xlsx(path, sheet, stop_after)
            else:
                choice = choose_encoding(path, encoding)
                if byte_range is None and (other := what_it_is(path, wide=is_wide(choice.encoding))):
                    raise DataError(other.refusal(f"{kind.upper()} text"))
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
        yield Export(
            path, kind, header, chunks, choice, sheet, schema, footer, data_start, batches, found, lines, bar, formulas
        )


def _scanned_keys(path: Path, encoding: str, jobs: int, stop_after: int | None, progress: str | None) -> list[str]:
    """:func:`~triage.io.jsonl._jsonl_keys`, with a bar of the bytes scanned named after ``progress`` (None: no bar)."""
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
    ``frame.attrs["encoding"]`` says which encoding was used and why; for an XLSX sheet with formulas whose
    values were never saved (read as empty cells), ``frame.attrs["unsaved_formulas"]`` names their columns
    (:meth:`Export.unsaved_formulas`), and for one with Excel error values, ``frame.attrs["error_values"]``
    (:meth:`Export.error_values`), for :func:`require_saved_values` on the columns the caller reads.
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
    if unsaved := export.unsaved_formulas():  # for the caller to refuse the columns it reads
        frame.attrs["unsaved_formulas"] = unsaved
    if errors := export.error_values():
        frame.attrs["error_values"] = errors
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
