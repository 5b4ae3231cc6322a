"""triage.dask.read_export reads text files with triage's own reader, in record ranges settled before the
frame is made: the same cells and errors as triage.io.read_rows, whatever the range size (synchronous
scheduler, no cluster)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TEXTS
from triage.io import DataError, byte_shares, read_rows

pd = pytest.importorskip("pandas")
dask = pytest.importorskip("dask")


def read(source: Path | str, blocksize: str = "64MB") -> list[list[str]]:
    """Each row of ``read_export(source)``: its cells, then its reading error."""
    from triage.dask import read_export

    with dask.config.set(scheduler="synchronous"), warnings.catch_warnings():
        # dask's Parquet reader uses a pandas keyword pandas 3.1 deprecates
        warnings.filterwarnings("ignore", message="The inplace keyword", category=DeprecationWarning)
        return read_export(str(source), blocksize=blocksize).compute().astype(object).values.tolist()


def read_locally(*paths: Path, **options: str) -> list[list[str]]:
    rows = []
    for path in paths:
        with read_rows(path, **options) as export:
            rows += [[*row.cells, row.error] for chunk in export.chunks for row in chunk]
    return rows


def stray_quotes(path: Path) -> Path:
    """40 records, every eighth holding a quote the CSV reader takes as text and the next a quoted cell with
    line breaks: byte_shares, which counts quotes, cuts some shares inside those cells."""
    records = []
    for i in range(40):
        if i % 8 == 3:
            records.append(f'{i},标题,他说"好')
        elif i % 8 == 4:
            records.append(f'{i},标题,"' + "\n".join(TEXTS[(i + k) % len(TEXTS)][:6] for k in range(6)) + '"')
        else:
            records.append(f"{i},标题,{TEXTS[i % len(TEXTS)]}")
    path.write_text("id,title,text\n" + "".join(record + "\n" for record in records), "utf-8")
    return path


def test_ranges_cut_inside_quoted_cells_are_settled_before_reading(tmp_path):
    path = stray_quotes(tmp_path / "in.csv")
    with read_rows(path) as whole:
        start = whole.data_start
    row_starts = {start}
    with read_rows(path, byte_range=(start, path.stat().st_size), chunk_size=1) as export:
        for _ in export.chunks:
            row_starts.add(export.position())
    cut = [first for first, _ in byte_shares(path, "csv", start, 1, share_bytes=64)]
    assert len(set(cut) - row_starts) >= 2  # what this test is about: shares starting inside a record
    assert read(path, blocksize="64B") == read(path) == read_locally(path)
    assert len(read(path)) == 40


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pieces=st.lists(st.sampled_from(["物业", "a", ",", '"', '""', "\n", "\r\n", " ", "学校乱收费"]), max_size=60),
    blocksize=st.integers(8, 200),
)
def test_any_csv_reads_as_read_rows_reads_it_whatever_the_range_size(tmp_path, pieces, blocksize):
    """Quotes left open, rows of too many or too few fields, blank lines: the same rows, errors included."""
    path = tmp_path / "in.csv"
    path.write_text("id,标题,内容\n" + "".join(pieces), "utf-8")
    assert read(path, blocksize=f"{blocksize}B") == read_locally(path)


def test_a_glob_of_files_reads_each_in_its_own_encoding_and_in_name_order(tmp_path):
    (tmp_path / "b.csv").write_text("id,内容\n3,派出所补办身份证\n", "gb18030")
    (tmp_path / "a.csv").write_text("id,内容\n1,小区物业乱收费\n2,学校乱收费\n", "utf-8")
    (tmp_path / "c.csv").write_text("id,内容\n4,路灯坏了\n", "utf-16")  # read whole: one range
    files = [tmp_path / name for name in ("a.csv", "b.csv", "c.csv")]
    assert read(tmp_path / "*.csv") == read_locally(*files)
    assert [row[0] for row in read(tmp_path / "*.csv")] == ["1", "2", "3", "4"]


def test_files_with_other_columns_are_refused_naming_them(tmp_path):
    (tmp_path / "a.csv").write_text("id,内容\n1,小区物业乱收费\n", "utf-8")
    (tmp_path / "b.csv").write_text("编号,内容\n2,学校乱收费\n", "utf-8")
    with pytest.raises(DataError, match=r"b\.csv has other columns than .*a\.csv: 编号, 内容"):
        read(tmp_path / "*.csv")
    with pytest.raises(DataError, match="no file matches"):
        read(tmp_path / "*.tsv")


def test_a_parquet_value_python_cannot_hold_is_read_as_the_local_reader_reads_it(tmp_path):
    """A date past year 9999 stopped dask's pandas conversion ("date value out of range", a traceback): it is
    Arrow's text of it, as in read_rows, and a nested value is JSON."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "id": ["1", "2"],
            "内容": ["小区物业乱收费", "学校乱收费"],
            "when": pa.array([0, 3_000_000], type=pa.date32()),
            "tags": [["甲"], None],
        }
    )
    pq.write_table(table, tmp_path / "far.parquet")
    assert read(tmp_path / "far.parquet") == read_locally(tmp_path / "far.parquet")
    assert read(tmp_path / "far.parquet")[1] == ["2", "学校乱收费", "10183-09-21", "", ""]
