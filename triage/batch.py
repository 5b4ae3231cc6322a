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

import csv
import gc
import hashlib
import io
import itertools
import json
import multiprocessing
import os
import re
import sys
import time
import warnings
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from triage._optional import import_optional
from triage.grouping import DEFAULT_THRESHOLD
from triage.io import (
    DataError,
    detect_encoding,
    detect_text_columns,
    encoding_hint,
    join_text,
    join_text_columns,
    resolve_format,
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
DEFAULT_CHUNK_SIZE = 2000
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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Row:
    """One input row: its cells (header order) and, if it could not be read, why."""

    number: int  # 1-based data row number (the header is row 0)
    cells: list[str]
    error: str = ""
    suspect: bool = False  # read fine, but a cell looks like it swallowed further rows


# ---------------------------------------------------------------- readers


class _CountingReader(io.RawIOBase):
    """A binary file that counts the bytes read through it (for progress by bytes)."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)
        self.count += n or 0
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


# What errors="surrogateescape" turns each undecodable byte into.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def _check_decoded(cells: list[str], encoding: str) -> str:
    """A per-row error when a cell holds bytes the encoding could not decode (kept as surrogates)."""
    if any(_ESCAPED_BYTE.search(cell) for cell in cells):
        return f"bytes not valid in {encoding}; try --encoding {encoding_hint(encoding)} (or auto)"
    return ""


def _undecodable_to_replacement(cells: list[str], encoding: str) -> list[str]:
    return [cell.encode(encoding, "surrogateescape").decode(encoding, "replace") for cell in cells]


def _merged_rows(cells: list[str], delimiter: str, width: int) -> bool:
    """Whether a cell may have swallowed following rows: a stray quote makes the CSV reader read on
    to the next quote, so lines holding a whole row's delimiters end up inside one cell. Legitimate
    multi-line cells can look the same, so such rows are tagged and reported, not failed."""
    return width > 2 and any(
        line.count(delimiter) == width - 1 for cell in cells if "\n" in cell for line in cell.split("\n")[1:]
    )


def _read_delimited(handle: Any, delimiter: str, encoding: str) -> tuple[list[str], Iterator[_Row]]:
    text = io.TextIOWrapper(handle, encoding=encoding, errors="surrogateescape", newline="")
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError("the file is empty: no header row") from None
    if _check_decoded(header, encoding):
        raise DataError(f"the header row is not valid {encoding}; try --encoding {encoding_hint(encoding)} or auto")

    def rows() -> Iterator[_Row]:
        number = 0
        while True:
            number += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as problem:  # e.g. a field past the size limit: keep the row, say why
                yield _Row(number, [""] * len(header), f"unreadable CSV row: {problem}")
                continue
            error = _check_decoded(cells, encoding)
            if error:
                cells = _undecodable_to_replacement(cells, encoding)
            elif len(cells) != len(header):
                error = f"row has {len(cells)} fields, the header has {len(header)} (stray quote or delimiter?)"
            suspect = not error and _merged_rows(cells, delimiter, len(header))
            yield _Row(number, (cells + [""] * len(header))[: len(header)], error, suspect)

    return header, rows()


def _read_jsonl(handle: Any, encoding: str) -> tuple[list[str], Iterator[_Row]]:
    """Columns are the keys of the first object; keys that appear only later are not kept."""
    text = io.TextIOWrapper(handle, encoding=encoding, errors="surrogateescape")
    lines = (line for line in text if line.strip())
    first_line = next(lines, None)
    if first_line is None:
        raise DataError("the file is empty")
    try:
        first = json.loads(first_line)
    except json.JSONDecodeError:
        first = None
    if not isinstance(first, dict):
        raise DataError("the first line is not a JSON object; cannot tell the columns")
    header = list(first)

    def rows() -> Iterator[_Row]:
        for number, line in enumerate(_chain(first_line, lines), 1):
            if error := _check_decoded([line], encoding):
                yield _Row(number, [""] * len(header), error)
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as problem:
                record = problem
            if not isinstance(record, dict):
                yield _Row(number, [""] * len(header), f"line is not a JSON object ({record})")
                continue
            yield _Row(number, [_cell(record.get(column)) for column in header])

    return header, rows()


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _cell(value: Any) -> str:
    """A cell as text: missing as "", whole floats without ".0" (IDs, phone numbers), nested as JSON."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _read_parquet(path: Path, chunk_size: int) -> tuple[list[str], Iterator[_Row]]:
    parquet = import_optional("pyarrow.parquet", extra="io", purpose="reading Parquet files")
    file = parquet.ParquetFile(path)
    header = list(file.schema_arrow.names)

    def rows() -> Iterator[_Row]:
        number = 0
        for batch in file.iter_batches(batch_size=chunk_size):
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            for values in zip(*columns, strict=True):
                number += 1
                yield _Row(number, [_cell(v) for v in values])

    return header, rows()


def _read_xlsx(path: Path, sheet: str | None) -> tuple[list[str], Iterator[_Row]]:
    calamine = import_optional("python_calamine", extra="io", purpose="reading XLSX files")
    workbook = calamine.CalamineWorkbook.from_path(str(path))
    name = sheet or workbook.sheet_names[0]
    if name not in workbook.sheet_names:
        raise DataError(f"no sheet {name!r}; the workbook has: {', '.join(workbook.sheet_names)}")
    cells = workbook.get_sheet_by_name(name).iter_rows()
    header = [_cell(v) for v in next(cells, [])]
    if not header:
        raise DataError(f"sheet {name!r} is empty")

    def rows() -> Iterator[_Row]:
        for number, values in enumerate(cells, 1):
            values = [_cell(v) for v in values]
            extra = any(values[len(header) :])
            error = f"row has cells beyond the {len(header)} header columns" if extra else ""
            yield _Row(number, (values + [""] * len(header))[: len(header)], error)

    return header, rows()


# ---------------------------------------------------------------- writers


class _DelimitedWriter:
    def __init__(self, handle: Any, delimiter: str) -> None:
        self._text = io.TextIOWrapper(handle, encoding="utf-8", newline="", write_through=True)
        self._writer = csv.writer(self._text, delimiter=delimiter)

    def header(self, columns: Sequence[str]) -> None:
        self._text.write("\ufeff")  # utf-8-sig: Excel opens the file as UTF-8
        self._writer.writerow(columns)

    def rows(self, rows: list[list[Any]]) -> None:
        self._writer.writerows(rows)

    def flush(self) -> None:
        self._text.flush()

    def close(self) -> None:
        self._text.flush()
        self._text.detach()


class _JsonlWriter:
    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self._columns: Sequence[str] = ()

    def header(self, columns: Sequence[str]) -> None:
        self._columns = columns

    def rows(self, rows: list[list[Any]]) -> None:
        lines = (json.dumps(dict(zip(self._columns, row, strict=True)), ensure_ascii=False) + "\n" for row in rows)
        self._handle.write("".join(lines).encode("utf-8"))

    def flush(self) -> None:
        self._handle.flush()

    def close(self) -> None:
        self._handle.flush()


class _TableWriter:
    """Parquet or XLSX output (not resumable: these formats cannot be appended after a crash)."""

    def __init__(self, path: Path, kind: str, typed: dict[int, str]) -> None:
        self._path, self._kind, self._typed = path, kind, typed  # column index -> "float64" / "bool_"
        self._columns: Sequence[str] = ()
        self._parquet_writer: Any = None
        self._sheet: Any = None

    def header(self, columns: Sequence[str]) -> None:
        self._columns = columns
        if self._kind == "xlsx":
            openpyxl = import_optional("openpyxl", extra="io", purpose="writing XLSX files")
            self._workbook = openpyxl.Workbook(write_only=True)
            self._sheet = self._workbook.create_sheet("triage")
            self._sheet.append(list(columns))

    def rows(self, rows: list[list[Any]]) -> None:
        if self._kind == "xlsx":
            from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # control characters XLSX cannot hold

            for row in rows:
                self._sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
            return
        pyarrow = import_optional("pyarrow", extra="io", purpose="writing Parquet files")
        parquet = import_optional("pyarrow.parquet", extra="io", purpose="writing Parquet files")
        typed = {index: getattr(pyarrow, kind)() for index, kind in self._typed.items()}
        data = {
            c: [None if i in typed and row[i] == "" else row[i] for row in rows]  # unread rows have no tags
            for i, c in enumerate(self._columns)
        }
        schema = pyarrow.schema([(c, typed.get(i, pyarrow.string())) for i, c in enumerate(self._columns)])
        table = pyarrow.table(data, schema=schema)
        if self._parquet_writer is None:
            self._parquet_writer = parquet.ParquetWriter(self._path, schema)
        self._parquet_writer.write_table(table)

    def close(self) -> None:
        if self._kind == "xlsx":
            self._workbook.save(self._path)
        else:
            if self._parquet_writer is None:  # no rows: still a valid, empty Parquet file with the schema
                self.rows([])
            self._parquet_writer.close()


# ---------------------------------------------------------------- tagging


def _tag_chunk(
    model: TriageModel, config: RoutingConfig | None, texts: list[str], errors: list[str]
) -> list[list[Any]]:
    """The added columns (:func:`output_columns`) for one chunk; rows with a reading error are not classified."""
    usable = [i for i, error in enumerate(errors) if not error]
    batch = [texts[i] for i in usable]
    if config is None:
        results: dict[int, Any] = dict(zip(usable, model.classify(batch, explain=0), strict=True))
    else:
        results = dict(zip(usable, model.route(batch, config=config), strict=True))
    empty = ["" for _ in output_columns(config is not None)]
    added = []
    for i, error in enumerate(errors):
        result = results.get(i)
        if result is None:
            added.append([*empty[:-1], error])
            continue
        if config is None:
            candidates, reasons, routing = result.candidates, [result.reason.value] if result.reason else [], []
        else:
            candidates = tuple((code, result.confidence) for code in (result.department,) if code)
            reasons = list(result.review_reasons)
            routing = [result.urgency.value, result.local_office or "", ";".join(result.co_handlers)]
        sub_category = result.sub_category if config is None else result.subcategory
        added.append(
            [
                result.department or "",
                result.department_name or "",
                sub_category or "",
                round(result.confidence, 4),
                json.dumps([[code, round(p, 4)] for code, p in candidates], ensure_ascii=False),
                result.needs_review,
                ";".join(reasons),
                *routing,
                "",
            ]
        )
    return added


# Set in worker processes only: the model and routing config every chunk is tagged with.
_worker_state: tuple[TriageModel, RoutingConfig | None] | None = None


def _set_worker_state(model: TriageModel, config: RoutingConfig | None) -> None:
    global _worker_state
    _worker_state = (model, config)


def _load_worker_state(model_path: str, config: RoutingConfig | None) -> None:
    import triage

    _set_worker_state(triage.load(model_path), config)


def _worker_pool(jobs: int, model: TriageModel, config: RoutingConfig | None) -> ProcessPoolExecutor:
    """Worker processes holding the model once each.

    On Linux workers are forked and inherit the model the parent loaded: its pages stay
    shared copy-on-write instead of being loaded again by every worker. Elsewhere (fork is
    unsafe on macOS, absent on Windows) each worker loads the model from its directory.
    """
    if sys.platform == "linux":
        model.classify("预热", explain=0)  # build lazy state (segmentation dictionary) once, to be shared
        gc.collect()
        gc.freeze()  # keep the collector from touching, and so copying, the inherited objects
        context = multiprocessing.get_context("fork")
        return ProcessPoolExecutor(jobs, mp_context=context, initializer=_set_worker_state, initargs=(model, config))
    if model.path is None:
        raise DataError("tagging with several processes here needs a saved model: save it and pass its directory")
    return ProcessPoolExecutor(jobs, initializer=_load_worker_state, initargs=(str(model.path), config))


def _tag_in_worker(texts: list[str], errors: list[str]) -> list[list[Any]]:
    if _worker_state is None:
        raise RuntimeError("a triage worker process started without its model")
    return _tag_chunk(*_worker_state, texts, errors)


def _fingerprint(path: Path) -> dict[str, Any]:
    stat = path.stat()
    with path.open("rb") as handle:
        head = hashlib.sha256(handle.read(1 << 20)).hexdigest()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "head_sha256": head}


