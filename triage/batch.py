"""The batch tagger: every row of an export comes back tagged, or with a per-row error, in input order.

Rows stream from reader to writer in chunks, so memory stays flat however long the file is.
Output is written to ``OUTPUT.partial`` and renamed into place at the end; a checkpoint beside
it (``OUTPUT.partial.json``) records how many rows and bytes are safely written, so
``resume=True`` continues after a crash or Ctrl-C without losing or duplicating a row. With
``n_jobs > 1`` worker processes, each holding the model once, read their own shares of the input
(byte ranges of CSV/TSV/JSONL, Parquet record batches), tag them and encode their part of the
output; the parent only writes the parts in order and checkpoints (Parquet to Parquet: it sends the
columns to tag and puts the tags beside the record batch it read, as one process does too), and the
output is the same byte for byte as with one process. Inputs and options workers cannot read on their
own (XLSX, grouping, ``stop_after``) are read by the parent, which sends the workers texts. With
``group=True`` a first pass over the input sketches every text (:mod:`triage.grouping`; memory:
256 bytes a row) so that each row also gets its near-duplicate group.

Needs the ``io`` extra (pandas, pyarrow, python-calamine, openpyxl, tqdm).
"""

from __future__ import annotations

import contextlib
import csv
import gc
import hashlib
import io
import json
import multiprocessing
import os
import re
import sys
import time
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, cast

from triage import _arrow as arrow
from triage._optional import import_optional
from triage.defaults import DEFAULT_CHUNK_SIZE, DEFAULT_GROUP_THRESHOLD
from triage.io import (
    MAX_ERROR_SHARE,
    DataError,
    Export,
    Row,
    Unreadable,
    batch_rows,
    batch_text_columns,
    byte_shares,
    chunked,
    detect_text_columns,
    frame_texts,
    join_text,
    joined_shares,
    read_rows,
    require_columns,
    resolve_format,
    spreadsheet_row,
    to_cell,
    unique_columns,
)
from triage.model import TriageModel
from triage.results import Classification, RankedCandidates, RoutingSuggestion, rounded_cells
from triage.routing import RoutingConfig, load_config

__all__ = [
    "GROUP_COLUMNS",
    "OUTPUT_COLUMNS",
    "ROUTING_COLUMNS",
    "Summary",
    "TagOptions",
    "output_columns",
    "tag_dataframe",
    "tag_file",
]

#: Columns the tagger adds to every row, in this order. ``sub_category`` stays empty unless the model
#: was trained with sub-labels or, when routing, the department's keywords name one.
OUTPUT_COLUMNS = (*Classification.ROW_COLUMNS, "error")
#: Columns added before ``error`` when a routing config is given.
ROUTING_COLUMNS = RoutingSuggestion.ROW_COLUMNS[len(Classification.ROW_COLUMNS) :]
#: Columns added after ``error`` with ``group=True``: the data row number (1 = the first row after the
#: header) of the first row of the row's near-duplicate group, and the group's size.
GROUP_COLUMNS = ("group_id", "group_size")
_RESUMABLE = ("csv", "tsv", "jsonl")


def output_columns(routing: bool) -> tuple[str, ...]:
    """The columns added to each row: :data:`OUTPUT_COLUMNS`, with :data:`ROUTING_COLUMNS` before ``error``."""
    return OUTPUT_COLUMNS[:-1] + (ROUTING_COLUMNS if routing else ()) + OUTPUT_COLUMNS[-1:]


#: Every column triage can add to a row (tags, routing, grouping).
_ADDED_COLUMNS = frozenset(OUTPUT_COLUMNS + ROUTING_COLUMNS + GROUP_COLUMNS)


def added_column_prefix(header: Iterable[Any]) -> str:
    """What the names of the columns triage adds start with beside the input columns ``header``: ``triage_``
    when the input has a column named like any of them, so that they stay one set under one prefix whatever
    engine (``tag_file``, ``tag_dataframe``, Dask) or options added them; else nothing."""
    return "triage_" if _ADDED_COLUMNS & set(header) else ""


@dataclass
class Summary:
    """What a tagging run did; also written as JSON with ``summary_path``."""

    input: str
    output: str
    rows_in: int = 0
    rows_out: int = 0
    departments: dict[str, int] = field(default_factory=dict)
    needs_review: int = 0
    errors: int = 0
    resumed_after_rows: int = 0
    #: Rows (first 100) with a cell that looks like it swallowed further rows (a stray quote?).
    suspect_rows: list[int] = field(default_factory=list)
    elapsed_seconds: float = 0.0
    rows_per_second: float = 0.0
    text_columns: list[str] = field(default_factory=list)
    #: CSV/TSV/JSONL input: the encoding read with and why (e.g. ``gb18030 (4,326 lines GBK/GB18030, ...)``).
    encoding: str = ""
    #: The first unreadable or failed row and why ("" when none).
    first_error: str = ""

    def failure(self, max_error_share: float = MAX_ERROR_SHARE) -> str:
        """Why the run counts as failed (more than ``max_error_share`` of its rows are errors), or ""."""
        if not self.rows_out or self.errors <= max_error_share * self.rows_out:
            return ""
        return f"{self.errors:,} of {self.rows_out:,} rows failed; the first: {self.first_error}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Inputs smaller than this are tagged in-process when ``n_jobs`` is left to the cores present: forking
#: and warming a worker takes about as long as tagging a megabyte (~1,000 messages) on one core.
_WORTH_A_POOL_BYTES = 1 << 20


def _cores_present() -> int:
    """The cores this process may run on (its CPU affinity where the platform tells it)."""
    counted = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counted is not None:
        return counted() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


@dataclass(frozen=True)
class TagOptions:
    """How :func:`tag_file` tags a file: one frozen value instead of a long list of parameters.

    ``n_jobs`` worker processes tag the rows (``None`` or -1: one per core present; default 1); ``config`` is a
    :class:`~triage.routing.RoutingConfig` or the path of its TOML file; ``group_threshold`` ``None``
    means :data:`~triage.defaults.DEFAULT_GROUP_THRESHOLD`. See :func:`tag_file` for the others.
    """

    model_path: str | Path | None = None
    config: RoutingConfig | str | Path | None = None
    text_columns: Sequence[str] = ()
    id_column: str | None = None
    input_format: str = "auto"
    output_format: str = "auto"
    encoding: str = "auto"
    sheet: str | int | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE
    n_jobs: int | None = 1
    resume: bool = False
    overwrite: bool = False
    stop_after: int | None = None
    progress: bool = True
    summary_path: str | Path | None = None
    group: bool = False
    group_threshold: float | None = None
    spreadsheet_safe: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.text_columns, str):
            raise TypeError(f"text_columns takes a list of column names, not the string {self.text_columns!r}")
        object.__setattr__(self, "text_columns", tuple(self.text_columns))
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {self.chunk_size}")
        if self.n_jobs is not None and self.n_jobs < 1 and self.n_jobs != -1:
            raise ValueError(f"n_jobs must be at least 1, or None (or -1) for one per core; got {self.n_jobs}")

    @property
    def workers(self) -> int:
        """Worker processes to use: ``n_jobs``, with ``None`` and -1 (scikit-learn's "all") as the cores present."""
        return _cores_present() if self.n_jobs in (None, -1) else int(self.n_jobs)

    @property
    def threshold(self) -> float:
        """The grouping threshold in effect."""
        return self.group_threshold or DEFAULT_GROUP_THRESHOLD


# ---------------------------------------------------------------- writers


