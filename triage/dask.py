"""Tagging and grouping beyond one machine on Dask (the ``dask`` extra).

:func:`read_export`: an export as a dask DataFrame of text cells, text files read by triage's own reader
(:func:`triage.io.read_rows`) in byte ranges, Parquet files in runs of row groups, so that every row is kept,
with its reading error.

:func:`tag`: a dask DataFrame in, the same with tags out (and routed, given a routing config).
Each worker process loads the model once, from a path every worker can read, and tags its
partitions with :func:`triage.batch.tag_dataframe`, so results equal the local tagger's.

:func:`group`: near-duplicate group ids equal to :func:`triage.grouping.group` on the same texts.
The local algorithm's groups are the connected components of every verified (member, bucket
anchor) pair over the bands, the anchor being the bucket's lowest row position; here workers
sketch their partitions, a shuffle by band key finds each bucket's anchor, workers verify the
pairs, and the client joins the verified pairs (two int64 each) into components.

:func:`tag_dataset`: ``triage tag --engine dask``, an export to a folder of Parquet files that read as the
local tagger's Parquet output (the same schema: a Parquet input's own Arrow types kept).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import glob
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import numpy as np

from triage._optional import import_optional
from triage.batch import GROUP_COLUMNS, added_column_prefix, output_columns, parquet_table, tag_dataframe
from triage.boilerplate import SAMPLE_SIZE, Boilerplate
from triage.grouping import DEFAULT_THRESHOLD, Sketcher, band_keys, band_spans, connected_groups
from triage.io import (
    DataError,
    ErrorValues,
    Row,
    batch_rows,
    batch_text_columns,
    byte_shares,
    detect_text_columns,
    join_text_columns,
    joined_keys,
    joined_shares,
    lost_rows_error,
    read_rows,
    require_saved_values,
    to_cell,
    unique_columns,
)
from triage.io.xlsx import marked_error_values
from triage.routing import RoutingConfig, load_config

__all__ = ["READ_ERRORS", "group", "read_export", "tag", "tag_dataset", "with_groups"]

#: The dtypes of the tag columns that are not text: nullable, since a row that could not be read has none.
_DTYPES = {"confidence": "Float64", "needs_review": "boolean"}


@lru_cache(maxsize=4)
def _worker_model(model_path: str | None) -> Any:
    """The model, loaded once per worker process (and per path)."""
    import triage

    return triage.load(model_path)


def _model_template(model_path: str | None) -> Boilerplate:
    """The template the model at ``model_path`` (None: the shipped one) cuts from every message."""
    from triage.model import default_model_path
    from triage.persistence import read_manifest

    return Boilerplate.from_record(read_manifest(model_path or default_model_path()).get("template"))


def _tag_partition(
    frame: Any, text_columns: list[str], model_path: str | None, config: RoutingConfig | None, template: Boilerplate
) -> Any:
    errors = None
    if READ_ERRORS in frame.columns:  # read by read_export: a row that could not be read is not tagged
        errors, frame = frame[READ_ERRORS].tolist(), frame.drop(columns=READ_ERRORS)
    model = _worker_model(model_path)
    tagged = tag_dataframe(frame, text_columns, model=model, config=config, errors=errors, template=template)
    prefix = added_column_prefix(frame.columns)
    for name, dtype in _DTYPES.items():  # such a row's blank tags become missing values
        tagged[prefix + name] = tagged[prefix + name].replace("", None).astype(dtype)
    return tagged


def tag(
    ddf: Any,
    text_columns: Sequence[str] = (),
    *,
    model_path: str | Path | None = None,
    config: RoutingConfig | str | Path | None = None,
    cut_template: bool = True,
) -> Any:
    """Add the :func:`~triage.batch.output_columns` to every partition of the dask DataFrame ``ddf``.

    ``model_path`` must be readable by every worker (default: the model shipped with triage). With
    a routing ``config`` (a :class:`~triage.routing.RoutingConfig` or its TOML path, read and
    checked here, before any partition) rows are routed and also get the routing columns. Messages are
    classified without the template the first rows were typed into (learned here, as ``tag_file`` learns
    it; when they teach none, the model's own, :attr:`~triage.model.TriageModel.template`), unless
    ``cut_template`` is False.
    """
    pandas = import_optional("pandas", extra="dask", purpose="triage.dask")
    if config is not None and not isinstance(config, RoutingConfig):
        config = load_config(config)
    read = [name for name in ddf.columns if name != READ_ERRORS]
    columns = list(text_columns) or detect_text_columns(read)
    meta, prefix = ddf._meta[read].copy(), added_column_prefix(read)
    for name in output_columns(config is not None):
        meta[prefix + name] = pandas.Series(dtype=_DTYPES.get(name, "str"))
    path = str(model_path) if model_path is not None else None
    template = Boilerplate()
    if cut_template:  # the batch's own template, else the model's (read from its manifest: no model loaded here)
        template = Boilerplate.from_texts(_first_texts(ddf, columns)) or _model_template(path)
    return ddf.map_partitions(_tag_partition, columns, path, config, template, meta=meta)


#: How much data :func:`read_export` reads in one partition, unless told.
_BLOCKSIZE = "64MB"


def read_export(
    source: str | Path, *, encoding: str = "auto", blocksize: str = _BLOCKSIZE, keep_types: bool = False
) -> Any:
    """A dask DataFrame of text cells from a Parquet dataset (a directory or glob), or from CSV, TSV, JSONL or
    XLSX files (a glob): the cells and reading errors :func:`triage.io.read_rows` gives for the same files.

    Text files are read in byte ranges of about ``blocksize`` (:func:`triage.io.byte_shares`), each file with
    its own encoding (``"auto"``: :func:`~triage.io.choose_encoding`), so a row that cannot be read (a quote
    left open, bytes of another encoding, a missing field) keeps its cells and says why in the column
    :data:`READ_ERRORS`, which :func:`tag` turns into the row's ``error``; nothing is dropped. Where the ranges
    start is settled here, before the frame is returned: CSV/TSV ranges are read once, in parallel, and one that
    a stray quote made start inside a record is moved to where that record ends, as the local tagger does (a
    JSONL range ends where it was cut, at a line start).
    Parquet files are read in runs of row groups of about ``blocksize`` of data (:func:`_parquet_pieces`),
    so a damaged row group's rows are rows with their error there too. With ``keep_types`` their columns keep
    their Arrow types (pandas ``ArrowDtype``; partition keys text) instead of becoming cells, as
    :func:`tag_dataset` reads them so that its output keeps them, as the local Parquet to Parquet does."""
    return _export_frame(str(source), encoding, blocksize, keep_types)[0]


def _export_frame(
    source: str, encoding: str, blocksize: str, keep_types: bool, read_columns: Sequence[str] | None = None
) -> tuple[Any, list[Any] | None]:
    """:func:`read_export`'s frame, and the Arrow types of its columns for a Parquet ``source`` (None for
    text): as the footers give them, not as pandas dtypes map back to them (dask's meta holds a large_string
    column as pandas' own string dtype). With ``read_columns``, the text columns a caller reads (empty: found by
    their names), a workbook is read as ``tag_file`` reads it (:func:`_text_ranges`)."""
    dd = import_optional("dask.dataframe", extra="dask", purpose="--engine dask")
    share_bytes = import_optional("dask.utils", extra="dask", purpose="--engine dask").parse_bytes(blocksize)
    if share_bytes < 1:
        raise ValueError(f"blocksize must be at least one byte, got {blocksize!r}")
    if _is_parquet(source):
        header, types, pieces = _parquet_pieces(source, share_bytes)
        kept = types if keep_types else None
        meta = _typed_meta(header, types) if keep_types else _cells_meta(header)
        return dd.from_map(_piece_frame, pieces, header=header, types=kept, meta=meta), types
    files = sorted(glob.glob(source))
    if not files:
        raise DataError(f"no file matches {source}")
    header, ranges = _text_ranges(files, encoding, share_bytes, read_columns)
    return dd.from_map(_range_frame, ranges, header=header, meta=_cells_meta(header)), None


#: The column of :func:`read_export`'s frame holding each row's reading error ("" if none).
READ_ERRORS = "__triage_read_error__"


def _is_parquet(source: str) -> bool:
    """Whether :func:`read_export` reads ``source`` as a Parquet dataset (a folder, or Parquet files)."""
    return Path(source).is_dir() or source.endswith((".parquet", ".pq"))


@dataclass(frozen=True)
class _ParquetPiece:
    """Consecutive row groups of one Parquet file, and the cells of the hive partition keys of its folders."""

    path: str
    row_groups: tuple[int, ...]
    keys: tuple[str, ...] = ()


def _parquet_pieces(source: str, share_bytes: int) -> tuple[list[str], list[Any], list[_ParquetPiece]]:
    """The header of a Parquet dataset (a directory, hive-partitioned or not) or of the files of a glob (every
    file must have it): each file's columns as :func:`triage.io.read_rows` names them, then the partition keys;
    their Arrow types (the first file's; the keys' text); and the pieces to read it in, row groups of at most
    ``share_bytes`` of data each (one at least)."""
    datasets = import_optional("pyarrow.dataset", extra="dask", purpose="--engine dask")
    if Path(source).is_dir():
        dataset = datasets.dataset(source, format="parquet", partitioning="hive")
    else:
        files = sorted(glob.glob(source))
        if not files:
            raise DataError(f"no file matches {source}")
        dataset = datasets.dataset(files, format="parquet")
    header: list[str] | None = None
    key_names: list[str] = []
    pieces = []
    for fragment in dataset.get_fragments():  # each footer read once, by read_rows: not by the fragment too
        with read_rows(fragment.path, format="parquet") as export:  # a footer that cannot be read is refused
            if header is None:  # the dataset's schema: the first file's columns, then the partition keys
                header, first, types = export.header, fragment.path, list(export.schema.types)
                key_names = [name for name in dataset.schema.names if name not in export.schema.names]
            elif export.header != header:
                raise DataError(f"{fragment.path} has other columns than {first}: {', '.join(export.header)}")
            footer = export.footer
        keys = datasets.get_partition_keys(fragment.partition_expression)
        cells = tuple(to_cell(keys.get(name)) for name in key_names)
        sizes = [footer.row_group(group).total_byte_size for group in range(footer.num_row_groups)]
        pieces += [_ParquetPiece(fragment.path, groups, cells) for groups in _runs(sizes, share_bytes)]
    if header is None:
        raise DataError(f"no Parquet file in {source}")
    pyarrow = import_optional("pyarrow", extra="dask", purpose="--engine dask")
    return [*header, *key_names], [*types, *(pyarrow.string() for _ in key_names)], pieces


def _runs(sizes: Sequence[int], limit: int) -> list[tuple[int, ...]]:
    """The indices of ``sizes`` in runs of consecutive ones adding up to at most ``limit`` (a larger one
    alone); one empty run for no sizes, so that a file of no rows still gives its part of the frame."""
    runs: list[list[int]] = [[]]
    total = 0
    for index, size in enumerate(sizes):
        if runs[-1] and total + size > limit:
            runs.append([])
            total = 0
        runs[-1].append(index)
        total += size
    return [tuple(run) for run in runs]


def _piece_frame(piece: _ParquetPiece, header: list[str], types: list[Any] | None) -> Any:
    """The cells of one :class:`_ParquetPiece`, with each row's reading error, and its partition keys; with
    ``types`` (:func:`read_export`'s ``keep_types``) its values as read, of those Arrow types."""
    pandas = import_optional("pandas", extra="dask", purpose="triage.dask")
    columns = header[: len(header) - len(piece.keys)]
    as_frame = _batch_frame if types is None else _typed_batch_frame
    with read_rows(piece.path, format="parquet", row_groups=piece.row_groups) as export:
        frames = [as_frame(batch, columns) for batch in cast(Iterator[Any], export.batches)]
    empty = _cells_meta(columns) if types is None else _typed_meta(columns, types[: len(columns)])
    frame = pandas.concat(frames, ignore_index=True) if frames else empty
    kind = "string" if types is None else pandas.ArrowDtype(types[-1])
    for at, (name, cell) in enumerate(zip(header[len(columns) :], piece.keys, strict=True), len(columns)):
        frame.insert(at, name, pandas.array([cell] * len(frame), dtype=kind))
    return frame


@dataclass(frozen=True)
class _TextRange:
    """Records of one text file that start in ``[start, stop)``, read in ``encoding``; a workbook, which
    cannot be read in ranges, is one range read whole (``start`` None)."""

    path: str
    format: str
    encoding: str
    start: int | None = None
    stop: int | None = None
    #: A JSONL file's keys (:attr:`triage.io.Export.keys`): each range is read with them, not scanned for them.
    keys: tuple[str, ...] | None = None
    #: The Excel error values of a workbook's columns read (found when it was planned, so that the worker reading
    #: it does not scan its sheet again), each its row's error (:func:`~triage.io.xlsx.marked_error_values`).
    error_values: tuple[ErrorValues, ...] = ()

    def _export(self) -> Any:
        span = (self.start, self.stop) if self.start is not None and self.stop is not None else None
        return read_rows(self.path, format=self.format, encoding=self.encoding, byte_range=span, jsonl_keys=self.keys)

    def rows(self) -> Iterator[Row]:
        with self._export() as export:
            found = {errors.column: errors for errors in self.error_values}
            export.chunks = marked_error_values(export.chunks, found, found)
            for chunk in export.chunks:
                yield from chunk

    def end(self) -> int:
        """Where the next range must start: past ``stop`` when the last record runs on."""
        with self._export() as export:
            for _ in export.chunks:
                pass
            return cast(int, export.position())


def _text_ranges(
    files: Sequence[str], encoding: str, share_bytes: int, read_columns: Sequence[str] | None = None
) -> tuple[list[str], list[_TextRange]]:
    """The header of the text ``files`` and the record ranges to read them in (:func:`_glob_header`). With
    ``read_columns`` (the text columns a caller reads; empty: found by their names), a workbook whose columns read hold
    formulas never calculated is refused (:func:`~triage.io.require_saved_values`), and a row whose cell there
    holds an Excel error value is its error, as ``tag_file`` reads a workbook."""
    dask = import_optional("dask", extra="dask", purpose="--engine dask")
    opened: list[tuple[_TextRange, list[str], int | None]] = []
    for path in files:
        with read_rows(path, encoding=encoding) as export:
            keys = tuple(export.keys) if export.keys is not None else None
            whole = _TextRange(path, export.format, export.encoding.encoding if export.encoding else "auto", keys=keys)
            if read_columns is not None and export.format == "xlsx":
                columns = list(read_columns) or detect_text_columns(export.header)
                require_saved_values(export.unsaved_formulas(), columns, path)
                found = export.error_values()
                whole = dataclasses.replace(whole, error_values=tuple(found[c] for c in columns if c in found))
            opened.append((whole, export.header, export.data_start))
    header, keys = _glob_header([(whole, names) for whole, names, _ in opened])
    planned: list[tuple[_TextRange, list[tuple[int, int]]]] = []
    for whole, _, start in opened:
        whole = whole if keys is None else dataclasses.replace(whole, keys=keys)
        if start is None:  # a workbook: one range, read whole
            planned.append((whole, []))
            continue
        shares = list(
            byte_shares(whole.path, whole.format, start, rows=1, share_bytes=share_bytes, encoding=whole.encoding)
        )
        planned.append((whole, shares))
    # Each CSV/TSV range is parsed here, only for where it ends, and again by its partition: a range starts where the
    # one before ends, known only once that is parsed (a stray quote can fool byte_shares' cut). Partitions that each
    # waited for the end of the one before instead read the whole export ahead of tagging it: Dask ran every read
    # first, holding all the cells, and moved them between workers (benchmarks/dask_reads.py, 200k rows). A JSONL
    # range ends at its stop, a line start (no record runs past its line end): it is not parsed for it (a 409 MB
    # file in 64 MB ranges on 2 workers: planned in 4.2 s instead of 10.3, 3.5 of them the key scan).
    tasks = [
        dask.delayed(_end_from)(whole, first, stop)
        for whole, shares in planned
        if whole.format != "jsonl"
        for first, stop in shares
    ]
    ends = iter(dask.compute(*tasks))
    ranges: list[_TextRange] = []
    for whole, shares in planned:
        if not shares:
            ranges.append(whole)
            continue
        if whole.format == "jsonl":
            ranges += [dataclasses.replace(whole, start=first, stop=stop) for first, stop in shares]
            continue
        read = [(share, next(ends)) for share in shares]
        again = functools.partial(_end_from, whole)
        for first, end in joined_shares(read, shares[0][0], end_of=lambda end: end, read_again=again):
            ranges.append(dataclasses.replace(whole, start=first, stop=end))
    return header, ranges


def _glob_header(files: Sequence[tuple[_TextRange, list[str]]]) -> tuple[list[str], tuple[str, ...] | None]:
    """``(header, JSONL keys to read every file with)`` of a glob's text files, each given with its header. JSONL
    files (all of them) have the keys of all (:func:`triage.io.joined_keys`), as their concatenation has, a file's
    rows getting empty cells for the keys it lacks; others must have the first file's header (keys: None)."""
    if all(whole.keys is not None for whole, _ in files):
        keys = joined_keys((whole.path, whole.keys or ()) for whole, _ in files)
        return unique_columns(keys), tuple(keys)
    first, header = files[0]
    for whole, names in files[1:]:
        if names != header:
            raise DataError(f"{whole.path} has other columns than {first.path}: {', '.join(names)}")
    return header, None


def _end_from(whole: _TextRange, first: int, stop: int) -> int:
    """Where the records of ``whole``'s file that start in ``[first, stop)`` end."""
    return dataclasses.replace(whole, start=first, stop=stop).end()


def _range_frame(text_range: _TextRange, header: list[str]) -> Any:
    """The cells of one record range, with each row's reading error."""
    return _rows_frame(list(text_range.rows()), header)


def _batch_frame(batch: Any, header: list[str]) -> Any:
    """One Arrow record batch of a Parquet file as the local reader reads it (:func:`triage.io.batch_rows`):
    text cells, a value Python cannot hold (a date past 9999) as Arrow's text of it, and each row's reading
    error; a batch of text columns only is made cells column by column."""
    pandas = import_optional("pandas", extra="dask", purpose="triage.dask")
    columns = batch_text_columns(batch)
    if columns is None:  # a value may fail its row: rows, each with its error
        return _rows_frame(list(batch_rows(batch, header)), header)
    cells = pandas.DataFrame(dict(zip(header, columns, strict=True)), dtype="string")  # all text: no errors
    cells[READ_ERRORS] = pandas.array([""] * len(cells), dtype="string")
    return cells


def _typed_batch_frame(batch: Any, header: list[str]) -> Any:
    """One Arrow record batch of a Parquet file with its values as read (pandas ``ArrowDtype``: nothing becomes a
    Python value, so nothing can fail its row), the rows of a damaged row group with their error."""
    pandas = import_optional("pandas", extra="dask", purpose="triage.dask")
    held = [column.cast(_held_type(column.type)) for column in batch.columns]  # no metadata: an index stays a column
    frame = type(batch).from_arrays(held, names=header).to_pandas(types_mapper=pandas.ArrowDtype)
    frame[READ_ERRORS] = pandas.array([lost_rows_error(batch)] * len(frame), dtype="string")
    return frame


def _typed_meta(header: list[str], types: list[Any]) -> Any:
    """The empty frame :func:`read_export`'s partitions look like with ``keep_types``."""
    pandas = import_optional("pandas", extra="dask", purpose="triage.dask")
    frame = pandas.DataFrame(
        {
            name: pandas.Series(dtype=pandas.ArrowDtype(_held_type(kind)))
            for name, kind in zip(header, types, strict=True)
        }
    )
    frame[READ_ERRORS] = pandas.Series(dtype="string")
    return frame


def _held_type(kind: Any) -> Any:
    """The Arrow type a column of type ``kind`` is held as in a pandas frame: a view type (Polars writes text as
    string_view) as its large type, for which pandas' kernels (take, concat) exist; the writer casts it back
    to ``kind`` (:func:`triage.batch.parquet_table`)."""
    pyarrow = sys.modules["pyarrow"]
    views = {pyarrow.string_view(): pyarrow.large_string(), pyarrow.binary_view(): pyarrow.large_binary()}
    return views.get(kind, kind)


def _rows_frame(rows: list[Row], header: list[str]) -> Any:
    """Rows as a pandas DataFrame of strings (:func:`_cells_meta`)."""
    pandas = import_optional("pandas", extra="dask", purpose="triage.dask")
    frame = pandas.DataFrame([row.cells for row in rows], columns=header, dtype="string")
    frame[READ_ERRORS] = pandas.array([row.error for row in rows], dtype="string")
    return frame


def _cells_meta(header: list[str]) -> Any:
    """The empty frame :func:`read_export`'s partitions look like: a string column per input column, then
    :data:`READ_ERRORS`."""
    pandas = import_optional("pandas", extra="dask", purpose="triage.dask")
    return pandas.DataFrame({name: pandas.Series(dtype="string") for name in [*header, READ_ERRORS]})


def _sketch_partition(
    frame: Any, text_columns: list[str], part: int, spans: list[tuple[int, int]], sketcher: Sketcher
) -> tuple[Any, Any, Any]:
    """Of each row of the ``part``-th partition that has Chinese text: its signature, and one bucket key per
    band, by its :func:`_row_keys`; and the partition's row count (a series of one). Missing cells count as
    empty, as in :func:`tag`, and so do those of a row that could not be read (:func:`_readable`)."""
    pandas = import_optional("pandas", extra="dask", purpose="triage.dask")
    signatures, usable = sketcher.sketch(join_text_columns(_readable(frame), text_columns))
    members = np.flatnonzero(usable)
    rows = _row_keys(part, members)
    keys = [band_keys(signatures, members, start, stop) for start, stop in spans]
    buckets = pandas.DataFrame(
        {
            "row": np.tile(rows, len(spans)),
            "band": np.repeat(np.arange(len(spans)), len(members)),
            "key": np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64),
        }
    )
    index = pandas.Index(rows, name="row")
    sketched = pandas.DataFrame(signatures[members], columns=_signature_columns(signatures.shape[1]), index=index)
    return buckets, sketched, pandas.Series([len(frame)], dtype="int64", name="rows")


