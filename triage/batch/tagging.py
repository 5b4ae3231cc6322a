"""Tagging rows: a chunk's texts through the model, the plan of a run, and the tagged parts the writer takes
(their counts, and the output columns encoded as the writer would)."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triage._optional import import_optional
from triage.batch.options import GROUP_COLUMNS, TagOptions, added_column_prefix, output_columns
from triage.batch.writers import _candidates_array, _CellRule, _DelimitedWriter, _JsonlWriter
from triage.boilerplate import Boilerplate
from triage.io import (
    Export,
    Row,
    Unreadable,
    detect_text_columns,
    join_text,
    require_columns,
    require_saved_values,
    unique_columns,
)
from triage.model import TriageModel
from triage.results import RankedCandidates
from triage.routing import RoutingConfig


def _tag_chunk(
    model: TriageModel,
    config: RoutingConfig | None,
    texts: list[str],
    errors: list[str],
    ranked_candidates: bool = False,
    template: Boilerplate | None = None,
) -> list[Any]:
    """The added columns (:func:`output_columns`) of one chunk, a list of values each: each result's
    ``to_row()`` and an empty ``error``; rows with a reading error are not classified and get only their error.
    With ``ranked_candidates`` (outputs that store the candidates as lists) and no routing, ``candidates`` is
    a :class:`~triage.results.RankedCandidates` instead of JSON text. Texts are classified with ``template``
    (:meth:`~triage.boilerplate.Boilerplate.cut`) cut off: the batch's, else the model's (``None``: the
    model's own, :attr:`~triage.model.TriageModel.template`; ``Boilerplate()``: none)."""
    usable = [i for i, error in enumerate(errors) if not error]
    batch = [texts[i] for i in usable] if len(usable) < len(texts) else texts
    tags = len(output_columns(config is not None)) - 1
    # the columns hold no explanation: computing one costs ~20 % of a routed row
    if config is None:  # the cells of classify(batch, explain=0), without building the results first
        found = model._classification_columns(batch, ranked_candidates=ranked_candidates, template=template)
    else:
        rows = [result.to_row() for result in model._route(batch, config, [None] * len(batch), 0, template)]
        found = [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(tags)]
    if len(usable) < len(errors):  # rows with a reading error get blank tags
        found = [_spread(values, usable, len(errors)) for values in found]
    return [*found, list(errors)]


def _spread(values: Any, usable: list[int], rows: int) -> Any:
    """The tags ``values`` of the ``usable`` rows placed among ``rows`` rows, the others blank ("", or a
    candidates row not read: null in Parquet)."""
    if isinstance(values, RankedCandidates):
        import numpy as np

        at = np.full(rows, -1, dtype=np.intp)
        at[usable] = np.arange(len(usable))
        return values.take(at)
    column = [""] * rows
    for i, value in zip(usable, values, strict=True):
        column[i] = value
    return column


@dataclass(frozen=True)
class _Run:
    """What one run tags and writes every row with; the parent's copy, and each worker's."""

    source: Path
    in_kind: str
    out_kind: str
    #: The encoding CSV/TSV/JSONL input is read with (None for other formats).
    encoding: str | None
    header: tuple[str, ...]
    #: JSONL input: the keys of all its objects (:attr:`~triage.io.Export.keys`), which workers read their
    #: byte ranges with instead of scanning the whole file again (None for other formats).
    jsonl_keys: tuple[str, ...] | None
    text_indices: tuple[int, ...]
    chunk_size: int
    config: RoutingConfig | None
    #: The tags added to each row (:func:`output_columns`, then :data:`GROUP_COLUMNS` if grouping); the
    #: output's header calls them ``triage_NAME`` when the input has a column so named (:func:`added_column_prefix`).
    names: tuple[str, ...]
    cells: _CellRule
    #: The template the input's first rows were typed into, cut before classifying (:mod:`triage.boilerplate`).
    template: Boilerplate = field(default_factory=Boilerplate)

    @property
    def review_index(self) -> int:
        return self.names.index("needs_review")

    def texts_and_errors(self, chunk: list[Row]) -> tuple[list[str], list[str]]:
        return _joined_texts(chunk, self.text_indices), [row.error for row in chunk]

    def tags(self, model: TriageModel, texts: list[str], errors: list[str]) -> list[Any]:
        """:func:`_tag_chunk` for this run's output (Parquet takes the candidates as arrays)."""
        return _tag_chunk(
            model, self.config, texts, errors, ranked_candidates=self.out_kind == "parquet", template=self.template
        )


def _joined_texts(chunk: list[Row], text_indices: Sequence[int]) -> list[str]:
    """:func:`~triage.io.join_text` of each row's text cells, for a whole chunk at once."""
    return _joined_columns([[row.cells[index] for row in chunk] for index in text_indices])


def _joined_columns(columns: Sequence[Sequence[str]]) -> list[str]:
    """:func:`~triage.io.join_text` of each row's cells in the text ``columns`` (one sequence of cells each)."""
    if len(columns) == 1:
        return list(columns[0])
    return [join_text(parts) for parts in zip(*columns, strict=True)]


def _cell_rule(
    header: Sequence[str], names: Sequence[str], spreadsheet_safe: bool, input_types: tuple[Any, ...] | None
) -> _CellRule:
    """The cell rule of an output with the input columns ``header`` (of ``input_types``, kept in Parquet
    output; None: text) and the added columns ``names`` (:func:`output_columns`, maybe grouping's)."""
    at = {name: len(header) + i for i, name in enumerate(names)}
    typed = {at["confidence"]: "float64", at["needs_review"]: "bool_"}
    typed |= {at[c]: "int64" for c in GROUP_COLUMNS if c in at}
    prefix = added_column_prefix(header)
    return _CellRule(
        spreadsheet_safe=spreadsheet_safe,
        error_index=at["error"],
        candidates_index=at["candidates"],
        added_from=len(header),
        columns=tuple(unique_columns([*header, *(prefix + name for name in names)], where="the output")),
        typed=typed,
        input_types=input_types,
    )


def parquet_table(
    tagged: Any, header: Sequence[str], names: Sequence[str], input_types: tuple[Any, ...] | None = None
) -> Any:
    """A tagged pandas frame (input columns ``header``, then the added ``names``, as :func:`~triage.batch.tag_dataframe`
    gives them) as the Arrow table ``tag_file`` writes to Parquet for the same rows: the same schema, so the
    Dask engine's output reads as the local tagger's. The input columns are cast to ``input_types`` (their
    Arrow types in a Parquet input, kept as Parquet to Parquet keeps them; None: text). Missing tags of rows
    not read are nulls."""
    pyarrow = import_optional("pyarrow", extra="io", purpose="writing Parquet files")
    rule = _cell_rule(header, names, spreadsheet_safe=False, input_types=input_types)
    schema = rule.arrow_schema()
    table = pyarrow.Table.from_pandas(tagged, preserve_index=False)
    arrays = [
        _candidates_array(pyarrow, [cell or "" for cell in column.to_pylist()], kind)
        if index == rule.candidates_index
        else column.cast(kind)
        for index, (column, kind) in enumerate(zip(table.columns, schema.types, strict=True))
    ]
    return pyarrow.Table.from_arrays(arrays, schema=schema)


def _plan_run(export: Export, options: TagOptions, out_kind: str, config: RoutingConfig | None) -> _Run:
    """The run's columns, cell rule and typed columns, from the input's header and the options."""
    header = export.header
    columns = list(options.text_columns) or detect_text_columns(header)
    read = [*columns, *([options.id_column] if options.id_column else [])]
    require_columns(header, read, source=export.path)
    require_saved_values(export.unsaved_formulas(), read, export.path)  # else empty messages tagged, or empty ids
    export.mark_error_values(read)  # a message #REF! is its row's error, not an empty message tagged
    names = output_columns(config is not None) + (GROUP_COLUMNS if options.group else ())
    keep_types = export.schema is not None and out_kind == "parquet"
    input_types = tuple(export.schema.types) if keep_types else None
    cells = _cell_rule(header, names, options.spreadsheet_safe, input_types)
    return _Run(
        source=export.path,
        in_kind=export.format,
        out_kind=out_kind,
        encoding=export.encoding.encoding if export.encoding else None,
        header=tuple(header),
        jsonl_keys=tuple(export.keys) if export.keys is not None else None,
        text_indices=tuple(header.index(c) for c in columns),
        chunk_size=options.chunk_size,
        config=config,
        names=names,
        cells=cells,
    )


@dataclass
class _Counts:
    """What the summary reports of the rows written so far; saved in the checkpoint."""

    departments: Counter[str] = field(default_factory=Counter)
    needs_review: int = 0
    errors: int = 0
    suspect_rows: list[int] = field(default_factory=list)
    #: The first unreadable or failed row, as ``(row number, why)``.
    first_error: tuple[int, str] | None = None

    def add(self, chunk: list[Row], tags: list[list[Any]], review_index: int, before: int) -> None:
        """Count a tagged chunk (its added columns, ``error`` last) whose rows are numbered from
        ``before + 1``; counts keep numbers from 1."""
        self.suspect_rows += [row.number - before for row in chunk if row.suspect][: 100 - len(self.suspect_rows)]
        self.departments.update(department or "(none)" for department in tags[0])
        self.needs_review += sum(value is True for value in tags[review_index])
        self.errors += sum(map(bool, tags[-1]))
        if self.first_error is None:
            self.first_error = next(((row.number - before, row.error) for row in chunk if row.error), None)

    def merge(self, other: _Counts, before: int) -> None:
        """Add the counts of a part whose rows follow row ``before``."""
        self.suspect_rows += [before + n for n in other.suspect_rows][: 100 - len(self.suspect_rows)]
        self.departments.update(other.departments)
        self.needs_review += other.needs_review
        self.errors += other.errors
        if self.first_error is None and other.first_error is not None:
            self.first_error = (before + other.first_error[0], other.first_error[1])

    def describe_first_error(self) -> str:
        return f"row {self.first_error[0]}: {self.first_error[1]}" if self.first_error else ""

    def as_json(self) -> dict[str, Any]:
        return {
            "departments": dict(self.departments),
            "needs_review": self.needs_review,
            "errors": self.errors,
            "suspect_rows": self.suspect_rows,
            "first_error": self.describe_first_error(),
        }

    @classmethod
    def from_json(cls, saved: dict[str, Any] | None) -> _Counts:
        saved = saved or {}
        number, _, why = str(saved.get("first_error") or "").removeprefix("row ").partition(": ")
        return cls(
            Counter(saved.get("departments", {})),
            saved.get("needs_review", 0),
            saved.get("errors", 0),
            list(saved.get("suspect_rows", [])),
            (int(number), why) if number.isdigit() else None,
        )


@dataclass
class _Part:
    """Consecutive rows tagged and ready for the writer: their encoded output (a worker's part) or the
    output columns (tagged in this process), how many, and their counts numbered from 1."""

    data: Any
    rows: int
    counts: _Counts
    encoded: bool
    #: For a byte range of the input: where it started and stopped, and where its last record ended.
    share: tuple[int, int] | None = None
    end: int | None = None


class _PartEncoder:
    """A worker's rows, encoded as the parent's writer of the same format would write them."""

    def __init__(self, run: _Run) -> None:
        self._cells = run.cells
        self._buffer = io.BytesIO()
        self._tables: list[Any] = []
        self._writer: _DelimitedWriter | _JsonlWriter | None = None
        if run.out_kind in ("csv", "tsv"):
            self._writer = _DelimitedWriter(self._buffer, _DELIMITERS[run.out_kind], run.cells)
        elif run.out_kind == "jsonl":
            self._writer = _JsonlWriter(self._buffer, run.cells)
            self._writer.header(run.cells.columns)

    def columns(self, columns: Sequence[Sequence[Any]]) -> None:
        if self._writer is None:
            self._tables.append(self._cells.arrow_table(columns))
        else:
            self._writer.columns(columns)

    def data(self) -> Any:
        """Bytes (CSV/TSV/JSONL) or an Arrow table (Parquet)."""
        if self._writer is None:
            pyarrow = import_optional("pyarrow", extra="io", purpose="writing Parquet files")
            return pyarrow.concat_tables(self._tables) if self._tables else self._cells.empty_table()
        self._writer.close()
        return self._buffer.getvalue()


_DELIMITERS = {"csv": ",", "tsv": "\t"}


def _output_columns(run: _Run, chunk: list[Row], tags: list[list[Any]], groups: Any) -> list[Sequence[Any]]:
    """The output columns of a tagged chunk: input values as the output keeps them, tags, group columns."""
    original = _original_values(run.in_kind, run.out_kind)
    inputs = list(zip(*map(original, chunk), strict=True))  # a chunk is never empty (chunked)
    extra = [[int(c[row.number - 1]) for row in chunk] for c in groups] if groups else []
    return [*inputs, *tags, *extra]


def _tagged_part(model: TriageModel, run: _Run, chunks: Iterable[list[Row]]) -> _Part:
    """Tag and encode rows numbered from 1 (a worker's share)."""
    encoder, counts, rows = _PartEncoder(run), _Counts(), 0
    for chunk in chunks:
        tags = run.tags(model, *run.texts_and_errors(chunk))
        encoder.columns(_output_columns(run, chunk, tags, None))
        counts.add(chunk, tags, run.review_index, 0)
        rows += len(chunk)
    return _Part(encoder.data(), rows, counts, encoded=True)


def _original_values(in_kind: str, out_kind: str) -> Any:
    """How a row's input columns reach the output: typed outputs (JSONL, Parquet) of typed inputs keep
    the values as read (ints stay ints, lists stay lists; Parquet to Parquet keeps every Arrow type),
    text outputs get the cells (:func:`~triage.io.to_cell`)."""
    if in_kind == "parquet" and out_kind == "parquet":  # a value Python cannot hold, as Arrow read it
        return lambda row: [v.scalar if isinstance(v, Unreadable) else v for v in row.values]
    if in_kind in ("jsonl", "parquet") and out_kind == "jsonl":
        # a value Python cannot hold reaches the writer's json.dumps(default=to_cell): its cell
        return lambda row: row.cells if row.error else [None if _is_nan(v) else v for v in row.values]
    return lambda row: row.cells


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value
