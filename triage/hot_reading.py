"""Reading an export for hot topics: two streaming passes through :func:`triage.io.read_rows`.

Pass one (:func:`read_signals`) reads every row once: each chunk's texts go to near-duplicate
grouping (:func:`triage.grouping.group_chunks`) and to the concerns' key words
(:class:`triage.concerns.ConcernTerms`) — both spilled to temporary files past 100,000 messages and
read back a block at a time — and each row keeps its time and likes in memory: a few dozen bytes
a message, never its text. Pass two (:func:`read_back`) reads only the texts
and ids the report shows. Rows the reader could not decode or parse stand alone, as in
``triage tag``; a file that changes between the passes is refused.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from triage.boilerplate import SAMPLE_SIZE, Boilerplate
from triage.concerns import ConcernTerms, concern_groups, copies_by_place
from triage.grouping import group_chunks
from triage.hot_values import TimesAndLikes
from triage.hotness import Signals
from triage.io import (
    MAX_ERROR_SHARE,
    DataError,
    Row,
    detect_text_columns,
    join_text,
    read_rows,
    require_columns,
    require_saved_values,
)

__all__ = ["Columns", "FirstPass", "ReadOptions", "file_state", "read_back", "read_signals"]


@dataclass(frozen=True)
class ReadOptions:
    """How to open the export (the arguments of :func:`triage.io.read_rows`)."""

    format: str = "auto"
    encoding: str = "auto"
    sheet: str | None = None
    chunk_size: int = 5_000


@dataclass(frozen=True)
class Columns:
    """Positions in the header of the columns hot topics read (``None``: not given)."""

    text: list[int]
    time: int | None = None
    likes: int | None = None
    id: int | None = None

    @classmethod
    def of(
        cls,
        header: list[str],
        text_columns: Sequence[str],
        time_column: str | None,
        likes_column: str | None,
        id_column: str | None,
        source: Path,
    ) -> Columns:
        """The positions of the named columns (text columns detected when none is named); a
        missing one raises :class:`~triage.io.DataError` listing the columns there are."""
        texts = list(text_columns) or detect_text_columns(header)
        named = [*texts, *(c for c in (time_column, likes_column, id_column) if c)]
        require_columns(header, named, source=source)
        at = header.index
        return cls(
            [at(c) for c in texts],
            time=at(time_column) if time_column else None,
            likes=at(likes_column) if likes_column else None,
            id=at(id_column) if id_column else None,
        )

    def text_of(self, row: Row) -> str:
        """The row's text: its text columns joined (empty for a row that could not be read)."""
        return "" if row.error else join_text(row.cells[i] for i in self.text)


@dataclass(frozen=True)
class FirstPass:
    """What pass one keeps: every message's :class:`~triage.hotness.Signals` and the text columns."""

    signals: Signals
    columns: Columns
    state: tuple[int, int]  # the file's size and modification time when it was read
    #: The template the first rows were typed into (:mod:`triage.boilerplate`), cut where topics are described.
    template: Boilerplate = field(default_factory=Boilerplate)
    #: A JSONL file's keys (:attr:`triage.io.Export.keys`): pass two, which stops after the last row it wants,
    #: reads with them, so its columns are these (a key may first appear past that row), and scans no more.
    keys: list[str] | None = None

    @property
    def n_messages(self) -> int:
        return len(self.signals.groups)


@dataclass
class _Collector:
    """Per-message figures gathered beside the texts of pass one."""

    columns: Columns
    terms: ConcernTerms | None
    values: TimesAndLikes
    unreadable: int = 0
    first_error: str = ""
    #: The first texts, which the template is learned from (:data:`triage.boilerplate.SAMPLE_SIZE`).
    sample: list[str] = field(default_factory=list)

    def texts_of(self, chunks: Iterator[list[Row]]) -> Iterator[list[str]]:
        """The texts of each chunk, its times, likes, key words, first texts and unreadable rows taken on the
        way."""
        time, likes = self.columns.time, self.columns.likes
        for chunk in chunks:
            errors = [row for row in chunk if row.error]
            self.unreadable += len(errors)
            if errors and not self.first_error:
                self.first_error = f"row {errors[0].number}: {errors[0].error}"
            texts = [self.columns.text_of(row) for row in chunk]
            self.sample += texts[: SAMPLE_SIZE - len(self.sample)]
            if self.terms is not None:
                self.terms.add(texts)
            self.values.add(
                [row.cells[time] for row in chunk] if time is not None else None,
                [row.cells[likes] for row in chunk] if likes is not None else None,
                [row.number for row in chunk],
            )
            yield texts


