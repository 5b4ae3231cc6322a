"""Tagging and grouping beyond one machine on Dask (the ``dask`` extra).

:func:`tag`: a dask DataFrame in, the same with tags out (and routed, given a routing config).
Each worker process loads the model once, from a path every worker can read, and tags its
partitions with :func:`triage.batch.tag_dataframe`, so results equal the local tagger's.

:func:`group`: near-duplicate group ids equal to :func:`triage.grouping.group` on the same texts.
The local algorithm's groups are the connected components of every verified (member, bucket
anchor) pair over the bands, the anchor being the bucket's lowest row position; here workers
sketch their partitions, a shuffle by band key finds each bucket's anchor, workers verify the
pairs, and the client joins the verified pairs (two int64 each) into components.
"""

from __future__ import annotations

import contextlib
import glob
import shutil
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from triage._optional import import_optional
from triage.batch import GROUP_COLUMNS, output_columns, tag_dataframe
from triage.grouping import DEFAULT_THRESHOLD, Sketcher, band_keys, band_spans, connected_groups
from triage.io import DataError, choose_encoding, detect_text_columns, frame_cells, join_text_columns
from triage.routing import RoutingConfig, load_config

__all__ = ["group", "read_export", "tag", "tag_dataset", "with_groups"]

_DTYPES = {"confidence": "float64", "needs_review": "bool"}


@lru_cache(maxsize=4)
def _worker_model(model_path: str | None) -> Any:
    """The model, loaded once per worker process (and per path)."""
    import triage

    return triage.load(model_path)


def _tag_partition(frame: Any, text_columns: list[str], model_path: str | None, config: RoutingConfig | None) -> Any:
    return tag_dataframe(frame, text_columns, model=_worker_model(model_path), config=config)


def tag(
    ddf: Any,
    text_columns: Sequence[str] = (),
    *,
    model_path: str | Path | None = None,
    config: RoutingConfig | str | Path | None = None,
) -> Any:
    """Add the :func:`~triage.batch.output_columns` to every partition of the dask DataFrame ``ddf``.

    ``model_path`` must be readable by every worker (default: the model shipped with triage). With
    a routing ``config`` (a :class:`~triage.routing.RoutingConfig` or its TOML path, read and
    checked here, before any partition) rows are routed and also get the routing columns.
    """
    pandas = import_optional("pandas", extra="dask", purpose="triage.dask")
    if config is not None and not isinstance(config, RoutingConfig):
        config = load_config(config)
    columns = list(text_columns) or detect_text_columns(list(ddf.columns))
    meta = ddf._meta.copy()
    for name in output_columns(config is not None):
        out = name if name not in ddf.columns else f"triage_{name}"
        meta[out] = pandas.Series(dtype=_DTYPES.get(name, "str"))
    path = str(model_path) if model_path is not None else None
    return ddf.map_partitions(_tag_partition, columns, path, config, meta=meta)


def read_export(source: str | Path, *, encoding: str = "auto", blocksize: str = "64MB") -> Any:
    """A dask DataFrame of text cells from a Parquet dataset (a directory or glob) or CSV glob: the
    cells :func:`triage.io.read_rows` gives for the same files (:func:`triage.io.frame_cells` on each
    partition). ``encoding="auto"`` decides from a large sample of the first CSV file."""
    dd = import_optional("dask.dataframe", extra="dask", purpose="--engine dask")
    source = str(source)
    if Path(source).is_dir() or source.endswith((".parquet", ".pq")):
        frame = dd.read_parquet(source)
    else:
        files = sorted(glob.glob(source))
        if encoding == "auto" and files:
            encoding = choose_encoding(files[0]).encoding
        frame = dd.read_csv(source, dtype=str, encoding=encoding, keep_default_na=False, blocksize=blocksize)
    meta = frame._meta.astype("string")
    return frame.map_partitions(_cells_partition, meta=meta)


def _cells_partition(frame: Any) -> Any:
    """One partition's values as text cells, with Dask's string dtype."""
    return frame_cells(frame).astype("string")


def _sketch_partition(
    frame: Any, text_columns: list[str], offset: int, spans: list[tuple[int, int]]
) -> tuple[Any, Any]:
    """Of each row of one partition that has Chinese text: its signature, and one bucket key per band.
    Missing cells count as empty, as in :func:`tag`."""
    pandas = import_optional("pandas", extra="dask", purpose="triage.dask")
    signatures, usable = Sketcher().sketch(join_text_columns(frame, text_columns), offset=offset)
    members = np.flatnonzero(usable)
    positions = offset + members
    keys = [band_keys(signatures, members, start, stop) for start, stop in spans]
    buckets = pandas.DataFrame(
        {
            "position": np.tile(positions, len(spans)),
            "band": np.repeat(np.arange(len(spans)), len(members)),
            "key": np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64),
        }
    )
    index = pandas.Index(positions, name="position")
    return buckets, pandas.DataFrame(signatures[members], columns=_signature_columns(signatures.shape[1]), index=index)


