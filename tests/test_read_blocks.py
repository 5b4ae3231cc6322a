"""The block reader of CSV/TSV/JSONL text (``triage.io._Lines``) against the line-by-line reader it
replaced, kept here as the oracle: the same rows, errors and flags, and after every row the same byte
position, line count and count of undecodable lines, for whole files and any byte range, whatever
the block sizes. Blocks are made tiny here so that files of a few lines cross many block ends. The
encoding votes, also read in blocks now, are checked against the line-by-line count the same way.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Generator, Iterable, Iterator
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import triage.io as tio
import triage.io.delimited as io_delimited
import triage.io.encodings as io_encodings
import triage.io.jsonl as io_jsonl
import triage.io.lines as io_lines
from triage.io import Row, read_rows

# Pieces of hostile exports: quotes, delimiters, every line end, blank lines, a BOM, line breaks that
# str.splitlines splits at but CSV readers do not (form feed, NEL, U+2028, file separator), JSON
# punctuation, and bytes no encoding here decodes (JUNK) or that start a character the line ends in (LEAD).
PIECES = [
    "物业乱收费", "派出所", "a", "7", ",", "\t", '"', '""', "\n", "\r\n", "\r", "\n\n", "\r\r\n",
    "\ufeff", "\x0c", "\x85", "\u2028", "\x1c", " ", "{", "}", ":", '"k"', "JUNK", "LEAD",
]  # fmt: skip
ENCODINGS = ["utf-8-sig", "utf-8", "gb18030", "cp1252", "latin-1"]
HEADERS = {"csv": "id,标题,内容\n", "tsv": "id\t标题\t内容\r\n", "jsonl": '{"id": 1, "内容": "物业"}\n'}


class OracleLines:
    """triage.io.lines._Lines before it read in blocks: one decoded line at a time, counting as it goes."""

    def __init__(self, handle: Any, start: int, encoding: str, translate: bool = False) -> None:
        self._handle = handle
        self.position = start
        self.count = 0
        self.undecodable = 0
        utf8 = codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")
        self._encoding = "utf-8" if utf8 else encoding
        self._translate = translate
        if utf8 and start == 0 and handle.peek(3)[:3] == codecs.BOM_UTF8:  # utf-8 given by name skips it too
            self.position += len(handle.read(3))

    def back_to(self, position: int, count: int, undecodable: int) -> None:
        """Read again from ``position``, where ``count`` lines (``undecodable`` of them so) had been read."""
        self._handle.seek(position)
        self.position, self.count, self.undecodable = position, count, undecodable

    def __iter__(self) -> Iterator[str]:
        for raw in self._handle:
            for piece in raw.splitlines(keepends=True) if b"\r" in raw else (raw,):
                self.position += len(piece)
                self.count += 1
                try:
                    line = piece.decode(self._encoding)
                except UnicodeDecodeError:
                    line = piece.decode(self._encoding, "surrogateescape")
                    self.undecodable += 1
                if self._translate and "\r" in line[-2:]:
                    line = line.rstrip("\r\n") + "\n"
                yield line


def oracle_delimited_rows(
    reader: Any, header: list[str], delimiter: str, encoding: str, lines: OracleLines, stop: int | None
) -> Generator[Row]:
    """triage.io.delimited._delimited_rows before the block reader: the line source counted per line. A record whose
    quote runs away is read again from its second line, the first split at every delimiter."""
    check_utf8 = io_encodings._is_gb(encoding)
    width = len(header)
    number = 0
    read_before = undecodable_before = 0

    def again_after_first_line(start: int) -> list[str]:
        nonlocal reader
        lines.back_to(start, read_before, undecodable_before)
        source = iter(lines)
        first = next(source)
        reader = io_lines._csv_reader(source, delimiter)
        return tio.row_cells(first.rstrip("\r\n").split(delimiter), header)[0]

    while stop is None or lines.position < stop:
        read_before, undecodable_before, start = lines.count, lines.undecodable, lines.position
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as problem:
            number += 1
            error = io_delimited._unreadable_record(problem, lines.count - read_before)
            yield Row(number, again_after_first_line(start), error)
            continue
        if not values:
            continue
        number += 1
        if reader.ran_out_in_quotes:
            error = io_delimited._open_quote(lines.count - read_before)
            yield Row(number, again_after_first_line(start), error)
            continue
        one_line, undecodable = lines.count - read_before == 1, lines.undecodable != undecodable_before
        if undecodable or max(map(len, values)) > tio.MAX_CELL_CHARS:
            cells, error = tio.row_cells(values, header, encoding)
        elif len(values) == width:
            cells, error = values, ""
        else:
            cells, error = (values + [""] * (width - len(values)))[:width], ""
        if not error and len(values) != width:
            error = f"row has {len(values)} fields, the header has {width} (stray quote or delimiter?)"
        if not error and check_utf8:
            error = io_encodings._utf8_read_as_gb(cells, encoding)
        if not error and io_delimited._repeats_header(cells, header):
            error = io_delimited._REPEATED_HEADER
        yield Row(
            number, cells, error, not error and not one_line and io_delimited._merged_rows(cells, delimiter, width)
        )


def oracle_lines_before(lines: OracleLines, stop: int | None) -> Iterator[str]:
    iterator = iter(lines)
    while stop is None or lines.position < stop:
        line = next(iterator, None)
        if line is None:
            return
        yield line


def oracle_read(path, kind, encoding, start=None, stop=None):
    """``(header, data start, [(row, position, count, undecodable) after each row and at the end]))``."""
    translate = kind == "jsonl"
    with path.open("rb") as handle:
        lines = OracleLines(io.BufferedReader(handle), 0, encoding, translate)
        if kind == "jsonl":
            keys = io_jsonl._merged_keys([io_jsonl._keys_seen(lines)])
            header, data_start = list(keys), 0
        else:
            header = io_delimited._delimited_header(
                next(io_lines._csv_reader(lines, io_delimited._DELIMITERS[kind]), None), encoding
            )
            keys, data_start = header, lines.position
    start = data_start if start is None else start
    with path.open("rb") as handle:
        handle.seek(start)
        lines = OracleLines(io.BufferedReader(handle, buffer_size=1 << 16), start, encoding, translate)
        if kind == "jsonl":
            rows = io_jsonl._jsonl_rows(oracle_lines_before(lines, stop), header, keys, encoding)
        else:
            reader = io_lines._csv_reader(lines, io_delimited._DELIMITERS[kind])
            rows = oracle_delimited_rows(reader, header, io_delimited._DELIMITERS[kind], encoding, lines, stop)
        return header, data_start, stepped(rows, lines)


def block_read(path, kind, encoding, start=None, stop=None):
    """What :func:`oracle_read` gives, from the block reader."""
    translate = kind == "jsonl"
    lines, handle = io_lines._text_lines(path, 0, encoding, translate, count=False)
    with handle:
        if kind == "jsonl":
            keys = io_jsonl._jsonl_keys(path, encoding, 1)
            header, data_start = list(keys), 0
        else:
            header = io_delimited._delimited_header(
                next(lines.csv_reader(io_delimited._DELIMITERS[kind]), None), encoding
            )
            keys, data_start = header, lines.position
    start = data_start if start is None else start
    lines, handle = io_lines._text_lines(path, start, encoding, translate, count=True, stop=stop)
    with handle:
        if kind == "jsonl":
            rows = io_jsonl._jsonl_rows(lines, header, keys, encoding)
        else:
            delimiter = io_delimited._DELIMITERS[kind]
            rows = io_delimited._delimited_rows(lines.csv_reader(delimiter), header, delimiter, encoding, lines)
        return header, data_start, stepped(rows, lines)


def stepped(rows: Iterable[Row], lines: Any) -> list[tuple[Row | None, int, int, int]]:
    steps: list[tuple[Row | None, int, int, int]] = [
        (row, lines.position, lines.count, lines.undecodable) for row in rows
    ]
    return [*steps, (None, lines.position, lines.count, lines.undecodable)]


def export_bytes(kind: str, encoding: str, pieces: list[str], bom: bool) -> bytes:
    text = HEADERS[kind] + "".join(pieces)
    raw = text.encode("utf-8" if encoding.startswith("utf") else encoding, errors="backslashreplace")
    raw = raw.replace(b"JUNK", b"\xff\xfe\x81").replace(b"LEAD", "物".encode("gb18030")[:1])
    return (codecs.BOM_UTF8 if bom else b"") + raw


def tiny_blocks(first: int, largest: int):
    return mock.patch.multiple(io_lines, _FIRST_BLOCK_BYTES=first, _BLOCK_BYTES=max(first, largest))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pieces=st.lists(st.sampled_from(PIECES), max_size=80),
    kind=st.sampled_from(["csv", "tsv", "jsonl"]),
    encoding=st.sampled_from(ENCODINGS),
    bom=st.booleans(),
    blocks=st.tuples(st.integers(1, 64), st.integers(1, 256)),
    data=st.data(),
)
def test_rows_positions_and_counts_are_those_of_the_line_by_line_reader(
    tmp_path, pieces, kind, encoding, bom, blocks, data
):
    raw = export_bytes(kind, encoding, pieces, bom)
    path = tmp_path / f"in.{kind}"
    path.write_bytes(raw)
    # any start and stop byte, not only line starts: the two must agree wherever a share is cut
    ranges = data.draw(
        st.lists(st.tuples(st.integers(0, len(raw)), st.integers(0, len(raw) + 2)), max_size=4), label="ranges"
    )
    for start, stop in [(None, None), *ranges]:
        try:
            expected = oracle_read(path, kind, encoding, start, stop)
        except tio.DataError as problem:  # no header: the block reader must say the same
            with tiny_blocks(*blocks), pytest.raises(tio.DataError, match=re.escape(str(problem))):
                block_read(path, kind, encoding, start, stop)
            return
        with tiny_blocks(*blocks):
            assert block_read(path, kind, encoding, start, stop) == expected


def read_in_shares(path, fmt, encoding, cuts):
    """Rows read share by share, each starting where the one before ended (as the tagger reads)."""
    with read_rows(path, format=fmt, encoding=encoding) as whole:
        start = whole.data_start
    found, expected = [], start
    for stop in sorted({c for c in cuts if c > start} | {os.path.getsize(path)}):
        if expected >= stop:
            continue
        with read_rows(path, format=fmt, encoding=encoding, chunk_size=4, byte_range=(expected, stop)) as share:
            found += [(row.cells, row.error, row.suspect) for chunk in share.chunks for row in chunk]
            expected = share.position()
    assert expected == os.path.getsize(path)
    return found


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pieces=st.lists(st.sampled_from(PIECES), max_size=80),
    kind=st.sampled_from(["csv", "tsv", "jsonl"]),
    encoding=st.sampled_from(["utf-8-sig", "gb18030"]),
    blocks=st.tuples(st.integers(1, 64), st.integers(1, 256)),
    data=st.data(),
)
def test_shares_cut_at_line_starts_join_up_to_the_whole_file(tmp_path, pieces, kind, encoding, blocks, data):
    raw = export_bytes(kind, encoding, pieces, bom=False)
    path = tmp_path / f"in.{kind}"
    path.write_bytes(raw)
    starts = [i + 1 for i, byte in enumerate(raw) if byte in b"\r\n" and raw[i + 1 : i + 2] != b"\n"]
    cuts = data.draw(st.lists(st.sampled_from(starts), max_size=8), label="cuts")
    with tiny_blocks(*blocks):
        with read_rows(path, format=kind, encoding=encoding) as whole:
            expected = [(row.cells, row.error, row.suspect) for chunk in whole.chunks for row in chunk]
        assert read_in_shares(path, kind, encoding, cuts) == expected


@pytest.mark.parametrize("blocks", [(1 << 16, 1 << 18), (64, 128)], ids=["one-read", "many-reads"])
def test_a_share_ending_at_a_line_start_reads_no_further_than_its_last_record(tmp_path, blocks):
    """The tagger's shares end after a line end: the block reader must not read or decode past it, whether the
    share is read at once or in many blocks."""
    path = tmp_path / "in.csv"
    body = "".join(f'{i},"第{i}行\n续行"\r\n' for i in range(50))
    path.write_bytes(("id,内容\r\n" + body).encode("utf-8") + b"\xff" * 100_000)
    with read_rows(path) as whole:
        start = whole.data_start
    stop = path.stat().st_size - 100_000
    with tiny_blocks(*blocks), read_rows(path, byte_range=(start, stop)) as share:
        rows = [row for chunk in share.chunks for row in chunk]
        assert share.position() == stop and share._lines is not None
        assert share._lines.undecodable == 0 and not share._lines.bad  # the bytes past stop: never decoded
        assert share._lines._handle.tell() == stop  # nor asked for (a file buffer's read-ahead aside)
    assert [row.cells[1] for row in rows] == [f"第{i}行\n续行" for i in range(50)]
    assert not any(row.error or row.suspect for row in rows)


def test_undecodable_lines_are_remembered_only_until_read_past(tmp_path):
    """A file of bad bytes on every line keeps a short list of them, however long it is."""
    path = tmp_path / "in.csv"
    path.write_bytes(b"id,text\n" + b"".join(b"%d,\xff\xfe\n" % i for i in range(20_000)))
    with tiny_blocks(1 << 10, 1 << 12), read_rows(path, encoding="utf-8") as export:
        longest = 0
        for chunk in export.chunks:
            assert all(row.error.startswith("bytes not valid in utf-8") for row in chunk)
            longest = max(longest, len(export._lines.bad))
        assert export._lines.undecodable == 20_000
    assert longest < 1_000


@pytest.mark.parametrize(
    ("encoding", "first"), [("cp1252", "\u00ef\u00bb\u00bfid"), ("cp1252", "XXXX"), ("gb18030", "XXXX")]
)
def test_only_utf8s_byte_order_mark_is_skipped_in_a_one_byte_encoding(tmp_path, encoding, first):
    """In cp1252 the bytes of UTF-8's byte-order mark are the text "ï»¿", and other one-byte encodings have no
    mark: the first bytes of such a file are its first cell's, whatever they are."""
    (path := tmp_path / "in.csv").write_bytes(f"{first},text\n1,a\n".encode(encoding))
    with read_rows(path, encoding=encoding) as export:
        assert export.header == [first, "text"]