@dataclass(frozen=True)
class _CellRule:
    """The one place the tagger's values become output cells. Text formats (CSV, TSV, XLSX) get
    ``candidates`` as JSON text and, with ``spreadsheet_safe``, text that cannot turn into a formula
    (:func:`~triage.io.spreadsheet_text`); typed formats (JSONL, Parquet) keep candidates as a list of
    ``{department, confidence}``. Parquet columns get the Arrow types of :meth:`arrow_table`."""

    spreadsheet_safe: bool
    error_index: int
    candidates_index: int
    #: The index of the first added column (the input's columns come before).
    added_from: int
    #: The output's columns (input columns, then the added ones).
    columns: tuple[str, ...] = ()
    #: Added columns with a type of their own: column index -> ``"float64"``, ``"bool_"``, ``"int64"``.
    typed: dict[int, str] = field(default_factory=dict)
    #: Arrow types of the input columns (Parquet to Parquet); None: they are written as text.
    input_types: tuple[Any, ...] | None = None

    def text_row(self, row: list[Any]) -> list[Any]:
        return spreadsheet_row(row) if self.spreadsheet_safe else row

    def text_columns(self, columns: Sequence[Sequence[Any]]) -> Sequence[Sequence[Any]]:
        """:meth:`text_row` applied to every row of ``columns``, a column at a time."""
        return [spreadsheet_row(column) for column in columns] if self.spreadsheet_safe else columns

    def typed_row(self, row: list[Any]) -> list[Any]:
        # candidates travel from the workers as JSON text: smaller in flight than lists (CSV needs only that)
        candidates = row[self.candidates_index]
        listed = [{"department": code, "confidence": p} for code, p in json.loads(candidates)] if candidates else None
        return [*row[: self.candidates_index], listed, *row[self.candidates_index + 1 :]]

    def arrow_table(self, columns: Sequence[Sequence[Any]]) -> Any:
        """The output ``columns`` (one sequence of values each) as an Arrow table for Parquet output,
        built column by column (unread rows have no tags: nulls)."""
        pyarrow = import_optional("pyarrow", extra="io", purpose="writing Parquet files")
        arrays = self.arrow_arrays(dict(enumerate(columns)))
        return pyarrow.Table.from_arrays(list(arrays.values()), schema=self.arrow_schema())

    def arrow_arrays(self, columns: dict[int, Sequence[Any]]) -> dict[int, Any]:
        """Some output columns (output column index -> its values) as Arrow arrays of the output's types;
        an Arrow array (an input column as read) is kept as it is: the schema holds its type."""
        pyarrow = import_optional("pyarrow", extra="io", purpose="writing Parquet files")
        schema = self.arrow_schema()
        arrays = {}
        for index, column in columns.items():
            kind = schema.field(index).type
            if isinstance(column, pyarrow.Array):
                arrays[index] = column
            elif isinstance(column, RankedCandidates):
                arrays[index] = arrow.candidates(column, kind)
            elif index == self.candidates_index:
                arrays[index] = _candidates_array(pyarrow, column, kind)
            elif index in self.typed:
                arrays[index] = arrow.typed(column, kind)
            elif index >= self.added_from:  # few distinct values; no pandas (see triage._arrow)
                arrays[index] = arrow.strings(column)
            elif self.input_types is None:  # input cells: text
                arrays[index] = arrow.texts(column)
            else:
                arrays[index] = pyarrow.array(column, type=kind)
        return arrays

    def arrow_schema(self) -> Any:
        """The Arrow schema of Parquet output: text, the typed added columns, the input's own types kept."""
        pyarrow = import_optional("pyarrow", extra="io", purpose="writing Parquet files")
        typed = {index: getattr(pyarrow, kind)() for index, kind in self.typed.items()}
        typed[self.candidates_index] = pyarrow.list_(
            pyarrow.struct([("department", pyarrow.string()), ("confidence", pyarrow.float64())])
        )
        kept = dict(enumerate(self.input_types or ()))
        return pyarrow.schema([(c, typed.get(i, kept.get(i, pyarrow.string()))) for i, c in enumerate(self.columns)])

    def empty_table(self) -> Any:
        """An Arrow table of no rows with the output's schema."""
        return self.arrow_table([[] for _ in self.columns])


def _candidates_array(pyarrow: Any, cells: Sequence[str], list_type: Any) -> Any:
    """The ``candidates`` cells (JSON text, "" for unread rows: routed rows have no
    :class:`~triage.results.RankedCandidates`) as an Arrow list of structs, parsed in one ``json.loads`` of
    the whole column: ``[[code, probability], ...]`` becomes ``[{department, confidence}, ...]``."""
    import numpy as np

    present = np.array([bool(cell) for cell in cells], dtype=bool)
    parsed = json.loads("[" + ",".join(cell for cell in cells if cell) + "]")
    lengths = np.zeros(len(cells), dtype=np.int32)
    lengths[present] = [len(candidates) for candidates in parsed]
    pairs = [pair for candidates in parsed for pair in candidates]
    values = pyarrow.StructArray.from_arrays(
        [arrow.strings([code for code, _ in pairs]), arrow.numbers([p for _, p in pairs], pyarrow.float64())],
        fields=list(list_type.value_type),
    )
    return arrow.lists(present, lengths, values, list_type)


def _field(value: Any, delimiter: str) -> str:
    """One value as ``csv.writer`` writes it (quoting minimal, quotes doubled, lines ended by \\r\\n)."""
    text = value if type(value) is str else "" if value is None else str(value)
    if delimiter in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def delimited_lines(columns: Sequence[Sequence[Any]], delimiter: str) -> str:
    """The rows of ``columns`` (one sequence of values each, at least two columns) as the lines
    ``csv.writer(..., delimiter=delimiter).writerows`` writes: each field formatted a column at a time,
    then joined, 3-4 times faster than the writer's character-by-character loop."""
    fields = [
        [
            value
            if type(value) is str
            and delimiter not in value
            and '"' not in value
            and "\n" not in value
            and "\r" not in value
            else _field(value, delimiter)
            for value in column
        ]
        for column in columns
    ]
    return "".join([delimiter.join(row) + "\r\n" for row in zip(*fields, strict=True)])


class _DelimitedWriter:
    def __init__(self, handle: Any, delimiter: str, cells: _CellRule) -> None:
        self._text = io.TextIOWrapper(handle, encoding="utf-8", newline="", write_through=True)
        self._writer = csv.writer(self._text, delimiter=delimiter)
        self._delimiter = delimiter
        self._cells = cells

    def header(self, columns: Sequence[str]) -> None:
        self._text.write("\ufeff")  # utf-8-sig: Excel opens the file as UTF-8
        self._writer.writerow(spreadsheet_row(columns) if self._cells.spreadsheet_safe else columns)

    def columns(self, columns: Sequence[Sequence[Any]]) -> None:
        """Write the rows of ``columns`` (one sequence of values each), encoded once for the whole chunk."""
        self._text.write(delimited_lines(self._cells.text_columns(columns), self._delimiter))

    def part(self, data: bytes) -> None:
        """Write rows a worker encoded with a writer like this one (:class:`_PartEncoder`)."""
        self._text.flush()
        self._text.buffer.write(data)

    def flush(self) -> None:
        self._text.flush()

    def close(self) -> None:
        self._text.flush()
        self._text.detach()


class _JsonlWriter:
    def __init__(self, handle: Any, cells: _CellRule) -> None:
        self._handle = handle
        self._columns: Sequence[str] = ()
        self._cells = cells

    def header(self, columns: Sequence[str]) -> None:
        self._columns = columns

    def columns(self, columns: Sequence[Sequence[Any]]) -> None:
        lines = (
            _json_line(dict(zip(self._columns, self._cells.typed_row(list(row)), strict=True))) + "\n"
            for row in zip(*columns, strict=True)
        )
        self._handle.write("".join(lines).encode("utf-8"))

    def part(self, data: bytes) -> None:
        """Write rows a worker encoded with a writer like this one (:class:`_PartEncoder`)."""
        self._handle.write(data)

    def flush(self) -> None:
        self._handle.flush()

    def close(self) -> None:
        self._handle.flush()


