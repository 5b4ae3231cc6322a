"""The encoding of a CSV/TSV/JSONL file (chosen from a large sample, or given) and how its bytes are read a line
at a time in it (:class:`_TextEncoding`); the row errors of text that does not decode."""

from __future__ import annotations

import codecs
import functools
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from triage.io.errors import DataError

# How much of a text file the encoding is decided on (a BOM decides at once).
_ENCODING_SAMPLE_BYTES = 8 << 20


@dataclass(frozen=True)
class EncodingChoice:
    """The encoding a text file is read with, and why (shown to the user)."""

    encoding: str
    reason: str

    def __str__(self) -> str:
        return f"{self.encoding} ({self.reason})"


def choose_encoding(path: str | Path, requested: str = "auto") -> EncodingChoice:
    """The encoding of a CSV/TSV/JSONL file: ``requested`` unless it is ``"auto"``.

    Auto: a BOM (UTF-8, UTF-16, UTF-32) wins, then UTF-16 told by its NUL bytes; otherwise each line of the
    first 8 MiB holding non-ASCII bytes votes UTF-8 or GB18030 (the superset of GBK and GB2312 that Chinese
    government systems export), and the majority decides, so one odd row does not turn a file into mojibake;
    the minority's rows then become row errors naming the other encoding.
    """
    if requested != "auto":
        try:
            codec = codecs.lookup(requested)
        except LookupError:
            raise DataError(f"unknown encoding {requested!r}; use auto, utf-8-sig, gb18030, utf-16, ...") from None
        if not codec._is_text_encoding:  # hex, base64, rot13: codecs of bytes to bytes or str to str
            raise DataError(f"{requested!r} is not a text encoding; use auto, utf-8-sig, gb18030, utf-16, ...")
        _check_line_readable(requested)
        return EncodingChoice(requested, "given")
    with open(path, "rb") as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return EncodingChoice("utf-8-sig", "UTF-8 byte-order mark")
        if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16's: FF FE 00 00
            return EncodingChoice("utf-32", "UTF-32 byte-order mark")
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return EncodingChoice("utf-16", "UTF-16 byte-order mark")
        handle.seek(0)
        if wide := _utf16_without_bom(handle.read(_UTF16_SAMPLE_BYTES)):
            return EncodingChoice(wide, "no byte-order mark; NUL bytes at every other byte")
        handle.seek(0)
        votes, lines, truncated = _encoding_votes(handle)
    utf8, gb, neither = votes["utf-8"], votes["gb18030"], votes[""]
    scope = f"{lines:,} sampled lines" + (" (the first 8 MiB)" if truncated else "")
    if not utf8 and not gb:
        return EncodingChoice("utf-8-sig", f"no line decodes as UTF-8 or GB18030 of {scope}" if neither else "ASCII")
    if gb > utf8:
        return EncodingChoice("gb18030", f"{gb:,} lines GBK/GB18030, {utf8:,} UTF-8 of {scope}")
    return EncodingChoice("utf-8-sig", f"{utf8:,} lines UTF-8, {gb:,} GBK/GB18030 of {scope}")


# The bytes looked at for UTF-16 written without a byte-order mark (SQL Server's bcp -w, some 12345 systems).
_UTF16_SAMPLE_BYTES = 1 << 16


