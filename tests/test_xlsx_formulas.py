"""XLSX cells holding a formula whose value was never calculated and saved (a workbook written by openpyxl, or by
xlsxwriter with its placeholder 0) read as empty cells: the columns a command reads are refused, naming the
sheet, the column, the first row and cell and how many, with what to do; saved values read as before."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import triage.io.xlsx as io_xlsx
from triage.batch import tag_file
from triage.cli import cli
from triage.exceptions import TitleRowsWarning
from triage.hot import hot_topics_from_file
from triage.io import DataError, read_rows, read_table
from triage.labelled import LabelOptions, read_labelled

HEADER = ["编号", "主题", "详情", "内容"]
# The message column joins subject and body with a formula, as exported work orders do.
ROWS = [[1, "路灯坏了", "晚上很黑", "=B2&C2"], [2, "工地夜间施工", "噪音扰民", "=B3&C3"]]
SAVED = {"D2": "路灯坏了晚上很黑", "D3": "工地夜间施工噪音扰民"}
REFUSED = (
    r"sheet '工单', column '内容': 2 cells hold a formula whose value was never calculated and saved "
    r"\(first: row 1, cell D2, =B2&C2\), which reads as an empty cell \(or a placeholder 0\); open the workbook "
    r"in Excel or WPS and save it, so that the values are computed, or export the sheet as CSV$"
)


def workbook(path: Path, rows: list[list[Any]]) -> Path:
    """A workbook as openpyxl writes one: its formulas (text starting with ``=``) have no saved value."""
    book = openpyxl.Workbook()
    book.active.title = "工单"
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def rewritten(path: Path, cells: dict[str, str], *, recalculate: bool = True) -> Path:
    """``path`` with the XML of the cells ``cells`` names (by reference) replaced; without ``recalculate``, the
    workbook no longer asks to be calculated when opened (openpyxl always asks), as Excel saves one."""
    with zipfile.ZipFile(path) as whole:
        parts = {name: whole.read(name).decode() for name in whole.namelist()}
    for reference, xml in cells.items():
        pattern = f'<c r="{reference}"[^>]*?(/>|>.*?</c>)'
        parts["xl/worksheets/sheet1.xml"], found = re.subn(pattern, xml, parts["xl/worksheets/sheet1.xml"])
        assert found == 1, reference
    if not recalculate:
        parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(' fullCalcOnLoad="1"', "")
    with zipfile.ZipFile(path, "w") as rewritten:
        for name, data in parts.items():
            rewritten.writestr(name, data)
    return path


def saved(path: Path, values: dict[str, str]) -> Path:
    """``path`` with the formulas of the cells ``values`` names holding those saved values, as Excel saves them."""
    with zipfile.ZipFile(path) as whole:
        sheet = whole.read("xl/worksheets/sheet1.xml").decode()
    formulas = {ref: re.search(f'<c r="{ref}"[^>]*><f>(.*?)</f>', sheet)[1] for ref in values}  # type: ignore[index]
    cells = {ref: f'<c r="{ref}" t="str"><f>{formulas[ref]}</f><v>{value}</v></c>' for ref, value in values.items()}
    return rewritten(path, cells, recalculate=False)


def rows_of(path: Path) -> list[list[str]]:
    with read_rows(path) as export:
        return [row.cells for chunk in export.chunks for row in chunk]


def test_a_text_column_of_formulas_never_calculated_is_refused_saying_where_and_what_to_do(small_model, tmp_path):
    """Read as they are, both messages would be tagged as empty ones, with no word why."""
    path = workbook(tmp_path / "工单.xlsx", [HEADER, *ROWS])
    assert rows_of(path) == [["1", "路灯坏了", "晚上很黑", ""], ["2", "工地夜间施工", "噪音扰民", ""]]
    with pytest.raises(DataError, match=re.escape(f"{path}: ") + REFUSED):
        tag_file(path, tmp_path / "out.csv", model=small_model, progress=False)
    assert not list(tmp_path.glob("out.csv*"))  # refused before the output is touched


def test_the_command_line_says_it_in_one_line(tmp_path):
    path = workbook(tmp_path / "工单.xlsx", [HEADER, *ROWS])
    result = CliRunner().invoke(cli, ["tag", str(path), "-o", str(tmp_path / "out.csv"), "--silent"])
    assert result.exit_code != 0 and re.search(REFUSED[:-1], result.output), result.output


def test_formulas_with_saved_values_read_as_before(small_model, tmp_path):
    """As Excel saves them (the value beside the formula), text and an empty text alike."""
    path = saved(workbook(tmp_path / "工单.xlsx", [HEADER, *ROWS, [3, "", "", '=""']]), {**SAVED, "D4": ""})
    assert [row[3] for row in rows_of(path)] == ["路灯坏了晚上很黑", "工地夜间施工噪音扰民", ""]
    summary = tag_file(path, tmp_path / "out.csv", model=small_model, progress=False)
    assert summary.rows_out == 3 and summary.errors == 0
    assert read_table(path).attrs == {}


def test_a_saved_zero_is_a_placeholder_only_where_the_workbook_asks_to_be_calculated(small_model, tmp_path):
    """xlsxwriter saves 0 as every formula's value and asks Excel to calculate on opening: the messages would all
    be "0". A 0 that Excel saved is a value."""
    path = workbook(tmp_path / "工单.xlsx", [HEADER, *ROWS])
    zeros = {
        ref: f'<c r="{ref}"><f>{ref.replace("D", "B")}&amp;{ref.replace("D", "C")}</f><v>0</v></c>' for ref in SAVED
    }
    rewritten(path, zeros)
    assert [row[3] for row in rows_of(path)] == ["0", "0"]
    with pytest.raises(DataError, match=REFUSED):
        tag_file(path, tmp_path / "out.csv", model=small_model, progress=False)
    rewritten(path, {}, recalculate=False)
    assert tag_file(path, tmp_path / "out.csv", model=small_model, progress=False).rows_out == 2


def test_formulas_in_columns_not_read_make_no_noise(small_model, tmp_path):
    """An unsaved formula in a column of numbers is copied as read (empty): it changes no tag. Named as the
    column identifying the rows (--id-column), it is refused: the tags could not be joined back."""
    path = workbook(tmp_path / "工单.xlsx", [["编号", "内容"], ["=ROW()-1", "路灯坏了晚上很黑"], ["=ROW()-1", "噪音"]])
    summary = tag_file(path, tmp_path / "out.csv", model=small_model, progress=False)  # warnings are errors
    assert summary.rows_out == 2 and summary.errors == 0
    with read_rows(path) as export:
        assert list(export.unsaved_formulas()) == ["编号"]
    with pytest.raises(
        DataError, match=r"column '编号': 2 cells hold a formula .*\(first: row 1, cell A2, =ROW\(\)-1\)"
    ):
        tag_file(path, tmp_path / "ids.csv", model=small_model, progress=False, id_column="编号")


def test_hot_topics_refuse_a_time_column_of_unsaved_formulas(small_model, tmp_path):
    rows = [["内容", "时间"], ["路灯坏了晚上很黑", '=TEXT(NOW(),"yyyy-mm-dd")'], ["噪音扰民", "2024-05-01"]]
    path = workbook(tmp_path / "工单.xlsx", rows)
    with pytest.raises(DataError, match=r"column '时间': 1 cell holds a formula .* \(first: row 1, cell B2, =TEXT"):
        hot_topics_from_file(path, time_column="时间", model=small_model)
    assert hot_topics_from_file(path, model=small_model) is not None  # no time column read: no refusal


def test_training_data_with_a_label_column_of_unsaved_formulas_is_refused(tmp_path):
    rows = [["内容", "单位", "部门"], ["路灯坏了晚上很黑", "城管局", '=IF(B2="城管局","城管","")']]
    path = workbook(tmp_path / "工单.xlsx", rows)
    with pytest.raises(DataError, match=r"column '部门': 1 cell holds a formula .*cell C2, =IF\(B2=\"城管局\""):
        read_labelled(path, LabelOptions("部门"))


# One cell of a generated sheet: a value, a formula that openpyxl saves without a value, or nothing.
_CELLS = st.sampled_from(["路灯", "=A1", None])


@settings(max_examples=40, deadline=None)
@given(
    blank_rows=st.integers(0, 3),
    blank_columns=st.integers(0, 2),
    grid=st.integers(2, 4).flatmap(
        lambda width: st.lists(st.lists(_CELLS, min_size=width, max_size=width), max_size=6)
    ),
    chunk=st.integers(1, 200) | st.just(1 << 20),
    stop_after=st.none() | st.integers(0, 6),
)
def test_unsaved_formulas_are_found_in_the_columns_and_rows_the_reader_gives(
    tmp_path_factory, blank_rows, blank_columns, grid, chunk, stop_after
):
    """Wherever the table starts on the sheet (blank rows above it are title rows), however the XML falls into
    the chunks it is scanned in, each column's count, first data row and first cell are the sheet's, in the rows
    read (up to ``stop_after``)."""
    width = len(grid[0]) if grid else 2
    header = [f"列{i}" for i in range(width)]
    book = openpyxl.Workbook()
    book.active.title = "工单"
    for row, values in enumerate([header, *grid], blank_rows + 1):
        for column, value in enumerate(values, blank_columns + 1):
            book.active.cell(row, column, value)
    book.save(path := tmp_path_factory.mktemp("grid") / "grid.xlsx")
    expected: dict[str, tuple[int, int, str]] = {}
    for number, values in enumerate(grid[:stop_after], 1):
        for column, value in enumerate(values):
            if value == "=A1":
                count, first, cell = expected.get(header[column], (0, number, ""))
                letter = openpyxl.utils.get_column_letter(column + blank_columns + 1)
                expected[header[column]] = (count + 1, first, cell or f"{letter}{number + blank_rows + 1}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(io_xlsx, "_SCAN_CHUNK", chunk)
        with (
            pytest.warns(TitleRowsWarning) if blank_rows else contextlib.nullcontext(),
            read_rows(path, stop_after=stop_after) as export,
        ):
            found = export.unsaved_formulas()
            assert export.header == header
    assert {name: (f.count, f.first_row, f.first_cell) for name, f in found.items()} == expected


def test_cells_named_with_a_namespace_prefix_are_scanned_too():
    """Some writers (the .NET Open XML SDK) spell the sheet's elements x:c, x:f, x:v."""
    xml = (
        b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
        b'<x:row r="2"><x:c r="A2"><x:f>B2&amp;C2</x:f></x:c><x:c r="B2" t="str"><x:f>1</x:f><x:v>1</x:v></x:c>'
        b"</x:row></x:sheetData></x:worksheet>"
    )
    cells = [cell for chunk in io_xlsx._sheet_chunks(io.BytesIO(xml)) for cell in io_xlsx._formula_cells(*chunk)]
    assert cells == [(b' r="A2"', b"B2&amp;C2", None)]