def _json_line(record: dict[str, Any]) -> str:
    """One line of JSONL output. ±Infinity and a NaN inside a list (which JSONL and Parquet inputs can hold) are
    no JSON (JavaScript's JSON.parse refuses the line): a value holding one is written as its cell's text."""
    try:
        return json.dumps(record, ensure_ascii=False, default=to_cell, allow_nan=False)
    except ValueError:
        return json.dumps({k: _json_value(v) for k, v in record.items()}, ensure_ascii=False, default=to_cell)


def _json_value(value: Any) -> Any:
    """``value`` if it is JSON as it is (through :func:`~triage.io.to_cell` where needed), else its cell's text."""
    try:
        json.dumps(value, default=to_cell, allow_nan=False)
    except ValueError:
        return to_cell(value)
    return value


#: The longest text an XLSX cell holds (Excel's limit); longer cells are cut and the row's error says so.
XLSX_CELL_CHARS = 32_767
#: The most rows an XLSX sheet holds, its header included (the format's limit: Excel does not load rows past it).
XLSX_MAX_ROWS = 1_048_576
#: The most columns an XLSX sheet holds (A to XFD): Excel reports a workbook with more as damaged.
XLSX_MAX_COLUMNS = 16_384
# What XML 1.0 cannot hold, so no XLSX cell: control characters but tab and line ends (openpyxl's
# ILLEGAL_CHARACTERS_RE), and U+FFFE, U+FFFF and lone surrogates, which openpyxl writes into a workbook
# that no reader opens ("not well-formed").
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class _TableWriter:
    """Parquet or XLSX output (not resumable: these formats cannot be appended after a crash).

    Parquet row groups hold ``chunk_rows`` rows whatever sizes the parts come in, so a file written
    from workers' parts is the file written chunk by chunk."""

    def __init__(self, path: Path, kind: str, cells: _CellRule, chunk_rows: int) -> None:
        self._path, self._kind, self._cells, self._chunk_rows = path, kind, cells, chunk_rows
        self._columns: Sequence[str] = ()
        self._parquet_writer: Any = None
        self._sheet: Any = None
        self._pending: list[Any] = []  # Arrow tables not yet making up a whole row group
        self._sheet_rows = 0

    def header(self, columns: Sequence[str]) -> None:
        self._columns = columns
        if self._kind == "xlsx":
            if len(columns) > XLSX_MAX_COLUMNS:  # refused before any row is tagged
                raise DataError(
                    f"the output has {len(columns):,} columns, more than an XLSX sheet holds ({XLSX_MAX_COLUMNS:,}): "
                    "write CSV, JSONL or Parquet instead (e.g. -o tagged.csv)"
                )
            if longest := max((name for name in columns if len(name) > XLSX_CELL_CHARS), key=len, default=None):
                raise DataError(  # a header has no error cell to say it was cut
                    f"a column name of {len(longest):,} characters ({longest[:40]!r}...) is longer than an XLSX "
                    f"cell holds ({XLSX_CELL_CHARS:,}): write CSV, JSONL or Parquet instead (e.g. -o tagged.csv)"
                )
            openpyxl = import_optional("openpyxl", extra="io", purpose="writing XLSX files")
            self._workbook = openpyxl.Workbook(write_only=True)
            self._sheet = self._workbook.create_sheet("triage")
            self._sheet.append(self._xlsx_row(self._cells.text_row(list(columns))))
            self._sheet_rows = 1

    def columns(self, columns: Sequence[Sequence[Any]]) -> None:
        if self._kind == "xlsx":
            self._sheet_rows += len(columns[0])
            if self._sheet_rows > XLSX_MAX_ROWS:  # refused, not cut: every input row comes out or none
                raise DataError(
                    f"the input has more rows than an XLSX sheet holds ({XLSX_MAX_ROWS - 1:,} under the header): "
                    "write CSV, JSONL or Parquet instead (e.g. -o tagged.csv)"
                )
            for row in zip(*columns, strict=True):
                self._sheet.append(self._xlsx_row(self._cells.text_row(list(row))))
            return
        self.part(self._cells.arrow_table(columns))

    def part(self, table: Any) -> None:
        """Add an Arrow table (:meth:`_CellRule.arrow_table`); whole row groups are written at once."""
        self._pending.append(table)
        if sum(t.num_rows for t in self._pending) >= self._chunk_rows:
            self._write_row_groups(whole_only=True)

    def _write_row_groups(self, whole_only: bool) -> None:
        pyarrow = import_optional("pyarrow", extra="io", purpose="writing Parquet files")
        parquet = import_optional("pyarrow.parquet", extra="io", purpose="writing Parquet files")
        pending = pyarrow.concat_tables(self._pending)
        if self._parquet_writer is None:
            self._parquet_writer = parquet.ParquetWriter(self._path, pending.schema)
        start = 0
        while pending.num_rows - start >= self._chunk_rows or (not whole_only and start < pending.num_rows):
            self._parquet_writer.write_table(pending.slice(start, self._chunk_rows).combine_chunks())
            start += self._chunk_rows
        self._pending = [pending.slice(start)] if start < pending.num_rows else []

    def _xlsx_row(self, row: list[Any]) -> list[Any]:
        """Text as string cells (never formulas), characters XLSX cannot hold removed, cells
        over :data:`XLSX_CELL_CHARS` cut with a note in the row's error."""
        from openpyxl.cell import WriteOnlyCell

        cut = []
        out: list[Any] = []
        for index, value in enumerate(row):
            if isinstance(value, str):
                value = _NOT_IN_XML.sub("", value)
                if len(value) > XLSX_CELL_CHARS:
                    cut.append(self._columns[index])
                    value = value[:XLSX_CELL_CHARS]
                if value.startswith("="):  # openpyxl would store it as a formula
                    cell = WriteOnlyCell(self._sheet, value=value)
                    cell.data_type = "s"
                    value = cell
            out.append(value)
        if cut:
            note = f"{', '.join(map(repr, cut))} cut to {XLSX_CELL_CHARS:,} characters (the XLSX cell limit)"
            error = out[self._cells.error_index]
            out[self._cells.error_index] = f"{error}; {note}" if error else note
        return out

    def close(self) -> None:
        if self._kind == "xlsx":
            self._workbook.save(self._path)
            return
        if self._parquet_writer is None and not self._pending:  # no rows: a valid, empty file with the schema
            self._pending.append(self._cells.empty_table())
        if self._pending:
            self._write_row_groups(whole_only=False)
        self._parquet_writer.close()

    def discard(self) -> None:
        """Release what a failed run holds open (its file is deleted next); errors here would hide the first."""
        with contextlib.suppress(Exception):
            if self._sheet is not None:
                self._sheet.close()
            if self._parquet_writer is not None:
                self._parquet_writer.close()


# ---------------------------------------------------------------- tagging


def _tag_chunk(
    model: TriageModel,
    config: RoutingConfig | None,
    texts: list[str],
    errors: list[str],
    ranked_candidates: bool = False,
) -> list[Any]:
    """The added columns (:func:`output_columns`) of one chunk, a list of values each: each result's
    ``to_row()`` and an empty ``error``; rows with a reading error are not classified and get only their error.
    With ``ranked_candidates`` (outputs that store the candidates as lists) and no routing, ``candidates`` is
    a :class:`~triage.results.RankedCandidates` instead of JSON text."""
    usable = [i for i, error in enumerate(errors) if not error]
    batch = [texts[i] for i in usable] if len(usable) < len(texts) else texts
    tags = len(output_columns(config is not None)) - 1
    # the columns hold no explanation: computing one costs ~20 % of a routed row
    if config is None:  # the cells of classify(batch, explain=0), without building the results first
        found = model._classification_columns(batch, ranked_candidates=ranked_candidates)
    else:
        rows = [result.to_row() for result in model.route(batch, config=config, explain=0)]
        found = [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(tags)]
    if len(usable) < len(errors):  # rows with a reading error get blank tags
        found = [_spread(values, usable, len(errors)) for values in found]
    return [*found, list(errors)]


