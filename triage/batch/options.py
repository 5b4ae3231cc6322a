"""What a run takes and what it reports: the added columns, :class:`TagOptions` and :class:`Summary`."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from triage.defaults import DEFAULT_CHUNK_SIZE, DEFAULT_GROUP_THRESHOLD
from triage.io import (
    MAX_ERROR_SHARE,
)
from triage.results import Classification, RoutingSuggestion
from triage.routing import RoutingConfig

#: Columns the tagger adds to every row, in this order. ``sub_category`` stays empty unless the model
#: was trained with sub-labels or, when routing, the department's keywords name one.
OUTPUT_COLUMNS = (*Classification.ROW_COLUMNS, "error")
#: Columns added before ``error`` when a routing config is given.
ROUTING_COLUMNS = RoutingSuggestion.ROW_COLUMNS[len(Classification.ROW_COLUMNS) :]
#: Columns added after ``error`` with ``group=True``: the data row number (1 = the first row after the
#: header) of the first row of the row's near-duplicate group, and the group's size.
GROUP_COLUMNS = ("group_id", "group_size")
_RESUMABLE = ("csv", "tsv", "jsonl")


def output_columns(routing: bool) -> tuple[str, ...]:
    """The columns added to each row: :data:`OUTPUT_COLUMNS`, with :data:`ROUTING_COLUMNS` before ``error``."""
    return OUTPUT_COLUMNS[:-1] + (ROUTING_COLUMNS if routing else ()) + OUTPUT_COLUMNS[-1:]


#: Every column triage can add to a row (tags, routing, grouping).
_ADDED_COLUMNS = frozenset(OUTPUT_COLUMNS + ROUTING_COLUMNS + GROUP_COLUMNS)


def added_column_prefix(header: Iterable[Any]) -> str:
    """What the names of the columns triage adds start with beside the input columns ``header``: ``triage_``
    when the input has a column named like any of them, so that they stay one set under one prefix whatever
    engine (``tag_file``, ``tag_dataframe``, Dask) or options added them; else nothing."""
    return "triage_" if _ADDED_COLUMNS & set(header) else ""


@dataclass
class Summary:
    """What a tagging run did; also written as JSON with ``summary_path``."""

    input: str
    output: str
    rows_in: int = 0
    rows_out: int = 0
    departments: dict[str, int] = field(default_factory=dict)
    needs_review: int = 0
    errors: int = 0
    resumed_after_rows: int = 0
    #: Rows (first 100) with a cell that looks like it swallowed further rows (a stray quote?).
    suspect_rows: list[int] = field(default_factory=list)
    elapsed_seconds: float = 0.0
    rows_per_second: float = 0.0
    text_columns: list[str] = field(default_factory=list)
    #: CSV/TSV/JSONL input: the encoding read with and why (e.g. ``gb18030 (4,326 lines GBK/GB18030, ...)``).
    encoding: str = ""
    #: The first unreadable or failed row and why ("" when none).
    first_error: str = ""
    #: The template cut from the messages before classifying (:mod:`triage.boilerplate`): its openings and
    #: endings, as compared (letters, digits and CJK only). Learned from the input's first rows, else the
    #: model's own (:attr:`~triage.model.TriageModel.template`); empty when neither has one or it was kept.
    template: dict[str, list[str]] = field(default_factory=dict)

    def failure(self, max_error_share: float = MAX_ERROR_SHARE) -> str:
        """Why the run counts as failed (more than ``max_error_share`` of its rows are errors), or ""."""
        if not self.rows_out or self.errors <= max_error_share * self.rows_out:
            return ""
        return f"{self.errors:,} of {self.rows_out:,} rows failed; the first: {self.first_error}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Inputs smaller than this are tagged in-process when ``n_jobs`` is left to the cores present: forking
#: and warming a worker takes about as long as tagging a megabyte (~1,000 messages) on one core.
_WORTH_A_POOL_BYTES = 1 << 20


def _cores_present() -> int:
    """The cores this process may run on (its CPU affinity where the platform tells it)."""
    counted = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counted is not None:
        return counted() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


@dataclass(frozen=True)
class TagOptions:
    """How :func:`~triage.batch.tag_file` tags a file: one frozen value instead of a long list of parameters.

    ``n_jobs`` worker processes tag the rows (``None`` or -1: one per core present; default 1); ``config`` is a
    :class:`~triage.routing.RoutingConfig` or the path of its TOML file; ``group_threshold`` ``None``
    means :data:`~triage.defaults.DEFAULT_GROUP_THRESHOLD`. See :func:`~triage.batch.tag_file` for the others.
    """

    model_path: str | Path | None = None
    config: RoutingConfig | str | Path | None = None
    text_columns: Sequence[str] = ()
    id_column: str | None = None
    input_format: str = "auto"
    output_format: str = "auto"
    encoding: str = "auto"
    sheet: str | int | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE
    n_jobs: int | None = 1
    resume: bool = False
    overwrite: bool = False
    stop_after: int | None = None
    progress: bool = True
    summary_path: str | Path | None = None
    group: bool = False
    group_threshold: float | None = None
    spreadsheet_safe: bool = True
    cut_template: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.text_columns, str):
            raise TypeError(f"text_columns takes a list of column names, not the string {self.text_columns!r}")
        object.__setattr__(self, "text_columns", tuple(self.text_columns))
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {self.chunk_size}")
        if self.n_jobs is not None and self.n_jobs < 1 and self.n_jobs != -1:
            raise ValueError(f"n_jobs must be at least 1, or None (or -1) for one per core; got {self.n_jobs}")

    @property
    def workers(self) -> int:
        """Worker processes to use: ``n_jobs``, with ``None`` and -1 (scikit-learn's "all") as the cores present."""
        return _cores_present() if self.n_jobs in (None, -1) else int(self.n_jobs)

    @property
    def threshold(self) -> float:
        """The grouping threshold in effect."""
        return self.group_threshold or DEFAULT_GROUP_THRESHOLD
