"""The rows of a Parquet file, read a record batch at a time; the rows of a damaged row group are kept, each
with its error (:func:`_readable_batches`)."""

from __future__ import annotations

import re
import sys
from collections.abc import Generator, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, cast

from triage._optional import import_optional
from triage.io.cells import MAX_CELL_CHARS, Row, Unreadable, row_cells, unique_columns
from triage.io.errors import DataError
from triage.io.sniff import misnamed

# Parquet column chunks are read through a buffer of this size, a page at a time, instead of whole: a file
# written as one row group (pyarrow's default up to 1Mi rows) otherwise sat in memory at once (a 1M-row,
# 640 MB file of votes: Arrow held 648 MiB while reading, 10 with the buffer, and read it in 2.2 s, not 3.9).
_PARQUET_READ_BUFFER = 1 << 20


def _column_values(column: Any) -> tuple[list[Any], bool]:
    """``(the column's values as Python objects, whether pyarrow converted every one)``."""
    try:
        return column.to_pylist(), True
    except Exception:  # one bad value: convert value by value so only its row fails
        values: list[Any] = []
        for k in range(len(column)):
            scalar = column[k]
            try:
                values.append(scalar.as_py())
            except Exception as problem:
                values.append(Unreadable(scalar, problem))
        return values, False


def _is_text(column: Any) -> bool:
    """Whether an Arrow column holds strings."""
    types = sys.modules["pyarrow"].types
    return bool(types.is_string(column.type) or types.is_large_string(column.type))


def _text_cells(column: Any, values: list[Any], converted: bool) -> list[str] | None:
    """The cells of an Arrow string column, for a column whose values all pass the cell rule unchanged
    (None as ""; Arrow strings are valid UTF-8, so hold no surrogate); None when :func:`row_cells` must
    look at them (another type, a value pyarrow could not convert, a cell over :data:`MAX_CELL_CHARS`)."""
    if not converted or not _is_text(column):
        return None
    cells = [value if value is not None else "" for value in values] if column.null_count else values
    return None if max(map(len, cells), default=0) > MAX_CELL_CHARS else cells


def _text_columns(batch: Any, converted: list[tuple[list[Any], bool]]) -> list[list[str]] | None:
    """The cells of a record batch column by column (``converted``: :func:`_column_values` of each) when
    every column is text passing the cell rule unchanged, so no row can have an error; else None."""
    texts = [_text_cells(batch.column(i), *values) for i, values in enumerate(converted)]
    return None if any(cells is None for cells in texts) else cast(list[list[str]], texts)


def batch_text_columns(batch: Any) -> list[list[str]] | None:
    """The cells of an Arrow record batch column by column, for a caller that needs only the text: when
    no row can have an error (every column text that passes the cell rule unchanged); else None, and the
    rows are :func:`batch_rows`. Skips building a :class:`Row` per row (~0.7 µs a row of two columns).
    A batch with a column of another type is not converted here, only once by :func:`batch_rows`; nor is a
    batch of rows that could not be read (:func:`_damaged_batches`)."""
    if lost_rows_error(batch) or not all(_is_text(column) for column in batch.columns):
        return None
    return _text_columns(batch, [_column_values(batch.column(i)) for i in range(batch.num_columns)])


def batch_rows(batch: Any, header: Sequence[str], first_number: int = 0) -> Iterator[Row]:
    """The rows of one Arrow record batch of a Parquet export, numbered from ``first_number + 1``, as
    :func:`~triage.io.read_rows` gives them (workers handed whole batches turn them into rows here). A batch of
    text columns only is turned into cells a column at a time. Rows that could not be read (a damaged row
    group: :func:`_damaged_batches`) come with empty cells, no values and their error."""
    if error := lost_rows_error(batch):
        for number in range(first_number + 1, first_number + batch.num_rows + 1):
            yield Row(number, [""] * len(header), error, values=[None] * len(header))
        return
    converted = [_column_values(batch.column(i)) for i in range(batch.num_columns)]
    columns = [values for values, _ in converted]
    texts = _text_columns(batch, converted)
    if len(header) == len(columns) and texts is not None:
        rows = zip(zip(*texts, strict=True), zip(*columns, strict=True), strict=True)
        yield from (
            Row(number, list(cells), values=values) for number, (cells, values) in enumerate(rows, first_number + 1)
        )
        return
    for number, values in enumerate(zip(*columns, strict=True), first_number + 1):
        cells, error = row_cells(values, header)
        yield Row(number, cells, error, values=values)


