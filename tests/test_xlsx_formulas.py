"""XLSX cells holding a formula whose value was never calculated and saved (a workbook written by openpyxl, or by
xlsxwriter with its placeholder 0) read as empty cells: the columns a command reads are refused, naming the
sheet, the column, the first row and cell and how many, with what to do; saved values read as before."""

from __future__ import annotations

import contextlib
import io
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
)
def test_unsaved_formulas_are_found_in_the_columns_and_rows_the_reader_gives(
    tmp_path_factory, blank_rows, blank_columns, grid, chunk
):
    """Wherever the table starts on the sheet (blank rows above it are title rows), however the XML falls into
    the chunks it is scanned in, each column's count, first data row and first cell are the sheet's."""
    width = len(grid[0]) if grid else 2
    header = [f"列{i}" for i in range(width)]
    book = openpyxl.Workbook()
    book.active.title = "工单"
    for row, values in enumerate([header, *grid], blank_rows + 1):
        for column, value in enumerate(values, blank_columns + 1):
            book.active.cell(row, column, value)
    book.save(path := tmp_path_factory.mktemp("grid") / "grid.xlsx")
    expected: dict[str, tuple[int, int, str]] = {}
    for number, values in enumerate(grid, 1):
        for column, value in enumerate(values):
            if value == "=A1":
                count, first, cell = expected.get(header[column], (0, number, ""))
                letter = openpyxl.utils.get_column_letter(column + blank_columns + 1)
                expected[header[column]] = (count + 1, first, cell or f"{letter}{number + blank_rows + 1}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(io_xlsx, "_SCAN_CHUNK", chunk)
        with pytest.warns(TitleRowsWarning) if blank_rows else contextlib.nullcontext(), read_rows(path) as export:
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
    assert list(io_xlsx._formula_cells(io.BytesIO(xml))) == [(b' r="A2"', b"B2&amp;C2", None)]


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
        assert len(list(io_xlsx._formula_cells(io.BytesIO(xml)))) == 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(xml) > 2_500_000 and peak < 1_000_000
