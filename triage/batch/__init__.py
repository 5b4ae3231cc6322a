"""The batch tagger: every row of an export comes back tagged, or with a per-row error, in input order.

Rows stream from reader to writer in chunks, so memory stays flat however long the file is.
Output is written to ``OUTPUT.partial`` and renamed into place at the end; a checkpoint beside
it (``OUTPUT.partial.json``) records how many rows and bytes are safely written, so
``resume=True`` continues after a crash or Ctrl-C without losing or duplicating a row. With
``n_jobs > 1`` worker processes, each holding the model once, read their own shares of the input
(byte ranges of CSV/TSV/JSONL, Parquet record batches), tag them and encode their part of the
output; the parent only writes the parts in order and checkpoints (Parquet to Parquet: it sends the
columns to tag and puts the tags beside the record batch it read, as one process does too), and the
output is the same byte for byte as with one process. Inputs and options workers cannot read on their
own (XLSX, grouping, ``stop_after``) are read by the parent, which sends the workers texts. With
``group=True`` a first pass over the input sketches every text (:mod:`triage.grouping`; memory:
256 bytes a row) so that each row also gets its near-duplicate group.

This package holds the entry points (:func:`tag_file`, :func:`tag_dataframe`); the work is done in its
modules: ``options``, ``writers``, ``tagging``, ``workers`` and ``checkpoints``.

Needs the ``io`` extra (pandas, pyarrow, python-calamine, openpyxl, tqdm).
"""

from __future__ import annotations

import itertools
import json
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from triage.batch.checkpoints import _job, _open_writer, _resume_point, _write_checkpoint
from triage.batch.options import (
    _RESUMABLE,
    GROUP_COLUMNS,
    OUTPUT_COLUMNS,
    ROUTING_COLUMNS,
    Summary,
    TagOptions,
    added_column_prefix,
    output_columns,
)
from triage.batch.tagging import _Counts, _plan_run, _Run, _tag_chunk
from triage.batch.tagging import parquet_table as parquet_table
from triage.batch.workers import _parts
from triage.batch.writers import XLSX_CELL_CHARS as XLSX_CELL_CHARS
from triage.batch.writers import XLSX_MAX_COLUMNS as XLSX_MAX_COLUMNS
from triage.batch.writers import XLSX_MAX_ROWS as XLSX_MAX_ROWS
from triage.batch.writers import _JsonlWriter
from triage.batch.writers import delimited_lines as delimited_lines
from triage.boilerplate import SAMPLE_SIZE, Boilerplate, sample_chunks
from triage.defaults import DEFAULT_CHUNK_SIZE
from triage.io import (
    DataError,
    Export,
    Row,
    detect_text_columns,
    frame_texts,
    join_text,
    read_rows,
    require_columns,
    resolve_format,
)
from triage.model import TriageModel
from triage.routing import RoutingConfig, load_config

__all__ = [
    "GROUP_COLUMNS",
    "OUTPUT_COLUMNS",
    "ROUTING_COLUMNS",
    "Summary",
    "TagOptions",
    "output_columns",
    "tag_dataframe",
    "tag_file",
]