def _spread(values: Any, usable: list[int], rows: int) -> Any:
    """The tags ``values`` of the ``usable`` rows placed among ``rows`` rows, the others blank ("", or a
    candidates row not read: null in Parquet)."""
    if isinstance(values, RankedCandidates):
        import numpy as np

        at = np.full(rows, -1, dtype=np.intp)
        at[usable] = np.arange(len(usable))
        return values.take(at)
    column = [""] * rows
    for i, value in zip(usable, values, strict=True):
        column[i] = value
    return column


@dataclass(frozen=True)
class _Run:
    """What one run tags and writes every row with; the parent's copy, and each worker's."""

    source: Path
    in_kind: str
    out_kind: str
    #: The encoding CSV/TSV/JSONL input is read with (None for other formats).
    encoding: str | None
    header: tuple[str, ...]
    #: JSONL input: the keys of all its objects (:attr:`~triage.io.Export.keys`), which workers read their
    #: byte ranges with instead of scanning the whole file again (None for other formats).
    jsonl_keys: tuple[str, ...] | None
    text_indices: tuple[int, ...]
    chunk_size: int
    config: RoutingConfig | None
    #: The tags added to each row (:func:`output_columns`, then :data:`GROUP_COLUMNS` if grouping); the
    #: output's header calls them ``triage_NAME`` when the input has a column so named (:func:`added_column_prefix`).
    names: tuple[str, ...]
    cells: _CellRule

    @property
    def review_index(self) -> int:
        return self.names.index("needs_review")

    def texts_and_errors(self, chunk: list[Row]) -> tuple[list[str], list[str]]:
        return _joined_texts(chunk, self.text_indices), [row.error for row in chunk]

    def tags(self, model: TriageModel, texts: list[str], errors: list[str]) -> list[Any]:
        """:func:`_tag_chunk` for this run's output (Parquet takes the candidates as arrays)."""
        return _tag_chunk(model, self.config, texts, errors, ranked_candidates=self.out_kind == "parquet")


def _joined_texts(chunk: list[Row], text_indices: Sequence[int]) -> list[str]:
    """:func:`~triage.io.join_text` of each row's text cells, for a whole chunk at once."""
    return _joined_columns([[row.cells[index] for row in chunk] for index in text_indices])


def _joined_columns(columns: Sequence[Sequence[str]]) -> list[str]:
    """:func:`~triage.io.join_text` of each row's cells in the text ``columns`` (one sequence of cells each)."""
    if len(columns) == 1:
        return list(columns[0])
    return [join_text(parts) for parts in zip(*columns, strict=True)]


def _cell_rule(
    header: Sequence[str], names: Sequence[str], spreadsheet_safe: bool, input_types: tuple[Any, ...] | None
) -> _CellRule:
    """The cell rule of an output with the input columns ``header`` (of ``input_types``, kept in Parquet
    output; None: text) and the added columns ``names`` (:func:`output_columns`, maybe grouping's)."""
    at = {name: len(header) + i for i, name in enumerate(names)}
    typed = {at["confidence"]: "float64", at["needs_review"]: "bool_"}
    typed |= {at[c]: "int64" for c in GROUP_COLUMNS if c in at}
    prefix = added_column_prefix(header)
    return _CellRule(
        spreadsheet_safe=spreadsheet_safe,
        error_index=at["error"],
        candidates_index=at["candidates"],
        added_from=len(header),
        columns=tuple(unique_columns([*header, *(prefix + name for name in names)], where="the output")),
        typed=typed,
        input_types=input_types,
    )


def parquet_table(
    tagged: Any, header: Sequence[str], names: Sequence[str], input_types: tuple[Any, ...] | None = None
) -> Any:
    """A tagged pandas frame (input columns ``header``, then the added ``names``, as :func:`tag_dataframe`
    gives them) as the Arrow table ``tag_file`` writes to Parquet for the same rows: the same schema, so the
    Dask engine's output reads as the local tagger's. The input columns are cast to ``input_types`` (their
    Arrow types in a Parquet input, kept as Parquet to Parquet keeps them; None: text). Missing tags of rows
    not read are nulls."""
    pyarrow = import_optional("pyarrow", extra="io", purpose="writing Parquet files")
    rule = _cell_rule(header, names, spreadsheet_safe=False, input_types=input_types)
    schema = rule.arrow_schema()
    table = pyarrow.Table.from_pandas(tagged, preserve_index=False)
    arrays = [
        _candidates_array(pyarrow, [cell or "" for cell in column.to_pylist()], kind)
        if index == rule.candidates_index
        else column.cast(kind)
        for index, (column, kind) in enumerate(zip(table.columns, schema.types, strict=True))
    ]
    return pyarrow.Table.from_arrays(arrays, schema=schema)


def _plan_run(export: Export, options: TagOptions, out_kind: str, config: RoutingConfig | None) -> _Run:
    """The run's columns, cell rule and typed columns, from the input's header and the options."""
    header = export.header
    columns = list(options.text_columns) or detect_text_columns(header)
    require_columns(header, [*columns, *([options.id_column] if options.id_column else [])], source=export.path)
    names = output_columns(config is not None) + (GROUP_COLUMNS if options.group else ())
    keep_types = export.schema is not None and out_kind == "parquet"
    input_types = tuple(export.schema.types) if keep_types else None
    cells = _cell_rule(header, names, options.spreadsheet_safe, input_types)
    return _Run(
        source=export.path,
        in_kind=export.format,
        out_kind=out_kind,
        encoding=export.encoding.encoding if export.encoding else None,
        header=tuple(header),
        jsonl_keys=tuple(export.keys) if export.keys is not None else None,
        text_indices=tuple(header.index(c) for c in columns),
        chunk_size=options.chunk_size,
        config=config,
        names=names,
        cells=cells,
    )


@dataclass
class _Counts:
    """What the summary reports of the rows written so far; saved in the checkpoint."""

    departments: Counter[str] = field(default_factory=Counter)
    needs_review: int = 0
    errors: int = 0
    suspect_rows: list[int] = field(default_factory=list)
    #: The first unreadable or failed row, as ``(row number, why)``.
    first_error: tuple[int, str] | None = None

    def add(self, chunk: list[Row], tags: list[list[Any]], review_index: int, before: int) -> None:
        """Count a tagged chunk (its added columns, ``error`` last) whose rows are numbered from
        ``before + 1``; counts keep numbers from 1."""
        self.suspect_rows += [row.number - before for row in chunk if row.suspect][: 100 - len(self.suspect_rows)]
        self.departments.update(department or "(none)" for department in tags[0])
        self.needs_review += sum(value is True for value in tags[review_index])
        self.errors += sum(map(bool, tags[-1]))
        if self.first_error is None:
            self.first_error = next(((row.number - before, row.error) for row in chunk if row.error), None)

    def merge(self, other: _Counts, before: int) -> None:
        """Add the counts of a part whose rows follow row ``before``."""
        self.suspect_rows += [before + n for n in other.suspect_rows][: 100 - len(self.suspect_rows)]
        self.departments.update(other.departments)
        self.needs_review += other.needs_review
        self.errors += other.errors
        if self.first_error is None and other.first_error is not None:
            self.first_error = (before + other.first_error[0], other.first_error[1])

    def describe_first_error(self) -> str:
        return f"row {self.first_error[0]}: {self.first_error[1]}" if self.first_error else ""

    def as_json(self) -> dict[str, Any]:
        return {
            "departments": dict(self.departments),
            "needs_review": self.needs_review,
            "errors": self.errors,
            "suspect_rows": self.suspect_rows,
            "first_error": self.describe_first_error(),
        }

    @classmethod
    def from_json(cls, saved: dict[str, Any] | None) -> _Counts:
        saved = saved or {}
        number, _, why = str(saved.get("first_error") or "").removeprefix("row ").partition(": ")
        return cls(
            Counter(saved.get("departments", {})),
            saved.get("needs_review", 0),
            saved.get("errors", 0),
            list(saved.get("suspect_rows", [])),
            (int(number), why) if number.isdigit() else None,
        )