def test_gb18030s_own_byte_order_mark_is_skipped(tmp_path):
    """GB18030 writes U+FEFF as 84 31 95 33 (some Windows tools start a file with it): at the start of the file it
    is skipped, as UTF-8's is in UTF-8; the first column name was "\ufeff编号" and not found by name."""
    (path := tmp_path / "in.csv").write_bytes("\ufeff编号,内容\n1,路灯坏了\n".encode("gb18030"))
    with read_rows(path) as export:
        assert export.encoding.encoding == "gb18030"
        assert export.header == ["编号", "内容"] and [row.cells for row in next(export.chunks)] == [["1", "路灯坏了"]]


def test_the_progress_bar_of_a_file_read_whole_ends_at_its_size(tmp_path):
    """Progress is shown in bytes of the file: the header's count too, so the bar ends full."""
    path = tmp_path / "in.csv"
    path.write_text("id,内容\n" + "".join(f"{i},物业乱收费\n" for i in range(500)), encoding="utf-8")
    with read_rows(path, chunk_size=50, progress="reading") as export:
        assert sum(len(chunk) for chunk in export.chunks) == 500
        assert export._bar.n == export._bar.total == path.stat().st_size


def test_a_file_of_lines_ending_in_cr_alone_is_read_in_blocks_not_whole(tmp_path):
    """Old Mac exports end lines with a CR alone: blocks are cut after one too (not the last byte of a read, which
    may be the first half of a CRLF), so a block stays near the size read, however long the file."""
    path = tmp_path / "in.csv"
    path.write_bytes(("id,内容\r" + "".join(f"{i},物业乱收费\r" for i in range(1000))).encode())
    with tiny_blocks(64, 256), read_rows(path, chunk_size=1) as export:
        largest = max(len(export._lines.block.raw) for chunk in export.chunks for _ in chunk)
        assert export._lines.count == 1000
    assert largest <= 256 + 32 < path.stat().st_size // 50  # a read and the part line read before it