#: Bits of a row's key (:func:`_row_keys`) that hold its number in its partition.
_ROW_BITS = 32


def _row_keys(part: int, members: np.ndarray) -> np.ndarray:
    """Keys of the rows ``members`` of the ``part``-th partition, in the order of their positions in the frame,
    for before the partitions' lengths are known (:func:`_positions`)."""
    return (np.int64(part) << _ROW_BITS) + members.astype(np.int64)


def _positions(keys: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions in the frame of the rows of those :func:`_row_keys`, the partitions holding ``lengths`` rows."""
    offsets = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64)
    return offsets[keys >> _ROW_BITS] + (keys & ((1 << _ROW_BITS) - 1))


def _signature_columns(size: int, prefix: str = "s") -> list[str]:
    """str column names: the distributed shuffle stores frames as Arrow tables."""
    return [f"{prefix}{column}" for column in range(size)]


def _verified(pairs: Any, size: int, threshold: float) -> Any:
    """The (row, anchor) pairs whose signatures agree in at least ``threshold`` of their bins."""
    values = pairs.to_numpy()
    agree = (values[:, 2 : 2 + size] == values[:, 2 + size :]).mean(axis=1)
    return pairs.loc[agree >= threshold, ["row", "anchor"]]


def group(
    ddf: Any,
    text_columns: Sequence[str] = (),
    *,
    threshold: float = DEFAULT_THRESHOLD,
    strip_boilerplate: bool = True,
) -> np.ndarray:
    """Group ids of the rows of the dask DataFrame ``ddf``, in partition order: the same ids as
    :func:`triage.grouping.group` on the same texts (the position of the group's first row).

    One shuffle finds every bucket's anchor (its lowest position) in all bands at once; the ids
    come back to the client as one int64 array (8 bytes per row). The boilerplate is learned on the
    client from the first rows, as locally (:func:`_learned_sketcher`).
    """
    spans = _checked_spans(ddf, threshold)
    columns = list(text_columns) or detect_text_columns(list(ddf.columns))
    return _group_ids(ddf, columns, threshold, spans, strip_boilerplate)[0]


def with_groups(
    tagged: Any,
    source: Any,
    text_columns: Sequence[str] = (),
    *,
    threshold: float = DEFAULT_THRESHOLD,
    strip_boilerplate: bool = True,
) -> Any:
    """``tagged`` (:func:`tag` of ``source``) with the :data:`~triage.batch.GROUP_COLUMNS` that
    ``triage tag --group`` writes: ``group_id``, the 1-based row number of the group's first row,
    and ``group_size``. Each partition receives only its own rows' ids."""
    dd = import_optional("dask.dataframe", extra="dask", purpose="triage.dask.with_groups")
    delayed = import_optional("dask", extra="dask", purpose="triage.dask.with_groups").delayed
    spans = _checked_spans(source, threshold)
    columns = list(text_columns) or detect_text_columns(list(source.columns))
    # The sketches are read here, the tags when the result is: holding the source in the cluster's memory between
    # the two would save a read of the export at the cost of room for all of it.
    ids, lengths = _group_ids(source, columns, threshold, spans, strip_boilerplate)
    table = np.column_stack([ids + 1, np.bincount(ids, minlength=len(ids))[ids]]).astype(np.int64)
    ends = np.cumsum(lengths)
    names = [added_column_prefix(source.columns) + name for name in GROUP_COLUMNS]
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


def _group_ids(
    ddf: Any, columns: list[str], threshold: float, spans: list[tuple[int, int]], strip_boilerplate: bool
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`group`'s ids, and the rows of each partition, in one pass over the data (after the first
    partitions' texts for the boilerplate)."""
    dask = import_optional("dask", extra="dask", purpose="triage.dask.group")
    dd = import_optional("dask.dataframe", extra="dask", purpose="triage.dask.group")
    sketcher = _learned_sketcher(ddf, columns) if strip_boilerplate else Sketcher()
    size = sketcher.signature_size
    sketched = [
        dask.delayed(_sketch_partition, nout=3)(part, columns, number, spans, sketcher)
        for number, part in enumerate(ddf.to_delayed())
    ]
    bucket_meta = {"row": "int64", "band": "int64", "key": "uint64"}
    buckets = dd.from_delayed([b for b, _, _ in sketched], meta=bucket_meta)
    signatures = dd.from_delayed([sig for _, sig, _ in sketched], meta=_signature_meta(size))
    rows = dd.from_delayed([count for _, _, count in sketched], meta=("rows", "int64"))
    # as many anchor partitions as bucket partitions: by default dask would pile them into a tenth
    anchors = buckets.groupby(["band", "key"])["row"].min(split_out=buckets.npartitions)
    anchors = anchors.rename("anchor").reset_index()
    pairs = buckets.merge(anchors, on=["band", "key"])
    pairs = pairs[pairs["row"] != pairs["anchor"]][["row", "anchor"]].drop_duplicates()
    pairs = pairs.merge(signatures, left_on="row", right_index=True)
    renamed = dict(zip(_signature_columns(size), _signature_columns(size, "a"), strict=True))
    pairs = pairs.merge(signatures.rename(columns=renamed), left_on="anchor", right_index=True)
    verified = pairs.map_partitions(_verified, size, threshold, meta={"row": "int64", "anchor": "int64"})
    # the pairs and the lengths in one compute, from the same sketches: each partition is read once
    edges, counted = dask.compute(verified, rows)
    lengths = counted.to_numpy(dtype=np.int64)
    left, right = (_positions(edges[name].to_numpy(), lengths) for name in ("row", "anchor"))
    return connected_groups(int(lengths.sum()), left, right), lengths


def _learned_sketcher(ddf: Any, columns: list[str]) -> Sketcher:
    """A sketcher with the boilerplate of the first rows, the texts :func:`triage.grouping.group_chunks`
    learns it from."""
    sketcher = Sketcher()
    return sketcher.learned(sketcher.clean(_first_texts(ddf, columns)))


def _first_texts(ddf: Any, columns: list[str]) -> list[str]:
    """The texts of the first :data:`~triage.boilerplate.SAMPLE_SIZE` rows, a row that could not be read
    empty, as the local tagger reads them: partitions are read in order until they hold that many (usually
    the first alone)."""
    texts: list[str] = []
    for number in range(ddf.npartitions):
        if len(texts) >= SAMPLE_SIZE:
            break
        texts += join_text_columns(_readable(ddf.get_partition(number).compute()), columns)
    return texts[:SAMPLE_SIZE]


def _signature_meta(size: int) -> Any:
    """An empty frame shaped like :func:`_sketch_partition`'s signatures."""
    pandas = import_optional("pandas", extra="dask", purpose="triage.dask")
    return pandas.DataFrame(
        {column: pandas.Series(dtype="uint32") for column in _signature_columns(size)},
        index=pandas.Index([], dtype="int64", name="row"),
    )


def _readable(frame: Any) -> Any:
    """A partition as the grouping pass reads it: every cell of a row that could not be read (its
    :data:`READ_ERRORS`) missing, so that the row is in a group of its own and takes no part in grouping the
    others, as in the local pass, which reads its text as empty."""
    if READ_ERRORS not in frame.columns:
        return frame
    unreadable = frame[READ_ERRORS].fillna("").ne("").to_numpy(dtype=bool)
    if not unreadable.any():
        return frame
    frame = frame.copy()
    frame.loc[unreadable, [name for name in frame.columns if name != READ_ERRORS]] = None
    return frame


def _write_dataset(tagged: Any, output: Path, arguments: tuple[Any, ...]) -> None:
    """Each partition of ``tagged`` as one file of the new folder ``output``, written by the workers with the
    schema the local tagger writes (:func:`triage.batch.parquet_table`, ``arguments`` its own) and no pandas
    metadata (pandas cannot read back the ``list<...>[pyarrow]`` dtype a list column would record). The
    names (``part.00.parquet``, ...) sort in row order, so readers other than dask read the rows in order."""
    dask = import_optional("dask", extra="dask", purpose="--engine dask")
    parts = tagged.to_delayed()
    width = len(str(len(parts) - 1))
    output.mkdir()
    writes = [
        dask.delayed(_write_part)(part, str(output / f"part.{number:0{width}d}.parquet"), *arguments)
        for number, part in enumerate(parts)
    ]
    dask.compute(*writes)


def _write_part(
    tagged: Any, path: str, header: list[str], names: tuple[str, ...], input_types: tuple[Any, ...] | None
) -> None:
    """One tagged partition as the Parquet file ``path``."""
    parquet = import_optional("pyarrow.parquet", extra="dask", purpose="--engine dask")
    parquet.write_table(parquet_table(tagged, header, names, input_types), path)


def _replaceable(output: Path, source: str) -> None:
    """Refuse to replace a folder that holds the input or the working directory (dask's own check)."""
    held = [Path(path).resolve() for path in glob.glob(source)] + [Path.cwd()]
    if any(path == output.resolve() or output.resolve() in path.parents for path in held):
        raise ValueError(f"{output} holds the input or the working directory; write the output elsewhere")


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
    cut_template: bool = True,
) -> str:
    """Tag the export ``source`` (a Parquet dataset, read with its Arrow types, or a glob of text files read
    by :func:`read_export`) into the Parquet dataset ``output``, with :data:`~triage.batch.GROUP_COLUMNS` too
    when ``group_threshold`` is given and the routing columns when a routing ``config`` is (see :func:`tag`).
    Its files hold what ``tag_file`` writes to one Parquet file for the same input, in the same schema.

    Runs on the Dask ``scheduler`` at that address, or on a local cluster of ``n_jobs`` worker processes
    started for the call (``None``: one per core). Returns the scheduler's address. ``output`` is
    replaced only with ``overwrite``. ``cut_template`` as for :func:`tag`.
    """
    distributed = import_optional("distributed", extra="dask", purpose="--engine dask")
    output = Path(output)
    if output.exists() and not overwrite:
        raise FileExistsError(f"{output} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    _replaceable(output, str(source))
    model = str(Path(model_path).resolve()) if model_path is not None else None
    if config is not None and not isinstance(config, RoutingConfig):
        config = load_config(config)  # checked before a cluster starts
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            # dashboard on a free port: another run's cluster may hold dask's default (8787)
            cluster = distributed.LocalCluster(n_workers=n_jobs, threads_per_worker=1, dashboard_address=":0")
            scheduler = stack.enter_context(cluster)
        client = stack.enter_context(distributed.Client(scheduler))
        # Parquet input keeps its types, as locally
        frame, types = _export_frame(str(source), encoding, _BLOCKSIZE, keep_types=True, read_columns=text_columns)
        tagged = tag(frame, text_columns, model_path=model, config=config, cut_template=cut_template)
        if group_threshold is not None:
            tagged = with_groups(tagged, frame, text_columns, threshold=group_threshold)
        header = [name for name in frame.columns if name != READ_ERRORS]
        names = output_columns(config is not None) + (GROUP_COLUMNS if group_threshold is not None else ())
        arguments = (header, names, tuple(types) if types is not None else None)
        if output.is_dir():
            shutil.rmtree(output)
        elif output.exists():
            output.unlink()
        try:
            _write_dataset(tagged, output, arguments)
        except BaseException:
            # parts written before the failure would read as a whole dataset
            shutil.rmtree(output, ignore_errors=True)
            raise
        return str(client.scheduler.address)
