"""Worker processes: each holds the model once and tags shares of the input it reads itself, or texts it is
sent; the parent gets the tagged parts back in input order."""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, cast

from triage._optional import import_optional
from triage.batch.options import _WORTH_A_POOL_BYTES, TagOptions
from triage.batch.tagging import _Counts, _joined_columns, _joined_texts, _output_columns, _Part, _Run, _tagged_part
from triage.io import (
    DataError,
    Export,
    Row,
    batch_rows,
    batch_text_columns,
    byte_shares,
    chunked,
    joined_shares,
    read_rows,
)
from triage.model import TriageModel
from triage.results import rounded_cells

# Set in worker processes only: the model, and the run every chunk is tagged for.
_worker_state: tuple[TriageModel, _Run | None] | None = None


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


def _set_worker_state(model: TriageModel, run: _Run | None, parent: int) -> None:
    global _worker_state
    _die_with_parent(parent)
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:  # parts in Arrow: from malloc, which gives freed pages back (mimalloc kept ~20 MB)
        pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    _worker_state = (model, run)


def _load_worker_state(model_path: str, run: _Run | None, parent: int) -> None:
    import triage

    _set_worker_state(triage.load(model_path), run, parent)


def _worker_pool(jobs: int, model: TriageModel, run: _Run | None) -> ProcessPoolExecutor:
    """Worker processes holding the model once each, already started.

    On Linux workers are forked and inherit the model the parent loaded: its pages stay
    shared copy-on-write instead of being loaded again by every worker. Elsewhere (fork is
    unsafe on macOS, absent on Windows) each worker loads the model from its directory.
    """
    if sys.platform == "linux":
        import numpy as np

        model.classify("预热", explain=0)  # build lazy state (segmentation dictionary) once, to be shared
        rounded_cells(np.zeros(1))  # and the rounding tables of the cells (~1 MiB)
        if run is not None and run.out_kind == "parquet":  # and pyarrow.compute (~5 MiB a worker), which
            # builds the added columns (input cells need no other module; a typed input's keep their arrays)
            run.cells.arrow_arrays({i: [] for i in range(run.cells.added_from, len(run.cells.columns))})
        context = multiprocessing.get_context("fork")
        with _frozen_for_fork():
            pool = ProcessPoolExecutor(
                jobs, mp_context=context, initializer=_set_worker_state, initargs=(model, run, os.getpid())
            )
            try:
                pool.submit(int)  # with fork the first submit forks every worker: here, while frozen
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise
        return pool
    if model.path is None:
        raise DataError("tagging with several processes here needs a saved model: save it and pass its directory")
    return ProcessPoolExecutor(jobs, initializer=_load_worker_state, initargs=(str(model.path), run, os.getpid()))


@contextlib.contextmanager
def _frozen_for_fork() -> Iterator[None]:
    """Freeze the garbage collector's objects while workers are forked, then thaw them in this process.

    Frozen, the inherited objects are never touched by the workers' collectors, so their pages
    stay shared copy-on-write. The parent is the caller's process: it gets its collector back
    as it was. A caller who froze objects itself is left alone (``gc`` cannot thaw only ours).
    No collection first: the ``gc`` documentation freezes right before forking, and a full
    collection of a loaded model's process took ~30 ms of the start, on one core.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _worker() -> tuple[TriageModel, _Run]:
    """The model and the run of this worker process."""
    model, run = _worker_state or (None, None)
    if model is None or run is None:
        raise RuntimeError("a triage worker process started without its model")
    return model, run


def _tag_in_worker(texts: list[str], errors: list[str]) -> list[list[Any]]:
    model, run = _worker()
    return run.tags(model, texts, errors)


def _tag_share_in_worker(start: int, stop: int) -> _Part:
    """A worker's share of a CSV/TSV/JSONL input: the records that start in bytes ``[start, stop)``."""
    model, run = _worker()
    reading = read_rows(
        run.source,
        format=run.in_kind,
        encoding=run.encoding or "auto",
        chunk_size=run.chunk_size,
        byte_range=(start, stop),
        jsonl_keys=run.jsonl_keys,
    )
    with reading as share:
        part = _tagged_part(model, run, share.chunks)
        part.share, part.end = (start, stop), share.position()
    return part


def _tag_batch_in_worker(batch: Any) -> _Part:
    """A worker's share of a Parquet input for another format: one Arrow record batch."""
    model, run = _worker()
    return _tagged_part(model, run, chunked(batch_rows(batch, run.header), run.chunk_size))


def _tag_columns_in_worker(batch: Any, columns: tuple[int, ...]) -> _Part:
    """A worker's share of Parquet to Parquet: :func:`_tag_columns` of one record batch."""
    return _tag_columns(*_worker(), batch, columns)


