"""CSV, TSV and JSONL files read alike: the header, then the rows from a byte offset (the whole file or a share)."""

from __future__ import annotations

import warnings
from collections.abc import Generator, Sequence
from pathlib import Path

from triage.exceptions import DuplicateColumnWarning, TitleRowsWarning
from triage.io.cells import Row, unique_columns
from triage.io.delimited import _DELIMITERS, _delimited_header, _delimited_rows, _leading_records
from triage.io.jsonl import _jsonl_rows
from triage.io.lines import _CountingReader, _Lines, _text_lines
from triage.io.titles import _title_rows, _warn_title_rows


def _text_header(path: Path, kind: str, encoding: str, jsonl_keys: Sequence[str]) -> tuple[list[str], list[str], int]:
    """``(header, JSONL keys, byte offset of the first data record)`` of a text file; a JSONL file's columns are
    its ``jsonl_keys`` (:func:`~triage.io.jsonl._jsonl_keys`)."""
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


def _read_text(
    path: Path,
    kind: str,
    encoding: str,
    byte_range: tuple[int, int] | None,
    jsonl_keys: Sequence[str],
) -> tuple[list[str], list[str], Generator[Row], _CountingReader, _Lines, int]:
    """``(header, JSONL keys, rows, byte counter, lines, data start)`` of a CSV/TSV/JSONL file (a JSONL file's
    columns: its ``jsonl_keys``), whole or the records that start in ``byte_range`` (numbered from 1 there), read
    line by line from bytes (:class:`~triage.io.lines._Lines`)."""
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
