"""The decoded lines of a CSV/TSV/JSONL file from a byte offset (:class:`_Lines`), the CSV reader of them, and the
byte shares a file is read in by workers (:func:`byte_shares`, :func:`joined_shares`)."""

from __future__ import annotations

import bisect
import csv
import io
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from triage.io.cells import MAX_CELL_CHARS
from triage.io.encodings import _BLOCK_BYTES, _TextEncoding
from triage.io.errors import DataError


class _CountingReader(io.RawIOBase):
    """A binary file that counts the bytes read through it (for progress by bytes), telling ``on_read`` the bytes
    of each read when given (a read is of a buffer, 64 KiB or more: no cost to speak of)."""

    def __init__(self, raw: Any, count: int = 0, on_read: Callable[[int], object] | None = None) -> None:
        self._raw = raw
        self.count = count
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)
        self.count += n or 0
        if self._on_read is not None and n:
            self._on_read(n)
        return n

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset``; the count follows (a record read again is progress shown again)."""
        self.count = self._raw.seek(offset, whence)
        return self.count

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()
        super().close()


# Bytes read and decoded at a time: the first read of a file (often just its header) and a record
# running on past its share's stop read small; each further read doubles, up to the largest (256 KiB
# blocks read faster than 1 MiB ones, which no longer sit in the CPU's cache, and hold less memory): _BLOCK_BYTES,
# which the encoding sample is read in too.
_FIRST_BLOCK_BYTES = 1 << 16


@dataclass(slots=True)
class _Block:
    """Where the lines of one block of bytes (cut after a line end) lie in the file."""

    first: int  # lines before it
    start: int  # its byte offset
    raw: bytes
    encoding: _TextEncoding
    _ends: list[int] | None = None

    def offset_after(self, lines: int) -> int:
        """The byte offset after its first ``lines`` lines."""
        if self._ends is None:  # only for a block the reading ends in, when asked where
            self._ends = list(itertools.accumulate(map(len, self.encoding.lines(self.raw))))
        if lines >= len(self._ends):
            return self.start + len(self.raw)
        return self.start + self._ends[lines - 1] if lines > 0 else self.start


class _Lines:
    """The decoded lines of a text file from byte ``start``, split where a universal-newline reader
    splits (after ``\\n``, ``\\r\\n`` or a lone ``\\r``), counting bytes: :attr:`position` is the
    offset of the first line not yet handed out. A line decoded on its own reads as it does inside the
    whole file (line ends are found in whole code units: :class:`~triage.io.encodings._TextEncoding`); the one
    line source of every CSV, TSV and JSONL read, whole or in shares, so both give the same rows.
    ``translate`` turns line ends into ``\\n`` (as :class:`io.TextIOWrapper` does for JSONL).
    :attr:`count` and :attr:`undecodable` count the lines handed out and those holding bytes not valid in
    the encoding (kept as lone surrogates), so a reader can tell whether a record ran over several
    lines or holds such bytes without looking at its cells. :attr:`stop_reached` tells when the last
    line starting before byte ``stop`` (the end of a share) has been handed out.

    Lines are handed out either one at a time by iterating (up to ``stop``), or all of them to
    :meth:`csv_reader`, whose ``line_num`` is then the count (its caller stops at records, which may
    run on past ``stop``); use one or the other. A record the csv reader ran away with is read again
    from its second line (:meth:`reread_after_first_line`). Either way the bytes are read and decoded in blocks
    cut after a line end, and the lines reach the reader through C-level iterators: a block that
    decodes whole is split at LF, or by :class:`io.StringIO` if it holds a CR (which splits where this
    reader does, unlike ``str.splitlines``); one that does not decode whole is decoded line by line,
    which finds the undecodable lines."""

    def __init__(
        self, handle: Any, start: int, encoding: _TextEncoding, translate: bool = False, stop: int | None = None
    ) -> None:
        self._handle = handle  # buffered, positioned at ``start``
        bom = encoding.bom
        if bom and start == 0 and handle.peek(len(bom))[: len(bom)] == bom:
            start += len(handle.read(len(bom)))  # as the utf-8-sig decoder does: only at the very start
        self._start, self._stop = start, stop
        self._encoding = encoding
        self._newline = None if translate else ""
        self.stop_reached = stop is not None and start >= stop
        #: Numbers (from 1) of the undecodable lines read and not yet looked past (:meth:`undecodable_in`).
        self.bad: list[int] = []
        self._bad_forgotten = 0
        #: The block the last line handed out came from (None before the first): with :attr:`count` taken at
        #: the same time, where the next record starts (:meth:`reread_after_first_line`).
        self.block: _Block | None = None
        self._handed = 0
        self._reader: Any = None
        self._before = 0  # lines handed out before the current reader started (a record read again)
        self._lines = itertools.chain.from_iterable(self._blocks())

    @property
    def count(self) -> int:
        return self._before + (self._reader.line_num if self._reader is not None else self._handed)

    @property
    def position(self) -> int:
        return self._offset_after(self.block, self.count)

    def _offset_after(self, block: _Block | None, count: int) -> int:
        """The byte offset after line ``count``, which ``block`` (the block current then) holds or ends."""
        return self._start if block is None else block.offset_after(count - block.first)

    @property
    def undecodable(self) -> int:
        return self._bad_forgotten + bisect.bisect_right(self.bad, self.count)

    def undecodable_in(self, first: int, last: int) -> bool:
        """Whether any of lines ``first`` to ``last`` (numbered from 1) holds undecodable bytes; asked
        in file order, so the lines before ``first`` are forgotten (only counted)."""
        self._forget_bad_before(first)
        return bool(self.bad) and self.bad[0] <= last

    def csv_reader(self, delimiter: str) -> Any:
        """A reader of all the lines that reads as :func:`csv.reader` does (:class:`_SplittingReader`)."""
        self._reader = _csv_reader(self._lines, delimiter)
        return self._reader

    def reread_after_first_line(self, block: _Block | None, count: int, delimiter: str) -> tuple[str, Any]:
        """``(first line, new csv reader of the lines after it)`` of the record that started after line ``count``
        (``block`` being :attr:`block` then). For a record whose quoted cell never closed: it swallowed the
        lines after its first, which are read again as records of their own (nothing is lost)."""
        start = self._offset_after(block, count)
        del self.bad[bisect.bisect_right(self.bad, count) :]  # decoded again, and counted again, below
        self._handle.seek(start)
        self._start, self.block, self._reader, self._handed, self._before = start, None, None, 0, count
        self.stop_reached = self._stop is not None and start >= self._stop
        self._lines = itertools.chain.from_iterable(self._blocks())
        first = next(self._lines)  # the record has one, so the file does
        self._before = count + 1
        return first, self.csv_reader(delimiter)

    def __iter__(self) -> Iterator[str]:
        lines = self._lines
        while not self.stop_reached and (line := next(lines, None)) is not None:
            self._handed += 1
            yield line

    def _forget_bad_before(self, line: int) -> None:
        """Keep only a count of the undecodable lines before ``line`` (memory stays flat)."""
        if passed := bisect.bisect_left(self.bad, line):
            self._bad_forgotten += passed
            del self.bad[:passed]

    def _blocks(self) -> Iterator[Iterable[str]]:
        """The lines of each block. Each is made when the reader has taken all lines before it (so
        :attr:`count` then numbers them); the block that reaches ``stop`` is cut before the last line
        starting before ``stop``, so :attr:`stop_reached` turns true when the reader gets to that line."""
        stop = self._stop
        for offset, raw in self._raw_blocks():
            if self.stop_reached or stop is None or offset + len(raw) < stop:
                yield self._decoded(offset, raw)
                continue
            cut = self._encoding.last_line_start(raw, stop - offset)
            if cut:
                yield self._decoded(offset, raw[:cut])
            self.stop_reached = True
            yield self._decoded(offset + cut, raw[cut:])

    def _raw_blocks(self) -> Iterator[tuple[int, bytes]]:
        """``(byte offset, bytes)`` of blocks cut after a line end; none runs past ``stop`` unless a
        line does."""
        read, stop = self._handle.read, self._stop
        offset, size = self._start, _FIRST_BLOCK_BYTES
        pending: list[bytes] = []  # read since the last line end (a long line: joined once)
        ahead = offset
        while True:
            if stop is not None and ahead < stop:
                data = read(min(_BLOCK_BYTES, stop - ahead))
            else:
                data, size = read(size), min(2 * size, _BLOCK_BYTES)
            ahead += len(data)
            if not data:
                if pending:
                    yield offset, b"".join(pending)
                return
            cut = self._encoding.after_last_line_end(data)
            if not cut:
                pending.append(data)  # no line end yet: read on
                continue
            head, tail = (data, b"") if cut == len(data) else (data[:cut], data[cut:])
            raw = b"".join([*pending, head]) if pending else head
            pending = [tail] if tail else []
            yield offset, raw
            offset += len(raw)

    def _decoded(self, offset: int, raw: bytes) -> Iterable[str]:
        """The lines of the block at ``offset``, decoded whole when it can be."""
        first = self.count
        self.block = _Block(first, offset, raw, self._encoding)
        if self._reader is None:
            self._forget_bad_before(first + 1)
        codec = self._encoding.codec
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            pass
        else:
            if "\r" in text:
                return io.StringIO(text, newline=self._newline)
            lines = text.split("\n")  # LF only: split twice as fast as by a StringIO
            last = lines.pop()  # after the last LF: empty unless the file ends without one
            lines = [line + "\n" for line in lines]
            if last:
                lines.append(last)
            return lines
        lines = []
        for number, piece in enumerate(self._encoding.lines(raw), first + 1):
            try:
                line = piece.decode(codec)
            except UnicodeDecodeError:
                line = piece.decode(codec, self._encoding.errors)
                self.bad.append(number)
            if self._newline is None and "\r" in line[-2:]:
                line = line.rstrip("\r\n") + "\n"
            lines.append(line)
        return lines


# The csv module refuses fields over its (process-wide) limit, losing the row; it is raised to well
# past MAX_CELL_CHARS so a long cell reaches the check that keeps its row.
_CSV_FIELD_LIMIT = 16 * MAX_CELL_CHARS


def _csv_reader(lines: Iterable[str], delimiter: str) -> _SplittingReader:
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
    return _SplittingReader(lines, delimiter)


class _SplittingReader:
    r"""What ``csv.reader(lines, delimiter=delimiter)`` reads, records and ``line_num``, with every line
    that holds no quote split by :meth:`str.split`: such a line is one whole record whose fields hold no
    line break (the lines end at ``\n``, ``\r\n`` or ``\r``, as a universal-newline reader cuts them),
    and the csv module reads a character at a time (a votes line, ~1 KB: 1.5 us, split 0.8 us).
    A line with a quote goes to a ``csv.reader``, which reads on through the following lines while its
    quoted field runs over them, up to its field limit (a stray quote cannot swallow the rest of the file).
    A line without one is split however long: where csv.reader would refuse a field over its limit and
    lose the whole record, the row keeps its other cells and the long one is its error (the cell rule)."""

    def __init__(self, lines: Iterable[str], delimiter: str) -> None:
        self._lines = iter(lines)
        self._delimiter = delimiter
        self._held: list[str] = []  # the quoted line the csv reader starts its next record with
        self._csv = csv.reader(self._feed(), delimiter=delimiter)
        self._split = 0  # lines split here
        #: Whether the input ended inside a quoted field: the last record ran on to the end of the file
        #: (csv.reader, not strict, reads on to the end and gives the record as it stands).
        self.ran_out_in_quotes = False

    @property
    def line_num(self) -> int:
        """Lines read so far (also while the csv reader reads on: :class:`_Lines` numbers blocks by it)."""
        return self._split + self._csv.line_num

    def _feed(self) -> Iterator[str]:
        while True:
            if self._held:
                yield self._held.pop()
            elif (line := next(self._lines, None)) is not None:
                yield line
            else:  # only a record still inside a quoted field reads past the last line
                self.ran_out_in_quotes = True
                return

    def __iter__(self) -> _SplittingReader:
        return self

    def __next__(self) -> list[str]:
        line = next(self._lines)
        if '"' in line:
            self._held.append(line)
            return next(self._csv)
        self._split += 1
        text = line.rstrip("\r\n")
        return text.split(self._delimiter) if text else []


def _text_lines(
    path: Path,
    start: int,
    encoding: str,
    translate: bool,
    count: bool,
    stop: int | None = None,
    on_read: Callable[[int], object] | None = None,
) -> tuple[_Lines, Any]:
    """``(lines from byte start, the file to close)``; with ``count``, a :class:`_CountingReader` for progress
    (telling ``on_read`` the bytes of each read)."""
    text = _TextEncoding.of(path, encoding)
    if start % text.unit:
        raise DataError(f"byte {start:,} is inside a {text.codec} character: a byte range starts at a line start")
    if stop is not None:  # records start at whole code units: the same records, and every read is of whole units
        stop = -(-stop // text.unit) * text.unit
    raw = path.open("rb")
    raw.seek(start)
    source = _CountingReader(raw, start, on_read) if count else raw
    return _Lines(io.BufferedReader(source, buffer_size=1 << 16), start, text, translate, stop), source


#: The smallest share near a file's end, as a fraction of a whole one (see :func:`byte_shares`).
_SMALLEST_TAIL_SHARE = 8


#: What reading one byte share gives (see :func:`joined_shares`).
_Share = TypeVar("_Share")


def byte_shares(
    path: str | Path,
    format: str,
    start: int,
    rows: int,
    workers: int = 1,
    *,
    share_bytes: int | None = None,
    encoding: str = "utf-8",
) -> Iterator[tuple[int, int]]:
    """Byte ranges ``(start, stop)`` covering a CSV/TSV/JSONL file in ``encoding`` from ``start`` to its end,
    each of about ``rows`` records (or ``share_bytes`` bytes), for workers that read their own share
    (``read_rows(byte_range=...)``).

    Near the end, once fewer bytes are left than two shares per worker, shares get smaller (down to
    an eighth), so that ``workers`` processes run out of work at nearly the same time instead of one
    finishing a whole last share while the others wait.

    Ranges are cut at line starts; in CSV/TSV only where an even number of quotes has gone by since
    ``start``, so not inside a quoted cell that holds line breaks. A stray quote can still mislead the
    count: then the range before reads on past its stop (:meth:`triage.io.Export.position` says how far), and
    the caller re-reads the next range from there. A CSV/TSV file is read once, at the speed of counting bytes.
    A JSONL record ends at every line end (a JSON string holds no raw line break), so a JSONL range is cut
    with a seek and a read up to the next line end: a 409 MB file in 64 MB shares: 0.6 MB read instead of 410.
    """
    path = Path(path)
    end = path.stat().st_size
    text = _TextEncoding.of(path, encoding)
    unit = text.unit
    with path.open("rb") as handle:
        size = share_bytes or _bytes_of_rows(handle, start, rows, text)
        smallest = max(1, size // _SMALLEST_TAIL_SHARE)
        quote = b"" if format == "jsonl" else b'"'
        while end - start > (share := max(smallest, min(size, (end - start) // (2 * workers)))):
            cut = start + -(-share // unit) * unit  # whole code units
            stop = _next_line_start(handle, cut, _odd_quotes(handle, start, cut, quote, text), quote, text)
            if stop >= end:
                break
            yield start, stop
            start = stop
    yield start, end


def _bytes_of_rows(handle: Any, start: int, rows: int, text: _TextEncoding) -> int:
    """About how many bytes ``rows`` lines from byte ``start`` take, from the first MiB there."""
    handle.seek(start)
    sample = handle.read(1 << 20)
    return max(1, rows * len(sample) // max(text.chart(sample).count(b"\n"), 1))


def _odd_quotes(handle: Any, start: int, stop: int, quote: bytes, text: _TextEncoding) -> bool:
    """Whether bytes ``[start, stop)`` hold an odd number of ``quote`` characters, leaving ``handle`` at ``stop``
    (no ``quote``: none are counted, and nothing is read)."""
    if not quote:
        handle.seek(stop)
        return False
    handle.seek(start)
    return text.chart(handle.read(stop - start)).count(quote) % 2 == 1


def joined_shares(
    read: Iterable[tuple[tuple[int, int], _Share]],
    start: int,
    end_of: Callable[[_Share], int],
    read_again: Callable[[int, int], _Share],
) -> Iterator[tuple[int, _Share]]:
    """``(where it starts, what was read)`` of each of the :func:`byte_shares` ``read`` in order (each share
    with what reading it gave), joined up from byte ``start``: a share whose start lies inside the record the
    share before ran on with (a stray quote fooled the cut) is read again (``read_again(from, stop)``) from
    where that one ended (``end_of``), or skipped when that record ran past its stop."""
    expected = start
    for (first, stop), result in read:
        if first != expected:
            if expected >= stop:
                continue
            result = read_again(expected, stop)
        yield expected, result
        expected = end_of(result)


def _next_line_start(handle: Any, offset: int, odd: bool, quote: bytes, text: _TextEncoding) -> int:
    """The first line start after byte ``offset`` (where ``handle`` is, at a code unit's start) with an even
    number of ``quote`` characters before it (``odd``: the count up to ``offset`` is odd; no ``quote``: any
    line start); the file's end if there is none."""
    while block := handle.read(1 << 16):
        chart, at = text.chart(block), 0
        while (newline := chart.find(b"\n", at)) >= 0:
            if quote:
                odd ^= chart.count(quote, at, newline) % 2 == 1
            at = newline + 1
            if not odd:
                return offset + at * text.unit
        if quote:
            odd ^= chart.count(quote, at) % 2 == 1
        offset += len(block)
    return offset
