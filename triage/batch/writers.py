"""Writing tagged rows: one writer per output format (CSV/TSV, JSONL, Parquet/XLSX) and the cell rule they share."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triage import _arrow as arrow
from triage._optional import import_optional
from triage.io import (
    DataError,
    spreadsheet_row,
    to_cell,
)
from triage.results import RankedCandidates


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
        """Write rows a worker encoded with a writer like this one (:class:`~triage.batch.tagging._PartEncoder`)."""
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
        """Write rows a worker encoded with a writer like this one (:class:`~triage.batch.tagging._PartEncoder`)."""
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
