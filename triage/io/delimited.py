"""The rows of a CSV/TSV file: its header, its records with their errors (a runaway quote, a wrong width, a
repeated header), read from :class:`~triage.io.lines._Lines`."""

from __future__ import annotations

import csv
from collections.abc import Generator
from typing import Any

from triage.io.cells import MAX_CELL_CHARS, Row, has_surrogate, row_cells, unique_columns
from triage.io.encodings import _is_gb, _utf8_read_as_gb, encoding_hint
from triage.io.errors import DataError
from triage.io.lines import _Lines
from triage.io.titles import _MAX_TITLE_ROWS


def _merged_rows(cells: list[str], delimiter: str, width: int) -> bool:
    """Whether a cell may have swallowed following rows: a stray quote makes the CSV reader read on
    to the next quote, so lines holding a whole row's delimiters end up inside one cell. Legitimate
    multi-line cells can look the same, so such rows are tagged and reported, not failed."""
    return width > 2 and any(
        line.count(delimiter) == width - 1 for cell in cells if "\n" in cell for line in cell.split("\n")[1:]
    )


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


_DELIMITERS = {"csv": ",", "tsv": "\t"}


def _leading_records(lines: _Lines, delimiter: str) -> list[tuple[list[str], int]]:
    """The first records of a CSV/TSV, each with the byte offset after it: up to the first with a value past
    its first cell (the header, unless title rows come first: :func:`~triage.io.titles._title_rows`), at most
    :data:`~triage.io.titles._MAX_TITLE_ROWS` + 1. A record after the first that cannot be read ends them (it is
    a data row)."""
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
