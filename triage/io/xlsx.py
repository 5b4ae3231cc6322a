"""The rows of a sheet of an XLSX (or XLS) workbook, past its title rows; a file that is no workbook is told
apart (a web page, CSV named .xls) and refused saying what to do. Formulas whose values were never saved, which
calamine reads as empty cells, are found in the sheet's XML (:class:`FormulaScan`) for the columns a caller reads
to be refused (:func:`require_saved_values`)."""

from __future__ import annotations

import contextlib
import html
import itertools
import posixpath
import re
import zipfile
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from triage._optional import import_optional
from triage.io.cells import Row, row_cells, unique_columns
from triage.io.errors import DataError
from triage.io.sniff import misnamed
from triage.io.titles import _MAX_TITLE_ROWS, _title_rows, _warn_title_rows


def _read_xlsx(path: Path, sheet: str | int | None) -> tuple[list[str], Generator[Row], FormulaScan]:
    calamine = import_optional("python_calamine", extra="io", purpose="reading XLSX files")
    workbook = _open_workbook(calamine, path)
    names = workbook.sheet_names
    if isinstance(sheet, int) and not -len(names) <= sheet < len(names):
        raise DataError(f"no sheet number {sheet} (counted from 0); the workbook has {len(names)}: {', '.join(names)}")
    name = names[sheet] if isinstance(sheet, int) else (sheet or names[0])
    if name not in names:
        raise DataError(f"no sheet {name!r}; the workbook has: {', '.join(names)}")
    try:
        worksheet = workbook.get_sheet_by_name(name)
        values = worksheet.iter_rows()
    except calamine.CalamineError as problem:
        raise DataError(f"sheet {name!r} cannot be read ({problem}): save the workbook again from Excel/WPS") from None
    titles, first, values = _past_title_rows(values, name)
    if not first:
        others = [other for other in names if other != name]
        hint = f"; the workbook also has: {', '.join(others)} (pick one with --sheet)" if others else ""
        raise DataError(f"sheet {name!r} is empty{hint}")
    header = unique_columns(first)  # as wide as the sheet: calamine gives every row the sheet's width
    # calamine's rows start at the sheet's first row, its columns at the first one holding a value (python-calamine
    # issue 177; the property test in tests/test_xlsx_formulas.py fails should that change)
    scan = FormulaScan(path, name, header, header_row=titles + 1, first_column=worksheet.start[1])
    return header, (Row(number, *row_cells(row, header)) for number, row in enumerate(values, 1)), scan


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
    elif other := misnamed(path, "xlsx"):
        fix = other
    else:
        fix = "the file is damaged or cut short, or not a workbook; save it again from Excel/WPS as .xlsx"
    raise DataError(f"not a readable XLSX workbook ({failure}): {fix}")


def _past_title_rows(rows: Iterator[list[Any]], sheet: str) -> tuple[int, list[Any], Iterator[list[Any]]]:
    """``(how many title rows, the header row, the rows after it)`` of a sheet, past its title rows
    (:func:`~triage.io.titles._title_rows`), which a :class:`~triage.exceptions.TitleRowsWarning` names."""
    first = list(itertools.islice(rows, _MAX_TITLE_ROWS + 1))
    if not first:
        return 0, [], rows
    if titles := _title_rows(first):
        _warn_title_rows(f"sheet {sheet!r}", first[:titles])
    return titles, first[titles], itertools.chain(first[titles + 1 :], rows)


# ---------------------------------------------------------------- formulas whose values were never saved