def oracle_encoding_votes(handle: Any, budget: int) -> tuple[dict[str, int], int, bool]:
    """triage.io.encodings._encoding_votes before it read in blocks: a line at a time."""
    votes = {"utf-8": 0, "gb18030": 0, "": 0}
    lines = 0
    while budget > 0 and (line := handle.readline(budget)):
        budget -= len(line)
        if budget <= 0 and not line.endswith(b"\n"):
            break
        lines += 1
        if not line.isascii():
            encoding = next((e for e in ("utf-8", "gb18030") if io_encodings._decodes(line, e)), "")
            votes[encoding] += 1
    return votes, lines, budget <= 0


# Lines in UTF-8, in GB18030 (which UTF-8 refuses), ASCII, and bytes neither decodes.
VOTE_PIECES = ["派出所".encode(), "派出所".encode("gb18030"), b"a,b", b"\n", b"\r\n", b"\xff", b"\xe4"]


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(VOTE_PIECES), max_size=60),
    sample=st.integers(1, 300),
    block=st.integers(1, 64),
)
def test_encoding_votes_are_those_of_the_line_by_line_count(pieces, sample, block):
    raw = b"".join(pieces)
    expected = oracle_encoding_votes(io.BytesIO(raw), sample)
    with mock.patch.multiple(io_encodings, _ENCODING_SAMPLE_BYTES=sample, _BLOCK_BYTES=block):
        assert io_encodings._encoding_votes(io.BytesIO(raw)) == expected


