"""What finding XLSX formulas whose values were never saved and error values costs: reading a sheet's rows
against scanning it, whole and for a trial run (``--stop-after 20``).

Four sheets of ``--rows`` rows (编号, 主题, 详情, 内容), teddy2020c's messages (subject, body) cycled, written to a
temporary folder (never into the checkout): 内容 holds the text itself (``values``), a formula ``=B2&C2`` with
its value saved as Excel saves it (``saved``), the formula with no value, as openpyxl writes it (``unsaved``), or
a lookup that failed, its error value ``#N/A`` saved (``errors``). Each is read ``--rounds`` times through
:func:`triage.io.read_rows` (every row) and scanned as many times (:meth:`triage.io.Export.unsaved_formulas`, with
the error values, which tag, hot and train call on the columns they read), then scanned as a trial run of 20 rows
is; in CPU time, the minimum is printed.

Run: ``python benchmarks/xlsx_formulas.py [--data FOLDER] [--rows 100000] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl

from triage.datasets import teddy2020c
from triage.io import read_rows

HEADER = ("编号", "主题", "详情", "内容")


def cell(reference: str, kind: str, subject: str, body: str) -> str:
    """The XML of the 内容 cell ``reference`` of one row, as ``kind`` says."""
    formula = reference.replace("D", "B") + "&amp;" + reference.replace("D", "C")
    if kind == "values":
        return f'<c r="{reference}" t="inlineStr"><is><t>{subject}{body}</t></is></c>'
    if kind == "saved":
        return f'<c r="{reference}" t="str"><f>{formula}</f><v>{subject}{body}</v></c>'
    if kind == "errors":
        return f'<c r="{reference}" t="e"><f>VLOOKUP(A1,Z:Z,2,0)</f><v>#N/A</v></c>'
    return f'<c r="{reference}"><f>{formula}</f><v/></c>'


def sheet_xml(messages: list[tuple[str, str]], rows: int, kind: str) -> bytes:
    names = "".join(f'<c r="{"ABCD"[i]}1" t="inlineStr"><is><t>{name}</t></is></c>' for i, name in enumerate(HEADER))
    parts = ['<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>']
    parts.append(f'<row r="1">{names}</row>')
    for row, (subject, body) in zip(range(2, rows + 2), itertools.cycle(messages), strict=False):
        parts.append(
            f'<row r="{row}"><c r="A{row}"><v>{row - 1}</v></c>'
            f'<c r="B{row}" t="inlineStr"><is><t>{subject}</t></is></c>'
            f'<c r="C{row}" t="inlineStr"><is><t>{body}</t></is></c>{cell(f"D{row}", kind, subject, body)}</row>'
        )
    parts.append("</sheetData></worksheet>")
    return "".join(parts).encode()


def write_workbook(path: Path, xml: bytes, calculate_on_open: bool) -> None:
    """A workbook as openpyxl writes one (which asks to be calculated when opened), with ``xml`` as its sheet."""
    openpyxl.Workbook().save(path)
    with zipfile.ZipFile(path) as template:
        parts = {name: template.read(name) for name in template.namelist()}
    parts["xl/worksheets/sheet1.xml"] = xml
    if not calculate_on_open:  # as Excel saves it
        parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(b' fullCalcOnLoad="1"', b"")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)


def cpu_seconds(path: Path, rounds: int) -> tuple[float, float, float, int]:
    """``(opening the sheet and reading every row, scanning it, scanning a trial run's 20 rows, cells found)``:
    the least CPU time of ``rounds``."""
    read = scan = trial = float("inf")
    found = 0
    for _ in range(rounds):
        start = time.process_time()
        with read_rows(path) as export:  # calamine parses the whole sheet here
            for _chunk in export.chunks:
                pass
            read = min(read, time.process_time() - start)
            start = time.process_time()
            found = sum(unsaved.count for unsaved in export.unsaved_formulas().values())
            found += sum(len(errors.rows) for errors in export.error_values().values())
            scan = min(scan, time.process_time() - start)
        with read_rows(path, stop_after=20) as export:
            start = time.process_time()
            export.unsaved_formulas()
            trial = min(trial, time.process_time() - start)
    return read, scan, trial, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=teddy2020c.default_path())
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.data is None:
        raise SystemExit("teddy2020c data not found; pass --data FOLDER")
    frame = teddy2020c.load_messages(args.data)
    messages = [(escape(str(s)), escape(str(b))) for s, b in zip(frame["subject"], frame["body"], strict=True)]
    print(f"messages.csv subject + body cycled to {args.rows:,} rows; load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as folder:
        for kind in ("values", "saved", "unsaved", "errors"):
            xml = sheet_xml(messages, args.rows, kind)
            path = Path(folder) / f"{kind}.xlsx"
            write_workbook(path, xml, calculate_on_open=kind == "unsaved")
            read, scan, trial, found = cpu_seconds(path, args.rounds)
            print(
                f"{kind}: sheet XML {len(xml) / 2**20:.0f} MiB ({path.stat().st_size / 2**20:.0f} MiB zipped): "
                f"reading the rows {read:.2f} s, scanning {scan:.2f} s CPU ({scan / read:.0%}), a trial's 20 rows "
                f"{trial:.3f} s; {found:,} unsaved or errors (min of {args.rounds})"
            )
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