def _tag_columns(model: TriageModel, run: _Run, batch: Any, columns: tuple[int, ...]) -> _Part:
    """Parquet to Parquet: one record batch of at most ``chunk_size`` rows holding only the input ``columns``
    (:func:`_columns_for_workers`) tagged. Its data is the added columns as Arrow arrays, by output column
    index, to put beside the input columns as read (a text that could not be read is its row's error and
    is written as read too)."""
    at = [columns.index(i) for i in run.text_indices]
    cells = batch_text_columns(batch)
    if cells is None:  # a row may have an error: rows, with theirs
        chunk = list(batch_rows(batch, [run.header[i] for i in columns]))
        texts, errors = _joined_texts(chunk, at), [row.error for row in chunk]
    else:  # no row has an error or looks suspect, so the counts need no rows
        chunk, errors = [], [""] * batch.num_rows
        texts = _joined_columns([cells[i] for i in at])
    tags = run.tags(model, texts, errors)
    counts = _Counts()
    counts.add(chunk, tags, run.review_index, 0)
    added = run.cells.arrow_arrays(dict(enumerate(tags, len(run.header))))
    return _Part(added, batch.num_rows, counts, encoded=True)


def _in_order(pool: ProcessPoolExecutor, tasks: Iterable[tuple[Any, ...]], ahead: int) -> Iterator[Future[Any]]:
    """Futures of ``tasks`` (a function and its arguments) submitted to ``pool``, in order, at most
    ``ahead`` in flight: memory stays flat however long the input."""
    pending: deque[Future[Any]] = deque()
    for function, *arguments in tasks:
        pending.append(pool.submit(function, *arguments))
        if len(pending) >= ahead:
            yield pending.popleft()
    yield from pending


def _sent_in_order(
    pool: ProcessPoolExecutor, items: Iterable[Any], task: Callable[[Any], tuple[Any, ...]], jobs: int
) -> Iterator[tuple[Any, Future[Any]]]:
    """Each of ``items`` with the future of its task (``task(item)``: a function and its arguments), in
    order, at most ``2 * jobs`` in flight (:func:`_in_order`). An item is kept here only while its task
    is in flight: ``itertools.tee`` freed its copies 57 at a time, which held ~120 MB of record batches
    in a 100,000-row Parquet run (and as many chunks of rows when workers are sent texts)."""
    kept: deque[Any] = deque()

    def tasks() -> Iterator[tuple[Any, ...]]:
        for item in items:
            kept.append(item)
            yield task(item)

    for future in _in_order(pool, tasks(), 2 * jobs):
        yield kept.popleft(), future


def _shared_parts(export: Export, run: _Run, pool: ProcessPoolExecutor, jobs: int, done: dict) -> Iterator[_Part]:
    """Parts of the input tagged by workers that read it themselves, in order: byte ranges of
    CSV/TSV/JSONL (:func:`~triage.io.byte_shares`) or Parquet record batches. Only part outputs come
    back (bytes or Arrow tables), never rows. A range whose start turns out to lie inside the record
    the range before ran on with (a stray quote fooled the cut) is read again from where that ended."""
    if run.in_kind == "parquet":
        batches = _remaining_batches(export, done)
        if run.out_kind == "parquet":
            yield from _joined_parts(batches, run, pool, jobs)
            return
        for future in _in_order(pool, ((_tag_batch_in_worker, b) for b in batches), 2 * jobs):
            yield future.result()
        return
    start = done.get("input_offset") or export.data_start or 0
    shares = byte_shares(run.source, run.in_kind, start, run.chunk_size, jobs, encoding=cast(str, run.encoding))
    futures = _in_order(pool, ((_tag_share_in_worker, *share) for share in shares), 2 * jobs)
    parts = (future.result() for future in futures)
    for _, part in joined_shares(
        ((cast(tuple[int, int], part.share), part) for part in parts),
        start,
        end_of=lambda part: cast(int, part.end),
        read_again=lambda first, stop: pool.submit(_tag_share_in_worker, first, stop).result(),
    ):
        yield part


def _columns_for_workers(run: _Run) -> tuple[int, ...]:
    """The input columns a worker needs to tag Parquet to Parquet: the text columns. The others stay in the
    parent, which writes them as read: no value of theirs becomes a cell, so none can fail its row."""
    return tuple(sorted(run.text_indices))


def _remaining_batches(export: Export, done: dict[str, Any]) -> Iterator[Any]:
    """The record batches of a Parquet input, without the rows ``done``."""
    skip = done.get("rows_done", 0)
    return (b.slice(max(skip - n, 0)) for b, n in _numbered_batches(export.batches) if n + b.num_rows > skip)