def test_a_prefixed_placeholder_zero_is_unsaved_where_the_workbook_asks_to_be_calculated():
    assert io_xlsx._unsaved(b' r="A2"', b"<x:v>0</x:v>", recalculated=True)
    assert not io_xlsx._unsaved(b' r="A2"', b"<x:v>0</x:v>", recalculated=False)


def test_the_scan_holds_a_chunk_and_a_cell_however_long_a_run_without_a_value_is(monkeypatch):
    """A sheet styled far past its table (empty cells, ``<c r="A9" s="1"/>``) closes no cell for megabytes:
    the scan keeps only what may start one."""
    empty = b"".join(b'<row r="%d"><c r="A%d" s="1"/><c r="B%d" s="1"/></row>' % (n, n, n) for n in range(3, 60_000))
    xml = b'<worksheet><sheetData><row r="2"><c r="A2"><f>1</f></c></row>' + empty + b"</sheetData></worksheet>"
    monkeypatch.setattr(io_xlsx, "_SCAN_CHUNK", 1 << 16)
    tracemalloc.start()
    try:
        chunks = io_xlsx._sheet_chunks(io.BytesIO(xml))
        assert sum(len(list(io_xlsx._formula_cells(*chunk))) for chunk in chunks) == 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(xml) > 2_500_000 and peak < 1_000_000


