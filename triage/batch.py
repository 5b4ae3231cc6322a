"""The batch tagger: every row of an export comes back tagged, or with a per-row error, in input order.

Rows stream from reader to writer in chunks, so memory stays flat however long the file is.
Output is written to ``OUTPUT.partial`` and renamed into place at the end; a checkpoint beside
it (``OUTPUT.partial.json``) records how many rows and bytes are safely written, so
``resume=True`` continues after a crash or Ctrl-C without losing or duplicating a row. With
``jobs > 1`` chunks are classified by worker processes that each load the model once.
With ``group=True`` a first pass over the input sketches every text (:mod:`triage.grouping`;
memory: 256 bytes a row) so that each row also gets its near-duplicate group.

Needs the ``io`` extra (pandas, pyarrow, python-calamine, openpyxl, tqdm).
"""

from __future__ import annotations

import contextlib
import csv
import gc
import hashlib
import io
import json
import multiprocessing
import os
import sys
import time
import warnings
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from triage._optional import import_optional
from triage.defaults import DEFAULT_CHUNK_SIZE, DEFAULT_GROUP_THRESHOLD
from triage.io import (
    MAX_ERROR_SHARE,
    DataError,
    Export,
    Row,
    Unreadable,
    chunked,
    detect_text_columns,
    join_text,
    join_text_columns,
    read_rows,
    require_columns,
    resolve_format,
    spreadsheet_row,
    to_cell,
    unique_columns,
)
from triage.model import TriageModel
from triage.routing import RoutingConfig, load_config

__all__ = [
    "GROUP_COLUMNS",
    "OUTPUT_COLUMNS",
    "ROUTING_COLUMNS",
    "Summary",
    "output_columns",
    "tag_dataframe",
    "tag_file",
]

#: Columns the tagger adds to every row, in this order. ``sub_category`` stays empty unless the model
#: was trained with sub-labels or, when routing, the department's keywords name one.
OUTPUT_COLUMNS = (
    "department",
    "department_name",
    "sub_category",
    "confidence",
    "candidates",
    "needs_review",
    "review_reason",
    "error",
)
#: Columns added before ``error`` when a routing config is given.
ROUTING_COLUMNS = ("urgency", "local_office", "co_handlers")
#: Columns added after ``error`` with ``group=True``: the data row number (1 = the first row after the
#: header) of the first row of the row's near-duplicate group, and the group's size.
GROUP_COLUMNS = ("group_id", "group_size")
_RESUMABLE = ("csv", "tsv", "jsonl")


def output_columns(routing: bool) -> tuple[str, ...]:
    """The columns added to each row: :data:`OUTPUT_COLUMNS`, with :data:`ROUTING_COLUMNS` before ``error``."""
    return OUTPUT_COLUMNS[:-1] + (ROUTING_COLUMNS if routing else ()) + OUTPUT_COLUMNS[-1:]


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

    def failure(self, max_error_share: float = MAX_ERROR_SHARE) -> str:
        """Why the run counts as failed (more than ``max_error_share`` of its rows are errors), or ""."""
        if not self.rows_out or self.errors <= max_error_share * self.rows_out:
            return ""
        return f"{self.errors:,} of {self.rows_out:,} rows failed; the first: {self.first_error}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- writers


@dataclass(frozen=True)
class _CellRule:
    """The one place the tagger's values become output cells. Text formats (CSV, TSV, XLSX) get
    ``candidates`` as JSON text and, with ``spreadsheet_safe``, text that cannot turn into a formula
    (:func:`~triage.io.spreadsheet_text`); typed formats (JSONL, Parquet) keep candidates as a list of
    ``{department, confidence}``."""

    spreadsheet_safe: bool
    error_index: int
    candidates_index: int

    def text_row(self, row: list[Any]) -> list[Any]:
        return spreadsheet_row(row) if self.spreadsheet_safe else row

    def typed_row(self, row: list[Any]) -> list[Any]:
        # candidates travel from the workers as JSON text: smaller in flight than lists (CSV needs only that)
        candidates = row[self.candidates_index]
        listed = [{"department": code, "confidence": p} for code, p in json.loads(candidates)] if candidates else None
        return [*row[: self.candidates_index], listed, *row[self.candidates_index + 1 :]]