def _read_parquet(
    path: Path, chunk_size: int, row_groups: Sequence[int] | None, closing: ExitStack
) -> tuple[list[str], Generator[Row], Any, Any, Iterator[Any]]:
    """``(header, rows, Arrow schema, footer, the record batches the rows are made of)``."""
    parquet = import_optional("pyarrow.parquet", extra="io", purpose="reading Parquet files")
    pyarrow = import_optional("pyarrow", extra="io", purpose="reading Parquet files")
    try:
        file = parquet.ParquetFile(path, buffer_size=_PARQUET_READ_BUFFER, pre_buffer=False)
    except (pyarrow.ArrowException, OSError) as problem:  # a footer that cannot be parsed is an OSError (thrift)
        if isinstance(problem, PermissionError):
            raise
        fix = misnamed(path, "parquet") or "the file is damaged or cut short; write it again"
        raise DataError(f"not a readable Parquet file ({str(problem).strip()}): {fix}") from None
    # Once the pass is over, the pool gives back the pages it freed: after a short pass (the 5,000 rows a template
    # is learned from, out of one 100k-row group) the parent held 50 MB more, which --jobs workers forked then
    # counted in their resident memory too.
    closing.callback(pyarrow.default_memory_pool().release_unused)
    closing.callback(file.close)
    header = unique_columns(file.schema_arrow.names)
    groups = list(range(file.num_row_groups)) if row_groups is None else list(row_groups)
    first = sum(file.metadata.row_group(g).num_rows for g in range(min(groups, default=0)))
    batches = _named_refusals(path, _readable_batches(file, groups, chunk_size))

    def rows() -> Generator[Row]:
        number = first
        for batch in batches:
            yield from batch_rows(batch, header, number)
            number += batch.num_rows

    return header, rows(), file.schema_arrow, file.metadata, batches


def _named_refusals(path: Path, batches: Iterator[Any]) -> Generator[Any]:
    """``batches``, a refusal met while reading them naming the file, as one met opening it does (Dask reads
    many)."""
    try:
        yield from batches
    except DataError as refused:
        raise DataError(f"{path}: {refused}") from None


def _readable_batches(file: Any, groups: list[int], batch_size: int) -> Generator[Any]:
    """The record batches of the Parquet row ``groups``, read across groups (pyarrow's batches run on from
    one group into the next). Where a page stops the reading, the group it is in is read alone
    (:func:`_group_batches`): if the page is damaged, only the rows that cannot be read are lost, each as a row
    with its error, and the groups after it are read on; else (:func:`_not_damage`) the reading ends in a
    :class:`DataError`."""
    sizes = [file.metadata.row_group(g).num_rows for g in range(file.num_row_groups)]
    while groups:
        read = 0
        try:
            for batch in _file_batches(file, groups, batch_size):
                yield batch
                read += batch.num_rows
            return
        except _read_errors():
            pass  # read the group again alone: its failure is damage, or the file's (_not_damage)
        failed = 0  # the group holding the first row not read (a batch that failed may run into the next)
        while failed < len(groups) - 1 and read >= sizes[groups[failed]]:
            read -= sizes[groups[failed]]
            failed += 1
        yield from _group_batches(file, groups[failed], read, batch_size, sum(sizes[: groups[failed]]))
        groups = groups[failed + 1 :]


def _group_batches(file: Any, group: int, skip: int, batch_size: int, before: int) -> Generator[Any]:
    """Row ``group`` of a Parquet file, whose rows are numbered after row ``before``, read alone past its
    first ``skip`` rows: its record batches up to a damaged page, then its rows not read as
    :func:`_damaged_batches` (how many there are is in the file's footer). A failure that is no damage raises
    :class:`DataError`."""
    read = 0
    try:
        for batch in _file_batches(file, [group], batch_size):
            if read + batch.num_rows > skip:
                yield batch.slice(max(skip - read, 0))
            read += batch.num_rows
        return
    except _read_errors() as problem:
        if refusal := _not_damage(problem, group, file.metadata.row_group(group)):
            raise refusal from None
        reason = problem
    lost = range(before + max(read, skip) + 1, before + file.metadata.row_group(group).num_rows + 1)
    yield from _damaged_batches(file.schema_arrow, lost, group, reason, batch_size)


# The key of the schema metadata that marks a record batch of nulls standing for Parquet rows that could not
# be read; its value is their error.
_DAMAGED = b"triage.damaged"


def _file_batches(file: Any, groups: list[int], batch_size: int) -> Iterator[Any]:
    """pyarrow's record batches of the row ``groups`` of a Parquet ``file``. Decoded on this thread: Arrow's
    thread pool cost the parent of a 100,000-row Parquet-to-Parquet run with two workers ~0.5-3 µs a row more
    CPU (wakeups, page faults) for no gain. A file's own schema metadata under :data:`_DAMAGED` (written so by
    someone) is dropped: batches read carry the file's metadata, and only lost rows may have that mark."""
    batches = file.iter_batches(batch_size=batch_size, row_groups=groups, use_threads=False)
    metadata = file.schema_arrow.metadata or {}
    if _DAMAGED not in metadata:
        return cast(Iterator[Any], batches)
    kept = {key: value for key, value in metadata.items() if key != _DAMAGED}
    return (batch.replace_schema_metadata(kept) for batch in batches)


def _read_errors() -> tuple[type[Exception], ...]:
    """What pyarrow raises for a row group it cannot read: ``OSError`` for most (a page header it cannot read:
    "Couldn't deserialize thrift"; a gzip check that fails), an ``ArrowException`` for others."""
    return (sys.modules["pyarrow"].ArrowException, OSError)


# How pyarrow says that a Parquet file uses LZO, which it reads in no build (an OSError, as damage is).
_LZO_REFUSED = re.compile(r"\bLZO compression\b.* not supported")