@dataclass(frozen=True)
class UnsavedFormulas:
    """The cells of one column of a sheet holding a formula whose value was never calculated and saved: a
    workbook written by a program that does not calculate (openpyxl writes no value, xlsxwriter a placeholder 0
    and asks Excel to calculate on opening), which calamine reads as empty cells (or 0)."""

    sheet: str
    column: str
    count: int
    #: The first such cell: its data row (the header is row 0), its reference (``E2``) and its formula.
    first_row: int
    first_cell: str
    first_formula: str

    def __str__(self) -> str:
        formula = self.first_formula if len(self.first_formula) <= 60 else self.first_formula[:60] + "..."
        shown = f", ={formula}" if formula else ""
        cells = "cell holds" if self.count == 1 else "cells hold"
        return (
            f"sheet {self.sheet!r}, column {self.column!r}: {self.count:,} {cells} a formula whose value was never "
            f"calculated and saved (first: row {self.first_row}, cell {self.first_cell}{shown}), which reads as an "
            "empty cell (or a placeholder 0); open the workbook in Excel or WPS and save it, so that the values are "
            "computed, or export the sheet as CSV"
        )


def require_saved_values(found: Mapping[str, UnsavedFormulas], columns: Iterable[str], source: Any) -> None:
    """Refuse the ``columns`` a caller reads (text, label, time) when ``found`` (:meth:`FormulaScan.found`) names
    one, in a :class:`DataError` naming the file ``source``: their messages or values would be read as empty,
    silently. Other columns may hold such formulas: they are copied as read."""
    for column in columns:
        if column in found:
            raise DataError(f"{source}: {found[column]}")


# How much of a sheet's XML is decompressed at a time: the scan holds this and one cell more.
_SCAN_CHUNK = 1 << 20
_CELL_REFERENCE = re.compile(rb'\sr="([A-Z]{1,3})([0-9]+)"')
_CELL_TYPE = re.compile(rb'\st="([A-Za-z]*)"')
_NAMESPACE_PREFIX = re.compile(rb"<([\w.-]+:)?sheetData[\s>/]")
# Longer than the sheetData tag with any namespace prefix a writer uses: what is kept of a chunk before it.
_LONGEST_TAG = 256


def _formula_patterns(prefix: bytes) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """For a sheet's namespace ``prefix`` (``b"x:"`` or none): a formula followed by no value, an empty one or
    a 0 up to the end of its cell (its text, none for a shared formula's copies, and its value element); and
    the start tag of the cell it is in (its attributes). Searching for formulas first passes the other cells at
    the speed of a text search."""
    tag = re.escape(prefix)
    value = b"(<" + tag + rb"v\s*/>|<" + tag + rb"v>0?</" + tag + rb"v>)"
    # no two runs of white space can share one out (each try stays linear): the value takes the space after it
    formula = b"<" + tag + rb"f\b[^<>]*(?:/>|>([^<]*)</" + tag + rb"f>)\s*(?:" + value + rb"\s*)?</" + tag + b"c>"
    return re.compile(formula), re.compile(b"<" + tag + rb"c(\s[^<>]*)?>\s*")


def _column_index(letters: bytes) -> int:
    """The column of a cell reference's letters, from 0 (``A`` 0, ``AA`` 26)."""
    index = 0
    for letter in letters:
        index = index * 26 + letter - 64
    return index - 1