class _DelimitedWriter:
    def __init__(self, handle: Any, delimiter: str, cells: _CellRule) -> None:
        self._text = io.TextIOWrapper(handle, encoding="utf-8", newline="", write_through=True)
        self._writer = csv.writer(self._text, delimiter=delimiter)
        self._cells = cells

    def header(self, columns: Sequence[str]) -> None:
        self._text.write("\ufeff")  # utf-8-sig: Excel opens the file as UTF-8
        self._writer.writerow(spreadsheet_row(columns) if self._cells.spreadsheet_safe else columns)

    def rows(self, rows: list[list[Any]]) -> None:
        self._writer.writerows(map(self._cells.text_row, rows))

    def flush(self) -> None:
        self._text.flush()

    def close(self) -> None:
        self._text.flush()
        self._text.detach()


class _JsonlWriter:
    def __init__(self, handle: Any, cells: _CellRule) -> None:
        self._handle = handle
        self._columns: Sequence[str] = ()
        self._cells = cells

    def header(self, columns: Sequence[str]) -> None:
        self._columns = columns

    def rows(self, rows: list[list[Any]]) -> None:
        lines = (
            json.dumps(
                dict(zip(self._columns, self._cells.typed_row(row), strict=True)), ensure_ascii=False, default=to_cell
            )
            + "\n"
            for row in rows
        )
        self._handle.write("".join(lines).encode("utf-8"))

    def flush(self) -> None:
        self._handle.flush()

    def close(self) -> None:
        self._handle.flush()


#: The longest text an XLSX cell holds (Excel's limit); longer cells are cut and the row's error says so.
XLSX_CELL_CHARS = 32_767


class _TableWriter:
    """Parquet or XLSX output (not resumable: these formats cannot be appended after a crash)."""

    def __init__(self, path: Path, kind: str, typed: dict[int, str], cells: _CellRule) -> None:
        self._path, self._kind, self._typed = path, kind, typed  # column index -> "float64" / "bool_"
        self._cells = cells
        self._columns: Sequence[str] = ()
        #: Arrow types of the input columns (Parquet to Parquet); None: they are written as text.
        self.input_types: list[Any] | None = None
        self._parquet_writer: Any = None
        self._sheet: Any = None

    def header(self, columns: Sequence[str]) -> None:
        self._columns = columns
        if self._kind == "xlsx":
            openpyxl = import_optional("openpyxl", extra="io", purpose="writing XLSX files")
            self._workbook = openpyxl.Workbook(write_only=True)
            self._sheet = self._workbook.create_sheet("triage")
            self._sheet.append(self._xlsx_row(self._cells.text_row(list(columns))))

    def rows(self, rows: list[list[Any]]) -> None:
        if self._kind == "xlsx":
            for row in rows:
                self._sheet.append(self._xlsx_row(self._cells.text_row(row)))
            return
        pyarrow = import_optional("pyarrow", extra="io", purpose="writing Parquet files")
        parquet = import_optional("pyarrow.parquet", extra="io", purpose="writing Parquet files")
        typed = {index: getattr(pyarrow, kind)() for index, kind in self._typed.items()}
        typed[self._cells.candidates_index] = pyarrow.list_(
            pyarrow.struct([("department", pyarrow.string()), ("confidence", pyarrow.float64())])
        )
        rows = [self._cells.typed_row(row) for row in rows]
        data = {
            c: [None if i in typed and row[i] == "" else row[i] for row in rows]  # unread rows have no tags
            for i, c in enumerate(self._columns)
        }
        kept = dict(enumerate(self.input_types or ()))
        schema = pyarrow.schema([(c, typed.get(i, kept.get(i, pyarrow.string()))) for i, c in enumerate(self._columns)])
        table = pyarrow.table(data, schema=schema)
        if self._parquet_writer is None:
            self._parquet_writer = parquet.ParquetWriter(self._path, schema)
        self._parquet_writer.write_table(table)

    def _xlsx_row(self, row: list[Any]) -> list[Any]:
        """Text as string cells (never formulas), control characters XLSX cannot hold removed, cells
        over :data:`XLSX_CELL_CHARS` cut with a note in the row's error."""
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        cut = []
        out: list[Any] = []
        for index, value in enumerate(row):
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
                if len(value) > XLSX_CELL_CHARS:
                    cut.append(self._columns[index] if index < len(self._columns) else str(index))
                    value = value[:XLSX_CELL_CHARS]
                if value.startswith("="):  # openpyxl would store it as a formula
                    cell = WriteOnlyCell(self._sheet, value=value)
                    cell.data_type = "s"
                    value = cell
            out.append(value)
        if cut and self._columns and self._cells.error_index < len(out):
            note = f"{', '.join(map(repr, cut))} cut to {XLSX_CELL_CHARS:,} characters (the XLSX cell limit)"
            error = out[self._cells.error_index]
            out[self._cells.error_index] = f"{error}; {note}" if error else note
        return out

    def close(self) -> None:
        if self._kind == "xlsx":
            self._workbook.save(self._path)
        else:
            if self._parquet_writer is None:  # no rows: still a valid, empty Parquet file with the schema
                self.rows([])
            self._parquet_writer.close()

    def discard(self) -> None:
        """Release what a failed run holds open (its file is deleted next); errors here would hide the first."""
        with contextlib.suppress(Exception):
            if self._sheet is not None:
                self._sheet.close()
            if self._parquet_writer is not None:
                self._parquet_writer.close()