def _chunks(rows: Iterator[_Row], size: int) -> Iterator[list[_Row]]:
    chunk: list[_Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _tag_rows(
    rows: Iterator[_Row],
    text_indices: Sequence[int],
    *,
    model: TriageModel,
    config: RoutingConfig | None,
    chunk_size: int,
    jobs: int,
) -> Iterator[tuple[list[_Row], list[list[Any]]]]:
    """Tag ``rows`` chunk by chunk, in order; with ``jobs > 1`` in worker processes (bounded in flight)."""

    def texts_and_errors(chunk: list[_Row]) -> tuple[list[str], list[str]]:
        texts = [join_text(row.cells[i] for i in text_indices) for row in chunk]
        return texts, [row.error for row in chunk]

    if jobs <= 1:
        for chunk in _chunks(rows, chunk_size):
            yield chunk, _tag_chunk(model, config, *texts_and_errors(chunk))
        return
    try:
        with _worker_pool(jobs, model, config) as pool:
            pending: deque[tuple[list[_Row], Future[list[list[Any]]]]] = deque()
            for chunk in _chunks(rows, chunk_size):
                pending.append((chunk, pool.submit(_tag_in_worker, *texts_and_errors(chunk))))
                if len(pending) >= 2 * jobs:  # bounded: memory stays flat
                    done, future = pending.popleft()
                    yield done, future.result()
            while pending:
                done, future = pending.popleft()
                yield done, future.result()
    finally:
        gc.unfreeze()  # the parent's objects are collectable again once the workers are gone


def _open_input(path: Path, kind: str, encoding: str, sheet: str | None, chunk_size: int):
    """``(byte counter or None, (header, rows))``; the caller closes the counter."""
    if kind == "parquet":
        return None, _read_parquet(path, chunk_size)
    if kind == "xlsx":
        return None, _read_xlsx(path, sheet)
    if encoding == "auto":
        encoding = detect_encoding(path)
    counting = _CountingReader(path.open("rb"))
    buffered = io.BufferedReader(counting, buffer_size=1 << 16)
    try:
        if kind == "jsonl":
            return counting, _read_jsonl(buffered, encoding)
        return counting, _read_delimited(buffered, "," if kind == "csv" else "\t", encoding)
    except BaseException:
        counting.close()
        raise


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
    out_kind: str, partial: Path, done_bytes: int, resumed: bool, typed: dict[int, str]
) -> tuple[Any, Any]:
    """``(file handle or None, writer)``; a resumed file is cut back to its last checkpoint."""
    if out_kind not in _RESUMABLE:
        return None, _TableWriter(partial, out_kind, typed)
    handle = partial.open("r+b" if resumed else "wb")
    handle.truncate(done_bytes)  # drop a chunk half-written before the crash
    handle.seek(done_bytes)
    delimiter = {"csv": ",", "tsv": "\t"}.get(out_kind)
    return handle, _DelimitedWriter(handle, delimiter) if delimiter else _JsonlWriter(handle)


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
    encoding: str = "utf-8-sig",
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
) -> Summary:
    """Tag every row of ``src`` into ``dst``; see the module docstring for the guarantees.

    ``n_jobs`` worker processes classify chunks (``jobs`` is its old, deprecated name).

    Raises :class:`~triage.io.DataError` for problems with the whole file (format, header,
    columns, a stale or foreign checkpoint) and ``FileExistsError`` when ``dst`` exists without
    ``overwrite``. Problems with single rows never raise: the row is written with its
    ``error`` cell filled in. With a routing ``config`` (a :class:`~triage.routing.RoutingConfig`
    or its TOML path, validated before any row is read) rows are routed and also get the
    :data:`ROUTING_COLUMNS`. With ``group`` rows also get the :data:`GROUP_COLUMNS` (a first pass
    reads the texts; unreadable rows stand alone).
    """
    import triage

    if jobs is not None:
        warnings.warn("tag_file(jobs=...) is now n_jobs=..., as in scikit-learn", DeprecationWarning, stacklevel=2)
        n_jobs = jobs
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise DataError(f"no such file: {src}")
    kind, out_kind = resolve_format(src, input_format), resolve_format(dst, output_format)
    if dst.exists() and not overwrite:
        raise FileExistsError(f"{dst} already exists; pass --overwrite to replace it")
    if resume and out_kind not in _RESUMABLE:
        raise DataError(f"--resume needs a CSV, TSV or JSONL output, not {out_kind}")
    started = time.perf_counter()
    counting, (header, rows) = _open_input(src, kind, encoding, sheet, chunk_size)
    try:
        columns = list(text_columns) or detect_text_columns(header)
        missing = [c for c in [*columns, *([id_column] if id_column else [])] if c not in header]
        if missing:
            raise DataError(f"no column {', '.join(map(repr, missing))} in {src}; it has: {', '.join(header)}")
        model = model or triage.load(model_path)  # before the output is touched: a bad model leaves nothing
        if config is not None and not isinstance(config, RoutingConfig):
            config = load_config(config)
        if stop_after is not None:
            rows = itertools.takewhile(lambda row: row.number <= stop_after, rows)
        summary = Summary(input=str(src), output=str(dst), text_columns=columns)
        job = {
            "input": _fingerprint(src),
            "encoding": encoding,
            # format 1 models are known by their estimator's hash; later ones may have only a scorer
            "model": next(
                filter(None, map(model.manifest.get("files", {}).get, ("model.skops", "scorer.npz"))), "unsaved"
            ),
            "columns": header,
            "text_columns": columns,
            "output_format": out_kind,
            "routing": config.source if config is not None else None,
            "group": (group_threshold or DEFAULT_THRESHOLD) if group else None,
            # a partial output written by a version adding other columns must not be continued
            "added_columns": [*output_columns(config is not None), *(GROUP_COLUMNS if group else ())],
        }
        groups = None
        if group:
            text_indices = [header.index(c) for c in columns]
            groups = _group_rows(
                src, kind, encoding, sheet, chunk_size, text_indices, stop_after, job["group"], progress
            )
        _tag_stream(
            rows,
            header,
            job,
            dst,
            summary,
            counting,
            model=model,
            config=config,
            chunk_size=chunk_size,
            jobs=n_jobs,
            resume=resume,
            overwrite=overwrite,
            progress=progress,
            groups=groups,
        )
    finally:
        if counting is not None:
            counting.close()
    summary.elapsed_seconds = round(time.perf_counter() - started, 3)
    summary.rows_per_second = round(summary.rows_out / max(summary.elapsed_seconds, 1e-9), 1)
    if summary_path:
        Path(summary_path).write_text(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2) + "\n", "utf-8")
    return summary


