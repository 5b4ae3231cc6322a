"""Workers that read their own shares of the input: the rows are those of the whole file, and
``tag_file`` writes the same bytes whatever ``n_jobs`` is.

A CSV cannot be cut just anywhere: a quoted cell may hold line breaks, and a stray quote makes the
reader run on across lines. Shares are cut where the quotes seen so far are even; where that guess
is wrong the share before reads on past its stop and the next is read again from there.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import triage.io.encodings as io_encodings
import triage.io.lines as io_lines
from tests.conftest import TEXTS
from triage.batch import TagOptions, tag_file
from triage.io import DataError, byte_shares, read_rows

# Pieces of hand-written exports: quoted cells with line breaks, stray and doubled quotes, CR/CRLF
# line ends, blank lines, a BOM in the middle, GBK-only and non-UTF-8 bytes.
PIECES = ["物业乱收费", "派出所", ",", '"', '""', "\n", "\r\n", "\r", "\n\n", "学校补课", "\ufeff", "a", "\t", "JUNK"]


def rows_of(export):
    return [(row.cells, row.error, row.suspect) for chunk in export.chunks for row in chunk]


def read_in_shares(path, fmt, encoding, cuts):
    """Rows read share by share from the cut points, each share starting where the one before ended
    (the rule the tagger follows), numbered from 1 in each share."""
    with read_rows(path, format=fmt, encoding=encoding) as whole:
        start = whole.data_start
    bounds = sorted({c for c in cuts if c > start} | {os.path.getsize(path)})
    found, expected = [], start
    for stop in bounds:
        if expected >= stop:
            continue  # inside the record the share before ran on with
        with read_rows(path, format=fmt, encoding=encoding, chunk_size=3, byte_range=(expected, stop)) as share:
            found += rows_of(share)
            expected = share.position()
    return found


# Encodings of one byte per code unit, and of two or four: the pieces' bytes that no encoding decodes
# (JUNK) are, in the latter, a lone surrogate unit and a unit beyond U+10FFFF.
UNIT_BYTES = {"utf-16-le": 2, "utf-16-be": 2, "utf-32-le": 4}
JUNK_BYTES = {"utf-16-le": b"\x00\xd8", "utf-16-be": b"\xd8\x00", "utf-32-le": b"\x00\x00\x11\x00"}


def encoded(body: str, encoding: str) -> bytes:
    """``body`` in ``encoding``, each JUNK as bytes the encoding cannot decode."""
    if encoding in UNIT_BYTES:
        return body.encode(encoding).replace("JUNK".encode(encoding), JUNK_BYTES[encoding])
    return body.encode("gb18030" if encoding == "gb18030" else "utf-8").replace(b"JUNK", b"\xff\xfe")


def line_starts(data: bytes, encoding: str = "utf-8") -> list[int]:
    """Offsets after each line feed, a code unit at a time (the 0A byte of 上, U+4E0A, is none)."""
    unit = UNIT_BYTES.get(encoding, 1)
    feed = "\n".encode(encoding) if unit > 1 else b"\n"
    return [i + unit for i in range(0, len(data) - unit + 1, unit) if data[i : i + unit] == feed]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pieces=st.lists(st.sampled_from([*PIECES, "ਊ一"]), max_size=60),  # 0A 0A 00 4E in UTF-16LE: no line end
    fmt=st.sampled_from(["csv", "tsv", "jsonl"]),
    encoding=st.sampled_from(["utf-8-sig", "gb18030", *UNIT_BYTES]),
    data=st.data(),
)
def test_rows_read_in_shares_are_the_rows_of_the_whole_file(tmp_path, pieces, fmt, encoding, data):
    body = "".join(pieces)
    if fmt == "jsonl":
        body = '{"id": 1, "内容": "物业上"}\n' + body.replace(",", '{"id": 2, "内容": "学校"}\n')
    else:
        body = ("id,标题,内容\n" if fmt == "csv" else "id\t标题\t内容\n") + body
    raw = encoded(body, encoding)
    path = tmp_path / f"in.{fmt}"
    path.write_bytes(raw)
    with read_rows(path, format=fmt, encoding=encoding, chunk_size=3) as whole:
        expected = rows_of(whole)
    # cut at any line starts (the worst case: inside quoted cells), then where byte_shares cuts
    cuts = data.draw(st.lists(st.sampled_from(line_starts(raw, encoding) or [0]), max_size=8))
    assert read_in_shares(path, fmt, encoding, cuts) == expected
    planned = [stop for _, stop in byte_shares(path, fmt, 0, data.draw(st.integers(1, 4)), encoding=encoding)]
    assert all(stop in line_starts(raw, encoding) for stop in planned[:-1])
    assert read_in_shares(path, fmt, encoding, planned) == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pieces=st.lists(st.sampled_from([*PIECES[:-1], "上", "\u0a4e", "𠀀"]), max_size=60),
    fmt=st.sampled_from(["csv", "tsv", "jsonl"]),
    encoding=st.sampled_from(["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"]),
)
def test_a_file_in_utf16_or_utf32_reads_as_the_same_text_in_utf8(tmp_path, pieces, fmt, encoding):
    """Same rows, same cells, same errors (a runaway quote's lines read again): only the bytes differ. The
    pieces hold characters with a line feed's or a quote's byte in their code units (上 is 0A 4E in UTF-16LE;
    U+0A4E; U+20000 is a surrogate pair)."""
    body = "".join(pieces)
    if fmt == "jsonl":
        body = '{"id": 1, "内容": "物业"}\n' + body.replace(",", '{"id": 2, "内容": "学校"}\n')
    else:
        body = ("id,标题,内容\n" if fmt == "csv" else "id\t标题\t内容\n") + body
    (tmp_path / "utf8").write_text(body, "utf-8", newline="")
    (tmp_path / "wide").write_bytes("\ufeff".encode(encoding) + body.encode(encoding))
    with read_rows(tmp_path / "utf8", format=fmt, encoding="utf-8") as narrow:
        expected = rows_of(narrow)
    with read_rows(tmp_path / "wide", format=fmt, chunk_size=3) as wide:  # auto: the byte-order mark
        assert wide.encoding.encoding == encoding[:6]
        assert rows_of(wide) == expected


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.sampled_from(PIECES[:-1]), max_size=60))
def test_lines_end_where_a_text_stream_ends_them(tmp_path, pieces):
    """Lines cut from bytes (after LF, CRLF or a lone CR) give the csv module what a decoding stream gives it,
    up to a record whose quote runs on to the end of the file: csv.reader's last record, which the reader
    reads again from its second line (tests/test_read_blocks.py checks the rows after it)."""
    raw = ("id,标题,内容\n" + "".join(pieces)).encode("utf-8")
    (tmp_path / "in.csv").write_bytes(raw)
    stream = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig", newline="")
    expected = [[*values, "", "", ""][:3] for values in list(csv.reader(stream))[1:] if values]
    with read_rows(tmp_path / "in.csv", encoding="utf-8-sig") as export:
        found = rows_of(export)
    runaway = next((i for i, (_, error, _) in enumerate(found) if "runs on to the end of the file" in error), None)
    if runaway is not None:
        assert runaway == len(expected) - 1
        found, expected = found[:runaway], expected[:runaway]
    assert [cells for cells, _, _ in found] == expected


def write_csv(path: Path, texts: Iterable[str]) -> int:
    """A CSV of an id and a text column; the byte offset of its first record."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["id", "内容"], *([str(i), text] for i, text in enumerate(texts))])
    with read_rows(path) as whole:
        return whole.data_start


def test_byte_shares_cut_outside_quoted_cells_and_cover_the_file(tmp_path):
    path = tmp_path / "in.csv"
    start = write_csv(path, (f"第{i}行\n还有一行,带逗号" for i in range(200)))
    shares = list(byte_shares(path, "csv", start, 10))
    assert shares[0][0] == start and shares[-1][1] == path.stat().st_size
    assert all(a[1] == b[0] for a, b in itertools.pairwise(shares))
    assert len(shares) > 10 and all(first < last for first, last in shares)  # none empty
    for first, last in shares:  # each share holds whole records: it ends where it was told to stop
        with read_rows(path, byte_range=(first, last)) as share:
            assert all(len(row.cells) == 2 and not row.error for chunk in share.chunks for row in chunk)
            assert share.position() == last


def test_shares_get_smaller_near_the_end_so_workers_finish_together(tmp_path):
    path = tmp_path / "in.csv"
    start = write_csv(path, (f"第{i:04d}行的内容" for i in range(4000)))
    records = []
    for first, last in byte_shares(path, "csv", start, 80, workers=2):
        with read_rows(path, byte_range=(first, last)) as share:
            records.append(sum(len(chunk) for chunk in share.chunks))
    assert sum(records) == 4000
    assert max(records) <= 90 and records[0] >= 75  # whole shares (about 80 rows) while there is much left
    tail = records[-6:]
    assert tail == sorted(tail, reverse=True) and max(tail) < 40  # then smaller and smaller
    assert 0 < records[-1] <= 11  # down to an eighth of a share


def test_jsonl_shares_are_cut_by_lines_whatever_quotes_the_strings_hold(tmp_path):
    """A JSON string may hold an escaped quote: JSONL is cut at every line end, never by counting quotes."""
    path = tmp_path / "in.jsonl"
    path.write_text("".join(f'{{"id": {i}, "内容": "他说\\"物业不管"}}\n' for i in range(400)), encoding="utf-8")
    records = []
    for first, last in byte_shares(path, "jsonl", 0, 20):
        with read_rows(path, format="jsonl", byte_range=(first, last)) as share:
            records.append(sum(len(chunk) for chunk in share.chunks))
            assert share.position() == last
    assert sum(records) == 400 and 19 <= records[0] <= 21 and max(records) <= 21


# Pieces of JSON strings that could fool a cut: quotes and backslashes (escaped), line ends (escaped as
# \n and \r), a BOM, CJK of two to four bytes in UTF-8 and GB18030 (𠀀: a surrogate pair in UTF-16), and
# characters that hold a line feed's byte in UTF-16 (上 is 0A 4E in UTF-16LE, U+220A 22 0A; ਊ一, 0A 0A 00 4E,
# holds a line feed from its second byte).
JSON_PIECES = st.sampled_from(
    ['"', "\\", "\n", "\r", "\t", "\ufeff", "/", " ", "a", "上", "物业", "𠀀", "é", "\u2028", "\u220a", "ਊ一"]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    records=st.lists(
        st.tuples(
            st.lists(JSON_PIECES, max_size=8).map("".join),
            st.sampled_from(["\n", "\r\n", "\r", "\n\n", "\r\n  \r\n", "\n\ufeff"]),
        ),
        min_size=1,
        max_size=25,
    ),
    last_end=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16-le"]),
    share_bytes=st.integers(1, 800),
    workers=st.integers(1, 3),
)
@example(records=[("ਊ一", "\n")], last_end=True, encoding="utf-16-le", share_bytes=1, workers=1)
def test_jsonl_shares_of_any_size_hold_the_records_of_the_whole_file(
    tmp_path, records, last_end, encoding, share_bytes, workers
):
    """JSONL shares of any number of bytes, cut without reading the bytes before each cut, hold between them the
    records reading the whole file gives, each share ending at its stop: the cuts fall only at line starts (in
    whole code units), whatever the strings hold and however lines end (CRLF, a lone CR, blank lines, a BOM
    after a line end as ``cat`` leaves it, a last line without one). The example: a share of one byte would
    end inside a UTF-16 code unit, and ਊ一 read from its second byte holds a line feed."""
    lines = [
        json.dumps({"id": str(i), "内容": value}, ensure_ascii=False) + end for i, (value, end) in enumerate(records)
    ]
    body = "".join(lines) if last_end else "".join(lines[:-1]) + lines[-1].rstrip("\r\n\ufeff ")
    raw = ("\ufeff" if encoding == "utf-8-sig" else "").encode() + body.encode(encoding.removesuffix("-sig"))
    (path := tmp_path / "in.jsonl").write_bytes(raw)
    with read_rows(path, format="jsonl", encoding=encoding) as whole:
        expected, start, keys = rows_of(whole), whole.data_start, whole.keys
    shares = list(byte_shares(path, "jsonl", start, 1, workers, share_bytes=share_bytes, encoding=encoding))
    assert shares[0][0] == start and shares[-1][1] == len(raw)
    assert all(stop == first for (_, stop), (first, _) in itertools.pairwise(shares))
    assert all(stop in line_starts(raw, encoding) for _, stop in shares[:-1])
    found = []
    for first, stop in shares:
        with read_rows(path, format="jsonl", encoding=encoding, byte_range=(first, stop), jsonl_keys=keys) as share:
            found += rows_of(share)
            assert share.position() == stop
    assert found == expected


class CountedFile(io.FileIO):
    """A file that adds the bytes read through it to ``read``, a list of one count."""

    def __init__(self, path: Path, read: list[int]) -> None:
        super().__init__(path, "rb")
        self._read = read

    def readinto(self, buffer) -> int | None:
        n = super().readinto(buffer)
        self._read[0] += n or 0
        return n


def test_jsonl_shares_are_cut_by_reading_only_near_each_cut(tmp_path, monkeypatch):
    """The client reads a line or so at each cut, not the bytes between them (CSV shares count the quotes
    before each cut; JSONL has nothing to count): 4.3 MB in 43 shares read less than a block of 64 KiB a cut."""
    path = tmp_path / "in.jsonl"
    path.write_text("".join(f'{{"id": {i}, "内容": "{"路灯坏了" * 20}"}}\n' for i in range(16_000)), encoding="utf-8")
    read = [0]
    monkeypatch.setattr(Path, "open", lambda self, mode: io.BufferedReader(CountedFile(self, read)))
    shares = list(byte_shares(path, "jsonl", 0, 1, share_bytes=path.stat().st_size // 40))
    assert 40 <= len(shares) < 50  # the last few smaller (byte_shares tapers them)
    assert 0 < read[0] <= len(shares) * (1 << 16) < path.stat().st_size / 1.2


class ShortReads:
    """``data`` handed out at most ``most`` bytes a read (as a pipe may), so that a search for a line start meets
    the quotes and line ends of a record across many blocks, as it meets them across 64 KiB ones in a large file."""

    def __init__(self, data: bytes, most: int) -> None:
        self._data, self._at, self._most = data, 0, most

    def read(self, size: int | None = -1) -> bytes:
        size = self._most if size is None or size < 0 else min(size, self._most)
        block = self._data[self._at : self._at + size]
        self._at += len(block)
        return block


WIDE_UNITS = {"utf-8": 1, "gb18030": 1, "utf-16-le": 2, "utf-16-be": 2, "utf-32-le": 4, "utf-32-be": 4}


def next_line_start_by_units(raw: bytes, offset: int, odd: bool, quote: bool, encoding: str) -> int:
    """The first line start after ``offset`` with an even number of quotes before it (counted from an ``odd``
    count at ``offset``; none counted without ``quote``), a code unit at a time; the end if there is none."""
    unit = WIDE_UNITS[encoding]
    feed, mark = "\n".encode(encoding), '"'.encode(encoding)
    for at in range(offset, len(raw) - unit + 1, unit):
        if quote and raw[at : at + unit] == mark:
            odd = not odd
        elif raw[at : at + unit] == feed and not odd:
            return at + unit
    return len(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pieces=st.lists(st.sampled_from(['"', '""', "\n", "\r\n", "a", ",", "上", "\u0a4e", "\u220a", "𠀀"]), max_size=50),
    encoding=st.sampled_from(list(WIDE_UNITS)),
    odd=st.booleans(),
    quote=st.booleans(),
    offset=st.integers(0, 60),
    most=st.integers(1, 8),
)
@example(pieces=['a"a\n', "a\n", '"a\n'], encoding="utf-8", odd=False, quote=True, offset=0, most=4)
@example(pieces=['""""\n', "a\n"], encoding="utf-16-le", odd=False, quote=True, offset=0, most=8)
@example(pieces=["a\n", '""', "b\n", "c\n"], encoding="utf-8", odd=True, quote=True, offset=0, most=4)
@example(pieces=["a\n", '""""', "b\n", "c\n"], encoding="utf-8", odd=True, quote=True, offset=0, most=6)
def test_the_next_line_start_of_a_share_is_the_first_after_an_even_count_of_quotes(
    tmp_path, pieces, encoding, odd, quote, offset, most
):
    """Where a share stops: the first line start past its bytes (``offset`` code units in) with an even number of
    quotes before it, counted in whole code units (上 is 0A 4E in UTF-16LE, U+220A 22 0A: no line end, no quote),
    however the bytes after it arrive, blocks of ``most`` units or fewer ending anywhere in a record (the count
    goes on from one block to the next). The examples: a block that ends after a line inside a quoted cell, a line
    of four quotes, and blocks ending in two and four quotes inside a quoted cell."""
    raw = "".join(pieces).encode(encoding)
    (path := tmp_path / "in.csv").write_bytes(raw)
    unit = WIDE_UNITS[encoding]
    offset = min(offset, len(raw) // unit) * unit
    text = io_encodings._TextEncoding.of(path, encoding)
    found = io_lines._next_line_start(ShortReads(raw[offset:], most * unit), offset, odd, b'"' if quote else b"", text)
    assert found == next_line_start_by_units(raw, offset, odd, quote, encoding)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_utf16_shares_may_stop_at_any_byte_even_inside_a_character(tmp_path, monkeypatch, encoding):
    """A share stops before the first record starting at or past its stop, wherever the stop falls: shares
    from the data start, each stopping at any byte (here every byte of the first 120), join up to the file,
    read in blocks of 16 to 64 bytes (each read after the stop of whole code units: ਊ一, U+0A0A U+4E00, read
    from an odd byte holds a line feed, 0A 00)."""
    monkeypatch.setattr(io_lines, "_FIRST_BLOCK_BYTES", 16)
    monkeypatch.setattr(io_lines, "_BLOCK_BYTES", 64)
    path = tmp_path / "in.csv"
    path.write_text("id,text\n" + "".join(f'{i},"上海ਊ一\n路灯"\n' for i in range(12)), encoding)
    with read_rows(path) as whole:
        expected, start = rows_of(whole), whole.data_start
    for stop in range(start + 1, start + 120):
        assert read_in_shares(path, "csv", encoding, [stop]) == expected


def test_a_byte_range_starting_inside_a_utf16_character_is_refused(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,内容\n1,物业\n", encoding="utf-16")
    with pytest.raises(DataError, match="byte 9 is inside a utf-16-le character"), read_rows(path, byte_range=(9, 20)):
        pass


def hostile_csv(path, n):
    """A CSV with quoted line breaks, doubled quotes, a stray quote that swallows rows, blank and CRLF lines."""
    lines = ["编号,标题,内容"]
    for i in range(n):
        text = TEXTS[i % len(TEXTS)]
        lines.append(
            [
                f'{i},"标题\n第二行","{text}"',
                f'{i},"带""引号""的",{text}',
                f"{i},,{text}",
                "",
                f'{i},ab"c,{text}',  # a quote inside an unquoted cell is text
            ][i % 5]
        )
    lines.insert(n // 2, '99999,"没有结尾的引号,从这里吞下几行')
    path.write_bytes("\r\n".join(lines).encode("utf-8").replace(b"\r\n\r\n", b"\n\r\n") + b"\r\n")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_the_output_is_the_same_byte_for_byte_with_workers(saved_model_dir, tmp_path, suffix):
    hostile_csv(tmp_path / "in.csv", 300)
    common = {"model_path": saved_model_dir, "chunk_size": 7, "progress": False}
    serial = tag_file(tmp_path / "in.csv", tmp_path / f"serial{suffix}", **common)
    parallel = tag_file(tmp_path / "in.csv", tmp_path / f"parallel{suffix}", n_jobs=2, **common)
    assert (tmp_path / f"serial{suffix}").read_bytes() == (tmp_path / f"parallel{suffix}").read_bytes()
    assert serial.rows_out == parallel.rows_out and serial.suspect_rows == parallel.suspect_rows
    assert (serial.errors, serial.first_error, serial.departments) == (
        parallel.errors,
        parallel.first_error,
        parallel.departments,
    )


def test_parquet_and_jsonl_inputs_with_workers(saved_model_dir, tmp_path):
    frame = pd.DataFrame({"id": range(120), "内容": [TEXTS[i % len(TEXTS)] for i in range(120)]})
    frame.to_parquet(tmp_path / "in.parquet", row_group_size=50)
    frame.to_json(tmp_path / "in.jsonl", orient="records", lines=True, force_ascii=False)
    common = {"model_path": saved_model_dir, "chunk_size": 16, "progress": False}
    for source, output in [("in.parquet", "out.parquet"), ("in.parquet", "out.csv"), ("in.jsonl", "out.jsonl")]:
        tag_file(tmp_path / source, tmp_path / f"serial-{output}", **common)
        tag_file(tmp_path / source, tmp_path / f"parallel-{output}", n_jobs=2, **common)
        assert (tmp_path / f"serial-{output}").read_bytes() == (tmp_path / f"parallel-{output}").read_bytes()


def test_a_run_with_workers_resumes_where_it_stopped(saved_model_dir, tmp_path, monkeypatch):
    import triage.batch as batch

    hostile_csv(tmp_path / "in.csv", 200)
    common = {"model_path": saved_model_dir, "chunk_size": 9, "progress": False}
    tag_file(tmp_path / "in.csv", tmp_path / "whole.csv", **common)
    written = []
    real = batch._write_checkpoint

    def stop_after_three_parts(path, state):
        real(path, state)
        written.append(state)
        if len(written) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(batch, "_write_checkpoint", stop_after_three_parts)
    with pytest.raises(KeyboardInterrupt):
        tag_file(tmp_path / "in.csv", tmp_path / "cut.csv", n_jobs=2, **common)
    monkeypatch.setattr(batch, "_write_checkpoint", real)
    assert written[-1]["input_offset"] > 0 and written[-1]["rows_done"] > 0
    with (tmp_path / "cut.csv.partial").open("ab") as partial:
        partial.write(b"half a part")
    summary = tag_file(tmp_path / "in.csv", tmp_path / "cut.csv", n_jobs=2, resume=True, **common)
    assert summary.resumed_after_rows == written[-1]["rows_done"]
    assert (tmp_path / "cut.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_tag_options_are_one_frozen_value_and_keywords_still_work(saved_model_dir, tmp_path):
    hostile_csv(tmp_path / "in.csv", 20)
    options = TagOptions(model_path=saved_model_dir, chunk_size=5, progress=False, text_columns=["内容"])
    with pytest.raises(AttributeError):
        options.chunk_size = 10  # type: ignore[misc]
    tag_file(tmp_path / "in.csv", tmp_path / "a.csv", options)
    tag_file(tmp_path / "in.csv", tmp_path / "b.csv", options, output_format="csv", n_jobs=None)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    with pytest.raises(TypeError, match="unknown options chunksize"):
        tag_file(tmp_path / "in.csv", tmp_path / "c.csv", options, chunksize=5)
    with pytest.raises(ValueError, match="n_jobs must be at least 1"):
        TagOptions(n_jobs=0)
    with pytest.raises(TypeError, match="not the string"):
        TagOptions(text_columns="内容")
    assert TagOptions(n_jobs=None).workers == TagOptions(n_jobs=-1).workers >= 1


@pytest.mark.parametrize(
    ("encoding", "suffix", "extra"),
    [("utf-8", ".xlsx", {}), ("utf-8", ".csv", {"group": True}), ("utf-16", ".csv", {})],
)
def test_inputs_and_options_workers_cannot_share_still_match_serial(saved_model_dir, tmp_path, encoding, suffix, extra):
    """XLSX is written by one writer, grouping numbers rows as read: the parent reads those and sends workers
    texts; the output is still the serial one (UTF-16 input, which workers read in shares, in real processes)."""
    rows = [{"编号": i, "内容": TEXTS[i % len(TEXTS)]} for i in range(40)]
    pd.DataFrame(rows).to_csv(tmp_path / "in.csv", index=False, encoding=encoding)
    common = {"model_path": saved_model_dir, "chunk_size": 6, "progress": False, **extra}
    serial = tag_file(tmp_path / "in.csv", tmp_path / f"serial{suffix}", **common)
    parallel = tag_file(tmp_path / "in.csv", tmp_path / f"parallel{suffix}", n_jobs=2, **common)
    assert serial.rows_out == parallel.rows_out == 40
    if suffix == ".xlsx":  # a workbook holds its save time: compare the cells
        serial_cells, parallel_cells = (
            pd.read_excel(tmp_path / f"{name}.xlsx", dtype=str, engine="calamine") for name in ("serial", "parallel")
        )
        pd.testing.assert_frame_equal(serial_cells, parallel_cells)
    else:
        assert (tmp_path / f"serial{suffix}").read_bytes() == (tmp_path / f"parallel{suffix}").read_bytes()


@pytest.mark.parametrize("worth_a_pool, expected_pools", [(1 << 20, 0), (0, 1)], ids=["small-file", "large-file"])
def test_jobs_left_to_the_cores_start_workers_only_when_the_file_is_worth_it(
    saved_model_dir, tmp_path, monkeypatch, worth_a_pool, expected_pools
):
    from triage.batch import options as tag_options
    from triage.batch import workers

    pools = []
    real_pool = workers._worker_pool
    monkeypatch.setattr(workers, "_WORTH_A_POOL_BYTES", worth_a_pool)
    monkeypatch.setattr(tag_options, "_cores_present", lambda: 2)
    monkeypatch.setattr(workers, "_worker_pool", lambda jobs, *a: pools.append(jobs) or real_pool(jobs, *a))
    hostile_csv(tmp_path / "in.csv", 40)
    options = {"model_path": saved_model_dir, "n_jobs": None, "progress": False}
    summary = tag_file(tmp_path / "in.csv", tmp_path / "out.csv", **options)
    assert summary.rows_out > 0 and pools == [2] * expected_pools


def test_one_worker_gets_whole_shares_until_two_are_left_then_halves_down_to_an_eighth(tmp_path):
    """100 lines of 10 bytes, 10 rows a share: about 100 bytes, cut at the first line start after them (110),
    until fewer than two shares are left; then half of what is left (60 -> 70, 25 -> 30), never less than an
    eighth of a share (12 -> 20), the last share taking the rest."""
    path = tmp_path / "in.csv"
    path.write_bytes(b"abcdefghi\n" * 100)
    shares = list(byte_shares(path, "csv", 0, 10))
    assert [stop - first for first, stop in shares] == [110] * 8 + [70, 30, 20]
    assert shares[0][0] == 0 and all(a[1] == b[0] for a, b in itertools.pairwise(shares))
