"""triage.dask.read_export reads text files with triage's own reader, in record ranges settled before the
frame is made: the same cells and errors as triage.io.read_rows, whatever the range size (synchronous
scheduler, no cluster)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TEXTS
from triage.io import DataError, byte_shares, read_rows

pd = pytest.importorskip("pandas")
dask = pytest.importorskip("dask")


@contextmanager
def synchronous() -> Iterator[None]:
    """Dask's synchronous scheduler, without the warning of its Parquet reader (it uses a pandas keyword
    pandas 3.1 deprecates)."""
    with dask.config.set(scheduler="synchronous"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The inplace keyword", category=DeprecationWarning)
        yield


def read(source: Path | str, blocksize: str = "64MB", encoding: str = "auto") -> list[list[str]]:
    """Each row of ``read_export(source)``: its cells, then its reading error."""
    from triage.dask import read_export

    with synchronous():
        frame = read_export(str(source), blocksize=blocksize, encoding=encoding)
        return frame.compute().astype(object).values.tolist()


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


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    records=st.lists(
        st.tuples(
            st.lists(st.sampled_from(["物业", "a", '"', "\\", "\n", "\r\n", "\ufeff", "学校乱收费"]), max_size=6),
            st.sampled_from(["\n", "\r\n", "\n\n", "\n  \n", "\n\ufeff", '\n{"没写完\n']),
        ),
        min_size=1,
        max_size=30,
    ),
    last_end=st.booleans(),
    blocksize=st.integers(1, 300),
)
def test_any_jsonl_reads_as_read_rows_reads_it_whatever_the_range_size_each_range_read_once(
    tmp_path, monkeypatch, records, last_end, blocksize
):
    """Strings holding quotes, backslashes and line breaks (escaped), CRLF, blank lines, a BOM after a line end,
    lines that are no JSON, a last line without its line end: the same rows, errors included; and each range is
    read only by its partition, never first for where it ends (a JSONL range ends at its stop)."""
    import triage.dask

    lines = [
        json.dumps({"id": i, "内容": "".join(value)}, ensure_ascii=False) + end
        for i, (value, end) in enumerate(records)
    ]
    body = "".join(lines)
    (path := tmp_path / "in.jsonl").write_text(body if last_end else body.rstrip("\r\n "), "utf-8")
    monkeypatch.setattr(triage.dask, "_end_from", None)  # a call would fail
    assert read(path, blocksize=f"{blocksize}B") == read_locally(path)


def test_a_glob_of_files_reads_each_in_its_own_encoding_and_in_name_order(tmp_path):
    (tmp_path / "b.csv").write_text("id,内容\n3,派出所补办身份证\n", "gb18030")
    (tmp_path / "a.csv").write_text("id,内容\n1,小区物业乱收费\n2,学校乱收费\n", "utf-8")
    (tmp_path / "c.csv").write_text("id,内容\n4,路灯坏了\n", "utf-16")
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


def jsonl_parts(folder: Path) -> Path:
    """Three JSONL files exported apart, each leaving out other empty fields (as mongoexport does), with their
    concatenation beside them as ``all.jsonl``; returns their glob."""
    parts = {
        "a": [{"id": 1, "内容": "小区物业乱收费"}, {"id": 2, "内容": "学校乱收费", "区": "A3区"}],
        "b": [{"内容": "派出所补办身份证", "id": 3, "电话": 123}, "not json", {"id": 4, "内容": "路灯坏了"}],
        "c": [{"late": [1, 2], "id": 5}],
    }
    (folder / "parts").mkdir()
    for name, records in parts.items():
        lines = (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records)
        (folder / "parts" / f"{name}.jsonl").write_text("".join(line + "\n" for line in lines), "utf-8")
    joined = b"".join(path.read_bytes() for path in sorted((folder / "parts").glob("*.jsonl")))
    (folder / "all.jsonl").write_bytes(joined)
    return folder / "parts" / "*.jsonl"


def test_jsonl_files_of_a_glob_have_the_keys_of_all_of_them_as_their_concatenation_has(tmp_path):
    """The columns are all the files' keys in the order they first appear, file by file in name order; a row
    lacking a key has an empty cell, as within one file."""
    from triage.dask import read_export

    parts = jsonl_parts(tmp_path)
    with read_rows(tmp_path / "all.jsonl") as joined:
        header = joined.header
    assert header == ["id", "内容", "区", "电话", "late"]
    assert list(read_export(str(parts)).columns)[:-1] == header
    assert read(parts) == read(parts, blocksize="16B") == read_locally(tmp_path / "all.jsonl")
    assert read(parts)[2] == ["3", "派出所补办身份证", "", "123", "", ""]


def test_jsonl_files_holding_too_many_keys_together_are_refused_naming_the_file_past_the_limit(tmp_path, monkeypatch):
    from triage.io import jsonl as io_jsonl

    monkeypatch.setattr(io_jsonl, "MAX_JSONL_KEYS", 3)
    (tmp_path / "a.jsonl").write_text('{"x": 1, "y": 2}\n', "utf-8")
    (tmp_path / "b.jsonl").write_text('{"y": 1, "z": 2}\n{"w": 3}\n', "utf-8")
    with pytest.raises(DataError, match=r"more than 3 distinct keys \(.*b\.jsonl brings key number 4, 'w'\)"):
        read(tmp_path / "*.jsonl")


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


def partition_lengths(source: Path, blocksize: str) -> list[int]:
    from triage.dask import read_export

    with synchronous():
        return [int(n) for n in read_export(str(source), blocksize=blocksize).map_partitions(len).compute()]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_each_partition_holds_the_records_that_start_in_its_share(tmp_path, fmt):
    """A share that starts inside a record begins where that record ends, and one the record covers is dropped:
    each partition holds exactly the records starting in its share, however many it reads to find them."""
    if fmt == "csv":
        path = stray_quotes(tmp_path / "in.csv")
    else:  # an escaped quote in every record: cut at every line end, never by counting quotes
        path = tmp_path / "in.jsonl"
        records = (f'{{"id": {i}, "内容": "他说\\"{TEXTS[i % len(TEXTS)]}"}}\n' for i in range(40))
        path.write_text("".join(records), "utf-8")
    with read_rows(path) as whole:
        start = whole.data_start
    with read_rows(path, byte_range=(start, path.stat().st_size), chunk_size=1) as export:
        starts = [start]
        for _ in export.chunks:
            starts.append(export.position())
    starts.pop()  # the end of the file
    shares = list(byte_shares(path, fmt, start, 1, share_bytes=64))
    expected = [sum(first <= at < stop for at in starts) for first, stop in shares]
    assert len(shares) > 8 and (0 in expected) == (fmt == "csv")  # in the CSV, shares a record covers
    assert partition_lengths(path, "64B") == [n for n in expected if n]


def test_the_frame_has_the_header_and_string_columns_its_meta_promises(tmp_path):
    from triage.dask import READ_ERRORS, read_export

    path = tmp_path / "in.csv"
    path.write_text('id,标题,内容\n1,标题,小区物业乱收费\n2,标题,"学校乱收费\n', "utf-8")
    frame = read_export(str(path), blocksize="16B")
    with synchronous():
        computed = frame.compute()
    assert list(computed.columns) == list(frame.columns) == ["id", "标题", "内容", READ_ERRORS]
    assert all(str(dtype) == "string" for dtype in [*computed.dtypes, *frame.dtypes])
    assert computed[READ_ERRORS].tolist()[0] == "" and computed[READ_ERRORS].tolist()[1] != ""


def test_an_encoding_given_is_the_one_every_range_is_read_in(tmp_path):
    """Read as GB18030, a UTF-8 file gives other characters than the detected encoding would: the ones read_rows
    gives with that encoding, in every range and in the header."""
    path = tmp_path / "in.csv"
    path.write_text("id,内容\n" + "".join(f"{i},{TEXTS[i % len(TEXTS)]}\n" for i in range(30)), "utf-8")
    local = read_locally(path, encoding="gb18030")
    assert local != read_locally(path)
    assert read(path, blocksize="64B", encoding="gb18030") == local


def test_a_file_read_whole_does_not_end_the_glob(tmp_path):
    """A workbook (one range, read whole) first in name order: the files after it are read too, a UTF-16 one
    in ranges of 16 bytes."""
    pd.DataFrame({"id": ["1"], "内容": ["路灯坏了"]}).to_excel(tmp_path / "a.xlsx", index=False)
    (tmp_path / "b.csv").write_text("id,内容\n2,小区物业乱收费\n3,学校乱收费\n", "utf-16")
    assert read(tmp_path / "*", blocksize="16B") == read_locally(tmp_path / "a.xlsx", tmp_path / "b.csv")
    assert [row[0] for row in read(tmp_path / "*")] == ["1", "2", "3"]


@pytest.mark.parametrize("name", ["export.parquet", "export.pq", "dataset"])
def test_parquet_of_text_columns_is_made_cells_column_by_column(tmp_path, monkeypatch, name):
    """All text: the cells of read_rows, strings with no reading error, made column by column (no Row per row),
    from a file (either suffix) or a dataset directory of several files."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    import triage.dask

    tables = [
        pa.table({"id": ["1", "2"], "内容": ["小区物业乱收费", None]}),
        pa.table({"id": ["3"], "内容": ["路灯坏了"]}),
    ]
    if name == "dataset":
        (tmp_path / name).mkdir()
        files = [tmp_path / name / f"part.{i}.parquet" for i in range(2)]
        for table, file in zip(tables, files, strict=True):
            pq.write_table(table, file)
    else:
        files = [tmp_path / name]
        pq.write_table(pa.concat_tables(tables), files[0])
    built = {"rows": 0, "columns": 0}

    def counted(kind, function):
        def call(*args):
            built[kind] += 1
            return function(*args)

        return call

    monkeypatch.setattr(triage.dask, "batch_rows", counted("rows", triage.dask.batch_rows))
    monkeypatch.setattr(triage.dask, "batch_text_columns", counted("columns", triage.dask.batch_text_columns))
    with synchronous():
        frame = triage.dask.read_export(str(tmp_path / name)).compute()
    assert (
        frame.astype(object).values.tolist()
        == read_locally(*files)
        == [
            ["1", "小区物业乱收费", ""],
            ["2", "", ""],
            ["3", "路灯坏了", ""],
        ]
    )
    assert list(frame.columns) == ["id", "内容", triage.dask.READ_ERRORS]
    assert all(str(dtype) == "string" for dtype in frame.dtypes)
    assert built["columns"] >= 1 and built["rows"] == 0


