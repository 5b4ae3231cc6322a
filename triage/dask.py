"""Tagging beyond one machine on Dask (the ``dask`` extra): a dask DataFrame in, the same with tags out.

Each worker process loads the model once, from a path every worker can read, and tags its
partitions with :func:`triage.batch.tag_dataframe`, so results equal the local tagger's.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from triage._optional import import_optional
from triage.batch import OUTPUT_COLUMNS, tag_dataframe
from triage.io import detect_text_columns

__all__ = ["read_export", "tag"]

_DTYPES = {"confidence": "float64", "needs_review": "bool"}


@lru_cache(maxsize=4)
def _worker_model(model_path: str | None) -> Any:
    """The model, loaded once per worker process (and per path)."""
    import triage

    return triage.load(model_path)


def _tag_partition(frame: Any, text_columns: list[str], model_path: str | None) -> Any:
    return tag_dataframe(frame, text_columns, model=_worker_model(model_path))


def tag(ddf: Any, text_columns: Sequence[str] = (), *, model_path: str | Path | None = None) -> Any:
    """Add the :data:`~triage.batch.OUTPUT_COLUMNS` to every partition of the dask DataFrame ``ddf``.

    ``model_path`` must be readable by every worker (default: the model shipped with triage).
    """
    pandas = import_optional("pandas", extra="dask", purpose="triage.dask")
    columns = list(text_columns) or detect_text_columns(list(ddf.columns))
    meta = ddf._meta.copy()
    for name in OUTPUT_COLUMNS:
        out = name if name not in ddf.columns else f"triage_{name}"
        meta[out] = pandas.Series(dtype=_DTYPES.get(name, "str"))
    path = str(model_path) if model_path is not None else None
    return ddf.map_partitions(_tag_partition, columns, path, meta=meta)


def read_export(source: str | Path, *, encoding: str = "utf-8-sig", blocksize: str = "64MB") -> Any:
    """A dask DataFrame of strings from a Parquet dataset (a directory or glob) or CSV glob."""
    dd = import_optional("dask.dataframe", extra="dask", purpose="--engine dask")
    source = str(source)
    if Path(source).is_dir() or source.endswith((".parquet", ".pq")):
        return dd.read_parquet(source).astype(str)
    return dd.read_csv(source, dtype=str, encoding=encoding, keep_default_na=False, blocksize=blocksize)