@dataclass
class _Part:
    """Consecutive rows tagged and ready for the writer: their encoded output (a worker's part) or the
    output columns (tagged in this process), how many, and their counts numbered from 1."""

    data: Any
    rows: int
    counts: _Counts
    encoded: bool
    #: For a byte range of the input: where it started and stopped, and where its last record ended.
    share: tuple[int, int] | None = None
    end: int | None = None


class _PartEncoder:
    """A worker's rows, encoded as the parent's writer of the same format would write them."""

    def __init__(self, run: _Run) -> None:
        self._cells = run.cells
        self._buffer = io.BytesIO()
        self._tables: list[Any] = []
        self._writer: _DelimitedWriter | _JsonlWriter | None = None
        if run.out_kind in ("csv", "tsv"):
            self._writer = _DelimitedWriter(self._buffer, _DELIMITERS[run.out_kind], run.cells)
        elif run.out_kind == "jsonl":
            self._writer = _JsonlWriter(self._buffer, run.cells)
            self._writer.header(run.cells.columns)

    def columns(self, columns: Sequence[Sequence[Any]]) -> None:
        if self._writer is None:
            self._tables.append(self._cells.arrow_table(columns))
        else:
            self._writer.columns(columns)

    def data(self) -> Any:
        """Bytes (CSV/TSV/JSONL) or an Arrow table (Parquet)."""
        if self._writer is None:
            pyarrow = import_optional("pyarrow", extra="io", purpose="writing Parquet files")
            return pyarrow.concat_tables(self._tables) if self._tables else self._cells.empty_table()
        self._writer.close()
        return self._buffer.getvalue()


_DELIMITERS = {"csv": ",", "tsv": "\t"}


def _output_columns(run: _Run, chunk: list[Row], tags: list[list[Any]], groups: Any) -> list[Sequence[Any]]:
    """The output columns of a tagged chunk: input values as the output keeps them, tags, group columns."""
    original = _original_values(run.in_kind, run.out_kind)
    inputs = list(zip(*map(original, chunk), strict=True))  # a chunk is never empty (chunked)
    extra = [[int(c[row.number - 1]) for row in chunk] for c in groups] if groups else []
    return [*inputs, *tags, *extra]


def _tagged_part(model: TriageModel, run: _Run, chunks: Iterable[list[Row]]) -> _Part:
    """Tag and encode rows numbered from 1 (a worker's share)."""
    encoder, counts, rows = _PartEncoder(run), _Counts(), 0
    for chunk in chunks:
        tags = run.tags(model, *run.texts_and_errors(chunk))
        encoder.columns(_output_columns(run, chunk, tags, None))
        counts.add(chunk, tags, run.review_index, 0)
        rows += len(chunk)
    return _Part(encoder.data(), rows, counts, encoded=True)


# ---------------------------------------------------------------- workers

# Set in worker processes only: the model, and the run every chunk is tagged for.
_worker_state: tuple[TriageModel, _Run | None] | None = None


def _die_with_parent(parent: int) -> None:
    """Ask Linux to end this worker when its parent dies, however it dies (kill -9 included).

    Without it, workers of a killed ``tag`` lived on for minutes holding the model (~150 MB each).
    Elsewhere the pool's own shutdown is all there is.
    """
    if sys.platform != "linux":
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request was in place
        os._exit(1)


def _set_worker_state(model: TriageModel, run: _Run | None, parent: int) -> None:
    global _worker_state
    _die_with_parent(parent)
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:  # parts in Arrow: from malloc, which gives freed pages back (mimalloc kept ~20 MB)
        pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    _worker_state = (model, run)


def _load_worker_state(model_path: str, run: _Run | None, parent: int) -> None:
    import triage

    _set_worker_state(triage.load(model_path), run, parent)


def _worker_pool(jobs: int, model: TriageModel, run: _Run | None) -> ProcessPoolExecutor:
    """Worker processes holding the model once each, already started.

    On Linux workers are forked and inherit the model the parent loaded: its pages stay
    shared copy-on-write instead of being loaded again by every worker. Elsewhere (fork is
    unsafe on macOS, absent on Windows) each worker loads the model from its directory.
    """
    if sys.platform == "linux":
        import numpy as np

        model.classify("预热", explain=0)  # build lazy state (segmentation dictionary) once, to be shared
        rounded_cells(np.zeros(1))  # and the rounding tables of the cells (~1 MiB)
        if run is not None and run.out_kind == "parquet":  # and pyarrow.compute (~5 MiB a worker), which
            # builds the added columns (input cells need no other module; a typed input's keep their arrays)
            run.cells.arrow_arrays({i: [] for i in range(run.cells.added_from, len(run.cells.columns))})
        context = multiprocessing.get_context("fork")
        with _frozen_for_fork():
            pool = ProcessPoolExecutor(
                jobs, mp_context=context, initializer=_set_worker_state, initargs=(model, run, os.getpid())
            )
            try:
                pool.submit(int)  # with fork the first submit forks every worker: here, while frozen
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise
        return pool
    if model.path is None:
        raise DataError("tagging with several processes here needs a saved model: save it and pass its directory")
    return ProcessPoolExecutor(jobs, initializer=_load_worker_state, initargs=(str(model.path), run, os.getpid()))


@contextlib.contextmanager
def _frozen_for_fork() -> Iterator[None]:
    """Freeze the garbage collector's objects while workers are forked, then thaw them in this process.

    Frozen, the inherited objects are never touched by the workers' collectors, so their pages
    stay shared copy-on-write. The parent is the caller's process: it gets its collector back
    as it was. A caller who froze objects itself is left alone (``gc`` cannot thaw only ours).
    No collection first: the ``gc`` documentation freezes right before forking, and a full
    collection of a loaded model's process took ~30 ms of the start, on one core.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _worker() -> tuple[TriageModel, _Run]:
    """The model and the run of this worker process."""
    model, run = _worker_state or (None, None)
    if model is None or run is None:
        raise RuntimeError("a triage worker process started without its model")
    return model, run


def _tag_in_worker(texts: list[str], errors: list[str]) -> list[list[Any]]:
    model, run = _worker()
    return run.tags(model, texts, errors)


def _tag_share_in_worker(start: int, stop: int) -> _Part:
    """A worker's share of a CSV/TSV/JSONL input: the records that start in bytes ``[start, stop)``."""
    model, run = _worker()
    reading = read_rows(
        run.source,
        format=run.in_kind,
        encoding=run.encoding or "auto",
        chunk_size=run.chunk_size,
        byte_range=(start, stop),
        jsonl_keys=run.jsonl_keys,
    )
    with reading as share:
        part = _tagged_part(model, run, share.chunks)
        part.share, part.end = (start, stop), share.position()
    return part


def _tag_batch_in_worker(batch: Any) -> _Part:
    """A worker's share of a Parquet input for another format: one Arrow record batch."""
    model, run = _worker()
    return _tagged_part(model, run, chunked(batch_rows(batch, run.header), run.chunk_size))