def _joined_parts(
    batches: Iterator[Any], run: _Run, tagger: TriageModel | ProcessPoolExecutor, jobs: int = 1
) -> Iterator[_Part]:
    """Parquet to Parquet, in order: only the columns tagged with are tagged, here (``tagger`` a model) or
    by the ``jobs`` workers of ``tagger`` (a pool) that are sent those and send back only what they add,
    which is put beside the record batch this process read and kept (the votes: 155 bytes a row back
    instead of 1,248 for whole tables; input columns never make a round trip through pickle, which wrote
    a map column with other bytes than one process, nor through Python values and ``pyarrow.array``)."""
    pyarrow = import_optional("pyarrow", extra="io", purpose="writing Parquet files")
    schema = run.cells.arrow_schema()
    columns = _columns_for_workers(run)
    tagged: Iterator[tuple[Any, _Part]]
    if isinstance(tagger, ProcessPoolExecutor):

        def task(batch: Any) -> tuple[Any, ...]:
            return _tag_columns_in_worker, batch.select(columns), columns

        tagged = ((batch, future.result()) for batch, future in _sent_in_order(tagger, batches, task, jobs))
    else:
        tagged = ((batch, _tag_columns(tagger, run, batch.select(columns), columns)) for batch in batches)
    for batch, part in tagged:
        arrays = [*batch.columns, *(part.data[i] for i in range(batch.num_columns, len(schema)))]
        part.data = pyarrow.Table.from_arrays(arrays, schema=schema)
        yield part


def _numbered_batches(batches: Iterable[Any] | None) -> Iterator[tuple[Any, int]]:
    """Record batches with the number of rows before each."""
    before = 0
    for batch in batches or ():
        yield batch, before
        before += batch.num_rows


def _chunk_parts(
    chunks: Iterator[list[Row]], run: _Run, model: TriageModel, pool: ProcessPoolExecutor | None, jobs: int, groups: Any
) -> Iterator[_Part]:
    """Parts of one chunk each, read in this process and tagged here or (``pool``) by workers sent the
    texts: for inputs and options the workers cannot read on their own (XLSX, grouping, ...)."""
    if pool is None:
        tagged: Iterator[tuple[list[Row], list[list[Any]]]] = (
            (chunk, run.tags(model, *run.texts_and_errors(chunk))) for chunk in chunks
        )
    else:
        # the chunk list itself stays here: only texts travel
        sent = _sent_in_order(pool, chunks, lambda chunk: (_tag_in_worker, *run.texts_and_errors(chunk)), jobs)
        tagged = ((chunk, future.result()) for chunk, future in sent)
    for chunk, tags in tagged:
        counts = _Counts()
        counts.add(chunk, tags, run.review_index, chunk[0].number - 1)
        yield _Part(_output_columns(run, chunk, tags, groups), len(chunk), counts, encoded=False)


def _can_share(export: Export, run: _Run, done: dict[str, Any], grouped: bool, options: TagOptions) -> bool:
    """Whether workers can read their own shares of the input: Parquet record batches, or byte ranges of
    CSV/TSV/JSONL; not for XLSX, grouping or ``stop_after``
    (they need every row's number as it is read), nor to resume a run whose checkpoint has no input offset."""
    if grouped or options.stop_after is not None or run.out_kind == "xlsx":
        return False
    if run.in_kind == "parquet":
        return export.batches is not None
    return export.data_start is not None and (not done.get("rows_done") or bool(done.get("input_offset")))


@contextlib.contextmanager
def _parts(
    export: Export, run: _Run, model: TriageModel, options: TagOptions, done: dict[str, Any], groups: Any
) -> Iterator[Iterator[_Part]]:
    """The input's rows after those ``done``, tagged, in order, as parts for the writer: in this process,
    or by ``options.workers`` processes that read their own shares (or, where they cannot, are sent texts)."""
    jobs = options.workers
    if options.n_jobs in (None, -1) and run.source.stat().st_size < _WORTH_A_POOL_BYTES:
        jobs = 1  # "one per core" by default, but starting workers costs more than a small file's tagging
    remaining = export.chunks
    if done.get("rows_done"):  # resumed: skip the rows already written
        kept = done["rows_done"]
        remaining = chunked((row for chunk in remaining for row in chunk if row.number > kept), run.chunk_size)
    if jobs <= 1:
        if run.in_kind == run.out_kind == "parquet" and _can_share(export, run, done, groups is not None, options):
            yield _joined_parts(_remaining_batches(export, done), run, model)  # the batches kept as read
        else:
            yield _chunk_parts(remaining, run, model, None, 1, groups)
        return
    with _worker_pool(jobs, model, run) as pool:
        if _can_share(export, run, done, groups is not None, options):
            yield _shared_parts(export, run, pool, jobs, done)
        else:
            yield _chunk_parts(remaining, run, model, pool, jobs, groups)