def _utf16_without_bom(sample: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` when ``sample`` is UTF-16 without a byte-order mark, else None. The
    ASCII in an export (delimiters, digits, line ends) is a NUL byte and its own in UTF-16: text in an 8-bit
    encoding holds no NUL, so NULs in a tenth of the bytes, nine in ten of them on one side, and a sample that
    decodes, tell UTF-16 and its byte order."""
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if not even + odd or (even + odd) * 10 < len(sample) or max(even, odd) * 10 < (even + odd) * 9:
        return None  # an empty file too: no NUL at all
    wide = "utf-16-le" if odd > even else "utf-16-be"
    try:
        codecs.getincrementaldecoder(wide)().decode(sample)  # not final: the sample may end inside a character
    except UnicodeDecodeError:
        return None
    return wide


def _encoding_votes(handle: Any) -> tuple[dict[str, int], int, bool]:
    """``(votes, lines read, whether the sample ended before the file)``: each line of the first
    8 MiB holding non-ASCII bytes votes ``"utf-8"``, ``"gb18030"`` or ``""`` (neither); a line cut
    by the sample's end does not count. Read a block at a time, so the sample never sits in memory whole."""
    votes = {"utf-8": 0, "gb18030": 0, "": 0}
    budget, lines, rest = _ENCODING_SAMPLE_BYTES, 0, b""
    while True:
        data = handle.read(min(budget, _BLOCK_BYTES)) if budget > 0 else b""
        budget -= len(data)
        block = rest + data if rest else data
        if data:
            cut = block.rfind(b"\n") + 1
            block, rest = block[:cut], block[cut:]
        elif budget <= 0:  # cut by the sample's end, perhaps inside a character
            block = block[: block.rfind(b"\n") + 1]
        lines += _vote_lines(block, votes)
        if not data:
            return votes, lines, budget <= 0


def _vote_lines(block: bytes, votes: dict[str, int]) -> int:
    """Add the votes of the lines of ``block`` (whole lines) to ``votes``; how many lines it holds.
    A block that is UTF-8 throughout (the usual export) is decoded once, not a line at a time."""
    pieces = block.split(b"\n")
    if not pieces[-1]:
        pieces.pop()  # after the last line end
    if _decodes(block, "utf-8"):
        votes["utf-8"] += len(pieces) - sum(map(bytes.isascii, pieces))
        return len(pieces)
    for line in pieces:
        if not line.isascii():
            votes[next((e for e in ("utf-8", "gb18030") if _decodes(line, e)), "")] += 1
    return len(pieces)


def detect_encoding(path: str | Path) -> str:
    """The encoding :func:`choose_encoding` picks for ``path`` (``utf-8-sig``, ``utf-16`` or ``gb18030``)."""
    return choose_encoding(path).encoding


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def encoding_hint(encoding: str) -> str:
    """The encoding to suggest when text does not decode as ``encoding``."""
    return "gb18030" if encoding.lower().startswith("utf") else "utf-8-sig"


# The codecs of two- and four-byte code units, by the start of their names ("utf-16", "utf-16-le", ...).
_WIDE_CODECS = ("utf-16", "utf-32")


def _not_valid_in(encoding: str) -> str:
    """The error of a row holding bytes ``encoding`` cannot decode: the encoding to try instead; in UTF-16 or
    UTF-32 (certain once the header decoded: a byte-order mark or NUL bytes told it), a broken character."""
    if is_wide(encoding):
        return f"bytes not valid in {encoding}: a broken character, shown as U+FFFD; correct it in the export"
    return f"bytes not valid in {encoding}; try --encoding {encoding_hint(encoding)} (or auto)"


def is_wide(encoding: str) -> bool:
    """Whether ``encoding`` is UTF-16 or UTF-32, in which every ASCII character holds NUL bytes."""
    return codecs.lookup(encoding).name.startswith(_WIDE_CODECS)


def _is_gb(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("gb18030", "gbk", "gb2312")


@functools.cache
def _utf8_tells() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Characters two bytes long in UTF-8 (but a few Latin-1 signs), and Han characters. UTF-8 Chinese
    text is three-byte characters (plus ASCII and those signs); GBK bytes read as UTF-8 almost never
    are, so a row like this was UTF-8 in a file read as GBK/GB18030. Compiled on first use (3 ms):
    only files read as GBK/GB18030 need them."""
    return re.compile("[\u0080-\u00af\u00b1-\u00b6\u00b8-\u00d6\u00d8-\u07ff]"), re.compile("[\u4e00-\u9fff]")


_UTF8_CHECK_CHARS = 60  # characters checked (GB18030 reads a 3-byte UTF-8 character as 1.5 characters)


def _utf8_read_as_gb(cells: list[str], encoding: str) -> str:
    """A row error when a file read as GBK/GB18030 holds a row whose bytes are UTF-8 Chinese (which
    GB18030 decodes without complaint, into mojibake); the first non-ASCII cell's start tells."""
    for cell in cells:
        if not cell.isascii():
            # a prefix may end inside a UTF-8 character: one U+FFFD at the very end is no evidence
            original = cell[:_UTF8_CHECK_CHARS].encode(encoding).decode("utf-8", "replace").rstrip("\ufffd")
            break
    else:
        return ""
    two_byte, han = _utf8_tells()
    if "\ufffd" in original or two_byte.search(original) or len(han.findall(original)) < 2:
        return ""
    return f"the row's bytes are UTF-8 but the file is read as {encoding}; try --encoding utf-8-sig"


# Codecs whose bytes mean different characters after an escape or shift sequence, or that write ASCII's
# line ends, quotes and delimiters as other bytes (EBCDIC): a line cannot be read on its own in them.
_STATEFUL_CODECS = ("iso2022", "hz", "utf-7")


_ASCII_SYNTAX = '\n\r",\t'


# A byte for each kind of code unit in a chart (:meth:`_TextEncoding.chart`): what the readers look for, and
# "x" for any other character.
_CHARTED = b'\n\r"'


_UNCHARTED = ord("x")


# Codecs of more than one byte per code unit, read in whole units: numpy's dtype of a unit, and the byte-order
# mark ("utf-16"/"utf-32" take their byte order from it: little-endian without one, as Windows writes).
_UNIT_CODECS = {
    "utf-16-le": ("<u2", codecs.BOM_UTF16_LE),
    "utf-16-be": (">u2", codecs.BOM_UTF16_BE),
    "utf-32-le": ("<u4", codecs.BOM_UTF32_LE),
    "utf-32-be": (">u4", codecs.BOM_UTF32_BE),
}


# The byte-order marks of one-byte-unit codecs, skipped at a file's start (GB18030 has its own: U+FEFF in it).
_BOMS = {"utf-8": codecs.BOM_UTF8, "utf-8-sig": codecs.BOM_UTF8, "gb18030": "\ufeff".encode("gb18030")}


@dataclass(frozen=True)
class _TextEncoding:
    """How the bytes of a CSV/TSV/JSONL file are read a line at a time: the codec that decodes a line, the
    byte-order mark skipped at the start of the file, and the size of a code unit (1; 2 in UTF-16, 4 in UTF-32).

    Line ends and quotes are looked for in a :meth:`chart` of the bytes, one byte per code unit, so a UTF-16
    file is cut at line starts, read in byte ranges and read again after a runaway quote as a UTF-8 or GB18030
    one is; the ``0A`` byte inside 上 (U+4E0A) is never taken for a line end.
    """

    codec: str
    bom: bytes = b""
    unit: int = 1
    dtype: str | None = None

    @classmethod
    def of(cls, path: Path, encoding: str) -> _TextEncoding:
        """The way to read ``path`` in ``encoding`` (a name :func:`choose_encoding` accepted)."""
        name = codecs.lookup(encoding).name
        if name in _WIDE_CODECS:
            with path.open("rb") as handle:
                head = handle.read(4)
            big = head.startswith(codecs.BOM_UTF32_BE if name == "utf-32" else codecs.BOM_UTF16_BE)
            name = f"{name}-{'be' if big else 'le'}"
        if name in _UNIT_CODECS:
            dtype, bom = _UNIT_CODECS[name]
            return cls(name, bom, np.dtype(dtype).itemsize, dtype)
        return cls("utf-8" if name == "utf-8-sig" else name, _BOMS.get(name, b""))

    @property
    def errors(self) -> str:
        """The error handler of a line that does not decode: ``surrogateescape`` in a one-byte-unit codec
        (GB18030 fails a lead byte and the ASCII after it as one error, ``CE 37 0A`` ending a line, and that
        ASCII, a digit, quote or line end, stays text), whole bad units as surrogates in UTF-16/32."""
        return _UNDECODABLE_UNITS if self.unit > 1 else "surrogateescape"

    def chart(self, raw: bytes) -> bytes:
        """``raw`` with one byte per code unit: line feeds, carriage returns and double quotes as themselves,
        anything else (a part unit at the end too) as ``x``. Byte offsets are its offsets times :attr:`unit`;
        in a one-byte encoding it is ``raw`` itself (no multi-byte character there holds those bytes)."""
        if self.unit == 1:
            return raw
        units = np.frombuffer(raw, dtype=self.dtype, count=len(raw) // self.unit)
        chart = np.full(-(-len(raw) // self.unit), _UNCHARTED, dtype=np.uint8)
        for char in _CHARTED:
            chart[: len(units)][units == char] = char
        return chart.tobytes()

    def after_last_line_end(self, data: bytes) -> int:
        """The offset after the last line end of ``data`` (0: none): after its last LF, else its last CR
        that cannot be the first half of a CRLF (the next read may start with the LF)."""
        chart = self.chart(data)
        return (chart.rfind(b"\n") + 1 or chart.rfind(b"\r", 0, len(chart) - 1) + 1) * self.unit

    def last_line_start(self, raw: bytes, before: int) -> int:
        """The offset of the last line of ``raw`` (whole lines) that starts before offset ``before`` (> 0, at a
        code unit's start)."""
        return _last_line_start(self.chart(raw), before // self.unit) * self.unit

    def lines(self, raw: bytes) -> list[bytes]:
        """The lines of ``raw``, each with its line end, split where a universal-newline reader splits."""
        if self.unit == 1:
            return raw.splitlines(keepends=True)
        ends = itertools.accumulate(len(line) * self.unit for line in self.chart(raw).splitlines(keepends=True))
        return [raw[start:end] for start, end in itertools.pairwise(itertools.chain((0,), ends))]


def _undecodable_as_surrogates(error: UnicodeError) -> tuple[str, int]:
    """Each byte of a bad UTF-16/32 code unit as the lone surrogate U+DC00 + byte: what ``surrogateescape``
    gives for a byte of 128 or more, for any byte (a unit may hold one under 128, which ``surrogateescape``
    refuses), so that :func:`~triage.io.cells.has_surrogate` tells the line."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "".join(chr(0xDC00 + byte) for byte in error.object[error.start : error.end]), error.end


#: The decoding error handler of UTF-16/32 lines that do not decode (:func:`_undecodable_as_surrogates`).
_UNDECODABLE_UNITS = "triage.undecodable_units"
codecs.register_error(_UNDECODABLE_UNITS, _undecodable_as_surrogates)


def _check_line_readable(encoding: str) -> None:
    """Refuse an encoding whose lines cannot be read on their own (:data:`_STATEFUL_CODECS`, EBCDIC)."""
    name = codecs.lookup(encoding).name
    if name.startswith(("utf-8", *_WIDE_CODECS)):  # utf-8-sig's encoder would write a byte-order mark first
        return
    try:
        ascii_syntax = _ASCII_SYNTAX.encode(name) == _ASCII_SYNTAX.encode("ascii")
    except UnicodeError:  # "undefined" encodes nothing
        ascii_syntax = False
    if not ascii_syntax or name.startswith(_STATEFUL_CODECS):
        raise DataError(
            f"encoding {encoding!r} cannot be read a line at a time (it shifts state or is not ASCII-based); "
            f"convert the file first, e.g. iconv -f {encoding} -t UTF-8 FILE > FILE.utf8.csv"
        )


# The most bytes read at a time: the encoding sample here; the blocks of the line reader (triage.io.lines),
# which says why.
_BLOCK_BYTES = 1 << 18


def _last_line_start(raw: bytes, before: int) -> int:
    """The offset of the last line of ``raw`` that starts before offset ``before`` (> 0)."""
    newline = raw.rfind(b"\n", 0, before - 1)
    cr = raw.rfind(b"\r", newline + 1, before - 1)
    if cr >= 0 and raw[cr + 1 : cr + 2] == b"\n":  # the CR of a CRLF that ends at ``before``
        cr = raw.rfind(b"\r", newline + 1, cr)
    return max(newline, cr) + 1
