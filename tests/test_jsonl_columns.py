"""The columns of a JSONL file are the keys of all its objects, in the order they first appear: exporters that
leave out null fields (mongoexport) write a rare field first on any row, and its values must reach the output.
A file whose objects hold more keys than any output can hold (an object used as a map) is refused up front."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import triage.io.jsonl as io_jsonl
import triage.io.lines as io_lines
from tests.conftest import TEXTS
from triage.batch import XLSX_CELL_CHARS, XLSX_MAX_COLUMNS, tag_file
from triage.batch.options import _ADDED_COLUMNS
from triage.io import MAX_JSONL_KEY_CHARS, MAX_JSONL_KEYS, DataError, byte_shares, read_rows, to_cell

# A note long enough that the first rows hold more than 1 MiB of text (the columns were once the keys found there),
# short enough for an XLSX cell (32,767 characters).
NOTE = "备注" * 15_000


def write_jsonl(path: Path, records: list[Any], encoding: str = "utf-8") -> Path:
    """One line a record: an object or other value as JSON, a str as the line itself (not JSON, or blank)."""
    lines = (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records)
    path.write_bytes("".join(line + "\n" for line in lines).encode(encoding))
    return path


def late_keys(path: Path) -> Path:
    """40 objects with a long note, then a rare field past the first MiB, and one more past that."""
    records: list[Any] = [{"id": i, "text": TEXTS[i % len(TEXTS)], "note": NOTE} for i in range(40)]
    records.append({"id": 40, "text": "小区物业乱收费", "district": "A3区"})
    records.append({"late": 7, "id": 41, "text": "学校乱收费"})
    records.append({"id": 42, "text": "路灯坏了"})
    write_jsonl(path, records)
    assert len(path.read_text("utf-8").split("\n", 40)[-1]) < path.stat().st_size - (1 << 20)  # past the old 1 MiB
    return path


def output_rows(path: Path) -> list[dict[str, str]]:
    with read_rows(path) as export:
        return [dict(zip(export.header, row.cells, strict=True)) for chunk in export.chunks for row in chunk]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet", ".xlsx"])
def test_a_key_first_seen_past_the_first_mib_reaches_every_output_with_its_value(small_model, tmp_path, suffix):
    src = late_keys(tmp_path / "in.jsonl")
    summary = tag_file(src, tmp_path / f"out{suffix}", model=small_model, progress=False)
    rows = output_rows(tmp_path / f"out{suffix}")
    assert list(rows[0])[:5] == ["id", "text", "note", "district", "late"]
    assert [(row["id"], row["district"], row["late"]) for row in rows[39:]] == [
        ("39", "", ""),
        ("40", "A3区", ""),
        ("41", "", "7"),
        ("42", "", ""),
    ]
    assert summary.errors == 0 and summary.rows_out == 43


def test_a_typed_output_keeps_the_late_values_as_read(small_model, tmp_path):
    src = late_keys(tmp_path / "in.jsonl")
    tag_file(src, tmp_path / "out.jsonl", model=small_model, progress=False)
    lines = (tmp_path / "out.jsonl").read_text("utf-8").splitlines()
    assert json.loads(lines[41])["late"] == 7 and json.loads(lines[40])["district"] == "A3区"


def test_columns_are_the_keys_in_the_order_they_first_appear(tmp_path):
    records = [
        {"b": 1, "a": 2},
        "not json",
        [1, 2],
        "",
        {"c": 3, "a": 4},
        {"d": None, "b": 5},
        {"e": {"nested": 1}},
    ]
    with read_rows(write_jsonl(tmp_path / "in.jsonl", records)) as export:
        rows = [row for chunk in export.chunks for row in chunk]
    assert export.header == export.keys == ["b", "a", "c", "d", "e"]
    assert [row.cells for row in rows if not row.error] == [
        ["1", "2", "", "", ""],
        ["", "4", "3", "", ""],
        ["5", "", "", "", ""],
        ["", "", "", "", '{"nested": 1}'],
    ]
    assert [row.number for row in rows if row.error] == [2, 3]  # the blank line is no row


def test_keys_are_read_with_the_rows_decoding_bom_and_line_rules(tmp_path):
    """GB18030 with its byte-order mark, CRLF line ends, a blank line, a line joined from another file with its
    own byte-order mark, and one with bytes not valid in the encoding: the same rows as the row reader's."""
    text = '{"编号": 1, "内容": "物业"}\r\n\r\n\ufeff{"内容": "学校", "区": "A3区"}\r\n{"晚": 1}\r\n'
    path = tmp_path / "in.jsonl"
    path.write_bytes("\ufeff".encode("gb18030") + text.encode("gb18030") + b'{"\xff\xfe": 2}\r\n{"x": 1}\r\n')
    with read_rows(path, encoding="gb18030") as export:
        rows = [row for chunk in export.chunks for row in chunk]
    assert export.keys == ["编号", "内容", "区", "晚", "x"]  # no column of a key that does not decode
    assert [row.number for row in rows] == [1, 2, 3, 4, 5]
    assert [row.error[:28] for row in rows] == ["", "", "", "bytes not valid in gb18030; ", ""]
    assert rows[1].cells[:3] == ["", "学校", "A3区"]