def _signature_columns(size: int, prefix: str = "s") -> list[str]:
    """str column names: the distributed shuffle stores frames as Arrow tables."""
    return [f"{prefix}{column}" for column in range(size)]


def _verified(pairs: Any, size: int, threshold: float) -> Any:
    """The (position, anchor) pairs whose signatures agree in at least ``threshold`` of their bins."""
    values = pairs.to_numpy()
    agree = (values[:, 2 : 2 + size] == values[:, 2 + size :]).mean(axis=1)
    return pairs.loc[agree >= threshold, ["position", "anchor"]]


def group(ddf: Any, text_columns: Sequence[str] = (), *, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Group ids of the rows of the dask DataFrame ``ddf``, in partition order: the same ids as
    :func:`triage.grouping.group` on the same texts (the position of the group's first row).

    One shuffle finds every bucket's anchor (its lowest position) in all bands at once; the ids
    come back to the client as one int64 array (8 bytes per row).
    """
    spans = _checked_spans(ddf, threshold)
    columns = list(text_columns) or detect_text_columns(list(ddf.columns))
    return _group_ids(ddf, columns, threshold, spans, _partition_lengths(ddf))


def with_groups(
    tagged: Any, source: Any, text_columns: Sequence[str] = (), *, threshold: float = DEFAULT_THRESHOLD
) -> Any:
    """``tagged`` (:func:`tag` of ``source``) with the :data:`~triage.batch.GROUP_COLUMNS` that
    ``triage tag --group`` writes: ``group_id``, the 1-based row number of the group's first row,
    and ``group_size``. Each partition receives only its own rows' ids."""
    dd = import_optional("dask.dataframe", extra="dask", purpose="triage.dask.with_groups")
    delayed = import_optional("dask", extra="dask", purpose="triage.dask.with_groups").delayed
    spans = _checked_spans(source, threshold)
    columns = list(text_columns) or detect_text_columns(list(source.columns))
    lengths = _partition_lengths(source)
    ids = _group_ids(source, columns, threshold, spans, lengths)
    table = np.column_stack([ids + 1, np.bincount(ids, minlength=len(ids))[ids]]).astype(np.int64)
    ends = np.cumsum(lengths)
    names = [name if name not in source.columns else f"triage_{name}" for name in GROUP_COLUMNS]
    meta = _attach_groups(tagged._meta, np.zeros((0, 2), dtype=np.int64), names)
    pieces = [
        delayed(_attach_groups)(part, table[end - length : end], names)
        for part, end, length in zip(tagged.to_delayed(), ends, lengths, strict=True)
    ]
    return dd.from_delayed(pieces, meta=meta)


def _attach_groups(frame: Any, table: np.ndarray, names: list[str]) -> Any:
    """One partition with its rows' group columns (``table``: id and size per row) added."""
    frame = frame.copy()
    for column, name in enumerate(names):
        frame[name] = table[:, column].astype(np.int64)
    return frame


def _checked_spans(ddf: Any, threshold: float) -> list[tuple[int, int]]:
    """The LSH bands for ``threshold``, refusing bad input before any data is read."""
    if not hasattr(ddf, "to_delayed"):
        raise TypeError(
            f"expected a dask DataFrame, got {type(ddf).__name__}; for a pandas DataFrame use triage.grouping.group"
        )
    return band_spans(threshold, Sketcher().signature_size)


def _partition_lengths(ddf: Any) -> np.ndarray:
    """Rows per partition (one pass over the data)."""
    return np.asarray(ddf.map_partitions(len).compute(), dtype=np.int64)


def _group_ids(
    ddf: Any, columns: list[str], threshold: float, spans: list[tuple[int, int]], lengths: np.ndarray
) -> np.ndarray:
    """:func:`group` for partitions of known ``lengths``."""
    dd = import_optional("dask.dataframe", extra="dask", purpose="triage.dask.group")
    delayed = import_optional("dask", extra="dask", purpose="triage.dask.group").delayed
    offsets = np.r_[0, np.cumsum(lengths)[:-1]]
    size = Sketcher().signature_size
    sketched = [
        delayed(_sketch_partition, nout=2)(part, columns, int(offset), spans)
        for part, offset in zip(ddf.to_delayed(), offsets, strict=True)
    ]
    bucket_meta = {"position": "int64", "band": "int64", "key": "uint64"}
    buckets = dd.from_delayed([b for b, _ in sketched], meta=bucket_meta)
    signatures = dd.from_delayed([sig for _, sig in sketched], meta=_signature_meta(size))
    # as many anchor partitions as bucket partitions: by default dask would pile them into a tenth
    anchors = buckets.groupby(["band", "key"])["position"].min(split_out=buckets.npartitions)
    anchors = anchors.rename("anchor").reset_index()
    pairs = buckets.merge(anchors, on=["band", "key"])
    pairs = pairs[pairs["position"] != pairs["anchor"]][["position", "anchor"]].drop_duplicates()
    pairs = pairs.merge(signatures, left_on="position", right_index=True)
    renamed = dict(zip(_signature_columns(size), _signature_columns(size, "a"), strict=True))
    pairs = pairs.merge(signatures.rename(columns=renamed), left_on="anchor", right_index=True)
    verified = pairs.map_partitions(_verified, size, threshold, meta={"position": "int64", "anchor": "int64"})
    edges = verified.compute()
    return connected_groups(int(lengths.sum()), edges["position"].to_numpy(), edges["anchor"].to_numpy())


def _signature_meta(size: int) -> Any:
    """An empty frame shaped like :func:`_sketch_partition`'s signatures."""
    pandas = import_optional("pandas", extra="dask", purpose="triage.dask")
    return pandas.DataFrame(
        {column: pandas.Series(dtype="uint32") for column in _signature_columns(size)},
        index=pandas.Index([], dtype="int64", name="position"),
    )


def tag_dataset(
    source: str | Path,
    output: str | Path,
    *,
    text_columns: Sequence[str] = (),
    encoding: str = "auto",
    scheduler: str | None = None,
    n_jobs: int | None = 1,
    model_path: str | Path | None = None,
    group_threshold: float | None = None,
    config: RoutingConfig | str | Path | None = None,
    overwrite: bool = False,
) -> str:
    """Tag the export ``source`` (:func:`read_export`: a Parquet dataset or a CSV glob) into the Parquet
    dataset ``output``, with :data:`~triage.batch.GROUP_COLUMNS` too when ``group_threshold`` is given
    and the routing columns when a routing ``config`` is (see :func:`tag`).

    Runs on the Dask ``scheduler`` at that address, or on a local cluster of ``n_jobs`` worker processes
    started for the call (``None``: one per core). Returns the scheduler's address. ``output`` is
    replaced only with ``overwrite``.
    """
    distributed = import_optional("distributed", extra="dask", purpose="--engine dask")
    output = Path(output)
    if output.exists() and not overwrite:
        raise FileExistsError(f"{output} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    model = str(Path(model_path).resolve()) if model_path is not None else None
    if config is not None and not isinstance(config, RoutingConfig):
        config = load_config(config)  # checked before a cluster starts
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            # dashboard on a free port: another run's cluster may hold dask's default (8787)
            cluster = distributed.LocalCluster(n_workers=n_jobs, threads_per_worker=1, dashboard_address=":0")
            scheduler = stack.enter_context(cluster)
        client = stack.enter_context(distributed.Client(scheduler))
        with _csv_parsed_by_pandas(source):
            frame = read_export(source, encoding=encoding)
            tagged = tag(frame, text_columns, model_path=model, config=config)
            if group_threshold is not None:
                tagged = with_groups(tagged, frame, text_columns, threshold=group_threshold)
            try:
                tagged.to_parquet(str(output), write_index=False, overwrite=overwrite)
            except BaseException:
                # parts written before the failure would read as a whole dataset
                shutil.rmtree(output, ignore_errors=True)
                raise
        return str(client.scheduler.address)


@contextlib.contextmanager
def _csv_parsed_by_pandas(source: str | Path) -> Iterator[None]:
    """Dask reads CSV with pandas, which stops the whole job at the first line it cannot parse (a quote left
    open, a row with more fields than the header) or decode: that is a :class:`~triage.io.DataError` saying
    where and what to do, not a traceback. triage's own reader keeps such rows, each with its error."""
    pandas = import_optional("pandas", extra="dask", purpose="triage.dask")
    try:
        yield
    except Exception as problem:
        # dask re-raises what pandas said wrapped ("... Original Message: <what pandas said>"), as the same
        # error or as another one chained to it
        cause: BaseException | None = problem
        while cause is not None and not isinstance(cause, pandas.errors.ParserError | UnicodeDecodeError):
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            raise
        said = str(cause).rpartition("Original Message:")[2].strip()
        raise DataError(
            f"{source}: pandas, which --engine dask reads CSV with, cannot read it ({said}). Mend that line, "
            "or tag the file without --engine dask: triage's own reader keeps every row and names the unreadable ones"
        ) from None
