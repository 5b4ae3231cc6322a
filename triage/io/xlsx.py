"""The rows of a sheet of an XLSX (or XLS) workbook, past its title rows; a file that is no workbook is told
apart (a web page, CSV named .xls) and refused saying what to do. Formulas whose values were never saved and
Excel error values (``#REF!``, ``#N/A``...), both of which calamine reads as empty cells, are found in the sheet's
XML (:class:`FormulaScan`): for the columns a caller reads, the first are refused (:func:`require_saved_values`),
the second make their rows' errors (:func:`marked_error_values`), or are refused where no row may fail."""

from __future__ import annotations

import contextlib
import html
import itertools
import posixpath
import re
import zipfile
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from triage._optional import import_optional
from triage.io.cells import Row, row_cells, unique_columns
from triage.io.errors import DataError
from triage.io.sniff import OLE_START, ZIP_START, misnamed
from triage.io.titles import _MAX_TITLE_ROWS, _title_rows, _warn_title_rows


def _read_xlsx(
    path: Path, sheet: str | int | None, stop_after: int | None = None
) -> tuple[list[str], Generator[Row], FormulaScan]:
    """``(header, rows, the scan of its formulas and error values)`` of a sheet; the scan reads no further than
    data row ``stop_after``, as the rows are taken."""
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
        if unreadable := _unreadable_error_value(path, name, str(problem)):
            raise DataError(unreadable) from None
        raise DataError(f"sheet {name!r} cannot be read ({problem}): save the workbook again from Excel/WPS") from None
    titles, first, values = _past_title_rows(values, name)
    if not first:
        others = [other for other in names if other != name]
        hint = f"; the workbook also has: {', '.join(others)} (pick one with --sheet)" if others else ""
        raise DataError(f"sheet {name!r} is empty{hint}")
    header = unique_columns(first)  # as wide as the sheet: calamine gives every row the sheet's width
    # calamine's rows start at the sheet's first row, its columns at the first one holding a value (python-calamine
    # issue 177; the property test in tests/test_xlsx_formulas.py fails should that change)
    scan = FormulaScan(
        path, name, header, header_row=titles + 1, first_column=worksheet.start[1], stop_after=stop_after
    )
    return header, (Row(number, *row_cells(row, header)) for number, row in enumerate(values, 1)), scan


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
        if head.startswith((ZIP_START, OLE_START)):
            handle.seek(0)
            with contextlib.suppress(calamine.CalamineError):
                return calamine.CalamineWorkbook.from_filelike(handle)
    if isinstance(failure, calamine.PasswordError) or head.startswith(OLE_START):
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


# ---------------------------------------------------------------- formulas never calculated, error values


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


@dataclass(frozen=True)
class ErrorValues:
    """The cells of one column of a sheet holding an Excel error value (``#REF!``, ``#N/A``, ``#DIV/0!``...: what
    a formula that failed was last calculated to, or such a value pasted), which calamine reads as empty cells
    (python-calamine issue 105): a message ``#REF!`` would be tagged as an empty one, a label ``#N/A`` taken for a
    row never labelled."""

    sheet: str
    column: str
    #: The column's letters on the sheet (``D``) and the sheet row of the header (from 1): the cells' references.
    letters: str
    header_row: int
    #: The cells' data rows (the header is row 0), ascending, and their values, one each.
    rows: array[int]
    values: list[str]

    def cell(self, index: int) -> str:
        """The reference (``D3``) of the ``index``-th cell."""
        return f"{self.letters}{self.rows[index] + self.header_row}"

    def row_error(self, index: int) -> str:
        """The error of the row of the ``index``-th cell."""
        return (
            f"column {self.column!r}: cell {self.cell(index)} of sheet {self.sheet!r} holds the Excel error value "
            f"{self.values[index]} (what a failed formula leaves, or such a value typed in), read as an empty cell; "
            "fix the formula or replace the value in Excel or WPS and save"
        )

    def __str__(self) -> str:
        cells = "cell holds" if len(self.rows) == 1 else "cells hold"
        return (
            f"sheet {self.sheet!r}, column {self.column!r}: {len(self.rows):,} {cells} an Excel error value (first: "
            f"row {self.rows[0]}, cell {self.cell(0)}, {self.values[0]}), which reads as an empty cell; fix the "
            "formulas (or replace the values) in Excel or WPS and save"
        )