def test_a_file_with_no_object_is_refused_naming_its_first_bad_row(tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", ["", "[1, 2]", '"text"'])
    with pytest.raises(DataError, match=r"no JSON object with a key in its 2 row\(s\).*\(row 1: line is not a JSON"):
        read_rows(path).__enter__()
    (empty := tmp_path / "empty.jsonl").write_text("\n \n", "utf-8")
    with pytest.raises(DataError, match="the file is empty"):
        read_rows(empty).__enter__()


def test_a_file_whose_objects_hold_more_keys_than_outputs_can_is_refused_naming_the_row(small_model, tmp_path):
    """An object used as a map (a new key per row): refused before any row is tagged, not cut or let grow."""
    records = [{"text": "物业", "votes": {f"u{i}": 1}} for i in range(3)]
    records += [{"text": "学校乱收费", f"u{i}": 1} for i in range(MAX_JSONL_KEYS + 5)]
    src = write_jsonl(tmp_path / "in.jsonl", records)
    with pytest.raises(DataError) as refused:
        tag_file(src, tmp_path / "out.csv", model=small_model, progress=False)
    message = str(refused.value)
    assert f"its objects hold more than {MAX_JSONL_KEYS:,} distinct keys" in message
    # text and votes, then row 4 brings u0, the third key
    assert f"row {MAX_JSONL_KEYS + 2:,} brings key number {MAX_JSONL_KEYS + 1:,}, 'u{MAX_JSONL_KEYS - 2}'" in message
    assert "jq -c '{id, content, rest: (del(.id, .content) | tojson)}' IN.jsonl > OUT.jsonl" in message
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "out.csv.partial").exists()


def test_the_key_limit_leaves_room_for_the_added_columns_in_an_xlsx_sheet():
    assert MAX_JSONL_KEYS + len(_ADDED_COLUMNS) <= XLSX_MAX_COLUMNS


def test_shares_scanned_apart_name_the_row_the_whole_file_passes_the_limit_at(tmp_path, monkeypatch):
    monkeypatch.setattr(io_jsonl, "MAX_JSONL_KEYS", 4)
    records = [{"a": 1, "b": 2}, "", {"c": 1}, "oops", {"a": 1}, {"d": 1}, {"a": 2}, {"e": 1, "f": 2}]
    path = write_jsonl(tmp_path / "in.jsonl", records)
    size = path.stat().st_size
    for share_bytes in (1, 10, size):
        shares = list(byte_shares(path, "jsonl", 0, 1, share_bytes=share_bytes))
        with pytest.raises(DataError, match=r"\(row 7 brings key number 5, 'e'\)"):
            io_jsonl._merged_keys(io_jsonl._share_keys(path, "utf-8", *share) for share in shares)