def tag_file(
    src: str | Path,
    dst: str | Path,
    options: TagOptions | None = None,
    *,
    model: TriageModel | None = None,
    jobs: int | None = None,
    **settings: Any,
) -> Summary:
    """Tag every row of ``src`` into ``dst``; see the module docstring for the guarantees.

    How is said by ``options`` (a :class:`TagOptions`) and/or its fields as keywords
    (``tag_file(src, dst, n_jobs=2, chunk_size=500)``; keywords override ``options``). ``model`` is
    a loaded model (default: the one at ``model_path``, else the shipped one); ``jobs`` is the old,
    deprecated name of ``n_jobs``.

    Raises :class:`~triage.io.DataError` for problems with the whole file (format, header,
    columns, a stale or foreign checkpoint) and ``FileExistsError`` when ``dst`` exists without
    ``overwrite``. Problems with single rows never raise: the row is written with its
    ``error`` cell filled in. With a routing ``config`` (a :class:`~triage.routing.RoutingConfig`
    or its TOML path, validated before any row is read) rows are routed and also get the
    :data:`ROUTING_COLUMNS`. With ``group`` rows also get the :data:`GROUP_COLUMNS` (a first pass
    reads the texts; unreadable rows stand alone). ``encoding`` ``"auto"`` decides from a large
    sample (:func:`triage.io.choose_encoding`; the choice is in the summary). CSV, TSV and XLSX
    text cells are made safe to open in a spreadsheet (:func:`triage.io.spreadsheet_text`) unless
    ``spreadsheet_safe=False`` (for programs that read the file back). The output is the same
    byte for byte whatever ``n_jobs`` is.
    """
    options = _with_settings(options, settings, jobs)
    src, dst = Path(src), Path(dst)
    for path, example in ((dst, "tagged.csv"), (options.summary_path, "summary.json")):
        if path is not None and Path(path).is_dir():  # found only once every row was tagged, else
            raise IsADirectoryError(f"{path} is a folder; name a file (e.g. {Path(path) / example})")
    out_kind = resolve_format(dst, options.output_format)  # a folder has no format to tell: said above
    if dst.exists() and not options.overwrite:
        raise FileExistsError(f"{dst} already exists; pass --overwrite to replace it")
    if options.resume and out_kind not in _RESUMABLE:
        raise DataError(f"--resume needs a CSV, TSV or JSONL output, not {out_kind}")
    started = time.perf_counter()
    reading = read_rows(
        src,
        format=options.input_format,
        encoding=options.encoding,
        sheet=options.sheet,
        chunk_size=options.chunk_size,
        stop_after=options.stop_after,
        progress=src.name if options.progress else None,
        jobs=options.workers,
    )
    with reading as export:
        model, run = _start(export, options, out_kind, model)
        if options.cut_template:  # the export's own template, else the one the model was trained without
            run = replace(
                run, template=_learned_template(export, run.text_indices, options.stop_after) or model.template
            )
        text_columns = [run.header[i] for i in run.text_indices]
        summary = Summary(str(src), str(dst), text_columns=text_columns, encoding=str(export.encoding or ""))
        if run.template:
            summary.template = run.template.record()
        groups = None
        if options.group:
            groups = _group_rows(export, run.text_indices, options.stop_after, options.threshold, options.progress)
        _tag_stream(export, run, model, options, dst, summary, groups)
    summary.elapsed_seconds = round(time.perf_counter() - started, 3)
    summary.rows_per_second = round(summary.rows_out / max(summary.elapsed_seconds, 1e-9), 1)
    if options.summary_path:
        Path(options.summary_path).write_text(
            json.dumps(summary.as_dict(), ensure_ascii=False, indent=2) + "\n", "utf-8"
        )
    return summary


def _with_settings(options: TagOptions | None, settings: dict[str, Any], jobs: int | None) -> TagOptions:
    """``options`` with the keyword ``settings`` (and the deprecated ``jobs``) applied."""
    if jobs is not None:
        warnings.warn("tag_file(jobs=...) is now n_jobs=..., as in scikit-learn", DeprecationWarning, stacklevel=3)
        settings = {**settings, "n_jobs": jobs}
    unknown = sorted(set(settings) - {f.name for f in fields(TagOptions)})
    if unknown:
        raise TypeError(f"tag_file() got unknown options {', '.join(unknown)}; see triage.batch.TagOptions")
    return replace(options or TagOptions(), **settings)


def _start(export: Export, options: TagOptions, out_kind: str, model: TriageModel | None) -> tuple[TriageModel, _Run]:
    """The model and the run's plan; checked before the output is touched (a bad model leaves nothing)."""
    import triage

    config = options.config
    if config is not None and not isinstance(config, RoutingConfig):
        config = load_config(config)
    run = _plan_run(export, options, out_kind, config)
    return model or triage.load(options.model_path), run


def _tag_stream(
    export: Export, run: _Run, model: TriageModel, options: TagOptions, dst: Path, summary: Summary, groups: Any
) -> None:
    """Write tagged rows to ``dst.partial`` with a checkpoint after every part, then rename it to ``dst``."""
    partial, checkpoint = Path(f"{dst}.partial"), Path(f"{dst}.partial.json")
    job = _job(export, run, model, options)
    done = _resume_point(job, checkpoint, partial, options.resume, options.overwrite)
    rows_done = summary.resumed_after_rows = done.get("rows_done", 0)
    counts = _Counts.from_json(done.get("counts"))
    handle, writer = _open_writer(run, partial, done.get("bytes_done", 0), bool(rows_done))
    try:
        if not rows_done or isinstance(writer, _JsonlWriter):  # a resumed CSV already has its header
            writer.header(run.cells.columns)
        with _parts(export, run, model, options, done, groups) as parts:
            for part in parts:
                if part.encoded:
                    writer.part(part.data)
                    export.show_progress(part.end if part.end is not None else rows_done + part.rows)
                else:
                    writer.columns(part.data)
                counts.merge(part.counts, rows_done)
                rows_done += part.rows
                if handle is not None:
                    writer.flush()
                    handle.flush()
                    os.fsync(handle.fileno())
                    state = {"rows_done": rows_done, "bytes_done": handle.tell(), "input_offset": part.end}
                    _write_checkpoint(checkpoint, {**job, **state, "counts": counts.as_json()})
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
    summary.rows_in = summary.rows_out = rows_done
    summary.departments = dict(counts.departments.most_common())
    summary.needs_review, summary.errors = counts.needs_review, counts.errors
    summary.suspect_rows, summary.first_error = counts.suspect_rows, counts.describe_first_error()


