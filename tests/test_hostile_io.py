"""Hostile and careless export files: every reader gives the same cells, no row aborts or corrupts a batch.

Each test keeps a reproducer that broke the readers or writers before triage.io.read_rows (issues 18,
19, 20): one value or one row must become that row's error, never a traceback, a lost row or a file
read in the wrong encoding.
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import csv
import datetime
import gzip
import io
import json
import lzma
import math
import re
import sys
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import triage.io as tio
import triage.io.cells as io_cells
import triage.io.delimited as io_delimited
import triage.io.jsonl as io_jsonl
import triage.io.lines as io_lines
import triage.io.parquet as io_parquet
import triage.io.titles as io_titles
import triage.io.xlsx as io_xlsx
from tests.conftest import not_utf8_strings
from triage.batch import tag_file
from triage.cli import cli
from triage.exceptions import DuplicateColumnWarning, MissingDependencyError, TitleRowsWarning
from triage.hot import HotTopic, write_csv
from triage.io import (
    MAX_CELL_CHARS,
    DataError,
    Row,
    batch_text_columns,
    choose_encoding,
    read_rows,
    read_table,
    spreadsheet_text,
    to_cell,
)

COLUMNS = ["编号", "电话", "金额", "备注", "附加", "内容"]
# Typed values as a JSONL/Parquet/XLSX export holds them: an integer id, a phone number stored as a
# float (pandas does this to a column with a gap), a fraction, a missing cell, an empty string, text.
TYPED = [
    [1, 13988999988.0, 1.5, None, "", "小区物业乱收停车费"],
    [2, None, 2.0, "备注", "", "派出所补办身份证太慢"],
    [3, 13700000000.0, -0.25, "", "", "学校周末组织补课"],
]
# What every reader must give for them: text cells, no ".0", missing and empty both "".
EXPECTED = [
    ["1", "13988999988", "1.5", "", "", "小区物业乱收停车费"],
    ["2", "", "2", "备注", "", "派出所补办身份证太慢"],
    ["3", "13700000000", "-0.25", "", "", "学校周末组织补课"],
]
NESTED = {"a": 1, "b": ["甲", None]}
NESTED_CELL = '{"a": 1, "b": ["甲", null]}'


def workbook(path: Path, rows: Iterable[list[Any]]) -> Path:
    """An XLSX file at ``path`` whose first sheet holds ``rows``."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def write_export(path, fmt: str) -> None:
    """The rows of TYPED (plus a nested column where the format has one) as ``fmt``."""
    frame = pd.DataFrame(TYPED, columns=COLUMNS)
    if fmt in ("csv-utf8", "csv-gbk"):
        with path.open("w", encoding="utf-8" if fmt == "csv-utf8" else "gbk", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([*COLUMNS, "嵌套"])
            writer.writerows([*row, NESTED_CELL] for row in EXPECTED)
    elif fmt == "jsonl":
        lines = (json.dumps(dict(zip([*COLUMNS, "嵌套"], [*row, NESTED], strict=True))) for row in TYPED)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fmt == "parquet":
        table = pa.Table.from_pandas(frame, preserve_index=False)
        nested = pa.array([NESTED] * len(TYPED), type=pa.struct([("a", pa.int64()), ("b", pa.list_(pa.string()))]))
        pq.write_table(table.append_column("嵌套", nested), path)
    else:
        workbook(path, [[*COLUMNS, "嵌套"], *([*row, NESTED_CELL] for row in TYPED)])


FORMATS = {"csv-utf8": ".csv", "csv-gbk": ".csv", "jsonl": ".jsonl", "parquet": ".parquet", "xlsx": ".xlsx"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_entry_point_reads_the_same_cells(small_model, tmp_path, fmt):
    path = tmp_path / f"export{FORMATS[fmt]}"
    write_export(path, fmt)
    expected = [[*row, NESTED_CELL] for row in EXPECTED]
    with read_rows(path) as export:
        rows = [row for chunk in export.chunks for row in chunk]
    assert [row.cells for row in rows] == expected and not any(row.error for row in rows)
    assert read_table(path).values.tolist() == expected  # train, evaluate, audit-labels
    tag_file(path, tmp_path / "out.csv", model=small_model, text_columns=["内容"], progress=False)  # tag, hot
    with read_rows(tmp_path / "out.csv") as export:
        tagged = [row.cells[: len(expected[0])] for chunk in export.chunks for row in chunk]
    assert tagged == expected
    from triage.dask import READ_ERRORS, read_export  # triage tag --engine dask

    with warnings.catch_warnings():  # dask's Parquet reader uses a pandas keyword pandas 3.1 deprecates
        warnings.filterwarnings("ignore", message="The inplace keyword", category=DeprecationWarning)
        frame = read_export(str(path)).compute(scheduler="synchronous")
    assert frame.pop(READ_ERRORS).tolist() == [""] * len(expected)  # with each row's reading error
    assert frame.astype(object).values.tolist() == expected


def test_the_cell_rule():
    assert to_cell(13988999988.0) == "13988999988" and to_cell(float("nan")) == "" and to_cell(None) == ""
    assert to_cell(Decimal("1.50")) == "1.50" and to_cell(True) == "True" and to_cell(b"\xe4\xb8\xad") == "中"
    assert to_cell({"t": datetime.date(2024, 5, 1), "d": Decimal("2.5")}) == '{"t": "2024-05-01", "d": "2.5"}'
    when = "2024-05-01 08:30:00"
    assert to_cell(np.datetime64("2024-05-01T08:30:00.000000000")) == to_cell(pd.Timestamp(when)) == when
    assert to_cell(np.datetime64("NaT")) == to_cell(pd.NaT) == to_cell(pd.NA) == ""
    assert to_cell(np.int64(5)) == "5" and to_cell(np.array([1, 2])) == "[1, 2]" and to_cell(np.float32(2.0)) == "2"


# ---------------------------------------------------------------- one row never aborts the batch


def tag_to_rows(model, src, tmp_path, suffix=".csv", **options):
    """Tag ``src`` and read the output back through triage's reader."""
    out = tmp_path / f"out{suffix}"
    summary = tag_file(src, out, model=model, progress=False, overwrite=True, **options)
    with read_rows(out) as export:
        rows = [dict(zip(export.header, row.cells, strict=True)) for chunk in export.chunks for row in chunk]
    return summary, rows


@contextmanager
def field_limit(monkeypatch, limit: int) -> Iterator[None]:
    """The csv module's field limit (16M characters, which triage raises it to) at ``limit`` inside the block."""
    monkeypatch.setattr(io_lines, "_CSV_FIELD_LIMIT", limit)
    old = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def tag_at_field_limit(model, lines: list[str], tmp_path, monkeypatch, limit: int):
    """Tag a CSV of ``lines`` with the csv module's field limit at ``limit``, and read the output back with the
    csv module (triage's reader would meet the lowered limits in the output too)."""
    (path := tmp_path / "in.csv").write_text("\n".join(lines) + "\n", "utf-8")
    with field_limit(monkeypatch, limit):
        summary = tag_file(path, tmp_path / "out.csv", model=model, progress=False)
    with (tmp_path / "out.csv").open(encoding="utf-8-sig", newline="") as handle:
        return summary, list(csv.DictReader(handle))


def read_back(path: Path, encoding: str = "auto") -> list[Row]:
    """Every row triage's reader gives for ``path`` (number, cells, error, suspect flag), up to row 20: a reader
    that goes back to a line it read before and loops fails the test instead of hanging it."""
    with read_rows(path, encoding=encoding, stop_after=20) as export:
        return [row for chunk in export.chunks for row in chunk]


def test_a_csv_cell_longer_than_the_field_limit_fails_only_itself(small_model, tmp_path, monkeypatch):
    """A cell past the csv module's field limit (16M characters; 64 here) on a line without quotes: the row
    keeps its id and other cells, and its error names the column and the cell limit (csv.reader refused
    the whole record: the row came out blank)."""
    for module in (io_delimited, io_cells):  # the reader checks the length, row_cells says so
        monkeypatch.setattr(module, "MAX_CELL_CHARS", 32)
    lines = ["id,text", "1,派出所补办身份证", f"2,{'物业乱收费' * 20}", "3,小区物业乱收费"]
    summary, rows = tag_at_field_limit(small_model, lines, tmp_path, monkeypatch, 64)
    assert [row["id"] for row in rows] == ["1", "2", "3"] and summary.errors == 1
    assert rows[1]["error"] == "column 'text': 100 characters, over the limit of 32" and rows[1]["text"] == ""
    assert [rows[0]["department"], rows[2]["department"]] == ["public_security", "property_management"]


@pytest.mark.parametrize("end", ["\n", ""])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_quote_left_open_is_its_rows_error_and_the_lines_after_it_are_rows(small_model, tmp_path, end, encoding):
    """A quoted cell that never closes reads every later line into itself: that row is an error naming how many
    lines it ran over and what to do, keeping its id, and the lines after it are read again as rows of their own
    (they were lost; before that, tagged as one message, errors 0; in UTF-16 until December 2026). A quoted cell
    that closes, on one line or over several, is read as before."""
    path = tmp_path / "open.csv"
    lines = ["id,text", '1,"派出所补办身份证"', '2,"学校乱收费', "多收补课费", '"', '3,"小区物业']
    lines += ["4,乱收费", "5,路灯坏了"]
    path.write_text("\n".join(lines) + end, encoding)
    summary, rows = tag_to_rows(small_model, path, tmp_path)
    assert [row["id"] for row in rows] == ["1", "2", "3", "4", "5"] and summary.errors == 1
    assert rows[1]["text"] == "学校乱收费\n多收补课费\n" and rows[1]["department"] == "education"
    assert rows[2]["error"] == (
        "a quoted cell runs on to the end of the file (3 lines): an unclosed quote? The row is not tagged; the "
        "lines after it are read as rows: close or remove the quote and tag the row again"
    )
    assert rows[2]["department"] == "" and rows[2]["text"] == '"小区物业'
    assert [(row["text"], row["error"]) for row in rows[3:]] == [("乱收费", ""), ("路灯坏了", "")]
    assert rows[3]["department"] and rows[4]["department"]


def test_a_quote_running_past_the_field_limit_names_the_cause(small_model, tmp_path, monkeypatch):
    """An open quote that runs on past the csv module's field limit (16M characters; 40 here): that record is
    its row's error, saying over how many lines and what to do, and keeps its id; the lines it ran over are
    read again as rows (they were lost)."""
    lines = ["id,text", "1,派出所补办身份证", '2,"学校乱收费'] + [f"{i},小区物业乱收停车费" for i in range(3, 9)]
    summary, rows = tag_at_field_limit(small_model, lines, tmp_path, monkeypatch, 40)
    assert rows[1]["error"] == (
        "unreadable CSV row: field larger than field limit (40), over 4 lines: an unclosed quote? The row is not "
        "tagged; the lines after it are read as rows: close or remove the quote and tag the row again"
    )
    assert [row["id"] for row in rows] == ["1", "2", *map(str, range(3, 9))] and summary.errors == 1
    assert rows[1]["text"] == '"学校乱收费' and all(row["department"] == "property_management" for row in rows[2:])


# How the row of a runaway quote ends its error when the lines after it are read again as rows.
READ_AGAIN = (
    "an unclosed quote? The row is not tagged; the lines after it are read as rows: close or remove the quote "
    "and tag the row again"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_second_quote_left_open_among_the_lines_read_again_is_read_again_after_its_own_line(tmp_path, encoding):
    """Reading again after a quote left open can meet another: its row is an error too, the lines after it are
    read once more, and each row keeps its own line's cells exactly, a trailing space or letter included (the
    line end only is cut)."""
    path = tmp_path / "open.csv"
    path.write_text('id,text,note\n1,"学校乱收费 \n2,路灯坏了","编号X\n3,小区物业,无\n', encoding)
    assert read_back(path) == [
        Row(1, ["1", '"学校乱收费 ', ""], f"a quoted cell runs on to the end of the file (3 lines): {READ_AGAIN}"),
        Row(2, ["2", '路灯坏了"', '"编号X'], f"a quoted cell runs on to the end of the file (2 lines): {READ_AGAIN}"),
        Row(3, ["3", "小区物业", "无"]),
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_a_quote_left_open_after_one_past_the_field_limit_is_read_again_from_its_own_line(
    tmp_path, monkeypatch, encoding
):
    """A quote past the field limit (40 here), then one open to the end of the file: both rows are errors, every
    line after each is a row, and the rows are numbered one by one (the numbers name rows in errors)."""
    lines = ["1,派出所补办身份证", '2,"学校乱收费', *(f"{i},小区物业乱收停车费" for i in range(3, 7))]
    lines += ['7,"路灯坏了', "8,噪音"]
    (path := tmp_path / "open.csv").write_text("id,text\n" + "\n".join(lines) + "\n", encoding)
    with field_limit(monkeypatch, 40):
        rows = read_back(path)
    limit = "unreadable CSV row: field larger than field limit (40), over 4 lines"
    assert rows == [
        Row(1, ["1", "派出所补办身份证"]),
        Row(2, ["2", '"学校乱收费'], f"{limit}: {READ_AGAIN}"),
        *(Row(i, [str(i), "小区物业乱收停车费"]) for i in range(3, 7)),
        Row(7, ["7", '"路灯坏了'], f"a quoted cell runs on to the end of the file (2 lines): {READ_AGAIN}"),
        Row(8, ["8", "噪音"]),
    ]


def test_a_utf16_cell_holding_a_whole_row_marks_its_row_suspect(tmp_path):
    """UTF-16: a quoted cell over several lines, one of which holds a row's delimiters, flags its row as suspect."""
    path = tmp_path / "merged.csv"
    path.write_text('id,text,note\n1,"物业乱收费\n2,学校,乱收费",备注\n3,"路灯\n坏了",无\n', "utf-16")
    assert read_back(path) == [
        Row(1, ["1", "物业乱收费\n2,学校,乱收费", "备注"], suspect=True),
        Row(2, ["3", "路灯\n坏了", "无"]),
    ]


@pytest.mark.parametrize(
    ("encoding", "bad"),
    [("utf-16-le", b"\x00\xd8"), ("utf-16-be", b"\xdc\x00"), ("utf-32-le", b"\x00\x00\x11\x00")],
    ids=["lone-high-surrogate", "lone-low-surrogate", "beyond-U+10FFFF"],
)
def test_bytes_a_utf16_or_utf32_file_cannot_hold_are_their_rows_error(small_model, tmp_path, encoding, bad):
    """A bad code unit in a UTF-16/32 export failed the whole run with the codec's message ("'utf-16-le' codec
    can't decode bytes in position 36-37") and no row written: now only its row is an error, and a file ending
    inside a code unit keeps its last row too; each byte of a bad unit is a U+FFFD in the cell."""
    bom = "\ufeff".encode(encoding)
    raw = bom + "id,text\n1,派出所补办身份证\n2,".encode(encoding) + bad + "小区物业\n3,路灯坏了\n4,上".encode(encoding)
    (path := tmp_path / "bad.csv").write_bytes(raw + b"\x4e")  # the last unit cut short
    for jobs in (1, 2):
        summary, rows = tag_to_rows(small_model, path, tmp_path, n_jobs=jobs, chunk_size=1)
        assert [row["id"] for row in rows] == ["1", "2", "3", "4"] and summary.errors == 2
        family = encoding[:6]
        assert (
            rows[1]["error"]
            == f"bytes not valid in {family}: a broken character, shown as U+FFFD; correct it in the export"
        )
        assert rows[1]["text"] == "\ufffd" * len(bad) + "小区物业" and rows[3]["error"] == rows[1]["error"]
        assert rows[3]["text"] == "上\ufffd"
        assert rows[2]["error"] == "" and rows[2]["department"] and rows[0]["department"]


def test_ascii_after_a_stray_gb18030_lead_byte_is_still_text(tmp_path):
    """GB18030 fails a lead byte and up to two bytes after it as one error when fewer than four are left
    (CE 37 0A, '7' and a line feed, ends a line): only the lead byte becomes the lone surrogate of a bad byte, as
    ``surrogateescape`` makes it, and the ASCII after it stays text. Since f15f2d1 those were taken too: the
    digit was lost, and a closing quote, so the cell ran on to the end of the file."""
    (path := tmp_path / "in.csv").write_bytes(b'id,text\n1,\xc2\xb7\xce7\n2,\xd1\xa7\xd0\xa3\n3,"\xc2\xb7\xce7"')
    bad = "bytes not valid in gb18030; try --encoding utf-8-sig (or auto)"
    assert read_back(path, "gb18030") == [
        Row(1, ["1", "路\ufffd7"], bad),
        Row(2, ["2", "学校"]),
        Row(3, ["3", "路\ufffd7"], bad),
    ]


@pytest.mark.parametrize("encoding", ["hz", "iso2022_jp", "utf-7", "cp500", "hex", "rot13", "undefined"])
def test_an_encoding_whose_lines_cannot_be_read_alone_is_refused_with_the_conversion(tmp_path, encoding):
    """Stateful encodings (escape or shift sequences) and EBCDIC write line ends, quotes or delimiters as other
    bytes, or mean other characters after a shift: refused up front with the command that converts the file.
    Codecs that are no text encoding (hex, rot13) are refused as such, "undefined" as the others: they ended the
    run with a traceback (LookupError, UnicodeError) since f15f2d1 checks the ASCII syntax of the encoding given."""
    (path := tmp_path / "in.csv").write_bytes("id,text\n1,路灯坏了\n".encode())
    runner = CliRunner()
    result = runner.invoke(cli, ["tag", str(path), "-o", str(tmp_path / "out.csv"), "--encoding", encoding])
    assert result.exit_code != 0 and not (tmp_path / "out.csv").exists()
    if encoding in ("hex", "rot13"):
        assert f"{encoding!r} is not a text encoding; use auto, utf-8-sig, gb18030" in result.output
        return
    assert f"encoding {encoding!r} cannot be read a line at a time" in result.output
    assert f"iconv -f {encoding} -t UTF-8" in result.output


def test_jsonl_columns_are_the_keys_of_all_objects_not_only_the_first(small_model, tmp_path):
    """An exporter that leaves out null fields (mongoexport) writes objects with different keys: the columns are
    every key of the objects, in the order they first appear, so no value of theirs is lost (tests/test_jsonl_columns.py
    has keys first seen far into a file)."""
    records = [
        {"id": 1, "text": "派出所补办身份证"},
        {"id": 2, "phone": "[PHONE]", "text": "学校乱收费"},
        {"text": "小区物业乱收费", "id": 3, "district": "A3区"},
        {"id": 4, "text": "路灯坏了", "late": True},
    ]
    path = tmp_path / "keys.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    summary, rows = tag_to_rows(small_model, path, tmp_path, suffix=".jsonl")
    assert list(rows[0])[:5] == ["id", "text", "phone", "district", "late"]
    assert [(row["id"], row["phone"], row["district"], row["late"]) for row in rows] == [
        ("1", "", "", ""),
        ("2", "[PHONE]", "", ""),
        ("3", "", "A3区", ""),
        ("4", "", "", "True"),
    ]
    assert summary.errors == 0 and rows[1]["department"] == "education"


def test_a_jsonl_file_of_blank_lines_is_empty(tmp_path):
    (path := tmp_path / "blank.jsonl").write_text("\n  \n\t\n", "utf-8")
    with pytest.raises(DataError, match=r"blank.jsonl: the file is empty$"):
        read_table(path, format="jsonl")


TITLED = [
    ["某市热线工单导出（5月）", None, None],
    ["工单编号", "诉求内容", "承办单位"],
    ["1", "小区物业乱收停车费", None],
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_title_rows_above_a_csv_header_are_skipped_with_a_warning(small_model, tmp_path, encoding):
    """A CSV saved from a sheet with a title merged across the table ("title,,") and a blank line: skipped,
    said, and the table tagged, by one process and by workers reading shares (which start past the title)."""
    path = tmp_path / "titled.csv"
    rows = [TITLED[0], [], *TITLED[1:], ["2", "派出所补办身份证", None]]
    path.write_text("".join(",".join(c or "" for c in row) + "\n" for row in rows), encoding)
    said = r"^file 'titled.csv': 2 row\(s\) above the column names skipped as its title: '某市热线工单导出（5月）', ''$"
    for jobs in (1, 2):
        with pytest.warns(TitleRowsWarning, match=said):
            summary, out = tag_to_rows(small_model, path, tmp_path, n_jobs=jobs, chunk_size=1)
        assert list(out[0])[:3] == ["工单编号", "诉求内容", "承办单位"] and summary.rows_out == 2
        assert [row["department"] for row in out] == ["property_management", "public_security"]


@pytest.mark.parametrize(
    ("rows", "titles"),
    [
        ([["标题", None]] * 10 + [["编号", "内容"]], 10),  # the most rows taken for a title
        ([["标题", None]] * 11 + [["编号", "内容"]], 0),  # more: a table of one-value rows, not a title
        ([["标题"], [None, "内容"], ["路灯坏了", "1"]], 0),  # one name under the first row: no header of two names
        ([["标题", " "], ["编号", "内容"]], 1),  # a cell of spaces is blank
    ],
)
def test_title_rows_are_up_to_ten_one_value_rows_above_a_row_of_two_names(rows, titles):
    assert io_titles._title_rows(rows) == titles


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_an_empty_text_table_says_it_has_no_header_row(tmp_path, suffix):
    (path := tmp_path / f"empty{suffix}").write_bytes(b"")
    with pytest.raises(DataError, match=rf"empty{suffix}: the file is empty: no header row$"):
        read_table(path)


def test_a_share_of_a_titled_csv_starts_past_its_title_and_does_not_warn_again(tmp_path):
    """Workers read the header again for each share: the title was named once, by the whole file's reader."""
    path = tmp_path / "titled.csv"
    path.write_text("".join(",".join(c or "" for c in row) + "\n" for row in TITLED), "utf-8")
    with pytest.warns(TitleRowsWarning), read_rows(path) as whole:
        start = whole.data_start
    with warnings.catch_warnings():
        warnings.simplefilter("error", TitleRowsWarning)
        with read_rows(path, byte_range=(start, path.stat().st_size)) as share:
            assert [row.cells for chunk in share.chunks for row in chunk] == [["1", "小区物业乱收停车费", ""]]


def test_a_one_field_first_line_of_a_csv_is_its_header_not_a_title(small_model, tmp_path):
    """A one-column CSV whose text holds an ASCII comma has rows of two fields under a one-field header: the
    header is not taken for a title (a title saved from a sheet has the table's width, "title,,"); a one-field
    title line is named in the missing-column error instead."""
    path = tmp_path / "one.csv"
    path.write_text("内容\n小区物业,乱收费\n路灯坏了\n", "utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error", TitleRowsWarning)
        summary, rows = tag_to_rows(small_model, path, tmp_path)
    assert [row["内容"] for row in rows] == ["小区物业", "路灯坏了"] and summary.errors == 1


def test_title_rows_above_a_sheets_header_are_skipped_with_a_warning(small_model, tmp_path):
    """A sheet's title (and a blank row) above its column names: skipped, said, and the table tagged."""
    path = workbook(tmp_path / "titled.xlsx", [TITLED[0], [None, None, None], *TITLED[1:]])
    said = r"sheet 'Sheet': 2 row\(s\) above the column names skipped as its title: '某市热线"
    with pytest.warns(TitleRowsWarning, match=said):
        summary, rows = tag_to_rows(small_model, path, tmp_path)
    assert list(rows[0])[:3] == ["工单编号", "诉求内容", "承办单位"] and rows[0]["department"] == "property_management"
    assert summary.rows_out == 1


@pytest.mark.parametrize(
    "sheet",
    [
        [["内容"], ["路灯坏了"], ["小区物业乱收费"]],  # one column: every row has one value
        [["内容", None], ["路灯坏了", None], ["学校乱收费", None]],  # one named column, rows of one value
    ],
)
def test_a_sheet_without_a_title_is_read_from_its_first_row(small_model, tmp_path, sheet):
    with warnings.catch_warnings():
        warnings.simplefilter("error", TitleRowsWarning)
        summary, rows = tag_to_rows(small_model, workbook(tmp_path / "plain.xlsx", sheet), tmp_path)
    assert [row["内容"] for row in rows] == [row[0] for row in sheet[1:]] and summary.errors == 0


def test_an_xlsx_workbook_saved_as_xls_is_read_by_its_bytes(small_model, tmp_path):
    """calamine picks its reader by the suffix: an XLSX named .xls was refused ('Cfb error: Invalid OLE')."""
    path = workbook(tmp_path / "export.xlsx", [["内容"], ["小区物业乱收停车费"]]).rename(tmp_path / "export.xls")
    summary, rows = tag_to_rows(small_model, path, tmp_path)
    assert summary.errors == 0 and rows[0]["department"] == "property_management"


def _utf8_csv_of_4_kib() -> bytes:
    text = ("内容\n" + "学校乱收费\n" * 200).encode()
    return text + b"x" * (4096 - len(text))


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("编号,内容\n1,小区物业乱收停车费\n".encode(), r"it holds text.*CSV named .xlsx.*--format csv"),
        (
            "编号\t内容\n1\t小区物业乱收停车费\n".encode(),
            r"it holds text.*TSV named .xlsx.*--format tsv, or rename it .tsv",
        ),
        (
            "<html><table><tr><td>内容</td></tr></table></html>".encode(),
            r"it is a web page .* saved as .xlsx; open it in Excel",
        ),
        ("编号,内容\n1,小区物业乱收停车费\n".encode("gb18030") * 400, r"it holds text.*--format csv"),
        # only the first 4 KiB are sniffed: a byte no text holds just past them does not make the file binary
        # (UTF-8 text GB18030 cannot read: one byte more would be no text in either)
        (_utf8_csv_of_4_kib() + b"\xff" * 8, r"it holds text, not a workbook \(CSV named"),
        ("\ufeff\n  <html><body>内容</body></html>".encode(), r"it is a web page \(HTML or XML\) saved as .xlsx"),
        # the first line tells: tabs there, commas in the lines after it
        ("编号\t内容\n1,小区,物业\n2,学校,补课\n".encode(), r"it holds text, not a workbook \(TSV named .xlsx\?\)"),
        # one column (no tab, no comma), and more commas than tabs
        ("内容\n小区物业乱收停车费\n".encode(), r"it holds text, not a workbook \(CSV named"),
        ("编号,内容,备注\t说明\n".encode(), r"it holds text, not a workbook \(CSV named"),
        (bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504), r"a password-protected workbook, or a damaged .xls\? Save a"),
        (b"", r"the file is empty"),
        (b"PK\x03\x04" + bytes(range(256)) * 4, r"the file is damaged or cut short.*save it again from Excel/WPS"),
        ("编号,内容\n".encode() + b"\0" * 8, r"the file is damaged or cut short"),  # NUL bytes are no text
    ],
    ids=[
        "csv",
        "tsv",
        "html",
        "gbk-csv-past-the-sniffed-bytes",
        "bad-byte-past-the-sniffed-bytes",
        "html-after-bom-and-blanks",
        "tsv-first-line",
        "one-column",
        "comma-majority",
        "ole-encrypted",
        "empty",
        "damaged-zip",
        "nul-bytes",
    ],
)
def test_a_file_that_is_no_workbook_says_what_it_looks_like_and_what_to_do(tmp_path, content, said):
    (path := tmp_path / "export.xlsx").write_bytes(content)
    with pytest.raises(DataError, match=r"export.xlsx: not a readable XLSX workbook \(.*\): " + said):
        read_table(path)


def _workbook_bytes() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["内容"])
    book.active.append(["小区物业乱收停车费"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _parquet_bytes() -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"内容": ["小区物业乱收停车费"]}), buffer)
    return buffer.getvalue()