def test_a_row_with_a_key_its_reader_was_not_given_is_an_error_not_a_lost_value(tmp_path):
    """A byte range is read with the whole file's keys; a key outside them (the file changed since) fails its row."""
    path = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "text": "物业"}, {"id": 2, "text": "学校", "extra": 3}])
    with read_rows(path, byte_range=(0, path.stat().st_size), jsonl_keys=["id", "text"]) as share:
        rows = [row for chunk in share.chunks for row in chunk]
    assert rows[0].error == ""
    assert rows[1].error.startswith("the object has keys not among the file's columns ('extra')")


def test_a_byte_range_read_without_the_files_keys_gets_all_of_them(tmp_path):
    path = late_keys(tmp_path / "in.jsonl")
    with read_rows(path) as whole:
        start = sum(len(line) for line in path.read_bytes().splitlines(keepends=True)[:41])
    with read_rows(path, byte_range=(start, path.stat().st_size)) as share:
        rows = [row for chunk in share.chunks for row in chunk]
    assert share.header == whole.header and [row.cells[4] for row in rows] == ["7", ""]


def test_many_processes_find_the_keys_one_process_finds(tmp_path, monkeypatch):
    """The first row's key is in no other row: a share that started past the first byte would lose it."""
    monkeypatch.setattr(io_jsonl, "_PARALLEL_SCAN_BYTES", 0)
    path = late_keys(tmp_path / "in.jsonl")
    path.write_bytes(b'{"first": 0}\n' + path.read_bytes())
    keys = ["first", "id", "text", "note", "district", "late"]
    assert io_jsonl._jsonl_keys(path, "utf-8", 3) == io_jsonl._jsonl_keys(path, "utf-8", 1) == keys


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_workers_write_the_late_keys_byte_for_byte_as_one_process(saved_model_dir, tmp_path, monkeypatch, suffix):
    monkeypatch.setattr(io_jsonl, "_PARALLEL_SCAN_BYTES", 0)  # the keys found by processes too
    src = late_keys(tmp_path / "in.jsonl")
    common = {"model_path": saved_model_dir, "chunk_size": 7, "progress": False}
    tag_file(src, tmp_path / f"serial{suffix}", n_jobs=1, **common)
    tag_file(src, tmp_path / f"parallel{suffix}", n_jobs=2, **common)
    assert (tmp_path / f"serial{suffix}").read_bytes() == (tmp_path / f"parallel{suffix}").read_bytes()
    assert "late" in output_rows(tmp_path / f"parallel{suffix}")[0]