def require_saved_values(
    found: Mapping[str, UnsavedFormulas | ErrorValues], columns: Iterable[str], source: Any
) -> None:
    """Refuse the ``columns`` a caller reads (text, label, time) when ``found`` (:meth:`FormulaScan.found`, and
    :meth:`FormulaScan.error_values` for a caller where no row may fail) names one, in a :class:`DataError`
    naming the file ``source``: their messages or values would be read as empty, silently. Other columns may
    hold such cells: they are copied as read."""
    for column in columns:
        if column in found:
            raise DataError(f"{source}: {found[column]}")


def marked_error_values(
    chunks: Iterator[list[Row]], found: Mapping[str, ErrorValues], columns: Iterable[str]
) -> Iterator[list[Row]]:
    """``chunks`` of a sheet's rows, each row whose cell in ``columns`` holds an error value (``found``:
    :meth:`FormulaScan.error_values`) given an error naming the cell and the value: untagged, it is not taken for
    an empty message. The row and its other cells are kept as read."""
    marking = [found[column] for column in dict.fromkeys(columns) if column in found]
    if not marking:
        return chunks
    return _marked(chunks, marking)


def _marked(chunks: Iterator[list[Row]], marking: list[ErrorValues]) -> Iterator[list[Row]]:
    for chunk in chunks:
        first = chunk[0].number if chunk else 0
        for errors in marking:
            for index in range(bisect_left(errors.rows, first), bisect_right(errors.rows, first + len(chunk) - 1)):
                row = chunk[errors.rows[index] - first]  # a sheet's rows are numbered on, one by one
                note = errors.row_error(index)
                row.error = f"{row.error}; {note}" if row.error else note
        yield chunk