def file_state(path: Path) -> tuple[int, int]:
    """Size and modification time: a file that changes between the two passes is refused."""
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def read_signals(
    path: Path,
    *,
    text_columns: Sequence[str],
    time_column: str | None,
    likes_column: str | None,
    id_column: str | None,
    options: ReadOptions,
    threshold: float,
    concern_threshold: float | None,
    progress: str | None = None,
) -> FirstPass:
    """Pass one: topic ids (concerns with ``concern_threshold``, else near-duplicate groups found
    with ``threshold``), near-duplicate ids, times and likes of every row. Raises
    :class:`~triage.io.DataError` when more than :data:`~triage.io.MAX_ERROR_SHARE` of the rows
    cannot be read."""
    state = file_state(path)
    with ExitStack() as stack:
        terms = stack.enter_context(ConcernTerms()) if concern_threshold is not None else None
        with read_rows(path, **vars(options), progress=progress) as export:
            columns = Columns.of(export.header, text_columns, time_column, likes_column, id_column, path)
            read = (*columns.text, columns.time, columns.likes, columns.id)
            names = [export.header[i] for i in read if i is not None]
            require_saved_values(export.unsaved_formulas(), names, path)
            export.mark_error_values(names)  # a time #VALUE! is its row's error, as in tag, not a missing time
            keys = export.keys
            values = TimesAndLikes(
                f"values of the time column {time_column!r}", f"values of the likes column {likes_column!r}"
            )
            collector = _Collector(columns, terms, values)
            copies = group_chunks(collector.texts_of(export.chunks), threshold=threshold)
        n = len(copies)
        if n and collector.unreadable > MAX_ERROR_SHARE * n:
            raise DataError(
                f"{collector.unreadable:,} of {n:,} rows of {path} cannot be read; the first: {collector.first_error}"
            )
        groups = copies
        if n and terms is not None and concern_threshold is not None:
            ids, weights = terms.arrays()
            copies = copies_by_place(ids, weights, copies)  # one letter about two estates: two voices
            groups = concern_groups(ids, weights, copies, threshold=concern_threshold)
    values.warn(n, stacklevel=3)  # from hot_topics_from_file's caller
    stamps, likes = values.arrays()
    signals = Signals(groups=groups, copies=copies, stamps=stamps, likes=likes)
    return FirstPass(signals, columns, state, Boilerplate.from_texts(collector.sample), keys)


def read_back(
    path: Path,
    first: FirstPass,
    options: ReadOptions,
    wanted_text: set[int],
    wanted_id: set[int],
    progress: str | None = None,
) -> tuple[dict[int, str], dict[int, str]]:
    """Pass two: ``(texts, ids)`` of the wanted messages (by index); an id is the id column's cell,
    else the data row number. Stops after the last wanted row."""
    if file_state(path) != first.state:
        raise DataError(f"{path} changed while it was read; run again on a file nothing is writing to")
    texts: dict[int, str] = {}
    ids: dict[int, str] = {}
    last = max(wanted_text | wanted_id, default=-1)
    id_at = first.columns.id
    reading = read_rows(path, **vars(options), stop_after=last + 1, progress=progress, jsonl_keys=first.keys)
    with reading as export:
        for chunk in export.chunks:
            for row in chunk:
                index = row.number - 1
                if index in wanted_text:
                    texts[index] = first.columns.text_of(row)
                if index in wanted_id:
                    ids[index] = row.cells[id_at] if id_at is not None else str(row.number)
    return texts, ids