@dataclass
class FormulaScan:
    """Where the formulas of the sheet a reader reads are (its column names, the sheet row they are in, from 1,
    and the sheet column of the first, from 0), and those whose values were never saved, scanned for once,
    when first asked (:meth:`found`)."""

    path: Path
    sheet: str
    header: list[str]
    header_row: int
    first_column: int
    _found: dict[str, UnsavedFormulas] | None = field(default=None, repr=False)

    def found(self) -> dict[str, UnsavedFormulas]:
        """The columns holding formulas whose values were never saved, by name: none for a workbook that is no
        zip (XLS). The sheet's XML is decompressed once more for this, 1 MiB at a time."""
        if self._found is None:
            self._found = {}
            with contextlib.suppress(OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
                self._found = self._scanned()
        return self._found

    def _scanned(self) -> dict[str, UnsavedFormulas]:
        counts: dict[str, int] = {}
        firsts: dict[str, tuple[int, str, str]] = {}
        with zipfile.ZipFile(self.path) as archive:
            part, recalculated = _sheet_part(archive, self.sheet)
            with archive.open(part) as xml:
                for cell, formula, value in _formula_cells(xml):
                    reference = _CELL_REFERENCE.search(cell)
                    if reference is None or not _unsaved(cell, value, recalculated):
                        continue
                    row = int(reference[2]) - self.header_row
                    at = _column_index(reference[1]) - self.first_column
                    if row < 1 or not 0 <= at < len(self.header):
                        continue
                    column = self.header[at]
                    counts[column] = counts.get(column, 0) + 1
                    if column not in firsts:
                        text = html.unescape(formula.decode("utf-8", "replace"))
                        firsts[column] = (row, (reference[1] + reference[2]).decode(), text)
        return {column: UnsavedFormulas(self.sheet, column, count, *firsts[column]) for column, count in counts.items()}


def _unsaved(cell: bytes, value: bytes | None, recalculated: bool) -> bool:
    """Whether a formula cell with these attributes and ``value`` element (none, empty or 0: what
    :func:`_formula_patterns` matches) has no value saved: none; an empty one that is no empty text; or a 0, the
    placeholder of a workbook that asks to be calculated when opened (xlsxwriter)."""
    if value is None:
        return True
    kind = _CELL_TYPE.search(cell)
    numeric = kind is None or kind[1] == b"n"
    if b">0<" in value:
        return recalculated and numeric
    return kind is None or kind[1] != b"str"


def _formula_cells(xml: Any) -> Iterator[tuple[bytes, bytes, bytes | None]]:
    """``(cell attributes, formula, value element)`` of each formula cell with no value, an empty one or a 0
    (:func:`_formula_patterns`) in a sheet's XML, read from the stream ``xml`` a chunk at a time, each searched
    up to its last complete cell; what is kept for the next is the cell begun after it, if any."""
    formula = cell = None
    rest = b""
    while chunk := xml.read(_SCAN_CHUNK):
        text = rest + chunk
        if formula is None or cell is None:
            prefix = _NAMESPACE_PREFIX.search(text)
            if prefix is None:  # sheetData is not reached yet: keep what may be the start of its tag
                rest = text[-_LONGEST_TAG:]
                continue
            formula, cell = _formula_patterns(prefix[1] or b"")
            opening, closing = b"<" + (prefix[1] or b"") + b"c", b"</" + (prefix[1] or b"") + b"c>"
        end = text.rfind(closing) + len(closing)
        if end < len(closing):  # no cell ends here: keep from the last one begun, else from a tag the chunk cut
            begun = text.rfind(opening)
            rest = text[begun if begun >= 0 else text.rfind(b"<") :] if b"<" in text else b""
            continue
        for found in formula.finditer(text, 0, end):
            tag = cell.fullmatch(text, text.rfind(b"<", 0, found.start()), found.start())
            if tag is not None:  # else a formula outside the cells (a data validation's xm:f)
                yield tag[1] or b"", found[1] or b"", found[2]
        rest = text[end:]


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> tuple[str, bool]:
    """``(the zip member holding the sheet's XML, whether the workbook asks to be calculated when opened)``,
    from the workbook's XML and its relationships (``KeyError`` where they do not name it)."""
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    relationships = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {item.get("Id"): item.get("Target", "") for item in relationships}
    elements = [(_local(element.tag), element) for element in book.iter()]
    ids = [
        _local_attributes(element).get("id")
        for tag, element in elements
        if tag == "sheet" and element.get("name") == sheet
    ]
    target = targets[ids[0] if ids else None]
    part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    recalculated = any(tag == "calcPr" and element.get("fullCalcOnLoad") in ("1", "true") for tag, element in elements)
    return part, recalculated


def _local(name: str) -> str:
    """An XML name without its namespace (``{...}sheet``: ``sheet``): strict OOXML has namespaces of its own."""
    return name.rpartition("}")[2]


def _local_attributes(element: ElementTree.Element) -> dict[str, str]:
    return {_local(name): value for name, value in element.items()}