# ---------------------------------------------------------------- Excel error values (#REF!, #N/A, ...)

# The error values calamine reads (as empty cells); openpyxl writes these strings as error cells (t="e").
ERROR_VALUES = ("#REF!", "#N/A", "#DIV/0!", "#VALUE!", "#NAME?", "#NULL!", "#NUM!")


def tagged(path: Path, small_model: Any, out: Path, **options: Any) -> list[dict[str, str]]:
    tag_file(path, out, model=small_model, progress=False, **options)
    with out.open(encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def test_a_message_whose_formula_failed_is_kept_with_an_error_naming_the_cell(small_model, tmp_path):
    """Excel saves a failed formula's error value beside it; calamine reads it as an empty cell, and the row
    was tagged as an empty message. The row is kept, untagged, its error saying where, what and what to do."""
    path = saved(workbook(tmp_path / "工单.xlsx", [HEADER, *ROWS]), {"D2": SAVED["D2"]})
    rewritten(path, {"D3": '<c r="D3" t="e"><f>B3&amp;C3</f><v>#REF!</v></c>'}, recalculate=False)
    assert [row[3] for row in rows_of(path)] == ["路灯坏了晚上很黑", ""]
    first, second = tagged(path, small_model, tmp_path / "out.csv")
    assert first["error"] == "" and first["department"]
    assert second["编号"] == "2" and second["department"] == ""
    assert second["error"] == (
        "column '内容': cell D3 of sheet '工单' holds the Excel error value #REF! (what a failed formula leaves, or "
        "such a value typed in), read as an empty cell; fix the formula or replace the value in Excel or WPS and save"
    )


def test_the_command_line_counts_the_row_as_failed_and_names_it(tmp_path):
    path = workbook(tmp_path / "工单.xlsx", [["编号", "内容"], [1, "路灯坏了晚上很黑"], [2, "#N/A"], [3, "噪音"]])
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(cli, ["tag", str(path), "-o", str(out), "--summary", str(tmp_path / "s.json")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "s.json").read_text("utf-8"))
    assert summary["errors"] == 1 and summary["rows_out"] == 3
    assert summary["first_error"].startswith(
        "row 2: column '内容': cell B3 of sheet '工单' holds the Excel error value #N/A"
    )


# One cell of a generated sheet: text, an error value (a typed or pasted one, or a failed formula's), or nothing.
_ERROR_CELLS = st.sampled_from(["路灯", None, *ERROR_VALUES]) | st.sampled_from(ERROR_VALUES).map(lambda v: ("=1/0", v))


@settings(max_examples=30, deadline=None)
@given(
    blank_rows=st.integers(0, 2),
    blank_columns=st.integers(0, 2),
    grid=st.integers(2, 3).flatmap(
        lambda width: st.lists(st.lists(_ERROR_CELLS, min_size=width, max_size=width), min_size=1, max_size=6)
    ),
    text_column=st.integers(0, 2),
    chunk=st.integers(1, 200) | st.just(1 << 20),
    chunk_size=st.integers(1, 4),
)
def test_rows_get_an_error_where_a_column_tagging_reads_holds_an_error_value(
    small_model, tmp_path_factory, blank_rows, blank_columns, grid, text_column, chunk, chunk_size
):
    """Wherever the table is on the sheet, however the XML falls into the chunks it is scanned in and the rows
    into the chunks they are tagged in: a row whose text cell holds an error value has an error naming that
    cell and value; the other rows have none, whatever the columns not read hold (copied as read: empty)."""
    width = len(grid[0])
    text_column = min(text_column, width - 1)
    header = [f"列{i}" for i in range(width)]
    folder = tmp_path_factory.mktemp("grid")
    book = openpyxl.Workbook()
    book.active.title = "工单"
    failed: dict[str, str] = {}  # the formulas' cells, with their saved error value
    for row, values in enumerate([header, *grid], blank_rows + 1):
        for column, value in enumerate(values, blank_columns + 1):
            book.active.cell(row, column, value[0] if isinstance(value, tuple) else value)
            if isinstance(value, tuple):
                reference = f"{openpyxl.utils.get_column_letter(column)}{row}"
                failed[reference] = f'<c r="{reference}" t="e"><f>1/0</f><v>{value[1]}</v></c>'
    book.save(path := folder / "grid.xlsx")
    rewritten(path, failed, recalculate=False)
    letter = openpyxl.utils.get_column_letter(text_column + blank_columns + 1)
    while grid and all(value is None for value in grid[-1]):  # blank rows below the table: no rows
        grid = grid[:-1]
    expected = []
    for number, values in enumerate(grid, 1):
        value = values[text_column]
        value = value[1] if isinstance(value, tuple) else value
        if value in ERROR_VALUES:
            expected.append(
                f"cell {letter}{number + blank_rows + 1} of sheet '工单' holds the Excel error value {value} "
            )
        else:
            expected.append("")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(io_xlsx, "_SCAN_CHUNK", chunk)
        with pytest.warns(TitleRowsWarning) if blank_rows else contextlib.nullcontext():
            rows = tagged(
                path, small_model, folder / "out.csv", text_columns=(header[text_column],), chunk_size=chunk_size
            )
    assert [bool(row["error"]) for row in rows] == [bool(e) for e in expected]
    for row, cell in zip(rows, expected, strict=True):
        assert cell in row["error"]
    assert all(row[name] in ("", "路灯") for row in rows for name in header)


def test_hot_topics_count_a_row_whose_time_is_an_error_value_as_unreadable(small_model, tmp_path):
    """A time #VALUE! is no missing time: its row is one that cannot be read, and most such fail the report."""
    rows = [["内容", "时间"], ["路灯坏了晚上很黑", "#VALUE!"], ["噪音扰民", "#VALUE!"], ["垃圾没人清", "2024-05-01"]]
    path = workbook(tmp_path / "工单.xlsx", rows)
    with pytest.raises(
        DataError, match=r"2 of 3 rows .* the first: row 1: column '时间': cell B2 of sheet '工单' holds"
    ):
        hot_topics_from_file(path, time_column="时间", model=small_model)
    assert hot_topics_from_file(path, model=small_model) is not None  # no time column read: nothing said


def test_error_cells_are_told_from_empty_ones_and_from_text_that_reads_alike():
    """An empty cell typed as an error (``<c t="e"/>``) takes no value from the next cell; text holding
    ``t="e"`` is no cell; a namespace prefix is followed."""
    xml = (
        b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData><x:row r="2">'
        b'<x:c r="A2" t="e"/><x:c r="B2"><x:v>5</x:v></x:c><x:c r="C2" t="inlineStr"><x:is><x:t>a t="e" b</x:t>'
        b"</x:is></x:c>"
        b'<x:c r="D2" s="1" t="e"><x:f>1/0</x:f><x:v>#DIV/0!</x:v></x:c><x:c r="E2" t="e"><x:v>#N/A</x:v></x:c>'
        b"</x:row></x:sheetData></x:worksheet>"
    )
    cells = [cell for chunk in io_xlsx._sheet_chunks(io.BytesIO(xml)) for cell in io_xlsx._error_cells(*chunk)]
    assert cells == [(b' r="D2" s="1" t="e"', b"#DIV/0!"), (b' r="E2" t="e"', b"#N/A")]


def test_error_values_of_rows_written_out_of_order_mark_their_own_rows(tmp_path):
    """The XML may list a sheet's rows in any order (calamine places them by reference): each error is its own
    row's, whatever chunk the row falls in."""
    path = workbook(tmp_path / "工单.xlsx", [["编号", "内容"], [1, "#N/A"], [2, "路灯坏了"], [3, "#REF!"]])
    with zipfile.ZipFile(path) as whole:
        parts = {name: whole.read(name) for name in whole.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    rows = re.findall(r'<row r="\d+".*?</row>', sheet)  # rows 2 and 4 swapped, each keeping its references
    parts["xl/worksheets/sheet1.xml"] = sheet.replace("".join(rows), rows[0] + rows[3] + rows[2] + rows[1]).encode()
    with zipfile.ZipFile(path, "w") as swapped:
        for name, data in parts.items():
            swapped.writestr(name, data)
    with read_rows(path, chunk_size=2) as export:
        export.mark_error_values(["内容"])
        errors = [row.error for chunk in export.chunks for row in chunk]
    assert [error.partition(" holds")[0] for error in errors] == [
        "column '内容': cell B2 of sheet '工单'",
        "",
        "column '内容': cell B4 of sheet '工单'",
    ]


def test_training_data_with_an_error_value_in_its_label_column_is_refused_naming_the_row(tmp_path):
    """A label #N/A (a lookup that found nothing) read as a blank label would leave the row out of training
    silently, as one never labelled."""
    rows = [["内容", "部门"], ["路灯坏了晚上很黑", "城管"], ["噪音扰民", "#N/A"], ["垃圾没人清", "#N/A"]]
    path = workbook(tmp_path / "工单.xlsx", rows)
    with pytest.raises(
        DataError,
        match=re.escape(
            f"{path}: sheet '工单', column '部门': 2 cells hold an Excel error value (first: row 2, cell B3, #N/A)"
        )
        + r", which reads as an empty cell; fix the formulas \(or replace the values\) in Excel or WPS and save$",
    ):
        read_labelled(path, LabelOptions("部门"))
    other = workbook(tmp_path / "其他.xlsx", [["内容", "部门", "备注"], ["路灯坏了晚上很黑", "城管", "#REF!"]])
    assert read_labelled(other, LabelOptions("部门")).labels == ["城管"]  # a column not read: as read


def test_a_trial_run_finds_formulas_and_error_values_in_the_rows_it_reads_only(small_model, tmp_path, monkeypatch):
    """--stop-after N reads N rows: a formula never calculated further down refuses nothing, and the scan stops
    reading the sheet's XML soon after row N."""
    rows = [
        HEADER,
        *([n, "路灯坏了", "晚上很黑", f"路灯{n}"] for n in range(1, 3001)),
        [3001, "噪音", "扰民", "=B2&C2"],
    ]
    path = workbook(tmp_path / "工单.xlsx", rows)
    with pytest.raises(DataError, match="cell D3002"):
        tag_file(path, tmp_path / "all.csv", model=small_model, progress=False)
    read = 0
    opened = zipfile.ZipFile.open

    def counted(archive: zipfile.ZipFile, name: Any, *args: Any, **kwargs: Any) -> Any:
        handle = opened(archive, name, *args, **kwargs)
        if str(name).startswith("xl/worksheets/"):
            reading = handle.read

            def read_counted(size: int = -1) -> bytes:
                nonlocal read
                data = reading(size)
                read += len(data)
                return data

            handle.read = read_counted
        return handle

    monkeypatch.setattr(io_xlsx, "_SCAN_CHUNK", 1 << 12)
    monkeypatch.setattr(zipfile.ZipFile, "open", counted)
    with read_rows(path, stop_after=20) as export:
        assert export.unsaved_formulas() == {}
    whole = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size
    assert 0 < read < whole / 10
    assert len(tagged(path, small_model, tmp_path / "trial.csv", stop_after=20)) == 20


@pytest.mark.parametrize("value", ["#SPILL!", "#CALC!", "#GETTING_DATA"])
def test_an_error_value_calamine_cannot_read_is_named_with_its_cell(tmp_path, value):
    """Newer error values (a dynamic array that cannot spill) make calamine refuse the whole sheet: saving it
    again changes nothing, so the message names the cell and what fixes it."""
    path = workbook(tmp_path / "工单.xlsx", [["编号", "内容"], [1, "路灯坏了晚上很黑"], [2, "噪音"]])
    rewritten(path, {"B3": f'<c r="B3" t="e"><f>SORT(A1:A9)</f><v>{value}</v></c>'}, recalculate=False)
    with pytest.raises(DataError) as refused:
        rows_of(path)
    assert str(refused.value) == (
        f"{path}: sheet '工单', cell B3 holds the Excel error value {value}, which this reader cannot read (nor "
        "any cell of the sheet); fix the formula in Excel or WPS (or replace the cell's value) and save, or "
        "export the sheet as CSV"
    )