def _unreadable_error_value(path: Path, sheet: str, problem: str) -> str:
    """What to do where calamine refuses a sheet for an error value it does not know (``#SPILL!``, ``#CALC!``:
    Excel 365's), naming the first such cell: saving the workbook again changes nothing. Empty for another
    problem, or where the cell is not found."""
    found = re.fullmatch(r"Unsupported cell error value '(.*)'", problem, re.DOTALL)
    if found is None:
        return ""
    with contextlib.suppress(OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        if reference := _first_error_cell(path, sheet, found[1]):
            return (
                f"sheet {sheet!r}, cell {reference} holds the Excel error value {found[1]}, which this reader cannot "
                "read (nor any cell of the sheet); fix the formula in Excel or WPS (or replace the cell's value) and "
                "save, or export the sheet as CSV"
            )
    return ""


def _first_error_cell(path: Path, sheet: str, value: str) -> str:
    """The reference of the first cell of ``sheet`` holding the error value ``value``; empty if none does."""
    with zipfile.ZipFile(path) as archive, archive.open(_sheet_part(archive, sheet)[0]) as xml:
        for text, end, patterns in _sheet_chunks(xml):
            for cell, error in _error_cells(text, end, patterns):
                reference = _CELL_REFERENCE.search(cell)
                if reference is not None and html.unescape(error.decode("utf-8", "replace")) == value:
                    return (reference[1] + reference[2]).decode()
    return ""


# How much of a sheet's XML is decompressed at a time: the scan holds this and one cell more.
_SCAN_CHUNK = 1 << 20
_CELL_REFERENCE = re.compile(rb'\sr="([A-Z]{1,3})([0-9]+)"')
_CELL_TYPE = re.compile(rb'\st="([A-Za-z]*)"')
# A cell's type error: no other attribute of a cell ends in t (and with the space before it, 30 % slower to find).
_ERROR_TYPE = b't="e"'
_NAMESPACE_PREFIX = re.compile(rb"<([\w.-]+:)?sheetData[\s>/]")
# Longer than the sheetData tag with any namespace prefix a writer uses: what is kept of a chunk before it.
_LONGEST_TAG = 256


@dataclass(frozen=True)
class _CellPatterns:
    """What a sheet's cells are found by, for its namespace prefix (``b"x:"`` or none): a formula followed by no
    value, an empty one or a 0 up to the end of its cell (its text, none for a shared formula's copies, and its
    value element); the start tag of a cell (its attributes); a value element (its text); and a cell's start and
    end. Searching for formulas first passes the other cells at the speed of a text search."""

    formula: re.Pattern[bytes]
    cell: re.Pattern[bytes]
    value: re.Pattern[bytes]
    opening: bytes
    closing: bytes

    @classmethod
    def of(cls, prefix: bytes) -> _CellPatterns:
        tag = re.escape(prefix)
        value = b"(<" + tag + rb"v\s*/>|<" + tag + rb"v>0?</" + tag + rb"v>)"
        # no two runs of white space can share one out (each try stays linear): the value takes the space after it
        formula = b"<" + tag + rb"f\b[^<>]*(?:/>|>([^<]*)</" + tag + rb"f>)\s*(?:" + value + rb"\s*)?</" + tag + b"c>"
        return cls(
            formula=re.compile(formula),
            cell=re.compile(b"<" + tag + rb"c(\s[^<>]*)?>\s*"),
            value=re.compile(b"<" + tag + rb"v>([^<]+)</" + tag + b"v>"),
            opening=b"<" + prefix + b"c",
            closing=b"</" + prefix + b"c>",
        )


def _column_index(letters: bytes) -> int:
    """The column of a cell reference's letters, from 0 (``A`` 0, ``AA`` 26)."""
    index = 0
    for letter in letters:
        index = index * 26 + letter - 64
    return index - 1


@dataclass
class FormulaScan:
    """Where the formulas and error values of the sheet a reader reads are (its column names, the sheet row they
    are in, from 1, the sheet column of the first, from 0, and the last data row read, None: all): those whose
    values were never saved, and the error values, scanned for once, when first asked (:meth:`found`,
    :meth:`error_values`)."""

    path: Path
    sheet: str
    header: list[str]
    header_row: int
    first_column: int
    stop_after: int | None = None
    _scanned: tuple[dict[str, UnsavedFormulas], dict[str, ErrorValues]] | None = field(default=None, repr=False)

    def found(self) -> dict[str, UnsavedFormulas]:
        """The columns holding formulas whose values were never saved, by name: none for a workbook that is no
        zip (XLS). The sheet's XML is decompressed once more for this, 1 MiB at a time."""
        return self._scan()[0]

    def error_values(self) -> dict[str, ErrorValues]:
        """The columns holding Excel error values, by name (none for XLS), found with :meth:`found`."""
        return self._scan()[1]

    def _scan(self) -> tuple[dict[str, UnsavedFormulas], dict[str, ErrorValues]]:
        if self._scanned is None:
            self._scanned = {}, {}
            with contextlib.suppress(OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
                self._scanned = self._scanned_sheet()
        return self._scanned

    def _scanned_sheet(self) -> tuple[dict[str, UnsavedFormulas], dict[str, ErrorValues]]:
        counts: dict[str, int] = {}
        firsts: dict[str, tuple[int, str, str]] = {}
        errors: dict[int, tuple[str, array[int], list[str]]] = {}  # by column: its letters, rows and values
        names: dict[str, str] = {}  # each error value's text once, however many cells hold it
        last_row = None if self.stop_after is None else self.header_row + self.stop_after
        with zipfile.ZipFile(self.path) as archive:
            part, recalculated = _sheet_part(archive, self.sheet)
            with archive.open(part) as xml:
                for text, end, patterns in _sheet_chunks(xml, last_row):
                    for cell, formula, value in _formula_cells(text, end, patterns):
                        place = self._place(cell)
                        if place is None or not _unsaved(cell, value, recalculated):
                            continue
                        row, at, reference = place
                        column = self.header[at]
                        counts[column] = counts.get(column, 0) + 1
                        if column not in firsts:
                            firsts[column] = (row, reference, html.unescape(formula.decode("utf-8", "replace")))
                    for cell, error in _error_cells(text, end, patterns):
                        if (place := self._place(cell)) is not None:
                            letters = place[2].rstrip("0123456789")
                            _, rows, values = errors.setdefault(place[1], (letters, array("q"), []))
                            rows.append(place[0])
                            named = html.unescape(error.decode("utf-8", "replace"))
                            values.append(names.setdefault(named, named))
        unsaved = {
            column: UnsavedFormulas(self.sheet, column, count, *firsts[column]) for column, count in counts.items()
        }
        return unsaved, {self.header[at]: self._error_values(at, *found) for at, found in errors.items()}

    def _place(self, cell: bytes) -> tuple[int, int, str] | None:
        """``(data row, column index, reference)`` of a cell with these attributes, where it is in the table read
        (its data rows up to ``stop_after`` and its columns); else None."""
        reference = _CELL_REFERENCE.search(cell)
        if reference is None:
            return None
        row = int(reference[2]) - self.header_row
        at = _column_index(reference[1]) - self.first_column
        if row < 1 or (self.stop_after is not None and row > self.stop_after) or not 0 <= at < len(self.header):
            return None
        return row, at, (reference[1] + reference[2]).decode()

    def _error_values(self, at: int, letters: str, rows: array[int], values: list[str]) -> ErrorValues:
        """The :class:`ErrorValues` of column ``at``, in row order (the order every writer known writes rows in;
        the XML allows another)."""
        if any(earlier > later for earlier, later in itertools.pairwise(rows)):
            order = sorted(range(len(rows)), key=rows.__getitem__)
            rows, values = array("q", (rows[i] for i in order)), [values[i] for i in order]
        return ErrorValues(self.sheet, self.header[at], letters, self.header_row, rows, values)


def _unsaved(cell: bytes, value: bytes | None, recalculated: bool) -> bool:
    """Whether a formula cell with these attributes and ``value`` element (none, empty or 0: what
    :class:`_CellPatterns` matches) has no value saved: none; an empty one that is no empty text; or a 0, the
    placeholder of a workbook that asks to be calculated when opened (xlsxwriter)."""
    if value is None:
        return True
    kind = _CELL_TYPE.search(cell)
    numeric = kind is None or kind[1] == b"n"
    if b">0<" in value:
        return recalculated and numeric
    return kind is None or kind[1] != b"str"


def _sheet_chunks(xml: Any, last_row: int | None = None) -> Iterator[tuple[bytes, int, _CellPatterns]]:
    """``(text, end, patterns)``: a sheet's XML read from the stream ``xml`` a chunk at a time, each to be searched
    up to ``end``, its last complete cell, with the patterns of its namespace prefix; what is kept for the next is
    the cell begun after it, if any. Past sheet row ``last_row`` (None: the last) no more is read: a sheet's rows
    are written in order by every writer known (a row listed after rows below it would be missed; the whole scan
    does not rely on the order, which only a trial's rows are read by, and only their first chunks)."""
    patterns = None
    rest = b""
    while chunk := xml.read(_SCAN_CHUNK):
        text = rest + chunk
        if patterns is None:
            prefix = _NAMESPACE_PREFIX.search(text)
            if prefix is None:  # sheetData is not reached yet: keep what may be the start of its tag
                rest = text[-_LONGEST_TAG:]
                continue
            patterns = _CellPatterns.of(prefix[1] or b"")
        end = text.rfind(patterns.closing) + len(patterns.closing)
        if end < len(patterns.closing):  # no cell ends here: keep from the last one begun, else from a tag cut
            begun = text.rfind(patterns.opening)
            rest = text[begun if begun >= 0 else text.rfind(b"<") :] if b"<" in text else b""
            continue
        yield text, end, patterns
        rest = text[end:]
        if last_row is not None:
            last = _CELL_REFERENCE.search(text, text.rfind(patterns.opening, 0, end), end)
            if last is not None and int(last[2]) > last_row:
                return


def _formula_cells(text: bytes, end: int, patterns: _CellPatterns) -> Iterator[tuple[bytes, bytes, bytes | None]]:
    """``(cell attributes, formula, value element)`` of each formula cell with no value, an empty one or a 0
    (:class:`_CellPatterns`) in ``text`` up to ``end``."""
    for found in patterns.formula.finditer(text, 0, end):
        tag = patterns.cell.fullmatch(text, text.rfind(b"<", 0, found.start()), found.start())
        if tag is not None:  # else a formula outside the cells (a data validation's xm:f)
            yield tag[1] or b"", found[1] or b"", found[2]


def _error_cells(text: bytes, end: int, patterns: _CellPatterns) -> Iterator[tuple[bytes, bytes]]:
    """``(cell attributes, error value)`` of each cell of type error (``t="e"``) holding a value in ``text`` up to
    ``end``; found by that attribute at the speed of a text search. One with a formula and no value is an
    unsaved formula (:func:`_formula_cells`)."""
    at = text.find(_ERROR_TYPE, 0, end)
    while at >= 0:
        tag = patterns.cell.match(text, text.rfind(b"<", 0, at))
        # the type is a cell's attribute (not text of another element), and the cell is not empty (<c .../>)
        if tag is not None and tag.end(1) > at and not tag[1].endswith(b"/"):
            close = text.find(patterns.closing, tag.end(), end)
            value = patterns.value.search(text, tag.end(), close)
            if value is not None:
                yield tag[1], value[1]
        at = text.find(_ERROR_TYPE, at + len(_ERROR_TYPE), end)


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