# ---------------------------------------------------------------- tagging


def _tag_chunk(
    model: TriageModel, config: RoutingConfig | None, texts: list[str], errors: list[str]
) -> list[list[Any]]:
    """The added columns (:func:`output_columns`) for one chunk: each result's ``to_row()`` and an
    empty ``error``; rows with a reading error are not classified and get only their error."""
    usable = [i for i, error in enumerate(errors) if not error]
    batch = [texts[i] for i in usable]
    found = model.classify(batch, explain=0) if config is None else model.route(batch, config=config)
    cells = dict(zip(usable, (result.to_row() for result in found), strict=True))
    blank = [""] * (len(output_columns(config is not None)) - 1)
    return [[*cells[i], ""] if not error else [*blank, error] for i, error in enumerate(errors)]


# Set in worker processes only: the model and routing config every chunk is tagged with.
_worker_state: tuple[TriageModel, RoutingConfig | None] | None = None


def _die_with_parent(parent: int) -> None:
    """Ask Linux to end this worker when its parent dies, however it dies (kill -9 included).

    Without it, workers of a killed ``tag`` lived on for minutes holding the model (~150 MB each).
    Elsewhere the pool's own shutdown is all there is.
    """
    if sys.platform != "linux":
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request was in place
        os._exit(1)


def _set_worker_state(model: TriageModel, config: RoutingConfig | None, parent: int) -> None:
    global _worker_state
    _die_with_parent(parent)
    _worker_state = (model, config)


def _load_worker_state(model_path: str, config: RoutingConfig | None, parent: int) -> None:
    import triage

    _set_worker_state(triage.load(model_path), config, parent)


