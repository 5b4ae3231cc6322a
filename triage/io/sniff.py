"""What a file really holds, told by its first bytes, for an export named as another format.

Exports get renamed and mislabelled: a workbook saved as ``.csv`` by a web system, a Parquet file named
``.xlsx``, a gzip or zip archive of the export, a PDF or a screenshot sent instead of the table. Read as
the suffix says, they gave errors about encodings or magic bytes, or a header of mojibake ("no text column
recognised among: 塒NG"). :func:`what_it_is` names the format from the file's signature (or says that the
bytes are binary, not text) so that the reader can refuse it saying what to do.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = ["OLE_START", "ZIP_START", "Found", "misnamed", "what_it_is"]


@dataclass(frozen=True)
class Found:
    """What a file holds (``"an XLSX workbook"``), the format triage reads it as (None: no table triage
    reads), and what to do."""

    what: str
    format: str | None
    fix: str

    def refusal(self, named: str) -> str:
        """Why a file named as the format ``named`` is refused."""
        return f"it is {self.what}, not {named}: {self.fix}"


def _as(format: str, suffix: str) -> str:
    return f"pass --format {format}, or rename it {suffix}"


_EXPORT_AGAIN = "export the table itself from the system that made it, as CSV or XLSX"
_EXTRACT = "extract the export from it and give that file"


def _decompress(tool: str) -> str:
    return f"decompress it first ({tool} -d, or 7-Zip) and give the file inside"


#: How a zip archive (an XLSX workbook) and an OLE compound file (an XLS workbook, or one saved with a password)
#: begin.
ZIP_START, OLE_START = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

#: Signatures of what is sent instead of an export, by the bytes the file begins with. A text export never
#: begins with them: they hold a control character or a byte no UTF-8 or GB18030 text begins with, or are no
#: header a table has (a PDF's, a GIF's, bzip2's with its block's magic number, SQLite's).
_SIGNATURES: tuple[tuple[bytes, Found], ...] = (
    (re.escape(OLE_START), Found("an Excel 97-2003 workbook (.xls) or a workbook saved with a password",
                                              "xlsx", _as("xlsx", ".xls") + "; one with a password: save a copy "
                                              "without it as .xlsx")),
    (rb"\x1f\x8b", Found("gzip-compressed data", None, _decompress("gzip"))),
    (rb"7z\xbc\xaf\x27\x1c", Found("a 7z archive", None, _EXTRACT)),
    (rb"Rar!\x1a\x07", Found("a RAR archive", None, _EXTRACT)),
    (rb"BZh[1-9]1AY&SY", Found("bzip2-compressed data", None, _decompress("bzip2"))),
    (rb"\xfd7zXZ\x00", Found("xz-compressed data", None, _decompress("xz"))),
    (rb"%PDF-", Found("a PDF document", None, _EXPORT_AGAIN)),
    (rb"\x89PNG\r\n\x1a\n", Found("a PNG image", None, _EXPORT_AGAIN)),
    (rb"\xff\xd8\xff", Found("a JPEG image", None, _EXPORT_AGAIN)),
    (rb"GIF8[79]a", Found("a GIF image", None, _EXPORT_AGAIN)),
    (rb"SQLite format 3\x00", Found("an SQLite database", None,
                                   "export the table as CSV (sqlite3 -header -csv FILE 'select * from TABLE')")),
)  # fmt: skip

_PARQUET = Found("a Parquet file", "parquet", _as("parquet", ".parquet"))
_XLSX = Found("an XLSX workbook", "xlsx", _as("xlsx", ".xlsx"))
_ZIP = Found("a zip archive", None, _EXTRACT)
_ODS = Found(
    "an OpenDocument spreadsheet (.ods)",
    None,
    "save it as .xlsx (in WPS, LibreOffice or Excel: Save As, Excel workbook)",
)
_DOCUMENT = Found("a document (Word, PowerPoint or OpenDocument), not a table", None, _EXPORT_AGAIN)
_BINARY = Found("binary data", None, "is it the export? Export it again as CSV or XLSX")

#: How much of a file's start is looked at.
_HEAD_BYTES = 4096
#: The share of a file's first bytes that, as control characters, make it binary (random bytes: 8 %) if they do not
#: decode, when there are at least :data:`_FEWEST_CONTROLS` of them. Python's whitespace (tab to carriage return,
#: the separators 0x1C-0x1F), DOS's end of file (0x1A) and escape (0x1B, in coloured logs) are text.
_BINARY_SHARE = 0.05
_FEWEST_CONTROLS = 16
_CONTROLS = re.compile(rb"[\x00-\x08\x0e-\x19]")
_WIDE_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # UTF-32's begin with UTF-16's


def what_it_is(path: Path, *, wide: bool) -> Found | None:
    """What ``path`` holds when its first bytes say it is no text a CSV, TSV or JSONL reader reads, else None:
    a format by its signature (:func:`_signed`), or else binary data when its first 4 KiB decode neither as UTF-8
    nor as GB18030 and 5 % or more of them are control characters, unless it is UTF-16 or UTF-32 (a byte-order
    mark, or ``wide``: the encoding read with is one), whose ASCII characters each hold a NUL byte. Text full of
    control characters (a database's bytes in its cells) is text: its rows are read."""
    head, found = _signed_head(path)
    if found is not None or wide or head.startswith(_WIDE_BOMS):
        return found
    controls = len(_CONTROLS.findall(head))
    binary = controls >= max(_FEWEST_CONTROLS, _BINARY_SHARE * len(head)) and not _decodes(head)
    return _BINARY if binary else None


def _signed_head(path: Path) -> tuple[bytes, Found | None]:
    """The first bytes of ``path``, and its format by its signature (:func:`_signed`)."""
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
        return head, _signed(head, handle)


def _signed(head: bytes, handle: BinaryIO) -> Found | None:
    """The format of the file open as ``handle`` that begins with ``head``, by its signature. A Parquet file
    must also end as one (:func:`_ends_as_parquet`); a zip archive is told by what it holds (:func:`_zipped`)."""
    if head.startswith(b"PAR1") and _ends_as_parquet(handle):
        return _PARQUET
    if head.startswith(ZIP_START):
        return _zipped(handle)
    return next((found for signature, found in _SIGNATURES if re.match(signature, head)), None)


def misnamed(path: Path, format: str) -> str | None:
    """Why ``path``, which could not be read as the binary ``format`` (``"xlsx"`` or ``"parquet"``) it is
    named as, is something else, and what to do; None when it may be a damaged file of that format."""
    named = _NAMED[format]
    head, found = _signed_head(path)
    if found is not None:
        return None if found.format == format else found.refusal(named)
    return _text_named_as(head, path.suffix, named) if _looks_like_text(head) else None


_NAMED = {"xlsx": "a workbook", "parquet": "a Parquet file"}


def _looks_like_text(head: bytes) -> bool:
    """Whether the first bytes of a file read as UTF-8 or GB18030 text, with no NUL."""
    return b"\0" not in head and _decodes(head)


def _decodes(head: bytes) -> bool:
    """Whether the first bytes of a file decode as UTF-8 or GB18030 (the last character may be cut)."""
    for encoding in ("utf-8", "gb18030"):
        with contextlib.suppress(UnicodeDecodeError):
            codecs.getincrementaldecoder(encoding)().decode(head)
            return True
    return False


def _text_named_as(head: bytes, suffix: str, named: str) -> str:
    """What to do with a text file named as ``named``: a web page (some systems export HTML as .xls) is saved
    again by Excel/WPS; JSON Lines (a first line that is an object), CSV or TSV (by its first line) is read as such."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"<"):
        return f"it is a web page (HTML or XML) saved as {suffix}; open it in Excel/WPS and save it as .xlsx"
    line = head.split(b"\n", 1)[0]
    kind = "jsonl" if start.startswith(b"{") else "tsv" if line.count(b"\t") > line.count(b",") else "csv"
    return f"it holds text, not {named} ({kind.upper()} named {suffix}?); pass --format {kind}, or rename it .{kind}"


def _ends_as_parquet(handle: BinaryIO) -> bool:
    """Whether the file open as ``handle`` ends as a Parquet file: its footer's length (4 bytes, little-endian),
    which fits in the file, then ``PAR1``; text that begins with ``PAR1`` (a column so named) does not."""
    size = handle.seek(0, 2)
    if size < 12:  # PAR1, the footer's length, PAR1
        return False
    handle.seek(size - 8)
    end = handle.read(8)
    return end[4:] == b"PAR1" and int.from_bytes(end[:4], "little") <= size - 12


def _zipped(handle: BinaryIO) -> Found:
    """What the zip archive open as ``handle`` is: an XLSX workbook (``xl/workbook.xml``; also one that does not
    open, taken for a damaged workbook), an OpenDocument spreadsheet (its ``mimetype``, as WPS and LibreOffice save
    one), another office document (a Word or PowerPoint file), or an archive of files."""
    try:
        with zipfile.ZipFile(handle) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                with archive.open("mimetype") as member:
                    mimetype = member.read(100)
            else:
                mimetype = b""
    except (zipfile.BadZipFile, OSError):
        return _XLSX
    if "xl/workbook.xml" in names:
        return _XLSX
    if mimetype == b"application/vnd.oasis.opendocument.spreadsheet":
        return _ODS
    if "[Content_Types].xml" in names or mimetype.startswith(b"application/vnd.oasis.opendocument"):
        return _DOCUMENT
    return _ZIP