def _records_and_line_numbers(reader: Any) -> list[tuple[Any, int]]:
    """Every record (or the csv error's message) a reader gives, with its ``line_num`` after it."""
    out: list[tuple[Any, int]] = []
    while True:
        try:
            record: Any = next(reader)
        except StopIteration:
            return out
        except csv.Error as problem:
            record = f"csv.Error: {problem}"
        out.append((record, reader.line_num))


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.sampled_from([*PIECES, "\x00", "a,b", ' "', '" ', "X"]), max_size=40), tsv=st.booleans())
def test_lines_without_quotes_are_split_as_the_csv_module_reads_them(pieces, tsv):
    """The splitting reader gives csv.reader's records and line numbers, quoted records over several
    lines included (lines cut where a universal-newline reader cuts them, as _Lines does)."""
    lines = list(io.StringIO("".join(pieces), newline=""))
    delimiter = "\t" if tsv else ","
    expected = _records_and_line_numbers(csv.reader(iter(lines), delimiter=delimiter))
    assert _records_and_line_numbers(io_lines._csv_reader(lines, delimiter)) == expected


def test_a_line_without_quotes_over_the_field_limit_is_split_where_the_csv_module_refuses_it():
    """csv.reader refuses a field over its limit and loses the record; a line with no quote is split anyway
    (the cell rule then fails only that cell), and a quoted one still meets the limit."""
    lines = ["短,行\n", "一" * 30 + ",x\n", '"' + "二" * 30 + '",y\n', "a,b\n"]
    old = csv.field_size_limit(20)
    try:
        expected = _records_and_line_numbers(csv.reader(iter(lines)))
        got = _records_and_line_numbers(io_lines._SplittingReader(lines, ","))
    finally:
        csv.field_size_limit(old)
    assert [record for record, _ in expected][1:3] == ["csv.Error: field larger than field limit (20)"] * 2
    assert got == [expected[0], (["一" * 30, "x"], 2), expected[2], expected[3]]
