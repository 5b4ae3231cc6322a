"""Title rows above a table's column names, as spreadsheet exports put them (CSV/TSV and XLSX alike)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from triage.exceptions import TitleRowsWarning
from triage.io.cells import to_cell

# The most rows above a table's column names that are skipped as its title (see _title_rows).
_MAX_TITLE_ROWS = 10


def _title_rows(first_rows: Sequence[Sequence[Any]]) -> int:
    """How many of a table's first rows are a title above its column names, as spreadsheet exports put one:
    up to :data:`_MAX_TITLE_ROWS` rows with no value past their first cell (a merged title, a blank row),
    counted only when the row after them holds two names or more. A one-column table, or a header followed by
    one-value rows, has none."""
    for index, row in enumerate(first_rows[: _MAX_TITLE_ROWS + 1]):
        filled = [bool(to_cell(value).strip()) for value in row]
        if any(filled[1:]):
            return index if sum(filled) >= 2 else 0
    return 0


def _warn_title_rows(where: str, titles: Sequence[Sequence[Any]]) -> None:
    shown = ", ".join(repr(to_cell(title[0]) if title else "") for title in titles)
    warnings.warn(
        f"{where}: {len(titles)} row(s) above the column names skipped as its title: {shown}",
        TitleRowsWarning,
        stacklevel=5,
    )