def _tag_columns_in_worker(batch: Any, columns: tuple[int, ...]) -> _Part:
    """A worker's share of Parquet to Parquet: :func:`_tag_columns` of one record batch."""
    return _tag_columns(*_worker(), batch, columns)


def _tag_columns(model: TriageModel, run: _Run, batch: Any, columns: tuple[int, ...]) -> _Part:
    """Parquet to Parquet: one record batch of at most ``chunk_size`` rows holding only the input ``columns``
    (:func:`_columns_for_workers`) tagged. Its data is the added columns as Arrow arrays, by output column
    index, to put beside the input columns as read (a text that could not be read is its row's error and
    is written as read too)."""
    at = [columns.index(i) for i in run.text_indices]
    cells = batch_text_columns(batch)
    if cells is None:  # a row may have an error: rows, with theirs
        chunk = list(batch_rows(batch, [run.header[i] for i in columns]))
        texts, errors = _joined_texts(chunk, at), [row.error for row in chunk]
    else:  # no row has an error or looks suspect, so the counts need no rows
        chunk, errors = [], [""] * batch.num_rows
        texts = _joined_columns([cells[i] for i in at])
    tags = run.tags(model, texts, errors)
    counts = _Counts()
    counts.add(chunk, tags, run.review_index, 0)
    added = run.cells.arrow_arrays(dict(enumerate(tags, len(run.header))))
    return _Part(added, batch.num_rows, counts, encoded=True)


def _in_order(pool: ProcessPoolExecutor, tasks: Iterable[tuple[Any, ...]], ahead: int) -> Iterator[Future[Any]]:
    """Futures of ``tasks`` (a function and its arguments) submitted to ``pool``, in order, at most
    ``ahead`` in flight: memory stays flat however long the input."""
    pending: deque[Future[Any]] = deque()
    for function, *arguments in tasks:
        pending.append(pool.submit(function, *arguments))
        if len(pending) >= ahead:
            yield pending.popleft()
    yield from pending


def _sent_in_order(
    pool: ProcessPoolExecutor, items: Iterable[Any], task: Callable[[Any], tuple[Any, ...]], jobs: int
) -> Iterator[tuple[Any, Future[Any]]]:
    """Each of ``items`` with the future of its task (``task(item)``: a function and its arguments), in
    order, at most ``2 * jobs`` in flight (:func:`_in_order`). An item is kept here only while its task
    is in flight: ``itertools.tee`` freed its copies 57 at a time, which held ~120 MB of record batches
    in a 100,000-row Parquet run (and as many chunks of rows when workers are sent texts)."""
    kept: deque[Any] = deque()

    def tasks() -> Iterator[tuple[Any, ...]]:
        for item in items:
            kept.append(item)
            yield task(item)

    for future in _in_order(pool, tasks(), 2 * jobs):
        yield kept.popleft(), future


def _shared_parts(export: Export, run: _Run, pool: ProcessPoolExecutor, jobs: int, done: dict) -> Iterator[_Part]:
    """Parts of the input tagged by workers that read it themselves, in order: byte ranges of
    CSV/TSV/JSONL (:func:`~triage.io.byte_shares`) or Parquet record batches. Only part outputs come
    back (bytes or Arrow tables), never rows. A range whose start turns out to lie inside the record
    the range before ran on with (a stray quote fooled the cut) is read again from where that ended."""
    if run.in_kind == "parquet":
        batches = _remaining_batches(export, done)
        if run.out_kind == "parquet":
            yield from _joined_parts(batches, run, pool, jobs)
            return
        for future in _in_order(pool, ((_tag_batch_in_worker, b) for b in batches), 2 * jobs):
            yield future.result()
        return
    start = done.get("input_offset") or export.data_start or 0
    shares = byte_shares(run.source, run.in_kind, start, run.chunk_size, jobs, encoding=cast(str, run.encoding))
    futures = _in_order(pool, ((_tag_share_in_worker, *share) for share in shares), 2 * jobs)
    parts = (future.result() for future in futures)
    for _, part in joined_shares(
        ((cast(tuple[int, int], part.share), part) for part in parts),
        start,
        end_of=lambda part: cast(int, part.end),
        read_again=lambda first, stop: pool.submit(_tag_share_in_worker, first, stop).result(),
    ):
        yield part


def _columns_for_workers(run: _Run) -> tuple[int, ...]:
    """The input columns a worker needs to tag Parquet to Parquet: the text columns. The others stay in the
    parent, which writes them as read: no value of theirs becomes a cell, so none can fail its row."""
    return tuple(sorted(run.text_indices))


def _remaining_batches(export: Export, done: dict[str, Any]) -> Iterator[Any]:
    """The record batches of a Parquet input, without the rows ``done``."""
    skip = done.get("rows_done", 0)
    return (b.slice(max(skip - n, 0)) for b, n in _numbered_batches(export.batches) if n + b.num_rows > skip)


def _joined_parts(
    batches: Iterator[Any], run: _Run, tagger: TriageModel | ProcessPoolExecutor, jobs: int = 1
) -> Iterator[_Part]:
    """Parquet to Parquet, in order: only the columns tagged with are tagged, here (``tagger`` a model) or
    by the ``jobs`` workers of ``tagger`` (a pool) that are sent those and send back only what they add,
    which is put beside the record batch this process read and kept (the votes: 155 bytes a row back
    instead of 1,248 for whole tables; input columns never make a round trip through pickle, which wrote
    a map column with other bytes than one process, nor through Python values and ``pyarrow.array``)."""
    pyarrow = import_optional("pyarrow", extra="io", purpose="writing Parquet files")
    schema = run.cells.arrow_schema()
    columns = _columns_for_workers(run)
    tagged: Iterator[tuple[Any, _Part]]
    if isinstance(tagger, ProcessPoolExecutor):

        def task(batch: Any) -> tuple[Any, ...]:
            return _tag_columns_in_worker, batch.select(columns), columns

        tagged = ((batch, future.result()) for batch, future in _sent_in_order(tagger, batches, task, jobs))
    else:
        tagged = ((batch, _tag_columns(tagger, run, batch.select(columns), columns)) for batch in batches)
    for batch, part in tagged:
        arrays = [*batch.columns, *(part.data[i] for i in range(batch.num_columns, len(schema)))]
        part.data = pyarrow.Table.from_arrays(arrays, schema=schema)
        yield part


def _numbered_batches(batches: Iterable[Any] | None) -> Iterator[tuple[Any, int]]:
    """Record batches with the number of rows before each."""
    before = 0
    for batch in batches or ():
        yield batch, before
        before += batch.num_rows


def _chunk_parts(
    chunks: Iterator[list[Row]], run: _Run, model: TriageModel, pool: ProcessPoolExecutor | None, jobs: int, groups: Any
) -> Iterator[_Part]:
    """Parts of one chunk each, read in this process and tagged here or (``pool``) by workers sent the
    texts: for inputs and options the workers cannot read on their own (XLSX, grouping, ...)."""
    if pool is None:
        tagged: Iterator[tuple[list[Row], list[list[Any]]]] = (
            (chunk, run.tags(model, *run.texts_and_errors(chunk))) for chunk in chunks
        )
    else:
        # the chunk list itself stays here: only texts travel
        sent = _sent_in_order(pool, chunks, lambda chunk: (_tag_in_worker, *run.texts_and_errors(chunk)), jobs)
        tagged = ((chunk, future.result()) for chunk, future in sent)
    for chunk, tags in tagged:
        counts = _Counts()
        counts.add(chunk, tags, run.review_index, chunk[0].number - 1)
        yield _Part(_output_columns(run, chunk, tags, groups), len(chunk), counts, encoded=False)


