"""Checkpoints and resume: what a checkpoint must match, what an interrupted run safely wrote, and the
output reopened where it stopped."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from triage.batch.options import _RESUMABLE, TagOptions
from triage.batch.tagging import _DELIMITERS, _Run
from triage.batch.writers import _DelimitedWriter, _JsonlWriter, _TableWriter
from triage.io import (
    DataError,
    Export,
)
from triage.model import TriageModel


def _fingerprint(path: Path) -> dict[str, Any]:
    stat = path.stat()
    with path.open("rb") as handle:
        head = hashlib.sha256(handle.read(1 << 20)).hexdigest()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "head_sha256": head}


def _header_record(names: list[str]) -> dict[str, Any]:
    """What a checkpoint keeps of the input's header: the count and the SHA-256 of the names as a JSON list. The
    names themselves were written with every part: 4,000 JSONL keys of 1,000 characters, 11 MB a part."""
    digest = hashlib.sha256(json.dumps(names, ensure_ascii=False).encode("utf-8")).hexdigest()
    return {"count": len(names), "sha256": digest}


def _resume_point(job: dict[str, Any], checkpoint: Path, partial: Path, resume: bool, overwrite: bool) -> dict:
    """What an interrupted run of the same job safely wrote (rows, bytes, counts, and where in the input
    it stopped when workers read their own shares); empty to start afresh."""
    if not checkpoint.is_file() or not partial.is_file():
        return {}
    if not resume:
        if overwrite:
            return {}
        raise DataError(f"an interrupted run left {partial}; pass --resume to continue it or --overwrite to start over")
    try:
        saved = json.loads(checkpoint.read_text(encoding="utf-8"))
        done = {key: saved[key] for key in ("rows_done", "bytes_done", "counts")}
        if not all(type(done[key]) is int and done[key] >= 0 for key in ("rows_done", "bytes_done")):
            raise ValueError("not counts")
    except (OSError, ValueError, KeyError, TypeError):
        raise DataError(f"{checkpoint} is damaged; delete it and {partial} to start over") from None
    if isinstance(saved.get("columns"), list):
        saved["columns"] = _header_record(saved["columns"])  # written before the digest: it lists the names
    if changed := [_JOB_PARTS[key] for key, value in job.items() if saved.get(key) != value]:
        raise DataError(
            f"{checkpoint} belongs to another input, model or options (changed: {', '.join(changed)}); use "
            "--overwrite to start over"
        )
    if partial.stat().st_size < done["bytes_done"]:
        # resuming would pad the gap with NUL bytes where rows were, and report success
        raise DataError(
            f"{partial} holds {partial.stat().st_size:,} bytes, fewer than the {done['bytes_done']:,} its checkpoint "
            "recorded (cut or changed since the run stopped); use --overwrite to start over"
        )
    return done | {"input_offset": saved.get("input_offset")}


def _write_checkpoint(checkpoint: Path, state: dict[str, Any]) -> None:
    """Replace the checkpoint atomically: a crash leaves the old one or the new one, never half."""
    temporary = checkpoint.with_name(checkpoint.name + ".tmp")
    temporary.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, checkpoint)


def _open_writer(run: _Run, partial: Path, done_bytes: int, resumed: bool) -> tuple[Any, Any]:
    """``(file handle or None, writer)``; a resumed file is cut back to its last checkpoint."""
    if run.out_kind not in _RESUMABLE:
        partial.open("wb").close()  # an unwritable destination fails here, before any row is tagged
        return None, _TableWriter(partial, run.out_kind, run.cells, run.chunk_size)
    handle = partial.open("r+b" if resumed else "wb")
    handle.truncate(done_bytes)  # drop a part half-written before the crash
    handle.seek(done_bytes)
    delimiter = _DELIMITERS.get(run.out_kind)
    return handle, _DelimitedWriter(handle, delimiter, run.cells) if delimiter else _JsonlWriter(handle, run.cells)


# What each part of a checkpoint's job is, as a refusal to resume names the parts that changed.
_JOB_PARTS = {
    "input": "the input file",
    "encoding": "the encoding",
    "model": "the model",
    "columns": "the input's columns",
    "text_columns": "the text columns",
    "output_format": "the output format",
    "spreadsheet_safe": "spreadsheet-safe cells (--raw-cells)",
    "routing": "the routing config",
    "group": "grouping or its threshold",
    "added_columns": "the columns added",
    "template": "the template cut before classifying (--keep-template, the first rows, or the model's)",
}


def _job(export: Export, run: _Run, model: TriageModel, options: TagOptions) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the same input, model and options."""
    return {
        "input": _fingerprint(export.path),
        "encoding": run.encoding,
        # format 1 models are known by their estimator's hash; later ones may have only a scorer
        "model": next(filter(None, map(model.manifest.get("files", {}).get, ("model.skops", "scorer.npz"))), "unsaved"),
        "columns": _header_record(list(run.header)),
        "text_columns": [run.header[i] for i in run.text_indices],
        "output_format": run.out_kind,
        "spreadsheet_safe": options.spreadsheet_safe,
        "routing": run.config.source if run.config is not None else None,
        "group": options.threshold if options.group else None,
        # a partial output written by a version adding other columns must not be continued
        "added_columns": list(run.names),
        # None when none was cut, as a checkpoint written before templates were cut reads
        "template": [sorted(run.template.openings), sorted(run.template.endings)] if run.template else None,
    }