def _tag_stream(
    rows: Iterator[_Row],
    header: list[str],
    job: dict[str, Any],
    dst: Path,
    summary: Summary,
    counting: _CountingReader | None,
    *,
    model: TriageModel,
    config: RoutingConfig | None,
    chunk_size: int,
    jobs: int,
    resume: bool,
    overwrite: bool,
    progress: bool,
    groups: tuple[Any, Any] | None = None,
) -> None:
    """Write tagged rows to ``dst.partial`` with a checkpoint after every chunk, then rename it to ``dst``."""
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
    handle, writer = _open_writer(job["output_format"], partial, done.get("bytes_done", 0), bool(done_rows), typed)
    if not done_rows or isinstance(writer, _JsonlWriter):  # a resumed CSV already has its header
        writer.header([*header, *added])
    text_indices = [header.index(c) for c in summary.text_columns]
    bar = _progress_bar(Path(summary.input), counting, progress)
    try:
        remaining = (row for row in rows if row.number > done_rows)
        for chunk, tags in _tag_rows(
            remaining, text_indices, model=model, config=config, chunk_size=chunk_size, jobs=jobs
        ):
            extra = [[int(c[row.number - 1]) for c in groups] for row in chunk] if groups else [[]] * len(chunk)
            writer.rows([row.cells + tag + more for row, tag, more in zip(chunk, tags, extra, strict=True)])
            counts["suspect_rows"] += [row.number for row in chunk if row.suspect][: 100 - len(counts["suspect_rows"])]
            departments.update(tag[0] or "(none)" for tag in tags)
            counts["needs_review"] += sum(tag[review_index] is True for tag in tags)
            counts["errors"] += sum(bool(tag[-1]) for tag in tags)
            done_rows = chunk[-1].number
            if handle is not None:
                writer.flush()
                handle.flush()
                os.fsync(handle.fileno())
                counts["departments"] = dict(departments)
                _write_checkpoint(
                    checkpoint, {**job, "rows_done": done_rows, "bytes_done": handle.tell(), "counts": counts}
                )
            if bar is not None:
                bar.update((counting.count - bar.n) if counting else len(chunk))
        writer.close()
        if handle is not None:
            handle.close()
        os.replace(partial, dst)
        checkpoint.unlink(missing_ok=True)
    finally:
        if bar is not None:
            bar.close()
        if handle is not None and not handle.closed:
            handle.close()
    summary.rows_in = summary.rows_out = done_rows
    summary.departments = dict(departments.most_common())
    summary.needs_review, summary.errors = counts["needs_review"], counts["errors"]
    summary.suspect_rows = counts["suspect_rows"]


