"""Reading labelled or unlabelled exports: CSV/TSV (UTF-8, GBK/GB18030, UTF-16), XLSX, JSONL, Parquet.

Needs the ``io`` extra (pandas, pyarrow, python-calamine). Text cells are read as strings and
missing cells become ``""``, so no NaN ever reaches segmentation.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from triage._optional import import_optional
from triage.exceptions import TriageError

__all__ = [
    "DataError",
    "detect_encoding",
    "detect_format",
    "detect_text_columns",
    "encoding_hint",
    "join_text",
    "join_text_columns",
    "read_table",
    "resolve_format",
]

FORMATS = ("csv", "tsv", "xlsx", "jsonl", "parquet")
_SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_SNIFF_BYTES = 1 << 20
# Headers exports use for the message, best first; a subject/body pair is joined.
_TEXT_HEADERS = (
    ("留言主题", "留言详情"),
    ("标题", "内容"),
    ("主题", "内容"),
    ("subject", "body"),
    ("title", "content"),
    ("诉求内容",),
    ("工单内容",),
    ("来信内容",),
    ("留言内容",),
    ("留言详情",),
    ("内容",),
    ("诉求",),
    ("text",),
    ("content",),
    ("body",),
    ("message",),
)


class DataError(TriageError, ValueError):
    """An input file cannot be read as asked: wrong format, encoding or columns."""


def detect_format(path: str | Path) -> str:
    """The format named by the file's suffix (``.csv``, ``.tsv``, ``.xlsx``, ``.jsonl``, ``.parquet``)."""
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise DataError(f"cannot tell the format of {path} from its suffix; pass --format {'|'.join(FORMATS)}")
    return _SUFFIXES[suffix]


def detect_encoding(path: str | Path) -> str:
    """Guess a text file's encoding: a BOM (UTF-8, UTF-16), else UTF-8 if the start decodes, else GB18030.

    GB18030 is the superset of GBK and GB2312 that Chinese government systems export.
    """
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # A multi-byte character cut at the sniff boundary is not an error.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < _SNIFF_BYTES)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def encoding_hint(encoding: str) -> str:
    """The encoding to suggest when text does not decode as ``encoding``."""
    return "gb18030" if encoding.lower().startswith("utf") else "utf-8-sig"


def resolve_format(path: str | Path, requested: str) -> str:
    """``requested`` checked against :data:`FORMATS`, or the format named by the suffix for ``"auto"``."""
    if requested == "auto":
        return detect_format(path)
    if requested not in FORMATS:
        raise DataError(f"unknown format {requested!r}; use one of auto, {', '.join(FORMATS)}")
    return requested


def join_text(parts: Iterable[str]) -> str:
    """One message from its parts (subject, then body), empty parts skipped."""
    return "\n".join(part for part in parts if part)


def _decode_error(path: Path, encoding: str, error: UnicodeDecodeError) -> DataError:
    return DataError(
        f"{path} is not valid {encoding} (byte offset {error.start} in the block being decoded: {error.reason}); "
        f"try --encoding {encoding_hint(encoding)} or --encoding auto"
    )


def read_table(
    path: str | Path, *, format: str = "auto", encoding: str = "utf-8-sig", sheet: str | int | None = None
) -> Any:
    """Read a whole export into a pandas DataFrame of strings (missing cells as ``""``).

    ``encoding`` applies to CSV/TSV/JSONL; ``"auto"`` uses :func:`detect_encoding`. ``sheet``
    picks an XLSX sheet by name or index (default: the first).
    """
    pandas = import_optional("pandas", extra="io", purpose="reading data files")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    kind = resolve_format(path, format)
    if encoding == "auto":
        encoding = detect_encoding(path) if kind in ("csv", "tsv", "jsonl") else "utf-8"
    try:
        if kind in ("csv", "tsv"):
            frame = pandas.read_csv(
                path,
                sep="," if kind == "csv" else "\t",
                dtype=str,
                encoding=encoding,
                keep_default_na=False,
                on_bad_lines="error",
            )
        elif kind == "jsonl":
            frame = pandas.read_json(path, lines=True, dtype=False, encoding=encoding)
        elif kind == "parquet":
            frame = pandas.read_parquet(path)
        else:
            import_optional("python_calamine", extra="io", purpose="reading XLSX files")
            frame = pandas.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=str, engine="calamine")
    except UnicodeDecodeError as error:
        raise _decode_error(path, encoding, error) from None
    except (ValueError, pandas.errors.ParserError) as error:
        raise DataError(f"cannot read {path} as {kind}: {error}") from None
    return frame.fillna("").astype(str)


def detect_text_columns(columns: Sequence[str]) -> list[str]:
    """The text columns of an export by their headers: a subject/body pair if present, else one column."""
    normalised = {str(c).strip().lower(): str(c) for c in columns}
    for headers in _TEXT_HEADERS:
        if all(h in normalised for h in headers):
            return [normalised[h] for h in headers]
    raise DataError(f"no text column recognised among: {', '.join(map(str, columns))}; name it with --text-column")


def join_text_columns(frame: Any, columns: Sequence[str]) -> list[str]:
    """Each row's text: the given columns joined by a newline (subject, then body); a missing cell
    (None, NaN) counts as empty and any other value as its ``str``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"no column {', '.join(map(repr, missing))}; the file has: {', '.join(map(str, frame.columns))}"
        )
    cells = frame[list(columns)].astype(object).where(frame[list(columns)].notna(), "").astype(str)
    if len(columns) == 1:
        return list(cells[columns[0]])
    return [join_text(parts) for parts in zip(*(cells[c] for c in columns), strict=True)]
