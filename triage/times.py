"""Message times: one format per file, parsed to int64 nanoseconds, counted by month.

Exports write times in every way (``2024-05-01 09:00``, ``2024/5/1``, ``01/05/2024``, with or
without an offset, or the Chinese way: ``2024年5月1日 9时30分``, rewritten as ``2024-5-1 9:30:00``
since pandas reads no Chinese dates). A file read in chunks must parse every chunk the way one
batch would, so the format is inferred once, from the first readable value (:func:`time_format`),
and values in another format are parsed one by one. Unreadable values become :data:`NOT_A_TIME`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["NOT_A_TIME", "monthly_counts", "parse_times", "time_format", "timestamp_text"]

#: numpy's NaT as int64 nanoseconds: the value of a time that could not be read.
NOT_A_TIME = np.iinfo(np.int64).min


#: 2024年5月1日 (also 号 for 日): a date the Chinese way.
_CHINESE_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
#: 9时30分(15秒), 9点30分, 9点 or 9时 (整): a time of day the Chinese way, after such a date.
_CHINESE_CLOCK = re.compile(r"(\d{1,2})\s*[时点]\s*(?:(\d{1,2})\s*分)?\s*(?:(\d{1,2})\s*秒)?\s*整?")


def _western(value: Any) -> Any:
    """A time written the Chinese way (2024年5月1日 9时30分) as pandas reads one (2024-5-1 9:30:00); other
    values as they are."""
    if not isinstance(value, str) or "年" not in value:
        return value
    text, dated = _CHINESE_DATE.subn(r"\1-\2-\3 ", value)
    if not dated:
        return value
    clock = _CHINESE_CLOCK.sub(lambda m: f"{m[1]}:{m[2] or '00'}:{m[3] or '00'}", text)
    return " ".join(clock.split())


def time_format(values: Sequence[Any]) -> str:
    """The format pandas infers from the first readable value (``"mixed"`` if none is recognised):
    a file read in chunks parses every chunk with its first chunk's format, as one batch would be."""
    from pandas.tseries.api import guess_datetime_format

    first = next((str(_western(v)).strip() for v in values if v is not None and str(v).strip()), "")
    with warnings.catch_warnings():  # pandas notes a day-first guess; the guess is what we want
        warnings.filterwarnings("ignore", "Parsing dates in", UserWarning)
        return (guess_datetime_format(first) or "mixed") if first else "mixed"


def parse_times(values: Sequence[Any], format: str | None = None) -> np.ndarray:
    """Times as int64 nanoseconds (naive; offsets converted to UTC), ``NaT`` where unreadable.

    ``format`` defaults to :func:`time_format` of ``values``; values in another format are parsed
    one by one.
    """
    import pandas

    raw = pandas.Series([_western(value) for value in values], dtype=object)
    # utc=True: offsets ("+08:00") and naive times mix without error; naive ones are taken as UTC
    parsed = pandas.to_datetime(raw, errors="coerce", utc=True, format=format or time_format(values))
    retry = parsed.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if retry.any():
        with warnings.catch_warnings():  # each value on its own, day-first ones included
            warnings.filterwarnings("ignore", "Parsing dates in", UserWarning)
            parsed[retry] = pandas.to_datetime(raw[retry], errors="coerce", format="mixed", utc=True)
    return parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").view(np.int64)


def timestamp_text(nanoseconds: int) -> str:
    """A parsed time as text (``2024-05-01 09:00:00``)."""
    import pandas

    return str(pandas.Timestamp(int(nanoseconds)))


def monthly_counts(stamps: np.ndarray) -> tuple[tuple[str, int], ...]:
    """``(month "YYYY-MM", count)`` from the first to the last month of ``stamps`` (readable times
    only), months without a message included."""
    if not len(stamps):
        return ()
    months = stamps.astype("datetime64[ns]").astype("datetime64[M]")
    first, last = months.min(), months.max()
    counts = np.bincount((months - first).astype(np.int64), minlength=int((last - first).astype(np.int64)) + 1)
    return tuple((str(first + np.timedelta64(i, "M")), int(c)) for i, c in enumerate(counts))