@contextmanager
def read_rows(
    src: Path,
    input_format: str,
    encoding: str,
    sheet: str | None,
    chunk_size: int,
    stop_after: int | None = None,
    progress: str | None = None,
) -> Iterator[tuple[list[str], Iterator[list[_Row]]]]:
    """``(header, chunks of rows)`` of any supported export, streamed, up to data row ``stop_after``;
    the file closes on leaving. Each row has its 1-based data row ``number``, its ``cells`` (one
    per header column) and an ``error`` (non-empty when it could not be decoded or parsed).
    ``progress`` names a progress bar on stderr (bytes read, or rows for Parquet and XLSX)."""
    counting, (header, rows) = _open_input(src, resolve_format(src, input_format), encoding, sheet, chunk_size)
    bar = None
    try:
        bar = _progress_bar(src, counting, progress is not None, description=progress)
        kept = rows if stop_after is None else itertools.takewhile(lambda row: row.number <= stop_after, rows)
        yield header, _chunks(kept, chunk_size) if bar is None else _counted(_chunks(kept, chunk_size), bar, counting)
    finally:
        if bar is not None:
            bar.close()
        if counting is not None:
            counting.close()
        rows.close()  # Parquet and XLSX readers are generators holding their file open


def _counted(chunks: Iterator[list[_Row]], bar: Any, counting: _CountingReader | None) -> Iterator[list[_Row]]:
    for chunk in chunks:
        yield chunk
        bar.update((counting.count - bar.n) if counting else len(chunk))