def _zip_bytes(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def _sqlite_bytes(folder: Path) -> bytes:
    import sqlite3

    with contextlib.closing(sqlite3.connect(folder / "board.db")) as database:
        database.execute("create table messages (content text)")
        database.execute("insert into messages values ('小区物业乱收停车费')")
        database.commit()
    return (folder / "board.db").read_bytes()


_EXPORT_CSV = "编号,内容\n1,小区物业乱收停车费\n".encode()

#: What is sent instead of a text export (content, or a function of a scratch folder giving it), and what it is.
IMPOSTORS = {
    "xlsx": (_workbook_bytes, r"an XLSX workbook, not {named}: pass --format xlsx, or rename it \.xlsx$"),
    "parquet": (_parquet_bytes, r"a Parquet file, not {named}: pass --format parquet, or rename it \.parquet$"),
    "xls": (
        bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504),
        r"an Excel 97-2003 workbook \(\.xls\) or a workbook saved with a password, not {named}: pass --format xlsx",
    ),
    "zip": (lambda: _zip_bytes("export.csv", _EXPORT_CSV), r"a zip archive, not {named}: extract the export from it"),
    "ods": (
        lambda: _zip_bytes("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
        r"an OpenDocument spreadsheet \(\.ods\), not {named}: save it as \.xlsx",
    ),
    "odt": (
        lambda: _zip_bytes("mimetype", b"application/vnd.oasis.opendocument.text"),
        r"a document \(Word, PowerPoint or OpenDocument\), not a table, not {named}: export the table itself",
    ),
    "docx": (
        lambda: _zip_bytes("[Content_Types].xml", b"<Types/>"),
        r"a document \(Word, PowerPoint or OpenDocument\), not a table, not {named}: export the table itself",
    ),
    "gzip": (lambda: gzip.compress(_EXPORT_CSV), r"gzip-compressed data, not {named}: decompress it first \(gzip -d"),
    "bzip2": (lambda: bz2.compress(_EXPORT_CSV), r"bzip2-compressed data, not {named}: decompress it first \(bzip2"),
    "xz": (lambda: lzma.compress(_EXPORT_CSV), r"xz-compressed data, not {named}: decompress it first \(xz -d"),
    "7z": (b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(24), r"a 7z archive, not {named}: extract the export"),
    "rar": (b"Rar!\x1a\x07\x01\x00" + bytes(24), r"a RAR archive, not {named}: extract the export"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", r"a PDF document, not {named}: export the table itself"),
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"a PNG image, not {named}: export the table itself"),
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF", r"a JPEG image, not {named}: export the table itself"),
    "gif": (b"GIF89a\x01\x00\x01\x00", r"a GIF image, not {named}: export the table itself"),
    "sqlite": (_sqlite_bytes, r"an SQLite database, not {named}: export the table as CSV \(sqlite3 -header -csv"),
    "random-bytes": (
        lambda: np.random.default_rng(0).bytes(3000),
        r"binary data, not {named}: is it the export\? Export it again as CSV or XLSX$",
    ),
}


def _impostor(name: str, folder: Path) -> bytes:
    made = IMPOSTORS[name][0]
    if isinstance(made, bytes):
        return made
    return made(folder) if made is _sqlite_bytes else made()


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
@pytest.mark.parametrize("name", list(IMPOSTORS))
def test_what_is_sent_instead_of_a_text_export_is_named_with_what_to_do_and_nothing_is_written(tmp_path, name, suffix):
    """A workbook or Parquet file named .csv, an archive of the export, a PDF or a screenshot: refused saying what
    it is and what to do, before any output is written. Read as text they gave an encoding error, or a header of
    mojibake ("no text column recognised among: 塒NG")."""
    (path := tmp_path / f"export{suffix}").write_bytes(_impostor(name, tmp_path))
    named = f"{suffix[1:].upper()} text"
    said = IMPOSTORS[name][1].format(named=named)
    with pytest.raises(DataError, match=rf"export{re.escape(suffix)}: it is " + said):
        read_table(path)
    result = CliRunner().invoke(cli, ["tag", str(path), "-o", str(tmp_path / "out.csv"), "--silent"])
    assert result.exit_code != 0 and re.search("it is " + said, result.stderr.strip()), result.stderr
    assert not (tmp_path / "out.csv").exists()
    with pytest.raises(DataError, match=said):  # whatever encoding is given
        read_table(path, encoding="gb18030")


@pytest.mark.parametrize(
    ("content", "suffix", "said"),
    [
        (_workbook_bytes, ".parquet", r"it is an XLSX workbook, not a Parquet file: pass --format xlsx"),
        (_parquet_bytes, ".xlsx", r"it is a Parquet file, not a workbook: pass --format parquet, or rename it"),
        (lambda: gzip.compress(_EXPORT_CSV), ".xlsx", r"it is gzip-compressed data, not a workbook: decompress"),
        (lambda: gzip.compress(_EXPORT_CSV), ".parquet", r"it is gzip-compressed data, not a Parquet file"),
        (lambda: _zip_bytes("export.csv", _EXPORT_CSV), ".xlsx", r"it is a zip archive, not a workbook: extract"),
        (lambda: _EXPORT_CSV, ".parquet", r"it holds text, not a Parquet file \(CSV named \.parquet\?\)"),
        (
            lambda: '{"内容": "小区物业乱收停车费"}\n'.encode(),
            ".xlsx",
            r"it holds text, not a workbook \(JSONL named \.xlsx\?\); pass --format jsonl, or rename it \.jsonl$",
        ),
        (
            lambda: _zip_bytes("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
            ".xlsx",
            r"it is an OpenDocument spreadsheet \(\.ods\), not a workbook: save it as \.xlsx",
        ),
        # begins as what it is named but cannot be read: damaged, not something else
        (lambda: b"PAR1" + bytes(100) + b"PAR1", ".parquet", r"the file is damaged or cut short; write it again$"),
        (lambda: np.random.default_rng(0).bytes(3000), ".parquet", r"the file is damaged or cut short"),
    ],
    ids=["xlsx-as-parquet", "parquet-as-xlsx", "gzip-as-xlsx", "gzip-as-parquet", "zip-as-xlsx", "csv-as-parquet",
         "jsonl-as-xlsx", "ods-as-xlsx", "damaged-parquet", "random-bytes-as-parquet"],
)  # fmt: skip
def test_a_binary_export_named_as_another_binary_format_says_what_it_is(tmp_path, content, suffix, said):
    (path := tmp_path / f"export{suffix}").write_bytes(content())
    with pytest.raises(DataError, match=rf"export{re.escape(suffix)}: not a readable .*\(.*\): " + said):
        read_table(path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cells=st.lists(
        st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\r"), max_size=60),
        min_size=1,
        max_size=40,
    ),
    encoding=st.sampled_from(["utf-8-sig", "utf-8", "gb18030", "utf-16", "utf-16-le"]),
)
def test_text_is_never_taken_for_binary_whatever_characters_its_cells_hold(tmp_path, cells, encoding):
    """Any text an export holds (controls included, as a database lets through; NUL aside, which csv cannot
    write), in any encoding it comes in, reads as its rows: no file of them is refused as binary. UTF-16 without a
    byte-order mark is read as given (auto tells it by the NULs of its ASCII, which text of Chinese lacks)."""
    path = tmp_path / "export.csv"
    with path.open("w", encoding=encoding, newline="", errors="replace") as handle:
        csv.writer(handle).writerows([["内容"], *([cell] for cell in cells)])
    assert len(read_table(path, encoding="utf-16-le" if encoding == "utf-16-le" else "auto")) == len(cells)


@pytest.mark.parametrize("header", ["PAR1,内容\n", "PAR1", "PAR1,内容,表PAR1", "PAR1,内容,备注,列PAR1"])
def test_a_header_that_begins_as_a_signature_is_text(tmp_path, header):
    """A Parquet file begins and ends with PAR1, its footer's length before the last: a CSV whose first (and last)
    column is named so is a CSV."""
    (path := tmp_path / "export.csv").write_text(header, encoding="utf-8")
    assert read_table(path).columns.tolist() == header.strip().split(",")


@pytest.mark.parametrize(("controls", "refused"), [(15, False), (16, True)])
def test_binary_data_is_at_least_sixteen_control_characters_that_do_not_decode(tmp_path, controls, refused):
    """The fewest control characters that make a short file's start binary (with 5 % of 320 bytes, the same)."""
    content = ("内容\n".encode() + b"\x01" * controls + b"\xff" * 8).ljust(320, b"a")
    (path := tmp_path / "export.csv").write_bytes(content)
    if refused:
        with pytest.raises(DataError, match="it is binary data"):
            read_table(path)
    else:
        with tio.read_rows(path) as export:  # text: the bytes that do not decode are their row's error
            assert [bool(row.error) for chunk in export.chunks for row in chunk] == [True]


def test_only_the_first_4_kib_say_whether_a_file_is_binary(tmp_path):
    """Bytes past them, however many controls they hold, are rows of the file, each kept with its error."""
    text = ("内容\n" + "小区物业乱收停车费\n" * 400).encode()[:4096]
    binary = np.random.default_rng(0).bytes(20_000)  # alone, it would be binary; read whole, the file would be too
    (path := tmp_path / "export.csv").write_bytes(text[: text.rfind(b"\n") + 1] + binary)
    with tio.read_rows(path) as export:
        rows = [row for chunk in export.chunks for row in chunk]
    assert rows[0].cells == ["小区物业乱收停车费"] and any(row.error for row in rows)


def test_text_full_of_control_characters_is_text(tmp_path):
    """Cells of nothing but control characters (a database's bytes) in UTF-8 or GB18030: text, every row read; the
    same density of them in bytes that decode as neither is binary data."""
    rows = [["内容", "备注"], *([chr(code) * 3, "\x08\x19"] for code in (1, 2, 8, 14, 25) * 30)]
    for encoding in ("utf-8", "gb18030"):
        with (path := tmp_path / "export.csv").open("w", encoding=encoding, newline="") as handle:
            csv.writer(handle).writerows(rows)
        assert read_table(path)["备注"].tolist() == ["\x08\x19"] * 150
    path.write_bytes(path.read_bytes().replace(b"\x08\x19", b"\x08\xff"))
    with pytest.raises(DataError, match=r"it is binary data, not CSV text"):
        read_table(path)
    # a short file holds too few to tell: a row of another encoding with a control character is that row's error
    path.write_bytes(b"id,name\n1,caf\xe9\x01\n")
    with tio.read_rows(path) as export:
        assert [row.number for chunk in export.chunks for row in chunk if row.error] == [1]


def test_a_few_nul_bytes_in_a_cell_keep_the_file_and_its_rows(tmp_path):
    """A database export with NULs in a cell is text with a few odd bytes: read, every row kept."""
    (path := tmp_path / "export.csv").write_bytes("内容\n小区物业乱收停车费\n".encode() + b"a\x00\x00\x00b\n" * 3)
    assert read_table(path)["内容"].tolist() == [
        "小区物业乱收停车费",
        "a\x00\x00\x00b",
        "a\x00\x00\x00b",
        "a\x00\x00\x00b",
    ]


def test_what_calamine_said_of_a_file_it_cannot_open_is_kept(tmp_path):
    class CalamineError(Exception):
        pass

    class PasswordError(CalamineError):
        pass

    class CalamineWorkbook:
        @staticmethod
        def from_path(path: str) -> None:
            raise CalamineError("Zip error: invalid Zip archive")

    calamine = type("calamine", (), {"CalamineError": CalamineError, "PasswordError": PasswordError})
    calamine.CalamineWorkbook = CalamineWorkbook
    (path := tmp_path / "export.xlsx").write_bytes(b"\0\1 no workbook")
    with pytest.raises(DataError, match=r"^not a readable XLSX workbook \(Zip error: invalid Zip archive\): the file"):
        io_xlsx._open_workbook(calamine, path)


def test_a_sheet_empty_or_past_the_last_names_the_sheets_there(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "封面"
    book.create_sheet("工单").append(["内容"])
    book.create_sheet("说明").append(["内容"])
    book.save(path := tmp_path / "export.xlsx")
    with pytest.raises(
        DataError, match=r"sheet '封面' is empty; the workbook also has: 工单, 说明 \(pick one with --sheet\)$"
    ):
        read_table(path)
    with pytest.raises(DataError, match=r"no sheet number 3 \(counted from 0\); the workbook has 3: 封面, 工单, 说明$"):
        read_table(path, sheet=3)  # was an IndexError
    with pytest.raises(DataError, match=r"no sheet '附件'; the workbook has: 封面, 工单, 说明$"):
        read_table(path, sheet="附件")
    book = openpyxl.Workbook()
    book.active.title = "封面"
    book.save(path)
    with pytest.raises(DataError, match=r"export.xlsx: sheet '封面' is empty$"):
        read_table(path)


def test_a_sheet_is_picked_by_its_number_counted_from_0_or_from_the_end(tmp_path):
    book = openpyxl.Workbook()
    for number, sheet in enumerate([book.active, book.create_sheet("工单"), book.create_sheet("说明")]):
        sheet.append(["内容"])
        sheet.append([f"sheet {number}"])
    book.save(path := tmp_path / "export.xlsx")
    read = {sheet: read_table(path, sheet=sheet)["内容"].tolist() for sheet in (0, 1, 2, -1, -3)}
    assert read == {0: ["sheet 0"], 1: ["sheet 1"], 2: ["sheet 2"], -1: ["sheet 2"], -3: ["sheet 0"]}
    with pytest.raises(DataError, match=r"no sheet number -4 \(counted from 0\)"):
        read_table(path, sheet=-4)


def test_a_damaged_sheet_of_a_workbook_that_opens_is_named_with_what_to_do(tmp_path):
    path = workbook(tmp_path / "export.xlsx", [["内容"], ["小区物业乱收停车费"]])
    with zipfile.ZipFile(path) as whole:
        parts = {name: whole.read(name) for name in whole.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"][:120]  # cut inside its XML
    with zipfile.ZipFile(path, "w") as damaged:
        for name, data in parts.items():
            damaged.writestr(name, data)
    with pytest.raises(DataError, match=r"sheet 'Sheet' cannot be read \(.+\): save the workbook again from Excel/WPS"):
        read_table(path)


def test_a_sheet_cell_over_the_cell_limit_is_its_rows_error(tmp_path, monkeypatch):
    monkeypatch.setattr(io_cells, "MAX_CELL_CHARS", 5)
    path = workbook(tmp_path / "export.xlsx", [["编号", "内容"], ["1", "小区物业乱收停车费"], ["2", "路灯"]])
    with read_rows(path) as export:
        rows = [(row.cells, row.error) for chunk in export.chunks for row in chunk]
    assert rows == [(["1", ""], "column '内容': 9 characters, over the limit of 5"), (["2", "路灯"], "")]


def test_a_sheet_row_wider_than_its_column_names_keeps_every_value(tmp_path):
    """Cells past the last named column come under columns of their own (named like a CSV's blank header
    cells), not dropped: the sheet's width is its widest row's."""
    path = workbook(tmp_path / "export.xlsx", [["编号", "内容"], ["1", "路灯坏了", "补充", "再补充"], ["2", "噪音"]])
    with pytest.warns(DuplicateColumnWarning), read_rows(path) as export:
        rows = [(row.cells, row.error) for chunk in export.chunks for row in chunk]
        assert export.header == ["编号", "内容", "", ".1"]
    assert rows == [(["1", "路灯坏了", "补充", "再补充"], ""), (["2", "噪音", "", ""], "")]


def test_a_title_row_read_as_the_header_by_dask_is_named_with_what_to_do():
    """pandas (pd.read_csv, dd.read_csv: frames given to triage.dask.tag) names blank header cells "Unnamed: 1":
    a title row read as the header is named too."""
    with pytest.raises(DataError, match=re.escape("the first row looks like a title above the table ('某市热线")):
        tio.detect_text_columns(["某市热线工单导出（5月）", "Unnamed: 1", "Unnamed: 2"])
    with pytest.raises(DataError, match=r"no text column recognised among: Unnamed: 0, 备注; name it with"):
        tio.detect_text_columns(["Unnamed: 0", "备注"])  # pandas' unnamed index column: not a title


def test_a_file_delimited_by_semicolons_is_named_with_what_to_do(small_model, tmp_path):
    """A European-locale "CSV" (fields joined by ';') reads as one column: the error says so."""
    path = tmp_path / "semi.csv"
    path.write_text("编号;内容\n1;路灯坏了\n", "utf-8")
    with pytest.raises(DataError, match=re.escape("the header is one column holding ';': a file delimited by ';'")):
        tag_file(path, tmp_path / "out.csv", model=small_model, progress=False)


def test_a_header_with_an_unnamed_first_column_gets_no_title_hint(small_model, tmp_path):
    """pandas writes its index as an unnamed first column (",内容"): not a title, the usual message."""
    path = tmp_path / "index.csv"
    path.write_text(",备注\n0,路灯坏了\n", "utf-8")
    with pytest.raises(DataError, match=r"no text column recognised among: , 备注; name it with --text-column$"):
        tag_file(path, tmp_path / "out.csv", model=small_model, progress=False)


def test_a_header_repeated_inside_joined_exports_is_its_rows_error(small_model, tmp_path):
    """Exports joined with cat carry each file's header (and byte-order mark) among the data: that row is an
    error saying so, not a message made of column names; a message that merely starts like one is tagged."""
    part = "\ufeff编号,内容\n{}\n"
    text = part.format("1,小区物业乱收停车费") + part.format("2,派出所补办身份证") + "3,内容\n编号,内容 \n"
    (tmp_path / "joined.csv").write_bytes(text.encode("utf-8"))
    summary, rows = tag_to_rows(small_model, tmp_path / "joined.csv", tmp_path)
    assert [row["编号"] for row in rows] == ["1", "\ufeff编号", "2", "3", "编号"]
    assert rows[1]["error"] == "the row repeats the header (files joined together?): it is not a message"
    assert rows[1]["department"] == "" and summary.errors == 1 and rows[2]["department"] == "public_security"
    assert rows[4]["error"] == "" and rows[4]["内容"] == "内容 "


@pytest.mark.parametrize("bad", ["", '{"id": 9, "text": "BAD"}'], ids=["decodes", "bad-byte"])
@pytest.mark.parametrize("end", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_jsonl_lines_ending_in_crlf_or_cr_read_as_lines_ending_in_lf(tmp_path, end, bad):
    """JSONL line ends are read as LF, as a text stream reads them: the same rows, and the same error for a line
    cut short (its position counts lines by LF: "line 2 column 1 (char 19)") or ending in spaces or an X, also in
    a block holding a byte not valid in UTF-8 (BAD: decoded a line at a time)."""
    lines = ['{"id": 1, "text": "物业"}', bad, '{"id": 2, "text": ', '{"id": 3, "text": "路灯"} X', '{"id": 4, "a":   ']
    (lf := tmp_path / "lf.jsonl").write_bytes(("\n".join(lines) + "\n").encode().replace(b"BAD", b"\xff"))
    (other := tmp_path / "other.jsonl").write_bytes((end.join(lines) + end).encode().replace(b"BAD", b"\xff"))
    with read_rows(lf) as export:
        expected = [row for chunk in export.chunks for row in chunk]
    assert [row.error for row in expected[-3:]] == [
        "line is not JSON (Expecting value: line 2 column 1 (char 19))",
        "line is not JSON (Extra data: line 1 column 25 (char 24))",
        "line is not JSON (Expecting value: line 2 column 1 (char 18))",
    ]
    with read_rows(other) as export:
        assert [row for chunk in export.chunks for row in chunk] == expected


def test_a_line_break_in_a_quoted_cell_is_kept_as_written_in_a_block_holding_a_bad_byte(tmp_path):
    """CSV cells keep their CRLF and CR (only JSONL line ends are read as LF), also in a block decoded a line at a
    time because it holds a byte not valid in UTF-8."""
    (path := tmp_path / "in.csv").write_bytes('id,text\r\n1,"物业\r\n乱收费\r路灯"\r\n2,'.encode() + b"\xff\r\n")
    with read_rows(path, encoding="utf-8") as export:
        assert [row.cells for chunk in export.chunks for row in chunk] == [
            ["1", "物业\r\n乱收费\r路灯"],
            ["2", "\ufffd"],
        ]


def test_jsonl_nested_100000_deep_is_a_row_error(small_model, tmp_path):
    path = tmp_path / "deep.jsonl"
    deep = '{"id": 2, "text": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path.write_text(
        '{"id": 1, "text": "派出所补办身份证"}\n' + deep + '\n{"id": 3, "text": "小区物业乱收费"}\n', "utf-8"
    )
    summary, rows = tag_to_rows(small_model, path, tmp_path)
    assert [row["id"] for row in rows] == ["1", "", "3"] and summary.rows_out == 3
    assert "nested too deep" in rows[1]["error"] and rows[2]["department"] == "property_management"


@pytest.mark.parametrize(
    "first",
    [
        '{"id": 1, "text": "派出所补办身份证"',  # cut short
        '{"id": 1, "text": ' + "[" * 5_000 + "]" * 5_000 + "}",  # nested too deep
        '"派出所补办身份证"',  # a string, not an object
    ],
    ids=["cut-short", "too-deep", "string"],
)
def test_a_first_jsonl_line_that_is_no_object_is_its_rows_error_not_the_files(small_model, tmp_path, first):
    """The columns come from the objects of the first lines: one bad first line fails only its row, with
    one process and with workers reading shares (before, the whole file was refused: every row lost)."""
    path = tmp_path / "first.jsonl"
    path.write_text(first + '\n{"id": 2, "text": "学校乱收费"}\n{"id": 3, "text": "小区物业乱收费"}\n', "utf-8")
    for jobs in (1, 2):
        summary, rows = tag_to_rows(small_model, path, tmp_path, n_jobs=jobs, chunk_size=1)
        assert [row["id"] for row in rows] == ["", "2", "3"] and summary.errors == 1
        assert rows[0]["error"].startswith("line is") and rows[0]["department"] == ""
        assert [row["department"] for row in rows[1:]] == ["education", "property_management"]


def test_a_jsonl_file_without_an_object_says_what_to_do(tmp_path):
    path = tmp_path / "array.jsonl"
    path.write_text('[{"id": 1, "text": "派出所补办身份证"},\n{"id": 2, "text": "学校乱收费"}]\n', "utf-8")
    with pytest.raises(DataError, match=r"array.jsonl: no JSON object with a key in its 2 row\(s\).*row 1: line"):
        read_table(path)
    (path := tmp_path / "numbers.jsonl").write_text("1\n2\n", "utf-8")
    with pytest.raises(
        DataError,
        match=r"row 1: line is not a JSON object \(a number\)\); JSON Lines hold one object a line: convert a JSON "
        r"array with `jq -c '\.\[\]'`$",
    ):
        read_table(path)


def test_a_byte_order_mark_inside_joined_jsonl_files_is_skipped(small_model, tmp_path):
    """``cat a.jsonl b.jsonl`` of files saved with a BOM: the BOM before b's first line is no row error."""
    path = tmp_path / "joined.jsonl"
    lines = ['{"id": 1, "text": "派出所补办身份证"}', '\ufeff{"id": 2, "text": "学校乱收费"}']
    path.write_bytes(codecs.BOM_UTF8 + "\n".join(lines).encode() + b"\n")
    summary, rows = tag_to_rows(small_model, path, tmp_path)
    assert [row["id"] for row in rows] == ["1", "2"] and summary.errors == 0
    assert rows[1]["department"] == "education"


def test_an_integer_of_5000_digits_is_a_row_error(small_model, tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text('{"id": 1, "text": "派出所补办身份证"}\n{"id": ' + "9" * 5000 + ', "text": "物业"}\n', "utf-8")
    summary, rows = tag_to_rows(small_model, path, tmp_path)
    assert summary.rows_out == 2 and rows[0]["error"] == ""
    assert rows[1]["error"].startswith("line cannot be read: Exceeds the limit (4300 digits) for integer string")


def test_jsonl_rows_are_numbered_past_blank_lines_and_bad_bytes_are_named_in_gb18030(tmp_path):
    """Rows count from 1, blank lines not counted (the numbers errors and --resume go by); in a file read as
    GB18030 a UTF-8 row, and a line that is no JSON for bytes GB18030 cannot decode, say what to try."""
    path = tmp_path / "gb.jsonl"
    path.write_bytes(
        '{"id": 1, "text": "派出所补办身份证"}\n\n'.encode("gb18030")
        + '{"id": 2, "text": "学校周末组织补课"}\n'.encode()  # decodes as GB18030, into mojibake
        + b'{"id": 3, "text": "\xff\n'
        + '{"id": 4, "text": "小区物业"}\n'.encode("gb18030")
    )
    with read_rows(path, encoding="gb18030") as export:
        rows = [row for chunk in export.chunks for row in chunk]
    utf8 = "the row's bytes are UTF-8 but the file is read as gb18030; try --encoding utf-8-sig"
    bad = "bytes not valid in gb18030; try --encoding utf-8-sig (or auto)"
    assert [(row.number, row.error) for row in rows] == [(1, ""), (2, utf8), (3, bad), (4, "")]


def test_parquet_structs_and_lists_of_dates_decimals_and_bytes(small_model, tmp_path):
    when = datetime.datetime(2024, 5, 1, 8, 30)
    table = pa.table(
        {
            "id": ["a", "b", "c"],
            "text": ["派出所补办身份证", "小区物业乱收费", "学校补课"],
            "meta": pa.array(
                [{"t": when, "n": Decimal("1.25"), "raw": b"ok"}] * 2
                + [{"t": when, "n": Decimal("0"), "raw": b"\xff"}],
                type=pa.struct([("t", pa.timestamp("s")), ("n", pa.decimal128(5, 2)), ("raw", pa.binary())]),
            ),
            "tags": pa.array([[when], [], None], type=pa.list_(pa.timestamp("s"))),
            "amount": pa.array([Decimal("3.10"), None, Decimal("7")], type=pa.decimal128(5, 2)),
        }
    )
    pq.write_table(table, tmp_path / "in.parquet")
    _, rows = tag_to_rows(small_model, tmp_path / "in.parquet", tmp_path)
    assert [row["id"] for row in rows] == ["a", "b", "c"]
    assert rows[0]["meta"] == '{"t": "2024-05-01 08:30:00", "n": "1.25", "raw": "ok"}'
    assert rows[0]["tags"] == '["2024-05-01 08:30:00"]' and rows[0]["amount"] == "3.10" and rows[1]["amount"] == ""
    assert rows[0]["department"] == "public_security" and rows[0]["error"] == ""
    assert "column 'meta'" in rows[2]["error"] and "not UTF-8" in rows[2]["error"]


def test_a_time_arrow_cannot_write_either_is_its_rows_error_in_text_output(small_model, tmp_path):
    """A timestamp eight million years out has no text in Python nor in Arrow (which writes a placeholder
    for it): in CSV it is its row's error, named; Parquet output keeps it, and tags the row."""
    far = pa.array([0, 2 * 10**14, 0], type=pa.timestamp("s"))
    pq.write_table(pa.table({"at": far, "text": ["派出所补办身份证"] * 3}), tmp_path / "in.parquet")
    summary, rows = tag_to_rows(small_model, tmp_path / "in.parquet", tmp_path)
    assert rows[1]["error"].startswith("column 'at': unreadable value: ") and summary.errors == 1
    assert rows[0]["at"] == "1970-01-01 00:00:00" and rows[2]["department"] == "public_security"
    summary = tag_file(tmp_path / "in.parquet", tmp_path / "out.parquet", model=small_model, progress=False)
    out = pq.read_table(tmp_path / "out.parquet")
    read = pq.read_table(tmp_path / "in.parquet").column("at")  # Parquet stores seconds as milliseconds
    assert out.column("at").equals(read) and summary.errors == 0 and out.column("department")[1].as_py()


def test_binary_parquet_text_is_decoded_or_reported(small_model, tmp_path):
    pq.write_table(
        pa.table({"id": ["1", "2"], "text": pa.array(["派出所补办身份证".encode(), b"\xe5\xff"], pa.binary())}),
        tmp_path / "in.parquet",
    )
    _, rows = tag_to_rows(small_model, tmp_path / "in.parquet", tmp_path)
    assert rows[0]["text"] == "派出所补办身份证" and rows[0]["department"] == "public_security"
    assert rows[1]["id"] == "2" and "not UTF-8 text" in rows[1]["error"]


def test_a_parquet_string_column_holding_bytes_not_utf8_fails_only_their_row(small_model, tmp_path):
    """A careless writer can store bytes that are not UTF-8 in a Parquet *string* column (pyarrow reads them
    without checking): the batch cannot be turned into text column-wise, the value is that row's error, named
    with the decoder's complaint, and the other rows are tagged (Parquet to Parquet, and to CSV)."""
    text = not_utf8_strings(["派出所补办身份证".encode(), b"\xe5\xff", "小区物业乱收费".encode()])
    pq.write_table(pa.table({"id": ["1", "2", "3"], "text": text}), tmp_path / "in.parquet")
    batch = next(pq.ParquetFile(tmp_path / "in.parquet").iter_batches())
    assert batch_text_columns(batch) is None
    for suffix in (".parquet", ".csv"):
        summary, rows = tag_to_rows(small_model, tmp_path / "in.parquet", tmp_path, suffix=suffix)
        assert [row["id"] for row in rows] == ["1", "2", "3"] and summary.errors == 1
        assert rows[1]["error"].startswith("column 'text': unreadable value: UnicodeDecodeError: 'utf-8' codec")
        assert summary.first_error == f"row 2: {rows[1]['error']}"
        assert [rows[0]["department"], rows[2]["department"]] == ["public_security", "property_management"]
        assert [rows[0]["text"], rows[2]["text"]] == ["派出所补办身份证", "小区物业乱收费"]


def test_duplicate_column_names_are_renamed_with_a_warning(small_model, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("编号,内容,编号\n1,派出所补办身份证,A\n2,小区物业乱收费,B\n", encoding="utf-8")
    with pytest.warns(DuplicateColumnWarning, match="'编号' -> '编号.1'"):
        tag_file(path, tmp_path / "out.parquet", model=small_model, progress=False)
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert list(out["编号"]) == ["1", "2"] and list(out["编号.1"]) == ["A", "B"]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet", ".xlsx"])
def test_a_jsonl_key_holding_a_lone_surrogate_escape_is_renamed_not_fatal(small_model, tmp_path, suffix):
    """A key written "\\ud800" (valid JSON, no text UTF-8 can hold) became a column name: every writer failed with
    UnicodeEncodeError (a traceback), and the XLSX writer saved a workbook no reader opens."""
    path = tmp_path / "in.jsonl"
    path.write_text('{"\\ud800编号": 1, "text": "小区物业乱收停车费"}\n{"text": "派出所补办身份证"}\n', "utf-8")
    with pytest.warns(DuplicateColumnWarning, match=r"lone surrogate escape.*renamed '\\ud800编号' -> '\ufffd编号'"):
        summary, rows = tag_to_rows(small_model, path, tmp_path, suffix=suffix)
    assert summary.rows_out == 2 and list(rows[0])[:2] == ["\ufffd编号", "text"] and rows[0]["\ufffd编号"] == "1"
    assert [row["department"] for row in rows] == ["property_management", "public_security"]


def test_a_share_of_a_csv_with_repeated_column_names_does_not_warn_again(tmp_path):
    """Workers read the header again for each share: the repeated name was named once, by the whole file's reader,
    and each share has the renamed header."""
    path = tmp_path / "in.csv"
    path.write_text("编号,内容,编号\n1,派出所补办身份证,A\n2,小区物业乱收费,B\n", encoding="utf-8")
    with pytest.warns(DuplicateColumnWarning), read_rows(path) as whole:
        start = whole.data_start
    with warnings.catch_warnings():
        warnings.simplefilter("error", DuplicateColumnWarning)
        with read_rows(path, byte_range=(start, path.stat().st_size)) as share:
            assert share.header == ["编号", "内容", "编号.1"]
            assert [row.cells for chunk in share.chunks for row in chunk][1] == ["2", "小区物业乱收费", "B"]


def test_a_long_cell_keeps_its_row(small_model, tmp_path):
    path = tmp_path / "in.csv"
    long, too_long = "长" * 200_000, "长" * (MAX_CELL_CHARS + 1)
    path.write_text(f"编号,内容,附件\n1,派出所补办身份证,{long}\n2,小区物业乱收费,{too_long}\n3,学校补课,\n", "utf-8")
    _, rows = tag_to_rows(small_model, path, tmp_path)
    assert [row["编号"] for row in rows] == ["1", "2", "3"]
    assert rows[0]["附件"] == long and rows[0]["error"] == "" and rows[0]["department"] == "public_security"
    assert rows[1]["附件"] == "" and rows[1]["内容"] == "小区物业乱收费"
    assert f"column '附件': {MAX_CELL_CHARS + 1:,} characters, over the limit" in rows[1]["error"]


def test_xlsx_cell_limit_is_reported_per_row(small_model, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(f"编号,内容,附件\n1,派出所补办身份证,{'长' * 40_000}\n2,小区物业乱收费,短\n", "utf-8")
    _, rows = tag_to_rows(small_model, path, tmp_path, suffix=".xlsx")
    assert len(rows[0]["附件"]) == 32_767 and "'附件' cut to 32,767 characters" in rows[0]["error"]
    assert rows[1]["error"] == "" and rows[1]["附件"] == "短"


def test_a_column_name_over_the_xlsx_cell_limit_is_refused_before_tagging(small_model, tmp_path):
    """A header cell has no error cell to say it was cut, so XLSX output is refused (other formats hold it)."""
    path = tmp_path / "in.csv"
    path.write_text(f"编号,内容,{'附' * 40_000}\n1,派出所补办身份证,x\n", "utf-8")
    with pytest.raises(DataError, match=r"a column name of 40,000 characters \('附附.*longer than an XLSX cell holds"):
        tag_file(path, tmp_path / "out.xlsx", model=small_model, progress=False)
    tag_file(path, tmp_path / "out.csv", model=small_model, progress=False)
    with (tmp_path / "out.csv").open(encoding="utf-8-sig") as tagged:
        assert len(next(csv.reader(tagged))[2]) == 40_000


# ---------------------------------------------------------------- encodings


def test_one_gbk_row_does_not_make_utf8_rows_mojibake(small_model, tmp_path):
    path = tmp_path / "mixed.csv"
    lines = [f"{i},派出所补办身份证第{i}次".encode() for i in range(1, 300)]
    lines.insert(150, "999,小区物业乱收费".encode("gbk"))
    path.write_bytes(b"id,text\n" + b"\n".join(lines) + b"\n")
    assert choose_encoding(path).encoding == "utf-8-sig"
    summary, rows = tag_to_rows(small_model, path, tmp_path)
    assert summary.rows_out == 300 and summary.errors == 1 and "299 lines UTF-8, 1 GBK" in summary.encoding
    assert "try --encoding gb18030" in rows[150]["error"]
    assert all(row["department"] == "public_security" for i, row in enumerate(rows) if i != 150)


def test_a_utf8_row_in_a_gbk_file_is_reported_not_garbled(small_model, tmp_path):
    path = tmp_path / "mixed.csv"
    lines = [f"{i},小区物业乱收停车费".encode("gbk") for i in range(1, 50)]
    # the first decodes as GB18030 without complaint (into mojibake), the second does not decode
    lines += ["50,学校周末组织补课".encode(), "51,派出所补办身份证".encode()]
    path.write_bytes(b"id,text\n" + b"\n".join(lines) + b"\n")
    summary, rows = tag_to_rows(small_model, path, tmp_path)
    assert summary.encoding.startswith("gb18030") and summary.errors == 2
    assert "bytes are UTF-8 but the file is read as gb18030" in rows[-2]["error"] and rows[-2]["department"] == ""
    assert "not valid in gb18030; try --encoding utf-8-sig" in rows[-1]["error"]


def test_gbk_export_just_works_on_the_command_line(saved_model_dir, tmp_path):
    pd.DataFrame({"编号": ["1", "2"], "内容": ["派出所补办身份证", "小区物业乱收费"]}).to_csv(
        tmp_path / "in.csv", index=False, encoding="gbk"
    )
    args = ["tag", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv"), "--model", str(saved_model_dir)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "encoding: gb18030" in result.output and "errors 0" in result.output


def test_a_run_where_most_rows_fail_exits_non_zero(saved_model_dir, tmp_path):
    (tmp_path / "in.jsonl").write_text('{"id": 1, "text": "物业"}\n[1]\n[2]\n"x"\n', encoding="utf-8")
    args = ["tag", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.csv"), "--model", str(saved_model_dir)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "3 of 4 rows failed; the first: row 2: line is not a JSON object" in result.output


# ---------------------------------------------------------------- spreadsheet-safe output

FORMULAS = ['=HYPERLINK("http://x","点击")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def formula_export(tmp_path):
    path = tmp_path / "in.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "内容"])
        writer.writerows([[str(i), f"{text}"] for i, text in enumerate([*FORMULAS, "-5", "物业"])])
    return path


def test_formulas_are_written_as_text(small_model, tmp_path):
    path = formula_export(tmp_path)
    _, rows = tag_to_rows(small_model, path, tmp_path)
    assert [row["内容"] for row in rows] == [f"'{text}" for text in FORMULAS] + ["-5", "物业"]
    tag_file(path, tmp_path / "out.xlsx", model=small_model, progress=False)
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.data_type == "s" for cell in cells[: len(FORMULAS)])
    assert [cell.value for cell in cells[:5]] == [f"'{text}" for text in FORMULAS[:5]]  # XML turns \r into \n


def test_raw_cells_keep_text_as_is_but_never_as_formulas(small_model, tmp_path):
    path = formula_export(tmp_path)
    _, rows = tag_to_rows(small_model, path, tmp_path, spreadsheet_safe=False)
    assert [row["内容"] for row in rows][: len(FORMULAS)] == FORMULAS
    tag_file(path, tmp_path / "out.xlsx", model=small_model, progress=False, spreadsheet_safe=False)
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert cells[0].data_type == "s" and cells[0].value == FORMULAS[0]


def test_hot_csv_is_spreadsheet_safe(tmp_path):
    topic = HotTopic(
        rank=1,
        group_id=0,
        size=2,
        hotness=1.0,
        voices=1,
        place="=A1",
        issue="+SUM(A1)",
        first_time=None,
        last_time=None,
        likes=0,
        places=("=A1",),
        department=None,
        department_name=None,
        department_share=0.0,
        key_terms=("@x",),
        representative="=cmd|' /C calc'!A0",
        members=(0, 1),
    )
    write_csv([topic], tmp_path / "hot.csv")
    with (tmp_path / "hot.csv").open(encoding="utf-8-sig", newline="") as handle:
        row = next(csv.DictReader(handle))
    assert row["representative"] == "'=cmd|' /C calc'!A0" and row["places"] == "'=A1" and row["key_terms"] == "'@x"
    assert row["place"] == "'=A1" and row["issue"] == "'+SUM(A1)"


def test_spreadsheet_text_leaves_plain_numbers_and_text():
    assert (
        spreadsheet_text("-5") == "-5" and spreadsheet_text("+3.2e5") == "+3.2e5" and spreadsheet_text("物业") == "物业"
    )
    assert spreadsheet_text("-5+cmd") == "'-5+cmd"


# ---------------------------------------------------------------- output types


def test_typed_outputs_keep_types_and_empty_strings_round_trip(small_model, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("编号,内容,备注\n1,派出所补办身份证,\n2,小区物业乱收费,有\n", encoding="utf-8")
    tag_file(path, tmp_path / "out.jsonl", model=small_model, progress=False, group=True)
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text("utf-8").splitlines()]
    assert isinstance(records[0]["candidates"], list) and set(records[0]["candidates"][0]) == {
        "department",
        "confidence",
    }
    assert isinstance(records[0]["group_id"], int) and isinstance(records[0]["needs_review"], bool)
    tag_file(path, tmp_path / "out.parquet", model=small_model, progress=False)
    table = pq.read_table(tmp_path / "out.parquet")
    assert pa.types.is_list(table.schema.field("candidates").type)
    assert table.column("candidates").to_pylist()[0][0]["department"] == records[0]["department"]
    for suffix in (".csv", ".xlsx"):
        _, rows = tag_to_rows(small_model, path, tmp_path, suffix=suffix)
        assert rows[0]["备注"] == "" and json.loads(rows[0]["candidates"])[0][0] == records[0]["department"]
    documented = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)  # the README's read-back
    assert documented["备注"].tolist() == ["", "有"]


def _strict_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def test_jsonl_output_is_json_when_the_input_holds_infinities_and_nans(small_model, tmp_path):
    """Python reads and wrote NaN and Infinity; JavaScript's JSON.parse (and any strict reader) refused the lines.
    A value holding one is written as its cell's text, from JSONL and Parquet inputs, by one process or two."""
    jsonl = tmp_path / "in.jsonl"
    lines = [
        '{"id": Infinity, "n": [1.0, NaN], "text": "小区物业乱收停车费"}',
        '{"id": -Infinity, "n": [], "text": "学校"}',
    ]
    jsonl.write_text("\n".join(lines) + "\n", "utf-8")
    parquet = tmp_path / "in.parquet"
    when = [datetime.date(2024, 5, 1), datetime.date(2024, 5, 2)]  # no JSON either: written as its cell
    pq.write_table(
        pa.table({"id": [math.inf, -math.inf], "n": [[1.0, math.nan], []], "text": ["物业费", "学校"], "when": when}),
        parquet,
    )
    for path in (jsonl, parquet):
        for jobs in (1, 2):
            tag_file(
                path, out := tmp_path / "out.jsonl", model=small_model, progress=False, n_jobs=jobs, overwrite=True
            )
            lines = out.read_text("utf-8").splitlines()
            records = [json.loads(line, parse_constant=_strict_json) for line in lines]
            assert [(r["id"], r["n"]) for r in records] == [("inf", "[1.0, NaN]"), ("-inf", [])]
            assert records[0]["department"] == "property_management" and records[1]["error"] == ""
            assert "物业" in lines[0] and "学校" in lines[1]  # UTF-8 text, as every other line, not \\u escapes
            if path == parquet:
                assert [r["when"] for r in records] == ["2024-05-01", "2024-05-02"]


def test_parquet_row_groups_can_be_read_on_their_own(tmp_path):
    pq.write_table(
        pa.table({"id": [str(i) for i in range(10)], "text": ["物业"] * 10}), tmp_path / "in.parquet", row_group_size=4
    )
    for chunk_size in (1000, 3):  # one record batch of both row groups, or batches of 3 rows
        with read_rows(tmp_path / "in.parquet", row_groups=[1, 2], chunk_size=chunk_size) as export:
            rows = [row for chunk in export.chunks for row in chunk]
        assert [row.number for row in rows] == list(range(5, 11)) and rows[0].cells == ["4", "物业"]


def test_a_file_that_is_no_parquet_says_so_and_what_it_is(tmp_path):
    (path := tmp_path / "export.parquet").write_bytes(b"id,text\n1,abc\n")
    with pytest.raises(
        DataError,
        match=r"export.parquet: not a readable Parquet file \(.*magic bytes.*\): it holds text, not a Parquet file "
        r"\(CSV named \.parquet\?\); pass --format csv, or rename it \.csv$",
    ):
        read_table(path)
    path.write_bytes(b"PAR1" + bytes(range(256)))  # begins as one, but cut short: no footer
    with pytest.raises(DataError, match=r"\(.*\): the file is damaged or cut short; write it again$"):
        read_table(path)


@pytest.mark.parametrize(
    ("suffix", "module", "said"),
    [
        (".parquet", "pyarrow.parquet", "reading Parquet files needs the optional package 'pyarrow'"),
        (".xlsx", "python_calamine", "reading XLSX files needs the optional package 'python_calamine'"),
    ],
)
def test_a_reader_without_its_optional_package_names_the_install(tmp_path, monkeypatch, suffix, module, said):
    (path := tmp_path / f"export{suffix}").write_bytes(b"")
    monkeypatch.setitem(sys.modules, module, None)  # imports as missing
    with pytest.raises(MissingDependencyError, match=re.escape(said) + r"; install it with: pip install '.*\[io\]'"):
        read_table(path)


def test_a_parquet_read_error_is_one_line_naming_the_rows_lost():
    """pyarrow's messages can span lines and hold control characters: each lost row's error is one line, each
    run of blanks and control characters one space, naming the rows and the row group lost."""
    problem = OSError("Couldn't deserialize\nthrift:\x00 TProtocolException:  Invalid data\n")
    schema = pa.schema([pa.field("id", pa.string(), nullable=False)])
    batches = list(io_parquet._damaged_batches(schema, range(16, 21), 3, problem, 2))
    assert [batch.num_rows for batch in batches] == [2, 2, 1]
    assert {tio.lost_rows_error(batch) for batch in batches} == {
        "the Parquet data of rows 16 to 20 (row group 3, counted from 0) cannot be read (Couldn't deserialize "
        "thrift: TProtocolException: Invalid data): the file is damaged; export the file again; the other rows "
        "were read"
    }
    assert batches[0].schema.field("id").nullable and batches[0].column(0).null_count == 2


def test_parquet_batches_are_decoded_on_the_reading_thread(tmp_path, monkeypatch):
    """Record batches are decoded without Arrow's thread pool: with two workers tagging, the pool only cost
    the parent CPU (wakeups, page faults; measured ~0.5-3 µs a row on 100,000 rows)."""
    pq.write_table(pa.table({"id": ["1", "2"], "text": ["物业", "学校"]}), tmp_path / "in.parquet")
    asked = []
    iter_batches = pq.ParquetFile.iter_batches

    def recording(self, *args, **kwargs):
        asked.append(kwargs.get("use_threads", True))
        return iter_batches(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", recording)
    with read_rows(tmp_path / "in.parquet") as export:
        assert [row.cells for chunk in export.chunks for row in chunk] == [["1", "物业"], ["2", "学校"]]
    assert asked == [False]


def test_a_parquet_file_of_one_big_row_group_is_read_a_page_at_a_time(tmp_path):
    """A file written as one row group (pyarrow's default up to 1Mi rows) is read through a small buffer: Arrow
    holds a few pages at a time, never the whole column chunk (48 MB of text here; read whole, Arrow held it
    all at once, as it held 648 MiB of a 1M-row file)."""
    codes = np.random.default_rng(7).integers(0x4E00, 0x4E00 + 20_000, size=(16_000, 1_000), dtype=np.uint32)
    texts = [row.tobytes().decode("utf-32-le") for row in codes]  # random characters: hardly compressible
    pq.write_table(pa.table({"text": texts}), tmp_path / "in.parquet", row_group_size=len(texts))
    metadata = pq.ParquetFile(tmp_path / "in.parquet").metadata
    assert metadata.num_row_groups == 1
    held, rows = [], 0
    with read_rows(tmp_path / "in.parquet", chunk_size=500) as export:
        for chunk in export.chunks:
            held.append(pa.total_allocated_bytes())
            rows += len(chunk)
    assert rows == len(texts) and max(held) < metadata.row_group(0).column(0).total_compressed_size / 4


# ---------------------------------------------------------------- fuzz

_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.binary(max_size=8),
    st.decimals(allow_nan=False, places=2, min_value=-1000, max_value=1000),
)
_value = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


def _fuzz_file(path, fmt, rows):
    if fmt == "jsonl":
        lines = [
            json.dumps({"id": i, "text": text, "extra": extra}, default=repr) for i, (text, extra) in enumerate(rows)
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    elif fmt == "parquet":
        extras = [None if extra is None else repr(extra).encode("utf-8", "surrogatepass") for _, extra in rows]
        table = pa.table(
            {
                "id": pa.array(range(len(rows)), pa.int64()),
                "text": pa.array([text.encode("utf-8", "surrogatepass") for text, _ in rows], pa.binary()),
                "extra": pa.array(extras, pa.binary()),
            }
        )
        pq.write_table(table, path)
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["id", "text", "extra"])
        writer.writerows([i, text, repr(extra)] for i, (text, extra) in enumerate(rows))
        path.write_bytes(buffer.getvalue().encode("utf-8", "surrogatepass"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fmt=st.sampled_from(["csv", "jsonl", "parquet"]),
    rows=st.lists(st.tuples(st.text(max_size=30).filter(lambda t: "\r" not in t), _value), min_size=1, max_size=12),
)
def test_fuzzed_files_every_row_out_once_without_a_traceback(small_model, tmp_path, fmt, rows):
    path = tmp_path / f"fuzz.{fmt}"
    _fuzz_file(path, fmt, rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DuplicateColumnWarning)
        summary = tag_file(
            path, tmp_path / "fuzz_out.jsonl", model=small_model, overwrite=True, chunk_size=3, progress=False
        )
    lines = (tmp_path / "fuzz_out.jsonl").read_text("utf-8").split("\n")  # not splitlines: text may hold U+0085
    out = [json.loads(line) for line in lines if line]
    assert summary.rows_out == len(out) == len(rows)
    assert [str(record["id"]) for record in out] == [str(i) for i in range(len(rows))]


# A JSONL line as careless exporters and joined files leave them: an object (keys vary), another JSON value,
# a line cut short, text that is no JSON, a byte-order mark before an object.
_JSONL_LINE = st.one_of(
    st.fixed_dictionaries({"text": st.text(max_size=8)}, optional={"id": _value, "": _value}).map(
        lambda record: json.dumps(record, default=repr)
    ),
    _value.map(lambda value: json.dumps(value, default=repr)),
    st.dictionaries(st.sampled_from(["id", "text"]), st.text(max_size=8), min_size=1).map(lambda o: json.dumps(o)[:-1]),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12).map(lambda t: " ".join(t.split())),
    st.just('\ufeff{"text": "派出所补办身份证"}'),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_JSONL_LINE, min_size=1, max_size=10))
def test_fuzzed_jsonl_lines_every_line_out_once_or_the_file_refused_for_want_of_an_object(small_model, tmp_path, lines):
    """Whatever each line holds, every non-blank line is one output row (tagged or with its error), in order;
    only a file with no object at all is refused, saying so (before, a first line that was no object was)."""
    path = tmp_path / "fuzz.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "fuzz_out.jsonl"
    objects = [record for record, _ in map(io_jsonl._json_object, lines) if record is not None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DuplicateColumnWarning)
        try:
            summary = tag_file(
                path, out, model=small_model, text_columns=["text"], overwrite=True, chunk_size=3, progress=False
            )
        except DataError as refused:
            said = str(refused)
            if any(objects):
                assert "no column 'text'" in said and not any("text" in record for record in objects)
            else:
                assert "no JSON object with a key in its" in said or "the file is empty" in said
            return
    records = [json.loads(line) for line in out.read_text("utf-8").split("\n") if line]
    assert summary.rows_out == len(records) == sum(1 for line in lines if line.strip())


# Arrow columns of the types exports hold, with values Python cannot hold among them (days and seconds past
# year 9999, a timestamp Arrow cannot write either) and nulls anywhere.
_ARROW_COLUMNS = st.sampled_from(
    [
        (pa.int64(), st.integers(-(2**63), 2**63 - 1)),
        (pa.float64(), st.floats(allow_nan=False)),  # Table.equals: NaN != NaN
        (pa.string(), st.text(max_size=8)),
        (pa.date32(), st.integers(-(2**31), 2**31 - 1)),
        (pa.timestamp("ms"), st.integers(-(2**63), 2**63 - 1)),
        (pa.list_(pa.int32()), st.lists(st.integers(-(2**31), 2**31 - 1), max_size=3)),
    ]
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    kinds=st.lists(_ARROW_COLUMNS, min_size=1, max_size=3),
    texts=st.lists(st.text(max_size=20), min_size=1, max_size=9),
)
def test_parquet_to_parquet_writes_every_input_column_as_read(small_model, tmp_path, data, kinds, texts):
    """Whatever the other columns hold, Parquet to Parquet writes them back unchanged, and only the text's
    values can fail a row."""
    columns = {"text": pa.array(texts, pa.string())}
    for k, (kind, values) in enumerate(kinds):
        cells = data.draw(st.lists(st.none() | values, min_size=len(texts), max_size=len(texts)))
        columns[f"c{k}"] = pa.array(cells, kind)
    table = pa.table(columns)
    pq.write_table(table, tmp_path / "in.parquet")
    summary = tag_file(
        tmp_path / "in.parquet",
        tmp_path / "out.parquet",
        model=small_model,
        overwrite=True,
        chunk_size=4,
        progress=False,
    )
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.select(table.column_names).equals(table)
    assert summary.rows_out == len(texts) and summary.errors == 0


def test_typed_inputs_keep_their_types_in_typed_outputs(small_model, tmp_path):
    when = datetime.datetime(2024, 5, 1, 8, 30)
    table = pa.table(
        {
            "编号": pa.array([7, 8], pa.int64()),
            "内容": ["派出所补办身份证", "小区物业乱收费"],
            "标签": pa.array([["甲", "乙"], []], pa.list_(pa.string())),
            "时间": pa.array([when, None], pa.timestamp("s")),
            "空": ["", None],
        }
    )
    pq.write_table(table, tmp_path / "in.parquet")
    tag_file(tmp_path / "in.parquet", tmp_path / "out.parquet", model=small_model, progress=False)
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.schema.field("编号").type == pa.int64()
    assert out.schema.field("时间").type == pq.read_schema(tmp_path / "in.parquet").field("时间").type
    assert out.column("标签").to_pylist() == [["甲", "乙"], []] and out.column("空").to_pylist() == ["", None]
    tag_file(tmp_path / "in.parquet", tmp_path / "out.jsonl", model=small_model, progress=False)
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text("utf-8").splitlines()]
    assert (
        records[0]["编号"] == 7 and records[0]["标签"] == ["甲", "乙"] and records[0]["时间"] == "2024-05-01 08:30:00"
    )
    tag_file(tmp_path / "out.jsonl", tmp_path / "again.jsonl", model=small_model, progress=False)
    again = [json.loads(line) for line in (tmp_path / "again.jsonl").read_text("utf-8").splitlines()]
    assert again[1]["编号"] == 8 and again[1]["标签"] == [] and again[1]["空"] is None


def test_hot_on_a_file_of_unreadable_rows_is_an_error_not_zero_topics(small_model, tmp_path):
    from triage.hot import hot_topics_from_file
    from triage.io import DataError

    path = tmp_path / "in.csv"
    path.write_bytes(b"id,text\n" + b"".join(b"%d,\xff\xfe\n" % i for i in range(10)) + "10,物业\n".encode())
    with pytest.raises(DataError, match=r"10 of 11 rows of .*in.csv cannot be read; the first: row 1: bytes not valid"):
        hot_topics_from_file(path, model=small_model)


def test_read_table_says_which_encoding_it_chose(tmp_path):
    path = tmp_path / "labelled.csv"
    path.write_bytes("内容,标签\n小区物业乱收费,property_management\n".encode("gbk"))
    frame = read_table(path)
    assert frame.attrs["encoding"] == "gb18030 (2 lines GBK/GB18030, 0 UTF-8 of 2 sampled lines)"
    assert frame["内容"].tolist() == ["小区物业乱收费"]


def test_an_unknown_encoding_is_a_data_error(tmp_path):
    from triage.io import DataError

    (tmp_path / "in.csv").write_text("id,text\n1,物业\n", encoding="utf-8")
    with (
        pytest.raises(DataError, match="unknown encoding 'utf-9'; use auto"),
        read_rows(tmp_path / "in.csv", encoding="utf-9"),
    ):
        pass