def _learned_template(export: Export, text_indices: Sequence[int], stop_after: int | None) -> Boilerplate:
    """The template the export's first :data:`~triage.boilerplate.SAMPLE_SIZE` rows were typed into, whatever
    ``stop_after`` is (a trial run tags its rows as the whole run does): read in a short pass of their own, but
    for a workbook, whose sheet calamine parses whole, taken from the first chunks the tagging reads, which
    are put back."""
    if export.format == "xlsx" and (stop_after is None or stop_after >= SAMPLE_SIZE):
        first = sample_chunks(export.chunks)
        export.chunks = itertools.chain(first, export.chunks)
        return Boilerplate.from_texts(text for chunk in first for text in _chunk_texts(chunk, text_indices))
    with _read_again(export, SAMPLE_SIZE) as sample:
        return Boilerplate.from_texts(text for chunk in sample.chunks for text in _chunk_texts(chunk, text_indices))


def _read_again(export: Export, stop_after: int | None, progress: str | None = None) -> Any:
    """Another pass over the export, read as the tagging pass reads it (``read_rows``' context manager)."""
    return read_rows(
        export.path,
        format=export.format,
        encoding=export.encoding.encoding if export.encoding else "auto",
        sheet=export.sheet,
        chunk_size=DEFAULT_CHUNK_SIZE,
        stop_after=stop_after,
        progress=progress,
        jsonl_keys=export.keys,
    )


def _chunk_texts(chunk: list[Row], text_indices: Sequence[int]) -> list[str]:
    """Each row's text as grouping and the template see it: a row that could not be read is empty."""
    return ["" if row.error else join_text(row.cells[i] for i in text_indices) for row in chunk]


def _group_rows(
    export: Export, text_indices: Sequence[int], stop_after: int | None, threshold: float, progress: bool
) -> tuple[Any, Any]:
    """First pass for ``group=True``: ``(group_id, group_size)`` arrays indexed by data row number - 1."""
    import numpy as np

    from triage.grouping import group_chunks

    description = f"{export.path.name} (grouping pass)" if progress else None
    with _read_again(export, stop_after, description) as first_pass:
        texts = (_chunk_texts(chunk, text_indices) for chunk in first_pass.chunks)
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
    errors: Sequence[str] | None = None,
    template: Boilerplate | None = None,
) -> Any:
    """Return a copy of a pandas DataFrame with the :func:`output_columns` added (in memory), named as
    ``tag_file`` names them (:func:`added_column_prefix`). Text cells follow the readers' cell rule
    (:func:`~triage.io.frame_texts`). A row with an ``errors`` entry (why it could not be read), or whose text
    cell cannot be a cell (bytes that are not UTF-8), is not tagged: its ``error`` says why. Texts are
    classified without the ``template`` (a :class:`~triage.boilerplate.Boilerplate`) they were typed into:
    ``None`` learns it from the frame's first texts, as ``tag_file`` does (the model's own,
    :attr:`~triage.model.TriageModel.template`, when they teach none); ``Boilerplate()`` cuts nothing."""
    import triage

    model = model or triage.load()
    columns = list(text_columns) or detect_text_columns(frame.columns)
    require_columns(frame.columns, columns, holder="the frame")
    texts, unreadable = frame_texts(frame, columns)
    if errors is not None and len(errors) != len(texts):
        raise ValueError(f"errors has {len(errors)} entries for a frame of {len(texts)} rows")
    if errors is not None:  # why a row could not be read comes first, then a cell that cannot be one
        unreadable = [read or cell for read, cell in zip(errors, unreadable, strict=True)]
    if template is None:
        learned = Boilerplate.from_texts("" if bad else text for text, bad in zip(texts, unreadable, strict=True))
        template = learned or model.template
    tags = _tag_chunk(model, config, texts, unreadable, template=template)
    out, prefix = frame.copy(), added_column_prefix(frame.columns)
    for name, column in zip(output_columns(config is not None), tags, strict=True):
        out[prefix + name] = column
    return out