def _group_rows(
    src: Path,
    kind: str,
    encoding: str,
    sheet: str | None,
    chunk_size: int,
    text_indices: Sequence[int],
    stop_after: int | None,
    threshold: float,
    progress: bool,
) -> tuple[Any, Any]:
    """First pass for ``group=True``: ``(group_id, group_size)`` arrays indexed by data row number - 1."""
    import numpy as np

    from triage.grouping import group_chunks

    description = f"{src.name} (grouping pass)" if progress else None
    with read_rows(src, kind, encoding, sheet, chunk_size, stop_after, progress=description) as (_, chunks):
        texts = (
            ["" if row.error else join_text(row.cells[i] for i in text_indices) for row in chunk] for chunk in chunks
        )
        labels = group_chunks(texts, threshold=threshold)
    if not len(labels):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return labels + 1, np.bincount(labels)[labels]


def _progress_bar(src: Path, counting: _CountingReader | None, enabled: bool, description: str | None = None):
    if not enabled:
        return None
    tqdm = import_optional("tqdm", extra="io", purpose="the progress bar").tqdm
    # No monitor thread: worker processes are forked while the bar runs, and forking a
    # process with other threads running can deadlock.
    bar = type("ProgressBar", (tqdm,), {"monitor_interval": 0})
    description = description or src.name
    if counting is not None:
        return bar(total=src.stat().st_size, unit="B", unit_scale=True, desc=description, file=sys.stderr)
    return bar(unit=" rows", desc=description, file=sys.stderr)


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
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"no column {', '.join(map(repr, missing))}; the frame has: {', '.join(map(str, frame.columns))}"
        )
    texts = join_text_columns(frame, columns)
    tags = _tag_chunk(model, config, texts, [""] * len(texts))
    out = frame.copy()
    for i, name in enumerate(output_columns(config is not None)):
        out[name if name not in frame.columns else f"triage_{name}"] = [tag[i] for tag in tags]
    return out
