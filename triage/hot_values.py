"""The time and likes columns of hot topics: parsed chunk by chunk, and the values ranking cannot use told.

A time column that holds no times, a likes column of text, or one typo such as 2099 for 2019 would
otherwise change the ranking without a word: recency turned off, likes ignored, or every other
message counted as long before the latest one (ages count back from it). :class:`TimesAndLikes`
keeps the arrays ranking needs and, once the batch is read, warns (:class:`~triage.exceptions.UnusedValueWarning`)
how many given values were of no use and which was the first. A time more than a day after the
clock's now is such a typo: no message was written then (a day of slack, as naive local times are
read as UTC).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from triage.exceptions import UnusedValueWarning
from triage.hotness import has_value, read_likes
from triage.times import NOT_A_TIME, parse_times, time_format

__all__ = ["TimesAndLikes"]

_SHOWN_CHARS = 40  # of a value a warning quotes


@dataclass
class _Unused:
    """Given values of no use to ranking: how many, and where the first one is."""

    what: str  # "are not times"
    effect: str  # what they count as
    count: int = 0
    first: str = ""

    def add(self, values: Sequence[Any], unused: np.ndarray, places: Sequence[int], place: str) -> None:
        where = np.flatnonzero(unused)
        if len(where) and not self.first:
            self.first = f"{place} {places[where[0]]}: {str(values[where[0]])[:_SHOWN_CHARS]!r}"
        self.count += len(where)

    def warn(self, name: str, total: int, stacklevel: int) -> None:
        if self.count:
            message = f"{self.count:,} of {total:,} {name} {self.what} (the first, {self.first}); {self.effect}"
            warnings.warn(message, UnusedValueWarning, stacklevel=stacklevel + 1)


@dataclass
class TimesAndLikes:
    """Message times (int64 ns, :data:`~triage.times.NOT_A_TIME` where of no use) and like counts of a batch
    added chunk by chunk. Times are parsed in the format of the first given one (:func:`~triage.times.time_format`),
    so a file read in chunks parses as one batch would."""

    times_name: str  # how a warning names the time values: "values of the time column '时间'"
    likes_name: str
    place: str = "row"  # what ``places`` number: "row" (of the export) or "index" (of a list)
    now: np.datetime64 = field(default_factory=lambda: np.datetime64("now", "ns"))
    stamps: list[np.ndarray] = field(default_factory=list)
    likes: list[np.ndarray] = field(default_factory=list)
    _format: str | None = None

    def __post_init__(self) -> None:
        self._not_times = _Unused("are not times", "those messages count as the oldest")
        self._late = _Unused(
            "are later than tomorrow, a typo for an earlier year?",
            "those messages count as without a time (the oldest)",
        )
        self._not_counts = _Unused("are not like counts", "they count 0")

    def add(self, times: Sequence[Any] | None, likes: Sequence[Any] | None, places: Sequence[int]) -> None:
        """The times and likes (``None``: no such column) of messages numbered ``places``."""
        if times is not None:
            given = np.array([has_value(value) for value in times], dtype=bool)
            if self._format is None and given.any():
                self._format = time_format(times)
            stamps = parse_times(times, self._format or "mixed")
            late = stamps > (self.now + np.timedelta64(1, "D")).astype("datetime64[ns]").astype(np.int64)
            stamps[late] = NOT_A_TIME
            unread = (stamps == NOT_A_TIME) & ~late & given
            self._not_times.add(times, unread, places, self.place)
            self._late.add(times, late, places, self.place)
            self.stamps.append(stamps)
        if likes is not None:
            counts, unusable = read_likes(likes)
            self._not_counts.add(likes, unusable, places, self.place)
            self.likes.append(counts)

    def arrays(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """``(stamps, likes)`` of every message added, ``None`` for a column never given."""
        return (
            np.concatenate(self.stamps) if self.stamps else None,
            np.concatenate(self.likes) if self.likes else None,
        )

    def warn(self, total: int, stacklevel: int = 1) -> None:
        """One :class:`~triage.exceptions.UnusedValueWarning` per kind of unused value, if any."""
        named = ((self._not_times, self.times_name), (self._late, self.times_name), (self._not_counts, self.likes_name))
        for unused, name in named:
            unused.warn(name, total, stacklevel + 1)