def _worker_pool(jobs: int, model: TriageModel, config: RoutingConfig | None) -> ProcessPoolExecutor:
    """Worker processes holding the model once each, already started.

    On Linux workers are forked and inherit the model the parent loaded: its pages stay
    shared copy-on-write instead of being loaded again by every worker. Elsewhere (fork is
    unsafe on macOS, absent on Windows) each worker loads the model from its directory.
    """
    if sys.platform == "linux":
        model.classify("预热", explain=0)  # build lazy state (segmentation dictionary) once, to be shared
        context = multiprocessing.get_context("fork")
        with _frozen_for_fork():
            pool = ProcessPoolExecutor(
                jobs, mp_context=context, initializer=_set_worker_state, initargs=(model, config, os.getpid())
            )
            try:
                pool.submit(int)  # with fork the first submit forks every worker: here, while frozen
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise
        return pool
    if model.path is None:
        raise DataError("tagging with several processes here needs a saved model: save it and pass its directory")
    return ProcessPoolExecutor(
        jobs, initializer=_load_worker_state, initargs=(str(model.path), config, os.getpid())
    )


@contextlib.contextmanager
def _frozen_for_fork() -> Iterator[None]:
    """Freeze the garbage collector's objects while workers are forked, then thaw them in this process.

    Frozen, the inherited objects are never touched by the workers' collectors, so their pages
    stay shared copy-on-write. The parent is the caller's process: it gets its collector back
    as it was. A caller who froze objects itself is left alone (``gc`` cannot thaw only ours).
    """
    if gc.get_freeze_count():
        yield
        return
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _tag_in_worker(texts: list[str], errors: list[str]) -> list[list[Any]]:
    if _worker_state is None:
        raise RuntimeError("a triage worker process started without its model")
    return _tag_chunk(*_worker_state, texts, errors)


def _fingerprint(path: Path) -> dict[str, Any]:
    stat = path.stat()
    with path.open("rb") as handle:
        head = hashlib.sha256(handle.read(1 << 20)).hexdigest()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "head_sha256": head}


def _tag_rows(
    chunks: Iterator[list[Row]],
    text_indices: Sequence[int],
    *,
    model: TriageModel,
    config: RoutingConfig | None,
    jobs: int,
) -> Iterator[tuple[list[Row], list[list[Any]]]]:
    """Tag ``chunks`` of rows, in order; with ``jobs > 1`` in worker processes (bounded in flight)."""

    def texts_and_errors(chunk: list[Row]) -> tuple[list[str], list[str]]:
        texts = [join_text(row.cells[i] for i in text_indices) for row in chunk]
        return texts, [row.error for row in chunk]

    if jobs <= 1:
        for chunk in chunks:
            yield chunk, _tag_chunk(model, config, *texts_and_errors(chunk))
        return
    with _worker_pool(jobs, model, config) as pool:
        pending: deque[tuple[list[Row], Future[list[list[Any]]]]] = deque()
        for chunk in chunks:
            pending.append((chunk, pool.submit(_tag_in_worker, *texts_and_errors(chunk))))
            if len(pending) >= 2 * jobs:  # bounded: memory stays flat
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


def _resume_point(job: dict[str, Any], checkpoint: Path, partial: Path, resume: bool, overwrite: bool) -> dict:
    """What an interrupted run of the same job safely wrote (rows, bytes, counts); empty to start afresh."""
    if not checkpoint.is_file() or not partial.is_file():
        return {}
    if not resume:
        if overwrite:
            return {}
        raise DataError(f"an interrupted run left {partial}; pass --resume to continue it or --overwrite to start over")
    try:
        saved = json.loads(checkpoint.read_text(encoding="utf-8"))
        done = {key: saved[key] for key in ("rows_done", "bytes_done", "counts")}
    except (OSError, ValueError, KeyError, TypeError):
        raise DataError(f"{checkpoint} is damaged; delete it and {partial} to start over") from None
    if {k: saved.get(k) for k in job} != job:
        raise DataError(f"{checkpoint} belongs to another input, model or options; use --overwrite to start over")
    return done


def _write_checkpoint(checkpoint: Path, state: dict[str, Any]) -> None:
    """Replace the checkpoint atomically: a crash leaves the old one or the new one, never half."""
    temporary = checkpoint.with_name(checkpoint.name + ".tmp")
    temporary.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, checkpoint)


