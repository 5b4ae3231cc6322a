"""A Parquet export with a damaged row group (its footer readable): the rows of that group, whose count the
footer holds, come out as rows with empty cells and an error saying which rows and group, pyarrow's reason
and what to do; every other row is read and tagged as from an undamaged copy, by every path that reads
Parquet (rows, record batches to workers, Parquet to Parquet, resumed runs, the Dask engine). The whole
run used to end in a DataError with nothing written."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import damage_parquet
from tests.test_batch_checkpoints import FailsAfter
from tests.test_dask_reading import read as read_on_dask
from tests.test_dask_reading import read_locally
from triage.batch import tag_file
from triage.cli import cli
from triage.io import DataError, Row, read_rows

TEXTS = ("小区物业乱收停车费", "派出所补办身份证要排好几天队", "学校食堂饭菜太差，孩子吃不饱", "路灯坏了好几天没人修")


def export(path: Path, rows: int = 12, group_rows: int = 4, **writing: Any) -> Path:
    """``rows`` rows of a required int64 id and a text, ``group_rows`` rows a row group (uncompressed and
    plain unless ``writing`` says otherwise, so that :func:`damage_parquet` can break a page header)."""
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False), ("text", pa.string())])
    table = pa.table([list(range(1, rows + 1)), [TEXTS[i % len(TEXTS)] for i in range(rows)]], schema=schema)
    writing = {"compression": "none", "use_dictionary": False, **writing}
    pq.write_table(table, path, row_group_size=group_rows, **writing)
    return path


def damaged_copy(good: Path, group: int, **damage: Any) -> Path:
    """A copy of ``good`` beside it whose row ``group`` cannot be read (its text column's chunk damaged)."""
    bad = good.with_name(f"damaged{group}.parquet")
    shutil.copy(good, bad)
    damage_parquet(bad, group, 1, **damage)
    return bad


def lost(first: int, last: int, group: int, reason: str = r"Couldn't deserialize thrift: [^()]*") -> str:
    """The error of each row of a damaged row group, as a pattern."""
    return (
        rf"the Parquet data of rows {first} to {last} \(row group {group}, counted from 0\) cannot be read "
        rf"\({reason}\): the file is damaged; export the file again; the other rows were read"
    )


def read(path: Path, **options: Any) -> list[Row]:
    with read_rows(path, **options) as export:
        return [row for chunk in export.chunks for row in chunk]


def assert_lost_only(got: list[Row], good: list[Row], first: int, last: int, group: int, **reason: str) -> None:
    """``got`` are the rows of ``good`` but those numbered ``first`` to ``last``: empty, with their error."""
    assert [row.number for row in got] == [row.number for row in good]
    for row, want in zip(got, good, strict=True):
        if first <= row.number <= last:
            assert (row.cells, row.values) == (["", ""], [None, None])
            assert re.fullmatch(lost(first, last, group, **reason), row.error) and row.error.isprintable()
        else:
            assert (row.cells, row.values, row.error) == (want.cells, want.values, "")


@settings(max_examples=40, deadline=None)
@given(
    group_rows=st.integers(1, 5),
    groups=st.integers(1, 4),
    chunk_size=st.integers(1, 7),
    picks=st.data(),
)
def test_only_the_rows_of_the_damaged_row_group_are_lost(group_rows, groups, chunk_size, picks):
    """Whatever the record batches (pyarrow's run from one row group into the next: the batch that fails
    may hold rows of the group before, which are kept), and whichever row groups are read (a worker's share)."""
    damaged = picks.draw(st.integers(0, groups - 1), label="damaged group")
    start = picks.draw(st.integers(0, damaged), label="first group read")
    shares = {"chunk_size": chunk_size, "row_groups": list(range(start, groups))}
    with tempfile.TemporaryDirectory() as folder:
        good = export(Path(folder) / "good.parquet", group_rows * groups, group_rows)
        bad = damaged_copy(good, damaged)
        got, want = read(bad, **shares), read(good, **shares)
    assert [row.number for row in want] == list(range(start * group_rows + 1, groups * group_rows + 1))
    assert_lost_only(got, want, damaged * group_rows + 1, (damaged + 1) * group_rows, damaged)


def test_the_pages_of_a_damaged_row_group_read_before_the_damage_are_kept(tmp_path):
    """Pages of two rows, the last of group 0 (rows 7-8) damaged: batches of two rows read rows 1-6 of it."""
    good = export(tmp_path / "good.parquet", 12, 8, compression="gzip", data_page_size=1, write_batch_size=2)
    bad = damaged_copy(good, 0, last_page=True)
    got = read(bad, chunk_size=2)
    assert_lost_only(got, read(good), 7, 8, 0, reason="GZipCodec failed: [^()]*")


def test_a_damaged_row_group_read_again_alone_keeps_the_rows_the_first_reading_could_not_reach(tmp_path):
    """Batches of three rows run from group 0 into group 1 (rows 9-16, pages of two, the last damaged): the
    first reading stops in the batch of rows 13-15; group 1 read alone gives rows 9-14 (9-12 already had)."""
    good = export(tmp_path / "good.parquet", 16, 8, compression="gzip", data_page_size=1, write_batch_size=2)
    bad = damaged_copy(good, 1, last_page=True)
    assert_lost_only(read(bad, chunk_size=3), read(good), 15, 16, 1, reason="GZipCodec failed: [^()]*")


def test_the_reason_of_lost_rows_is_pyarrows_on_one_line():
    from triage.io import lost_rows_error
    from triage.io.parquet import _damaged_batches

    schema = pa.schema([pa.field("id", pa.int64(), nullable=False)])
    (batch,) = _damaged_batches(schema, range(3, 5), 1, OSError("page header\n\tbroken\x00here"), 10)
    assert "(page header broken here): the file is damaged" in lost_rows_error(batch)
    assert batch.num_rows == 2 and batch.schema.field("id").nullable and batch.column(0).null_count == 2


def output_rows(path: Path) -> list[list[str]]:
    """The cells of a tagged file, read back by the reader (any output format)."""
    return [row.cells for row in read(path)]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_a_damaged_row_group_is_tagged_as_its_rows_errors_and_the_rest_as_from_an_undamaged_copy(
    small_model, tmp_path, suffix
):
    """In this process and with two workers (record batches sent to them, or Parquet to Parquet only the text
    columns), byte-identical; Parquet output has the schema it has for the undamaged file (the required id
    column is nullable there, as every input column of Parquet output is: these rows have no id)."""
    good = export(tmp_path / "good.parquet")
    bad = damaged_copy(good, 1)
    tagged = tmp_path / f"tagged{suffix}"
    tag_file(good, tagged, model=small_model, progress=False, n_jobs=1, chunk_size=3)
    outputs = []
    for jobs in (1, 2):
        outputs.append(tmp_path / f"bad{jobs}{suffix}")
        summary = tag_file(bad, outputs[-1], model=small_model, progress=False, n_jobs=jobs, chunk_size=3)
        assert (summary.rows_in, summary.rows_out, summary.errors) == (12, 12, 4)
        assert re.fullmatch("row 5: " + lost(5, 8, 1), summary.first_error)
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    want, got = output_rows(tagged), output_rows(outputs[0])
    assert len(got) == 12 and got[:4] + got[8:] == want[:4] + want[8:]
    for row in got[4:8]:
        assert row[:-1] == [""] * (len(row) - 1) and re.fullmatch(lost(5, 8, 1), row[-1])
    if suffix == ".parquet":
        assert pq.read_schema(outputs[0]) == pq.read_schema(tagged)
        assert pq.read_table(outputs[0]).column("id").to_pylist() == [1, 2, 3, 4, None, None, None, None, *range(9, 13)]


@pytest.mark.parametrize("resumed_jobs", [1, 2])
@pytest.mark.parametrize("parts_before", [1, 3], ids=["before-the-damaged-group", "inside-it"])
def test_a_run_resumed_across_a_damaged_row_group_writes_what_an_uninterrupted_run_writes(
    small_model, tmp_path, parts_before, resumed_jobs
):
    """Parts of two rows, rows 5-8 damaged: interrupted after row 2 or row 6 (the checkpoint counts the error
    rows written), resumed here or by workers reading the record batches after those rows."""
    bad = damaged_copy(export(tmp_path / "good.parquet"), 1)
    whole, out = tmp_path / "whole.csv", tmp_path / "out.csv"
    tag_file(bad, whole, model=small_model, progress=False, n_jobs=1, chunk_size=2)
    with pytest.raises(RuntimeError, match="interrupted"):
        tag_file(bad, out, model=FailsAfter(small_model, parts_before), progress=False, n_jobs=1, chunk_size=2)
    assert json.loads(Path(f"{out}.partial.json").read_text("utf-8"))["rows_done"] == 2 * parts_before
    summary = tag_file(bad, out, model=small_model, progress=False, n_jobs=resumed_jobs, chunk_size=2, resume=True)
    assert out.read_bytes() == whole.read_bytes()
    assert (summary.resumed_after_rows, summary.rows_out, summary.errors) == (2 * parts_before, 12, 4)


@pytest.mark.parametrize(("damaged", "exit_code"), [((1,), 0), ((0, 2), 1)])
def test_triage_tag_writes_every_row_and_fails_only_when_most_rows_are_lost(tmp_path, damaged, exit_code):
    """One of three row groups lost: exit 0; two: more than half the rows failed, exit 1 naming the first."""
    path = export(tmp_path / "in.parquet")
    for group in damaged:
        damage_parquet(path, group, 1)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(cli, ["tag", str(path), "-o", str(out), "--silent", "--jobs", "1"])
    assert result.exit_code == exit_code, result.output
    rows = output_rows(out)
    assert [row[0] for row in rows] == [("" if (n - 1) // 4 in damaged else str(n)) for n in range(1, 13)]
    if exit_code:
        assert "row 1: the Parquet data of rows 1 to 4 (row group 0, counted from 0)" in result.output


@pytest.mark.parametrize("blocksize", ["1B", "64MB"], ids=["a-piece-a-row-group", "one-piece"])
def test_dask_reads_a_damaged_row_group_as_the_local_reader_does(tmp_path, blocksize):
    """dask's own Parquet reader failed the whole frame (pyarrow's bare OSError): the pieces are read by
    triage's reader, whether the damaged group is a piece of its own or one of several."""
    from triage.dask import read_export

    bad = damaged_copy(export(tmp_path / "good.parquet"), 1)
    assert read_export(str(bad), blocksize=blocksize).npartitions == {"1B": 3, "64MB": 1}[blocksize]
    rows = read_on_dask(bad, blocksize=blocksize)
    assert rows == read_locally(bad) and len(rows) == 12
    assert [row[0] for row in rows] == [str(n) if not 5 <= n <= 8 else "" for n in range(1, 13)]
    assert all(re.fullmatch(lost(5, 8, 1), row[-1]) for row in rows[4:8])


def test_a_dask_run_tags_a_damaged_row_group_as_the_local_tagger_does(dask_client, saved_model_dir, tmp_path):
    from triage.dask import tag_dataset

    bad = damaged_copy(export(tmp_path / "good.parquet"), 1)
    tag_dataset(bad, tmp_path / "out", scheduler=dask_client.scheduler.address, model_path=saved_model_dir)
    tag_file(bad, tmp_path / "local.parquet", model_path=saved_model_dir, progress=False, n_jobs=1)
    remote = pq.read_table(tmp_path / "out").replace_schema_metadata(None)
    assert remote.equals(pq.read_table(tmp_path / "local.parquet").replace_schema_metadata(None))
    assert sum(bool(re.fullmatch(lost(5, 8, 1), error)) for error in remote.column("error").to_pylist()) == 4


def test_a_file_whose_own_metadata_carries_the_mark_of_lost_rows_is_read_as_it_is(tmp_path):
    """Record batches read carry the file's schema metadata: a file written with the key that marks lost rows
    made every row an error whose text the file chose."""
    table = pa.table({"id": ["1"], "text": [TEXTS[0]]}).replace_schema_metadata({b"triage.damaged": b"\x1b[2J"})
    pq.write_table(table, tmp_path / "marked.parquet")
    assert [(row.cells, row.error) for row in read(tmp_path / "marked.parquet")] == [(["1", TEXTS[0]], "")]


def lzo_copy(good: Path, groups: range) -> Path:
    """A copy of ``good`` (written uncompressed) whose footer says the text column of row ``groups`` is
    compressed with LZO, as a writer that has LZO says it: codec 3 in the column's metadata, the byte after its
    path in the footer's Thrift (codecs 0 and 3 as ``\\x00`` and ``\\x06``)."""
    data = good.read_bytes()
    path_then_codec = b"\x18\x04text\x15\x00"
    chunks = [k for k in range(len(data)) if data.startswith(path_then_codec, k)]
    assert len(chunks) == pq.ParquetFile(good).num_row_groups
    patched = bytearray(data)
    for group in groups:
        patched[chunks[group] + len(path_then_codec) - 1] = 6
    lzo = good.with_name("lzo.parquet")
    lzo.write_bytes(bytes(patched))
    assert pq.ParquetFile(lzo).metadata.row_group(groups[0]).column(1).compression == "LZO"
    return lzo


NOT_DAMAGED = "the file is not damaged: "


def test_a_file_compressed_with_lzo_is_refused_with_what_to_do_before_any_row_is_written(tmp_path):
    """pyarrow reads LZO in no version and says so in an OSError, as for a damaged page: every row was an
    error saying the file is damaged and to export it again."""
    lzo = lzo_copy(export(tmp_path / "good.parquet"), range(3))
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(cli, ["tag", str(lzo), "-o", str(out), "--silent", "--jobs", "1"])
    assert result.exit_code != 0 and not out.exists()
    assert "row group 0 (counted from 0) of the Parquet file cannot be read (OSError: " in result.output
    assert "compressed with LZO, which pyarrow reads in no version; " + NOT_DAMAGED in result.output
    assert "write it again with snappy or zstd compression" in result.output
    assert "the file is damaged" not in result.output


def newer_encoding_copy(good: Path, groups: range, footer: bool = True, columns: tuple[str, ...] = ("text",)) -> Path:
    """A copy of ``good`` (written uncompressed and plain, 4 rows a group) whose ``columns`` of row ``groups``
    are in encoding 10, which no Parquet format names yet, as a newer writer would write them: in their data
    page's header (the byte after its 4 values, ``\x08``, in the Thrift; PLAIN is ``\x00``) and, with
    ``footer``, in the column's encodings in the footer (RLE and PLAIN, ``\x06\x00``, before its path);
    without, only the page says so, as damage to that byte would."""
    data, file = good.read_bytes(), pq.ParquetFile(good)
    patched = bytearray(data)
    for name in columns:
        column = file.schema_arrow.names.index(name)
        for group in groups:
            page = file.metadata.row_group(group).column(column).data_page_offset
            patched[data.index(b"\x2c\x15\x08\x15\x00", page, page + 16) + 4] = 2 * 10
        encodings_then_path = b"\x19\x25\x06\x00\x19\x18" + bytes([len(name)]) + name.encode()
        chunks = [k for k in range(len(data)) if data.startswith(encodings_then_path, k)]
        assert len(chunks) == file.num_row_groups
        for group in groups if footer else ():
            patched[chunks[group] + 3] = 2 * 10
    newer = good.with_name("newer.parquet")
    newer.write_bytes(bytes(patched))
    assert pq.ParquetFile(newer).metadata.row_group(groups[0]).column(column).encodings == (
        ("RLE", "UNKNOWN") if footer else ("RLE", "PLAIN")
    )
    return newer


def test_a_file_in_an_encoding_pyarrow_does_not_know_is_refused_with_what_to_do_before_any_row_is_written(tmp_path):
    """pyarrow says "Unknown encoding type." in an OSError, as for a damaged page: every row was an error saying
    the file is damaged and to export it again."""
    newer = newer_encoding_copy(export(tmp_path / "good.parquet"), range(3))
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(cli, ["tag", str(newer), "-o", str(out), "--silent", "--jobs", "1"])
    assert result.exit_code != 0 and not out.exists()
    assert "row group 0 (counted from 0) of the Parquet file cannot be read (OSError: Unknown encoding type.)" in (
        result.output
    )
    assert f"its column 'text' is in an encoding pyarrow {pa.__version__} does not know (a newer " in result.output
    assert "writer's); " + NOT_DAMAGED in result.output
    assert "install a newer pyarrow (pip install -U pyarrow)" in result.output
    assert "the file is damaged" not in result.output


@pytest.mark.parametrize(
    ("copy", "refusal"),
    [(lzo_copy, "with LZO"), (newer_encoding_copy, "its column 'text' is in an encoding")],
    ids=["lzo", "newer encoding"],
)
def test_a_row_group_this_pyarrow_cannot_read_stops_the_reading_there(tmp_path, copy, refusal):
    """The rows before it are read; its own are no error rows."""
    unreadable = copy(export(tmp_path / "good.parquet"), range(1, 2))
    rows = []
    refused = rf"^{re.escape(str(unreadable))}: row group 1 \(counted from 0\) .*{re.escape(refusal)}"
    with pytest.raises(DataError, match=refused), read_rows(unreadable, chunk_size=4) as rows_read:
        for chunk in rows_read.chunks:
            rows += chunk
    assert [(row.number, row.error) for row in rows] == [(n, "") for n in range(1, 5)]


def test_every_column_in_an_encoding_pyarrow_does_not_know_is_named(tmp_path):
    newer = newer_encoding_copy(export(tmp_path / "good.parquet"), range(3), columns=("id", "text"))
    with pytest.raises(DataError, match=r"row group 0 .*: its columns 'id', 'text' are in an encoding pyarrow "):
        read(newer)


def test_an_encoding_pyarrow_does_not_know_said_by_a_page_only_is_damage(tmp_path):
    """A page whose header names an encoding its column's footer does not (one byte changed) is damaged: only
    that row group's rows are lost."""
    good = export(tmp_path / "good.parquet")
    assert_lost_only(
        read(newer_encoding_copy(good, range(1, 2), footer=False)),
        read(good),
        5,
        8,
        1,
        reason=re.escape("Unknown encoding type."),
    )


def fail_in_group_1(monkeypatch: pytest.MonkeyPatch, problem: Exception) -> None:
    """pyarrow's reader patched to raise ``problem`` where it reaches row group 1."""
    reading = pq.ParquetFile.iter_batches

    def failing_in_group_1(self: Any, *, row_groups: list[int], **options: Any) -> Iterator[Any]:
        for group in row_groups:
            if group == 1:
                raise problem
            yield from reading(self, row_groups=[group], **options)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", failing_in_group_1)


@pytest.mark.parametrize(
    ("problem", "fix"),
    [
        (pa.ArrowNotImplementedError("Support for codec 'brotli' not built"), "pip install -U pyarrow"),
        (pa.ArrowTypeError("Unsupported cast"), "pip install -U pyarrow"),
        (pa.ArrowMemoryError("malloc of size 1073741824 failed"), "pass a smaller --chunk-size"),
        (pa.ArrowCapacityError("array cannot contain more than 2147483646 bytes"), "pass a smaller --chunk-size"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "",
)
def test_what_pyarrow_raises_for_no_damage_ends_the_reading_with_what_to_do(tmp_path, monkeypatch, problem, fix):
    """pyarrow's reader patched to fail in row group 1 (no file this pyarrow writes makes it raise these):
    not an error row per row saying the file is damaged, but the file refused, naming the group and reason."""
    fail_in_group_1(monkeypatch, problem)
    said = f"row group 1 (counted from 0) of the Parquet file cannot be read ({type(problem).__name__}: {problem}): "
    with pytest.raises(DataError, match=re.escape(said) + ".*" + re.escape(fix)) as refused:
        read(export(tmp_path / "good.parquet"))
    assert "damaged; " not in str(refused.value)


@pytest.mark.parametrize(
    "problem",
    [pa.ArrowInvalid("Invalid or truncated PLAIN-encoded BYTE_ARRAY data"), pa.ArrowIndexError("index out of bounds")],
    ids=lambda problem: type(problem).__name__,
)
def test_what_pyarrow_raises_for_damage_besides_oserror_loses_only_the_groups_rows(tmp_path, monkeypatch, problem):
    """What random damage to pages raised besides OSError (triage.io._not_damage): still damage."""
    good = export(tmp_path / "good.parquet")
    want = read(good)
    fail_in_group_1(monkeypatch, problem)
    assert_lost_only(read(good), want, 5, 8, 1, reason=re.escape(str(problem)))


@pytest.mark.parametrize(
    ("copy", "said"), [(lzo_copy, "compressed with LZO"), (newer_encoding_copy, "in an encoding pyarrow")]
)
def test_dask_refuses_a_file_pyarrow_cannot_read_as_the_local_reader_does(tmp_path, copy, said):
    unreadable = copy(export(tmp_path / "good.parquet"), range(3))
    refused = rf"^{re.escape(str(unreadable))}: row group \d \(counted from 0\) .*{said}"
    with pytest.raises(DataError, match=refused):
        read_on_dask(unreadable, blocksize="1B")


def test_a_refusal_of_what_this_pyarrow_cannot_read_ends_with_both_ways_out(tmp_path, monkeypatch):
    """The what-to-do of the unknown-encoding and the other refusals, word for word: what to install, and how to
    write the file so that any pyarrow reads it."""
    good = export(tmp_path / "good.parquet")
    with pytest.raises(DataError) as newer:
        read(newer_encoding_copy(good, range(3)))
    assert str(newer.value).endswith(
        f"(OSError: Unknown encoding type.): its column 'text' is in an encoding pyarrow {pa.__version__} does not "
        "know (a newer Parquet writer's); the file is not damaged: install a newer pyarrow (pip install -U pyarrow), "
        "or write the file again with plain or dictionary encoding"
    )
    fail_in_group_1(monkeypatch, pa.ArrowNotImplementedError("Support for codec 'brotli' not built"))
    with pytest.raises(DataError) as other:
        read(good)
    assert str(other.value).endswith(
        f"(ArrowNotImplementedError: Support for codec 'brotli' not built): it uses something pyarrow "
        f"{pa.__version__} cannot read (a compression codec, an encoding or a type); the file is not damaged: "
        "install a newer pyarrow (pip install -U pyarrow), or write the file again with snappy or zstd compression "
        "and common column types"
    )
