"""The rows of a sheet of an XLSX (or XLS) workbook, past its title rows; a file that is no workbook is told
apart (a web page, CSV named .xls) and refused saying what to do."""

from __future__ import annotations

import codecs
import contextlib
import itertools
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

from triage._optional import import_optional
from triage.io.cells import Row, row_cells, unique_columns
from triage.io.errors import DataError
from triage.io.titles import _MAX_TITLE_ROWS, _title_rows, _warn_title_rows


def _read_xlsx(path: Path, sheet: str | int | None) -> tuple[list[str], Generator[Row]]:
    calamine = import_optional("python_calamine", extra="io", purpose="reading XLSX files")
    workbook = _open_workbook(calamine, path)
    names = workbook.sheet_names
    if isinstance(sheet, int) and not -len(names) <= sheet < len(names):
        raise DataError(f"no sheet number {sheet} (counted from 0); the workbook has {len(names)}: {', '.join(names)}")
    name = names[sheet] if isinstance(sheet, int) else (sheet or names[0])
    if name not in names:
        raise DataError(f"no sheet {name!r}; the workbook has: {', '.join(names)}")
    try:
        values = workbook.get_sheet_by_name(name).iter_rows()
    except calamine.CalamineError as problem:
        raise DataError(f"sheet {name!r} cannot be read ({problem}): save the workbook again from Excel/WPS") from None
    first, values = _past_title_rows(values, name)
    if not first:
        others = [other for other in names if other != name]
        hint = f"; the workbook also has: {', '.join(others)} (pick one with --sheet)" if others else ""
        raise DataError(f"sheet {name!r} is empty{hint}")
    header = unique_columns(first)  # as wide as the sheet: calamine gives every row the sheet's width
    return header, (Row(number, *row_cells(row, header)) for number, row in enumerate(values, 1))


# How a workbook's bytes begin: a zip archive (XLSX), an OLE compound file (XLS, or an XLSX saved with a password).
_ZIP_START, _OLE_START = b"PK\x03\x04", bytes.fromhex("d0cf11e0a1b11ae1")


def _open_workbook(calamine: Any, path: Path) -> Any:
    """The workbook at ``path``; calamine goes by the suffix, so one whose bytes say otherwise (an XLSX saved
    as .xls) is opened again by its bytes. A file that is no readable workbook raises :class:`DataError`
    saying what it looks like and what to do."""
    try:
        return calamine.CalamineWorkbook.from_path(str(path))
    except calamine.CalamineError as problem:
        failure = problem
    with path.open("rb") as handle:
        head = handle.read(4096)
        if head.startswith((_ZIP_START, _OLE_START)):
            handle.seek(0)
            with contextlib.suppress(calamine.CalamineError):
                return calamine.CalamineWorkbook.from_filelike(handle)
    if isinstance(failure, calamine.PasswordError) or head.startswith(_OLE_START):
        fix = "a password-protected workbook, or a damaged .xls? Save a copy without a password as .xlsx and try again"
    elif not head:
        fix = "the file is empty"
    elif _looks_like_text(head):
        fix = _text_not_workbook(head, path.suffix)
    else:
        fix = "the file is damaged or cut short, or not a workbook; save it again from Excel/WPS as .xlsx"
    raise DataError(f"not a readable XLSX workbook ({failure}): {fix}")


def _text_not_workbook(head: bytes, suffix: str) -> str:
    """What to do with a text file named as a workbook: a web page (some systems export HTML as .xls) is saved
    again by Excel/WPS; CSV or TSV (by its first line) is read as such."""
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return f"it is a web page (HTML or XML) saved as {suffix}; open it in Excel/WPS and save it as .xlsx"
    line = head.split(b"\n", 1)[0]
    kind = "tsv" if line.count(b"\t") > line.count(b",") else "csv"
    return f"it holds text, not a workbook ({kind.upper()} named {suffix}?); pass --format {kind}, or rename it .{kind}"


def _looks_like_text(head: bytes) -> bool:
    """Whether the first bytes of a file read as UTF-8 or GB18030 text (its last character may be cut)."""
    for encoding in ("utf-8", "gb18030"):
        with contextlib.suppress(UnicodeDecodeError):
            codecs.getincrementaldecoder(encoding)().decode(head)
            return b"\0" not in head
    return False


def _past_title_rows(rows: Iterator[list[Any]], sheet: str) -> tuple[list[Any], Iterator[list[Any]]]:
    """``(the header row, the rows after it)`` of a sheet, past its title rows
    (:func:`~triage.io.titles._title_rows`), which a :class:`~triage.exceptions.TitleRowsWarning` names."""
    first = list(itertools.islice(rows, _MAX_TITLE_ROWS + 1))
    if not first:
        return [], rows
    if titles := _title_rows(first):
        _warn_title_rows(f"sheet {sheet!r}", first[:titles])
    return first[titles], itertools.chain(first[titles + 1 :], rows)