def _open_writer(
    out_kind: str, partial: Path, done_bytes: int, resumed: bool, typed: dict[int, str], cells: _CellRule
) -> tuple[Any, Any]:
    """``(file handle or None, writer)``; a resumed file is cut back to its last checkpoint."""
    if out_kind not in _RESUMABLE:
        partial.open("wb").close()  # an unwritable destination fails here, before any row is tagged
        return None, _TableWriter(partial, out_kind, typed, cells)
    handle = partial.open("r+b" if resumed else "wb")
    handle.truncate(done_bytes)  # drop a chunk half-written before the crash
    handle.seek(done_bytes)
    delimiter = {"csv": ",", "tsv": "\t"}.get(out_kind)
    return handle, _DelimitedWriter(handle, delimiter, cells) if delimiter else _JsonlWriter(handle, cells)


def tag_file(
    src: str | Path,
    dst: str | Path,
    *,
    model: TriageModel | None = None,
    model_path: str | Path | None = None,
    config: RoutingConfig | str | Path | None = None,
    text_columns: Sequence[str] = (),
    id_column: str | None = None,
    input_format: str = "auto",
    output_format: str = "auto",
    encoding: str = "auto",
    sheet: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_jobs: int = 1,
    resume: bool = False,
    overwrite: bool = False,
    stop_after: int | None = None,
    progress: bool = True,
    summary_path: str | Path | None = None,
    group: bool = False,
    group_threshold: float | None = None,
    jobs: int | None = None,
    spreadsheet_safe: bool = True,
) -> Summary:
    """Tag every row of ``src`` into ``dst``; see the module docstring for the guarantees.

    ``n_jobs`` worker processes classify chunks (``jobs`` is its old, deprecated name).

    Raises :class:`~triage.io.DataError` for problems with the whole file (format, header,
    columns, a stale or foreign checkpoint) and ``FileExistsError`` when ``dst`` exists without
    ``overwrite``. Problems with single rows never raise: the row is written with its
    ``error`` cell filled in. With a routing ``config`` (a :class:`~triage.routing.RoutingConfig`
    or its TOML path, validated before any row is read) rows are routed and also get the
    :data:`ROUTING_COLUMNS`. With ``group`` rows also get the :data:`GROUP_COLUMNS` (a first pass
    reads the texts; unreadable rows stand alone). ``encoding`` ``"auto"`` decides from a large
    sample (:func:`triage.io.choose_encoding`; the choice is in the summary). CSV, TSV and XLSX
    text cells are made safe to open in a spreadsheet (:func:`triage.io.spreadsheet_text`) unless
    ``spreadsheet_safe=False`` (for programs that read the file back).
    """
    import triage

    if jobs is not None:
        warnings.warn("tag_file(jobs=...) is now n_jobs=..., as in scikit-learn", DeprecationWarning, stacklevel=2)
        n_jobs = jobs
    src, dst = Path(src), Path(dst)
    out_kind = resolve_format(dst, output_format)
    if dst.exists() and not overwrite:
        raise FileExistsError(f"{dst} already exists; pass --overwrite to replace it")
    if resume and out_kind not in _RESUMABLE:
        raise DataError(f"--resume needs a CSV, TSV or JSONL output, not {out_kind}")
    started = time.perf_counter()
    reading = read_rows(
        src,
        format=input_format,
        encoding=encoding,
        sheet=sheet,
        chunk_size=chunk_size,
        stop_after=stop_after,
        progress=src.name if progress else None,
    )
    with reading as export:
        header = export.header
        columns = list(text_columns) or detect_text_columns(header)
        require_columns(header, [*columns, *([id_column] if id_column else [])], source=src)
        model = model or triage.load(model_path)  # before the output is touched: a bad model leaves nothing
        if config is not None and not isinstance(config, RoutingConfig):
            config = load_config(config)
        summary = Summary(input=str(src), output=str(dst), text_columns=columns, encoding=str(export.encoding or ""))
        threshold = group_threshold or DEFAULT_GROUP_THRESHOLD
        job = {
            "input": _fingerprint(src),
            "encoding": export.encoding.encoding if export.encoding else None,
            # format 1 models are known by their estimator's hash; later ones may have only a scorer
            "model": next(
                filter(None, map(model.manifest.get("files", {}).get, ("model.skops", "scorer.npz"))), "unsaved"
            ),
            "columns": header,
            "text_columns": columns,
            "output_format": out_kind,
            "spreadsheet_safe": spreadsheet_safe,
            "routing": config.source if config is not None else None,
            "group": threshold if group else None,
            # a partial output written by a version adding other columns must not be continued
            "added_columns": [*output_columns(config is not None), *(GROUP_COLUMNS if group else ())],
        }
        groups = None
        if group:
            groups = _group_rows(export, [header.index(c) for c in columns], stop_after, threshold, progress)
        _tag_stream(
            export,
            job,
            dst,
            summary,
            model=model,
            config=config,
            chunk_size=chunk_size,
            jobs=n_jobs,
            resume=resume,
            overwrite=overwrite,
            groups=groups,
        )
    summary.elapsed_seconds = round(time.perf_counter() - started, 3)
    summary.rows_per_second = round(summary.rows_out / max(summary.elapsed_seconds, 1e-9), 1)
    if summary_path:
        Path(summary_path).write_text(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2) + "\n", "utf-8")
    return summary