KEYS = st.sampled_from(["id", "text", "区", "", "a.1", "电话", "x" * 30])
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=4), st.lists(st.integers()))
LINES = st.one_of(st.dictionaries(KEYS, VALUES, max_size=4), st.sampled_from(["", "[1]", "{bad", "3"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    before=st.lists(LINES, max_size=12),
    one=st.dictionaries(KEYS, VALUES, min_size=1, max_size=4),
    after=st.lists(LINES, max_size=12),
)
def test_any_lines_give_the_union_of_their_keys_and_keep_every_value(tmp_path, before, one, after):
    records = [*before, one, *after]
    path = write_jsonl(tmp_path / "in.jsonl", records)
    objects = [r for r in records if isinstance(r, dict)]
    union = list(dict.fromkeys(key for record in objects for key in record))
    with read_rows(path) as export:
        rows = [row for chunk in export.chunks for row in chunk]
    assert export.keys == union
    assert [row.cells for row in rows if not row.error] == [[to_cell(r.get(k)) for k in union] for r in objects]
    for share_bytes in (1, 7, 64):
        shares = byte_shares(path, "jsonl", 0, 1, share_bytes=share_bytes)
        assert io_jsonl._merged_keys(io_jsonl._share_keys(path, "utf-8", *share) for share in shares) == union


def test_stop_after_n_makes_columns_of_the_keys_of_rows_1_to_n_only(small_model, tmp_path):
    """Rows are counted as the reader numbers them: the blank line is no row, so row 7 is the eighth line."""
    records: list[Any] = [{"id": i, "text": TEXTS[i]} for i in range(6)]
    records.insert(3, "")
    records.append({"id": 6, "text": "学校乱收费", "late": 1})
    src = write_jsonl(tmp_path / "in.jsonl", records)
    for stop_after, columns in ((6, ["id", "text"]), (7, ["id", "text", "late"])):
        summary = tag_file(
            src, tmp_path / f"out{stop_after}.csv", model=small_model, stop_after=stop_after, progress=False
        )
        rows = output_rows(tmp_path / f"out{stop_after}.csv")
        assert [name for name in rows[0] if name not in _ADDED_COLUMNS] == columns
        assert summary.rows_out == stop_after and [row["id"] for row in rows] == [str(i) for i in range(stop_after)]


@pytest.mark.parametrize("progress", [None, "in.jsonl"])
@pytest.mark.parametrize("jobs", [1, 2])
def test_stop_after_n_scans_no_further_than_row_n(tmp_path, monkeypatch, jobs, progress):
    """Past row 3 come megabytes whose keys, read, would refuse the file: none of them is read (its bar shown
    or not)."""
    monkeypatch.setattr(io_jsonl, "MAX_JSONL_KEYS", 5)
    monkeypatch.setattr(io_jsonl, "_PARALLEL_SCAN_BYTES", 0)  # processes would scan it, asked for
    records: list[Any] = [{"id": i, "text": TEXTS[i]} for i in range(3)]
    records += [{"id": i, f"k{i}": NOTE} for i in range(3, 200)]
    src = write_jsonl(tmp_path / "in.jsonl", records)
    scans: list[Any] = []
    lines_of = io_lines._text_lines

    def counted(*args: Any, **kwargs: Any) -> Any:
        lines, source = lines_of(*args, **{**kwargs, "count": True})
        scans.append(source)
        return lines, source

    monkeypatch.setattr(io_jsonl, "_text_lines", counted)  # the key scan's
    with read_rows(src, stop_after=3, jobs=jobs, progress=progress) as export:
        rows = [row for chunk in export.chunks for row in chunk]
    assert export.header == ["id", "text"] and [row.error for row in rows] == ["", "", ""]
    assert scans[0].count < (1 << 20) < src.stat().st_size // 8  # the scan's reads; the rows' come after
    with read_rows(src, stop_after=6, jobs=jobs, progress=progress) as export:  # up to the limit
        assert export.keys == ["id", "text", "k3", "k4", "k5"]
    with pytest.raises(DataError, match=r"\(row 7 brings key number 6, 'k6'\)"):
        read_rows(src, stop_after=7, jobs=jobs, progress=progress).__enter__()


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_key_scan_shows_its_progress_in_bytes_when_asked_and_only_then(
    small_model, tmp_path, monkeypatch, capsys, jobs
):
    """A large file spends seconds in the scan before the first row is tagged: its bar says so, to the last byte
    (scanned in shares by processes too); none without progress."""
    monkeypatch.setattr(io_jsonl, "_PARALLEL_SCAN_BYTES", 0)
    src = late_keys(tmp_path / "in.jsonl")
    tag_file(src, tmp_path / "out.csv", model=small_model, n_jobs=jobs, progress=True)
    shown = [
        line for line in re.split(r"[\r\n]", capsys.readouterr().err) if "in.jsonl (finding the JSONL keys)" in line
    ]
    assert shown and "100%" in shown[-1] and f"{src.stat().st_size / 1e6:.2f}M/" in shown[-1]
    tag_file(src, tmp_path / "quiet.csv", model=small_model, n_jobs=jobs, progress=False)
    assert capsys.readouterr().err == ""


def test_a_key_of_a_megabyte_is_refused_before_any_row_is_tagged_naming_its_row_and_length(small_model, tmp_path):
    """A key is a column name in the header of every output: one a megabyte long (a map keyed by text, a broken
    export) is no field name."""
    records = [{"id": 1, "text": "物业"}, "", {"id": 2, "text": "学校"}, {"id": 3, "text": "路灯", "物业" * 500_000: 1}]
    records.append({"id": 4, "text": "路灯", "note": 1})
    src = write_jsonl(tmp_path / "in.jsonl", records)
    with pytest.raises(DataError) as refused:
        tag_file(src, tmp_path / "out.xlsx", model=small_model, progress=False)
    message = str(refused.value)
    assert message == (
        f"{src}: row 3 holds a key of 1,000,000 characters ('{'物业' * 20}'...), over the {MAX_JSONL_KEY_CHARS:,} "
        "a column name may have (each key is a column, named in the header of every output): an object used as a "
        "map keyed by text, or a broken export? Keep the fields to tag by and put the others in one, e.g. "
        "jq -c '{id, content, rest: (del(.id, .content) | tojson)}' IN.jsonl > OUT.jsonl"
    )
    assert len(message) < 1_000 and not list(tmp_path.glob("out.xlsx*"))
    assert io_jsonl._share_keys(src, "utf-8", 0, None).rows == 3  # the scan stopped there


def test_a_key_as_long_as_the_limit_is_a_column_of_every_output_whole(small_model, tmp_path):
    """The longest key allowed is a header cell XLSX holds whole (up to 32,767 characters)."""
    longest = "字" * MAX_JSONL_KEY_CHARS
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "text": "物业", longest: 1}])
    for suffix in (".xlsx", ".parquet", ".csv"):
        tag_file(src, tmp_path / f"out{suffix}", model=small_model, progress=False)
        assert list(output_rows(tmp_path / f"out{suffix}")[0])[:3] == ["id", "text", longest]
    assert MAX_JSONL_KEY_CHARS < XLSX_CELL_CHARS


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    row=st.integers(1, 4),
    length=st.integers(MAX_JSONL_KEY_CHARS - 2, MAX_JSONL_KEY_CHARS + 2) | st.integers(1, 3 * MAX_JSONL_KEY_CHARS),
    char=st.sampled_from(["a", "区", "\U00020000"]),
)
def test_a_key_is_refused_exactly_when_longer_than_the_limit_in_one_share_or_many(tmp_path, row, length, char):
    records: list[Any] = [*({"id": i, "text": TEXTS[i]} for i in range(4)), {"later": 1}]
    records.insert(row - 1, {"id": 9, char * length: 1, "after": 2})
    path = write_jsonl(tmp_path / "in.jsonl", records)
    for share_bytes in (1, 64, None):
        shares = byte_shares(path, "jsonl", 0, 1, share_bytes=share_bytes) if share_bytes else [(0, None)]
        scanned = (io_jsonl._share_keys(path, "utf-8", *share) for share in shares)
        if length <= MAX_JSONL_KEY_CHARS:
            keys = io_jsonl._merged_keys(scanned)
            assert char * length in keys and keys[-1] == "later"  # the scan went on past it
            continue
        with pytest.raises(
            DataError, match=rf"^row {row} holds a key of {length:,} characters \('{char * 40}'\.\.\.\)"
        ):
            io_jsonl._merged_keys(scanned)


@given(
    files=st.lists(st.lists(st.sampled_from(["编号", "内容", "时间", "id", "body", "a", "b"]), max_size=5), max_size=4)
)
def test_the_keys_of_files_read_as_one_are_those_of_their_concatenation(files):
    """A Dask glob's columns (joined_keys): every key of every file, in the order it first appears file by file."""
    concatenated = [key for keys in files for key in keys]
    expected = sorted(set(concatenated), key=concatenated.index)
    assert io_jsonl.joined_keys((f"part{i}.jsonl", keys) for i, keys in enumerate(files)) == expected


def test_files_read_as_one_with_too_many_keys_are_refused_naming_the_file(monkeypatch):
    monkeypatch.setattr(io_jsonl, "MAX_JSONL_KEYS", 3)
    assert io_jsonl.joined_keys([("a.jsonl", ["x", "y"]), ("b.jsonl", ["y", "z"])]) == ["x", "y", "z"]
    with pytest.raises(DataError, match=r"the objects of the files hold more than 3 distinct keys \(c.jsonl brings "):
        io_jsonl.joined_keys([("a.jsonl", ["x", "y"]), ("b.jsonl", ["y", "z"]), ("c.jsonl", ["w"])])