def test_an_empty_parquet_file_is_its_header_and_no_rows(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from triage.dask import READ_ERRORS, read_export

    pq.write_table(
        pa.table({"id": pa.array([], pa.string()), "when": pa.array([], pa.date32())}), tmp_path / "e.parquet"
    )
    with synchronous():
        frame = read_export(str(tmp_path / "e.parquet")).compute()
    assert list(frame.columns) == ["id", "when", READ_ERRORS] and len(frame) == 0
    assert read_locally(tmp_path / "e.parquet") == []


def test_a_parquet_integer_past_2_to_the_53_beside_a_null_keeps_its_digits(tmp_path):
    """Read as Arrow data: an int64 column with a null does not become float64 (which holds 2**53 + 1 as 2**53)."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(
        pa.table({"内容": ["物业", "学校"], "n": pa.array([2**53 + 1, None], pa.int64())}), tmp_path / "n.parquet"
    )
    assert (
        read(tmp_path / "n.parquet")
        == read_locally(tmp_path / "n.parquet")
        == [
            ["物业", "9007199254740993", ""],
            ["学校", "", ""],
        ]
    )


@pytest.mark.parametrize("dataset", [False, True], ids=["file", "hive-partitioned-folder"])
def test_a_pandas_index_written_into_parquet_stays_a_column_where_the_file_has_it(tmp_path, dataset):
    """pandas writes a named index as a column with metadata; dask made it the frame's index, which the cells
    left out: the id column was lost; then it came first, where read_rows (and so the local tagger's output)
    has it last, as the file's schema does. A hive partition key comes after the file's columns."""
    from triage.dask import read_export

    frame = pd.DataFrame({"id": ["a1", "a2"], "内容": ["小区物业乱收费", "学校乱收费"]}).set_index("id")
    path = tmp_path / "indexed.parquet"
    if dataset:
        (tmp_path / "set" / "月=5").mkdir(parents=True)
        frame.to_parquet(tmp_path / "set" / "月=5" / "part.0.parquet")
        path = tmp_path / "set"
    else:
        frame.to_parquet(path)
    rows = read(path)
    local = read_locally(tmp_path / "set" / "月=5" / "part.0.parquet" if dataset else path)
    assert rows == [[*row[:-1], *(["5"] if dataset else []), row[-1]] for row in local]
    assert rows[0] == ["小区物业乱收费", "a1", *(["5"] if dataset else []), ""]
    with synchronous():
        assert list(read_export(str(path)).columns)[:2] == ["内容", "id"]


def test_parquet_read_with_its_types_keeps_a_pandas_index_column_and_the_dtypes_of_its_meta(tmp_path):
    """keep_types (tag_dataset's reading): the batch's pandas metadata is not applied (it made ``id`` the index
    and the frame one column short of its header), and the computed dtypes are the meta's."""
    from triage.dask import READ_ERRORS, read_export

    frame = pd.DataFrame({"id": ["a1", "a2"], "内容": ["小区物业乱收费", "学校乱收费"]}).set_index("id")
    frame.to_parquet(tmp_path / "indexed.parquet")
    with synchronous():
        typed = read_export(str(tmp_path / "indexed.parquet"), keep_types=True)
        computed = typed.compute()
    assert list(computed.columns) == list(typed.columns) == ["内容", "id", READ_ERRORS]
    assert computed.astype(object).values.tolist() == [["小区物业乱收费", "a1", ""], ["学校乱收费", "a2", ""]]
    assert computed.dtypes.tolist() == typed.dtypes.tolist()
    assert str(computed[READ_ERRORS].dtype) == "string"


def test_parquet_files_of_a_glob_or_folder_are_read_as_parquet_and_must_share_their_columns(tmp_path):
    """A folder's files are Parquet whatever their names (Spark writes ``part-00000`` without a suffix);
    a glob matching nothing, or files with other columns, are refused naming them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from triage.dask import read_export

    (tmp_path / "set").mkdir()
    pq.write_table(pa.table({"内容": ["小区物业乱收费"]}), tmp_path / "set" / "part-00000")
    assert read(tmp_path / "set") == [["小区物业乱收费", ""]]
    with pytest.raises(DataError, match=r"^no file matches .*nothing\*\.parquet$"):
        read_export(str(tmp_path / "nothing*.parquet"))
    pq.write_table(pa.table({"内容": ["a"], "编号": [1]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"标题": ["b"], "正文": ["c"]}), tmp_path / "b.parquet")
    with pytest.raises(DataError, match=r"b\.parquet has other columns than .*a\.parquet: 标题, 正文$"):
        read_export(str(tmp_path / "*.parquet"))


def test_row_groups_are_read_in_runs_of_at_most_blocksize_of_data_and_an_empty_folder_is_refused(tmp_path):
    from triage.dask import _runs, read_export

    assert _runs([5, 5, 5, 5], 10) == [(0, 1), (2, 3)]  # a run as large as the limit is allowed
    assert _runs([4, 7, 12, 1], 10) == [(0,), (1,), (2,), (3,)]  # a group larger than the limit alone
    assert _runs([], 10) == [()]  # a file of no row groups still gives its (empty) part
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"^no Parquet file in .*empty$"):
        read_export(str(tmp_path / "empty"))


def test_a_hive_folder_read_with_its_types_has_its_keys_as_text_after_the_files_columns(tmp_path):
    """keep_types (tag_dataset's reading) of a hive-partitioned folder: a piece of two row groups is one
    partition indexed 0..n-1, the key is a text column after the file's, and an empty file is its header."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from triage.dask import READ_ERRORS, read_export

    (tmp_path / "set" / "月=5").mkdir(parents=True)
    (tmp_path / "set" / "月=6").mkdir()
    table = pa.table({"内容": ["甲", "乙", "丙", "丁"], "编号": pa.array([1, 2, 3, 4], pa.int64())})
    pq.write_table(table, tmp_path / "set" / "月=5" / "a.parquet", row_group_size=2)
    pq.write_table(table.slice(0, 0), tmp_path / "set" / "月=6" / "b.parquet")
    with synchronous():
        typed = read_export(str(tmp_path / "set"), keep_types=True)
        parts = [part.compute() for part in typed.partitions]
    assert [part.index.tolist() for part in parts] == [[0, 1, 2, 3], []]
    assert all(list(part.columns) == ["内容", "编号", "月", READ_ERRORS] for part in parts)
    assert all(part.dtypes.tolist() == typed.dtypes.tolist() for part in parts)
    assert parts[0].astype(object).values.tolist() == [
        [t, n, "5", ""] for t, n in zip("甲乙丙丁", [1, 2, 3, 4], strict=True)
    ]
    assert str(typed.dtypes["编号"]) == "int64[pyarrow]"


def test_a_blocksize_under_one_byte_is_refused(tmp_path):
    from triage.dask import read_export

    (tmp_path / "in.csv").write_text("id,内容\n1,小区物业乱收费\n", "utf-8")
    with pytest.raises(ValueError, match="blocksize must be at least one byte, got '0B'"):
        read_export(str(tmp_path / "in.csv"), blocksize="0B")


def test_jsonl_columns_are_the_keys_of_all_objects_as_read_rows_finds_them(tmp_path, monkeypatch):
    """A key first seen past the first MiB (the objects before it hold a long note) is a column of every range;
    the file is scanned for its keys once, and each range read with them."""
    from triage import io as tio
    from triage.dask import read_export

    note = "备注" * 15_000
    records = [{"id": i, "内容": TEXTS[i % len(TEXTS)], "note": note} for i in range(40)]
    records += [{"id": 40, "内容": "小区物业乱收费", "区": "A3区"}, {"late": 7, "id": 41}]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    with read_rows(path) as export:
        header = export.header
    assert header == ["id", "内容", "note", "区", "late"]
    assert list(read_export(str(path), blocksize="256KB").columns)[:-1] == header
    assert read(path, blocksize="256KB") == read(path) == read_locally(path)
    assert read(path)[-2:] == [["40", "小区物业乱收费", "", "A3区", "", ""], ["41", "", "", "", "7", ""]]
    scans: list[Path] = []
    scan = tio.jsonl._jsonl_keys  # read_rows calls it from triage.io, where it is patched
    monkeypatch.setattr(tio, "_jsonl_keys", lambda *args: scans.append(args[0]) or scan(*args))
    assert len(read(path, blocksize="256KB")) == 42 and scans == [path]


@pytest.mark.parametrize("keep_types", [False, True], ids=["cells", "typed"])
def test_a_parquet_piece_of_several_record_batches_is_one_partition_indexed_0_to_n(tmp_path, keep_types):
    """A piece is read a record batch of DEFAULT_CHUNK_SIZE rows at a time, each batch a frame indexed from 0:
    joined as they were, rows shared index labels, and pandas, which aligns on labels, gave row 2001 the value
    of row 1 in a column taken from a Series (a text range's partition, one frame, is indexed 0..n-1)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from triage.dask import read_export
    from triage.defaults import DEFAULT_CHUNK_SIZE

    count = 2 * DEFAULT_CHUNK_SIZE + 1
    pq.write_table(pa.table({"内容": [TEXTS[n % len(TEXTS)] for n in range(count)]}), tmp_path / "in.parquet")
    with synchronous():
        (part,) = [
            part.compute() for part in read_export(str(tmp_path / "in.parquet"), keep_types=keep_types).partitions
        ]
    assert part.assign(n=pd.Series(range(count)))["n"].tolist() == list(range(count))
    assert part.index.equals(pd.RangeIndex(count))