def _tag_stream(
    export: Export,
    job: dict[str, Any],
    dst: Path,
    summary: Summary,
    *,
    model: TriageModel,
    config: RoutingConfig | None,
    chunk_size: int,
    jobs: int,
    resume: bool,
    overwrite: bool,
    groups: tuple[Any, Any] | None = None,
) -> None:
    """Write tagged rows to ``dst.partial`` with a checkpoint after every chunk, then rename it to ``dst``."""
    header = export.header
    partial, checkpoint = Path(f"{dst}.partial"), Path(f"{dst}.partial.json")
    done = _resume_point(job, checkpoint, partial, resume, overwrite)
    done_rows = done.get("rows_done", 0)
    counts = done.get("counts") or {"departments": {}, "needs_review": 0, "errors": 0, "suspect_rows": []}
    departments = Counter(counts["departments"])
    summary.resumed_after_rows = done_rows
    names = output_columns(config is not None) + (GROUP_COLUMNS if groups is not None else ())
    added = [f"triage_{c}" for c in names] if set(names) & set(header) else list(names)
    review_index = names.index("needs_review")
    typed = {len(header) + names.index("confidence"): "float64", len(header) + review_index: "bool_"}
    if groups is not None:
        typed |= {len(header) + names.index(c): "int64" for c in GROUP_COLUMNS}
    cells = _CellRule(
        spreadsheet_safe=job["spreadsheet_safe"],
        error_index=len(header) + names.index("error"),
        candidates_index=len(header) + names.index("candidates"),
    )
    out_kind = job["output_format"]
    input_types = list(export.schema.types) if export.schema is not None and out_kind == "parquet" else None
    handle, writer = _open_writer(out_kind, partial, done.get("bytes_done", 0), bool(done_rows), typed, cells)
    if input_types is not None:
        writer.input_types = input_types
    original = _original_values(export.format, out_kind)
    if not done_rows or isinstance(writer, _JsonlWriter):  # a resumed CSV already has its header
        writer.header(unique_columns([*header, *added], where="the output"))
    text_indices = [header.index(c) for c in summary.text_columns]
    try:
        remaining = export.chunks
        if done_rows:  # resumed: skip the rows already written
            remaining = chunked((row for chunk in remaining for row in chunk if row.number > done_rows), chunk_size)
        for chunk, tags in _tag_rows(remaining, text_indices, model=model, config=config, jobs=jobs):
            extra = [[int(c[row.number - 1]) for c in groups] for row in chunk] if groups else [[]] * len(chunk)
            writer.rows([original(row) + tag + more for row, tag, more in zip(chunk, tags, extra, strict=True)])
            counts["suspect_rows"] += [row.number for row in chunk if row.suspect][: 100 - len(counts["suspect_rows"])]
            departments.update(tag[0] or "(none)" for tag in tags)
            counts["needs_review"] += sum(tag[review_index] is True for tag in tags)
            counts["errors"] += sum(bool(tag[-1]) for tag in tags)
            if not counts.get("first_error"):
                counts["first_error"] = next((f"row {r.number}: {r.error}" for r in chunk if r.error), "")
            done_rows = chunk[-1].number
            if handle is not None:
                writer.flush()
                handle.flush()
                os.fsync(handle.fileno())
                counts["departments"] = dict(departments)
                _write_checkpoint(
                    checkpoint, {**job, "rows_done": done_rows, "bytes_done": handle.tell(), "counts": counts}
                )
        writer.close()
        if handle is not None:
            handle.close()
        os.replace(partial, dst)
        checkpoint.unlink(missing_ok=True)
    except BaseException:
        if handle is None:  # Parquet/XLSX cannot be resumed: a partial file is only litter
            writer.discard()
            partial.unlink(missing_ok=True)
        raise
    finally:
        if handle is not None and not handle.closed:
            handle.close()
    summary.rows_in = summary.rows_out = done_rows
    summary.departments = dict(departments.most_common())
    summary.needs_review, summary.errors = counts["needs_review"], counts["errors"]
    summary.suspect_rows = counts["suspect_rows"]
    summary.first_error = counts.get("first_error", "")