def _fingerprint(path: Path) -> dict[str, Any]:
    stat = path.stat()
    with path.open("rb") as handle:
        head = hashlib.sha256(handle.read(1 << 20)).hexdigest()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "head_sha256": head}


def _can_share(export: Export, run: _Run, done: dict[str, Any], grouped: bool, options: TagOptions) -> bool:
    """Whether workers can read their own shares of the input: Parquet record batches, or byte ranges of
    CSV/TSV/JSONL; not for XLSX, grouping or ``stop_after``
    (they need every row's number as it is read), nor to resume a run whose checkpoint has no input offset."""
    if grouped or options.stop_after is not None or run.out_kind == "xlsx":
        return False
    if run.in_kind == "parquet":
        return export.batches is not None
    return export.data_start is not None and (not done.get("rows_done") or bool(done.get("input_offset")))


@contextlib.contextmanager
def _parts(
    export: Export, run: _Run, model: TriageModel, options: TagOptions, done: dict[str, Any], groups: Any
) -> Iterator[Iterator[_Part]]:
    """The input's rows after those ``done``, tagged, in order, as parts for the writer: in this process,
    or by ``options.workers`` processes that read their own shares (or, where they cannot, are sent texts)."""
    jobs = options.workers
    if options.n_jobs in (None, -1) and run.source.stat().st_size < _WORTH_A_POOL_BYTES:
        jobs = 1  # "one per core" by default, but starting workers costs more than a small file's tagging
    remaining = export.chunks
    if done.get("rows_done"):  # resumed: skip the rows already written
        kept = done["rows_done"]
        remaining = chunked((row for chunk in remaining for row in chunk if row.number > kept), run.chunk_size)
    if jobs <= 1:
        if run.in_kind == run.out_kind == "parquet" and _can_share(export, run, done, groups is not None, options):
            yield _joined_parts(_remaining_batches(export, done), run, model)  # the batches kept as read
        else:
            yield _chunk_parts(remaining, run, model, None, 1, groups)
        return
    with _worker_pool(jobs, model, run) as pool:
        if _can_share(export, run, done, groups is not None, options):
            yield _shared_parts(export, run, pool, jobs, done)
        else:
            yield _chunk_parts(remaining, run, model, pool, jobs, groups)


def _resume_point(job: dict[str, Any], checkpoint: Path, partial: Path, resume: bool, overwrite: bool) -> dict:
    """What an interrupted run of the same job safely wrote (rows, bytes, counts, and where in the input
    it stopped when workers read their own shares); empty to start afresh."""
    if not checkpoint.is_file() or not partial.is_file():
        return {}
    if not resume:
        if overwrite:
            return {}
        raise DataError(f"an interrupted run left {partial}; pass --resume to continue it or --overwrite to start over")
    try:
        saved = json.loads(checkpoint.read_text(encoding="utf-8"))
        done = {key: saved[key] for key in ("rows_done", "bytes_done", "counts")}
        if not all(type(done[key]) is int and done[key] >= 0 for key in ("rows_done", "bytes_done")):
            raise ValueError("not counts")
    except (OSError, ValueError, KeyError, TypeError):
        raise DataError(f"{checkpoint} is damaged; delete it and {partial} to start over") from None
    if {k: saved.get(k) for k in job} != job:
        raise DataError(f"{checkpoint} belongs to another input, model or options; use --overwrite to start over")
    if partial.stat().st_size < done["bytes_done"]:
        # resuming would pad the gap with NUL bytes where rows were, and report success
        raise DataError(
            f"{partial} holds {partial.stat().st_size:,} bytes, fewer than the {done['bytes_done']:,} its checkpoint "
            "recorded (cut or changed since the run stopped); use --overwrite to start over"
        )
    return done | {"input_offset": saved.get("input_offset")}


def _write_checkpoint(checkpoint: Path, state: dict[str, Any]) -> None:
    """Replace the checkpoint atomically: a crash leaves the old one or the new one, never half."""
    temporary = checkpoint.with_name(checkpoint.name + ".tmp")
    temporary.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, checkpoint)


def _open_writer(run: _Run, partial: Path, done_bytes: int, resumed: bool) -> tuple[Any, Any]:
    """``(file handle or None, writer)``; a resumed file is cut back to its last checkpoint."""
    if run.out_kind not in _RESUMABLE:
        partial.open("wb").close()  # an unwritable destination fails here, before any row is tagged
        return None, _TableWriter(partial, run.out_kind, run.cells, run.chunk_size)
    handle = partial.open("r+b" if resumed else "wb")
    handle.truncate(done_bytes)  # drop a part half-written before the crash
    handle.seek(done_bytes)
    delimiter = _DELIMITERS.get(run.out_kind)
    return handle, _DelimitedWriter(handle, delimiter, run.cells) if delimiter else _JsonlWriter(handle, run.cells)


def tag_file(
    src: str | Path,
    dst: str | Path,
    options: TagOptions | None = None,
    *,
    model: TriageModel | None = None,
    jobs: int | None = None,
    **settings: Any,
) -> Summary:
    """Tag every row of ``src`` into ``dst``; see the module docstring for the guarantees.

    How is said by ``options`` (a :class:`TagOptions`) and/or its fields as keywords
    (``tag_file(src, dst, n_jobs=2, chunk_size=500)``; keywords override ``options``). ``model`` is
    a loaded model (default: the one at ``model_path``, else the shipped one); ``jobs`` is the old,
    deprecated name of ``n_jobs``.

    Raises :class:`~triage.io.DataError` for problems with the whole file (format, header,
    columns, a stale or foreign checkpoint) and ``FileExistsError`` when ``dst`` exists without
    ``overwrite``. Problems with single rows never raise: the row is written with its
    ``error`` cell filled in. With a routing ``config`` (a :class:`~triage.routing.RoutingConfig`
    or its TOML path, validated before any row is read) rows are routed and also get the
    :data:`ROUTING_COLUMNS`. With ``group`` rows also get the :data:`GROUP_COLUMNS` (a first pass
    reads the texts; unreadable rows stand alone). ``encoding`` ``"auto"`` decides from a large
    sample (:func:`triage.io.choose_encoding`; the choice is in the summary). CSV, TSV and XLSX
    text cells are made safe to open in a spreadsheet (:func:`triage.io.spreadsheet_text`) unless
    ``spreadsheet_safe=False`` (for programs that read the file back). The output is the same
    byte for byte whatever ``n_jobs`` is.
    """
    options = _with_settings(options, settings, jobs)
    src, dst = Path(src), Path(dst)
    for path, example in ((dst, "tagged.csv"), (options.summary_path, "summary.json")):
        if path is not None and Path(path).is_dir():  # found only once every row was tagged, else
            raise IsADirectoryError(f"{path} is a folder; name a file (e.g. {Path(path) / example})")
    out_kind = resolve_format(dst, options.output_format)  # a folder has no format to tell: said above
    if dst.exists() and not options.overwrite:
        raise FileExistsError(f"{dst} already exists; pass --overwrite to replace it")
    if options.resume and out_kind not in _RESUMABLE:
        raise DataError(f"--resume needs a CSV, TSV or JSONL output, not {out_kind}")
    started = time.perf_counter()
    reading = read_rows(
        src,
        format=options.input_format,
        encoding=options.encoding,
        sheet=options.sheet,
        chunk_size=options.chunk_size,
        stop_after=options.stop_after,
        progress=src.name if options.progress else None,
        jobs=options.workers,
    )
    with reading as export:
        model, run = _start(export, options, out_kind, model)
        text_columns = [run.header[i] for i in run.text_indices]
        summary = Summary(str(src), str(dst), text_columns=text_columns, encoding=str(export.encoding or ""))
        groups = None
        if options.group:
            groups = _group_rows(export, run.text_indices, options.stop_after, options.threshold, options.progress)
        _tag_stream(export, run, model, options, dst, summary, groups)
    summary.elapsed_seconds = round(time.perf_counter() - started, 3)
    summary.rows_per_second = round(summary.rows_out / max(summary.elapsed_seconds, 1e-9), 1)
    if options.summary_path:
        Path(options.summary_path).write_text(
            json.dumps(summary.as_dict(), ensure_ascii=False, indent=2) + "\n", "utf-8"
        )
    return summary