# How pyarrow says that a data page is in an encoding it does not know (an OSError, as damage is): one a newer
# writer uses, or a page header whose encoding was damaged (:func:`_unknown_encodings` tells them apart).
_UNKNOWN_ENCODING = re.compile(r"^Unknown encoding type\.$")


def _not_damage(problem: Exception, group: int, footer: Any) -> DataError | None:
    """The error for a row ``group`` pyarrow could not read for a reason that is no damage, and would stop
    every group alike: what the file uses that this pyarrow cannot read, or memory; None for damage. ``footer``
    is the group's metadata. What damage raises, measured on 7,500 random corruptions of pages (pyarrow 26, six
    codecs, plain, dictionary and delta encodings; 5,594 stopped the reading): ``OSError`` 5,291 times,
    ``ArrowInvalid`` 301, ``ArrowIndexError`` 2, nothing else. Of 9,864 row groups stopped by 7,500 random
    corruptions of pages (six codecs; plain, dictionary, delta, byte-stream-split encodings, v2 pages), 4 said
    "Unknown encoding type.", and of 1,481 stopped by a page header's encoding set to a random value, 1,055: none
    is called no damage here, as their footers list no unknown encoding (``benchmarks/parquet_damage.py``)."""
    pyarrow = sys.modules["pyarrow"]
    said = f"{type(problem).__name__}: {_one_line(problem)}"
    where = f"row group {group} (counted from 0) of the Parquet file cannot be read ({said})"
    if isinstance(problem, OSError) and _LZO_REFUSED.search(str(problem)):
        return DataError(
            f"{where}: it is compressed with LZO, which pyarrow reads in no version; the file is not "
            "damaged: write it again with snappy or zstd compression"
        )
    if isinstance(problem, OSError) and _UNKNOWN_ENCODING.match(str(problem)) and (names := _unknown_encodings(footer)):
        columns = f"columns {', '.join(map(repr, names))} are" if len(names) > 1 else f"column {names[0]!r} is"
        return DataError(
            f"{where}: its {columns} in an encoding pyarrow {pyarrow.__version__} does not know (a newer Parquet "
            "writer's); the file is not damaged: install a newer pyarrow (pip install -U pyarrow), or write the "
            "file again with plain or dictionary encoding"
        )
    if isinstance(problem, (OSError, pyarrow.ArrowInvalid, pyarrow.ArrowIndexError)):
        return None
    if isinstance(problem, (MemoryError, pyarrow.ArrowCapacityError)):
        return DataError(f"{where}: too much to hold at once; pass a smaller --chunk-size, or free memory")
    return DataError(
        f"{where}: it uses something pyarrow {pyarrow.__version__} cannot read (a compression codec, an encoding "
        "or a type); the file is not damaged: install a newer pyarrow (pip install -U pyarrow), or write the "
        "file again with snappy or zstd compression and common column types"
    )


def _unknown_encodings(footer: Any) -> list[str]:
    """The columns of a row group whose footer lists an encoding pyarrow does not know: its writer says it wrote
    their pages so. A page naming one its column's footer does not list is damaged. (Read from the footer:
    encodings, never ``compression``, whose values out of range crash pyarrow.)"""
    columns = (footer.column(i) for i in range(footer.num_columns))
    return [column.path_in_schema for column in columns if "UNKNOWN" in column.encodings]


def _one_line(problem: Exception) -> str:
    """pyarrow's reason, its control characters and line breaks as spaces."""
    return " ".join("".join(c if c.isprintable() else " " for c in str(problem)).split())


def _damaged_batches(schema: Any, lost: range, group: int, problem: Exception, batch_size: int) -> Iterator[Any]:
    """The rows ``lost`` (their numbers) of a damaged row ``group``, as record batches of at most
    ``batch_size`` rows of nulls in the file's columns, marked with their error: they travel where read
    batches go (to workers, to a resumed run's skipping, beside the tags in Parquet output), and
    :func:`batch_rows` turns them into rows with that error. The columns are nullable here, whatever
    the file's schema says: these rows have no values."""
    if not lost:
        return
    pyarrow = sys.modules["pyarrow"]
    error = (
        f"the Parquet data of rows {lost[0]} to {lost[-1]} (row group {group}, counted from 0) cannot be read "
        f"({_one_line(problem)}): the file is damaged; export the file again; the other rows were read"
    )
    fields = [field.with_nullable(True) for field in schema]
    nulls = pyarrow.RecordBatch.from_arrays(  # one batch's worth, not the group's (a text column's offsets)
        [pyarrow.nulls(min(batch_size, len(lost)), field.type) for field in fields],
        schema=pyarrow.schema(fields, metadata={_DAMAGED: error.encode()}),
    )
    for start in range(0, len(lost), batch_size):
        yield nulls.slice(0, min(batch_size, len(lost) - start))


def lost_rows_error(batch: Any) -> str:
    """The error of the rows of a record batch made by :func:`_damaged_batches`; "" for a batch read."""
    metadata = batch.schema.metadata
    return metadata[_DAMAGED].decode() if metadata and _DAMAGED in metadata else ""