def _original_values(in_kind: str, out_kind: str) -> Any:
    """How a row's input columns reach the output: typed outputs (JSONL, Parquet) of typed inputs keep
    the values as read (ints stay ints, lists stay lists; Parquet to Parquet keeps every Arrow type),
    text outputs get the cells (:func:`~triage.io.to_cell`)."""
    if in_kind == "parquet" and out_kind == "parquet":
        return lambda row: [None if isinstance(v, Unreadable) else v for v in row.values]
    if in_kind in ("jsonl", "parquet") and out_kind == "jsonl":
        return lambda row: row.cells if row.error else [None if _is_nan(v) else v for v in row.values]
    return lambda row: row.cells


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def _group_rows(
    export: Export, text_indices: Sequence[int], stop_after: int | None, threshold: float, progress: bool
) -> tuple[Any, Any]:
    """First pass for ``group=True``: ``(group_id, group_size)`` arrays indexed by data row number - 1."""
    import numpy as np

    from triage.grouping import group_chunks

    description = f"{export.path.name} (grouping pass)" if progress else None
    reading = read_rows(
        export.path,
        format=export.format,
        encoding=export.encoding.encoding if export.encoding else "auto",
        sheet=export.sheet,
        chunk_size=DEFAULT_CHUNK_SIZE,
        stop_after=stop_after,
        progress=description,
    )
    with reading as first_pass:
        texts = (
            ["" if row.error else join_text(row.cells[i] for i in text_indices) for row in chunk]
            for chunk in first_pass.chunks
        )
        labels = group_chunks(texts, threshold=threshold)
    if not len(labels):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return labels + 1, np.bincount(labels)[labels]


def tag_dataframe(
    frame: Any,
    text_columns: Sequence[str] = (),
    *,
    model: TriageModel | None = None,
    config: RoutingConfig | None = None,
) -> Any:
    """Return a copy of a pandas DataFrame with the :func:`output_columns` added (in memory)."""
    import triage

    model = model or triage.load()
    columns = list(text_columns) or detect_text_columns(frame.columns)
    require_columns(frame.columns, columns, holder="the frame")
    texts = join_text_columns(frame, columns)
    tags = _tag_chunk(model, config, texts, [""] * len(texts))
    out = frame.copy()
    for i, name in enumerate(output_columns(config is not None)):
        out[name if name not in frame.columns else f"triage_{name}"] = [tag[i] for tag in tags]
    return out