def _with_settings(options: TagOptions | None, settings: dict[str, Any], jobs: int | None) -> TagOptions:
    """``options`` with the keyword ``settings`` (and the deprecated ``jobs``) applied."""
    if jobs is not None:
        warnings.warn("tag_file(jobs=...) is now n_jobs=..., as in scikit-learn", DeprecationWarning, stacklevel=3)
        settings = {**settings, "n_jobs": jobs}
    unknown = sorted(set(settings) - {f.name for f in fields(TagOptions)})
    if unknown:
        raise TypeError(f"tag_file() got unknown options {', '.join(unknown)}; see triage.batch.TagOptions")
    return replace(options or TagOptions(), **settings)


def _start(export: Export, options: TagOptions, out_kind: str, model: TriageModel | None) -> tuple[TriageModel, _Run]:
    """The model and the run's plan; checked before the output is touched (a bad model leaves nothing)."""
    import triage

    config = options.config
    if config is not None and not isinstance(config, RoutingConfig):
        config = load_config(config)
    run = _plan_run(export, options, out_kind, config)
    return model or triage.load(options.model_path), run


def _job(export: Export, run: _Run, model: TriageModel, options: TagOptions) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the same input, model and options."""
    return {
        "input": _fingerprint(export.path),
        "encoding": run.encoding,
        # format 1 models are known by their estimator's hash; later ones may have only a scorer
        "model": next(filter(None, map(model.manifest.get("files", {}).get, ("model.skops", "scorer.npz"))), "unsaved"),
        "columns": list(run.header),
        "text_columns": [run.header[i] for i in run.text_indices],
        "output_format": run.out_kind,
        "spreadsheet_safe": options.spreadsheet_safe,
        "routing": run.config.source if run.config is not None else None,
        "group": options.threshold if options.group else None,
        # a partial output written by a version adding other columns must not be continued
        "added_columns": list(run.names),
    }


def _tag_stream(
    export: Export, run: _Run, model: TriageModel, options: TagOptions, dst: Path, summary: Summary, groups: Any
) -> None:
    """Write tagged rows to ``dst.partial`` with a checkpoint after every part, then rename it to ``dst``."""
    partial, checkpoint = Path(f"{dst}.partial"), Path(f"{dst}.partial.json")
    job = _job(export, run, model, options)
    done = _resume_point(job, checkpoint, partial, options.resume, options.overwrite)
    rows_done = summary.resumed_after_rows = done.get("rows_done", 0)
    counts = _Counts.from_json(done.get("counts"))
    handle, writer = _open_writer(run, partial, done.get("bytes_done", 0), bool(rows_done))
    try:
        if not rows_done or isinstance(writer, _JsonlWriter):  # a resumed CSV already has its header
            writer.header(run.cells.columns)
        with _parts(export, run, model, options, done, groups) as parts:
            for part in parts:
                if part.encoded:
                    writer.part(part.data)
                    export.show_progress(part.end if part.end is not None else rows_done + part.rows)
                else:
                    writer.columns(part.data)
                counts.merge(part.counts, rows_done)
                rows_done += part.rows
                if handle is not None:
                    writer.flush()
                    handle.flush()
                    os.fsync(handle.fileno())
                    state = {"rows_done": rows_done, "bytes_done": handle.tell(), "input_offset": part.end}
                    _write_checkpoint(checkpoint, {**job, **state, "counts": counts.as_json()})
        writer.close()
        if handle is not None:
            handle.close()
        os.replace(partial, dst)
        checkpoint.unlink(missing_ok=True)
    except BaseException:
        if handle is None:  # Parquet/XLSX cannot be resumed: a partial file is only litter
            writer.discard()
            partial.unlink(missing_ok=True)
        raise
    finally:
        if handle is not None and not handle.closed:
            handle.close()
    summary.rows_in = summary.rows_out = rows_done
    summary.departments = dict(counts.departments.most_common())
    summary.needs_review, summary.errors = counts.needs_review, counts.errors
    summary.suspect_rows, summary.first_error = counts.suspect_rows, counts.describe_first_error()


def _original_values(in_kind: str, out_kind: str) -> Any:
    """How a row's input columns reach the output: typed outputs (JSONL, Parquet) of typed inputs keep
    the values as read (ints stay ints, lists stay lists; Parquet to Parquet keeps every Arrow type),
    text outputs get the cells (:func:`~triage.io.to_cell`)."""
    if in_kind == "parquet" and out_kind == "parquet":  # a value Python cannot hold, as Arrow read it
        return lambda row: [v.scalar if isinstance(v, Unreadable) else v for v in row.values]
    if in_kind in ("jsonl", "parquet") and out_kind == "jsonl":
        # a value Python cannot hold reaches the writer's json.dumps(default=to_cell): its cell
        return lambda row: row.cells if row.error else [None if _is_nan(v) else v for v in row.values]
    return lambda row: row.cells


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def _group_rows(
    export: Export, text_indices: Sequence[int], stop_after: int | None, threshold: float, progress: bool
) -> tuple[Any, Any]:
    """First pass for ``group=True``: ``(group_id, group_size)`` arrays indexed by data row number - 1."""
    import numpy as np

    from triage.grouping import group_chunks

    description = f"{export.path.name} (grouping pass)" if progress else None
    reading = read_rows(
        export.path,
        format=export.format,
        encoding=export.encoding.encoding if export.encoding else "auto",
        sheet=export.sheet,
        chunk_size=DEFAULT_CHUNK_SIZE,
        stop_after=stop_after,
        progress=description,
        jsonl_keys=export.keys,
    )
    with reading as first_pass:
        texts = (
            ["" if row.error else join_text(row.cells[i] for i in text_indices) for row in chunk]
            for chunk in first_pass.chunks
        )
        labels = group_chunks(texts, threshold=threshold)
    if not len(labels):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return labels + 1, np.bincount(labels)[labels]


def tag_dataframe(
    frame: Any,
    text_columns: Sequence[str] = (),
    *,
    model: TriageModel | None = None,
    config: RoutingConfig | None = None,
    errors: Sequence[str] | None = None,
) -> Any:
    """Return a copy of a pandas DataFrame with the :func:`output_columns` added (in memory), named as
    ``tag_file`` names them (:func:`added_column_prefix`). Text cells follow the readers' cell rule
    (:func:`~triage.io.frame_texts`). A row with an ``errors`` entry (why it could not be read), or whose text
    cell cannot be a cell (bytes that are not UTF-8), is not tagged: its ``error`` says why."""
    import triage

    model = model or triage.load()
    columns = list(text_columns) or detect_text_columns(frame.columns)
    require_columns(frame.columns, columns, holder="the frame")
    texts, unreadable = frame_texts(frame, columns)
    if errors is not None and len(errors) != len(texts):
        raise ValueError(f"errors has {len(errors)} entries for a frame of {len(texts)} rows")
    if errors is not None:  # why a row could not be read comes first, then a cell that cannot be one
        unreadable = [read or cell for read, cell in zip(errors, unreadable, strict=True)]
    tags = _tag_chunk(model, config, texts, unreadable)
    out, prefix = frame.copy(), added_column_prefix(frame.columns)
    for name, column in zip(output_columns(config is not None), tags, strict=True):
        out[prefix + name] = column
    return out
