"""Random damage to the pages of Parquet files: what pyarrow raises, and whether triage still calls it damage.

The reader keeps the rows of the other row groups when a page is damaged, but refuses the whole file when a
group fails for a reason that is no damage (:func:`triage.io.parquet._not_damage`: LZO, an encoding pyarrow
does not know, memory, ...). Both raise ``OSError``; the refusals are told apart by pyarrow's message and the
file's footer. This run checks that no damage is taken for a refusal: it writes an invented table (int64 ids,
Chinese texts, float64 scores; 4 row groups) in six codecs and five encodings (plain, dictionary, delta,
byte-stream-split, v2 data pages) to a temporary folder, then per file:

- ``--trials`` copies with 1 to 8 random bytes between the first page and the footer set to random values;
- ``--targeted`` copies with the encoding field of one page header (found by walking the Thrift page headers)
  set to a random one-byte value (-64 to 63), as damage to that byte would: pyarrow then often says
  "Unknown encoding type.", the message of a newer writer's encoding too.

Each row group of each copy is read alone; the counts printed are the groups that failed, pyarrow's error
types, those saying "Unknown encoding type.", and those :func:`_not_damage` calls no damage (all must be 0).

Run: ``python benchmarks/parquet_damage.py [--trials 250] [--targeted 50] [--seed 0]`` (~10 s).
Measured (pyarrow 26.0.1, the defaults): random, 7,500 copies, 9,864 groups failed (OSError 9,480, ArrowInvalid
384), 4 saying "Unknown encoding type."; targeted, 1,500 copies, 1,481 failed (all OSError), 1,055 saying so;
called no damage: 0 and 0.
"""

from __future__ import annotations

import argparse
import collections
import io
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from triage.io.parquet import _not_damage

CODECS = ("none", "snappy", "gzip", "zstd", "brotli", "lz4")
ENCODINGS: dict[str, dict[str, Any]] = {
    "plain": {"use_dictionary": False},
    "dictionary": {},
    "delta": {
        "use_dictionary": False,
        "column_encoding": {"id": "DELTA_BINARY_PACKED", "text": "DELTA_BYTE_ARRAY", "score": "PLAIN"},
    },
    "byte_stream_split": {
        "use_dictionary": ["text"],
        "column_encoding": {"id": "BYTE_STREAM_SPLIT", "score": "BYTE_STREAM_SPLIT"},
    },
    "v2": {"data_page_version": "2.0"},
}
PHRASES = (
    "小区门口路灯坏了好几天",
    "楼上装修噪音太大",
    "公交站牌被撞倒没人修",
    "菜市场周边乱停车",
    "供暖不热",
    "自来水发黄",
)
UNKNOWN_ENCODING = "Unknown encoding type."

# Where a page header (Thrift compact) holds its encoding: data page v1 (field 5), dictionary page (7), data
# page v2 (8), each a struct whose encoding is field 2, 2 and 4; and the compressed size of the page (field 3).
_ENCODING_FIELDS = ((5, 2), (7, 2), (8, 4))
_COMPRESSED_SIZE = (3,)


def write_files(folder: Path) -> list[Path]:
    rng = random.Random(1)
    rows = 2000
    table = pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "text": ["，".join(rng.sample(PHRASES, 2)) + str(rng.randint(0, 50)) for _ in range(rows)],
            "score": pa.array([rng.random() for _ in range(rows)], pa.float64()),
        }
    )
    paths = []
    for codec in CODECS:
        for encoding, options in ENCODINGS.items():
            paths.append(folder / f"{codec}-{encoding}.parquet")
            pq.write_table(table, paths[-1], compression=codec, row_group_size=500, data_page_size=4096, **options)
    return paths


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _skip(data: bytes, at: int, kind: int) -> int:
    """The offset after a Thrift compact value of ``kind`` at ``at``."""
    if kind in (1, 2):  # booleans are in the field header
        return at
    if kind in (3, 7):  # byte, double
        return at + (1 if kind == 3 else 8)
    if kind in (4, 5, 6):  # varints
        return _varint(data, at)[1]
    if kind == 8:  # binary
        size, at = _varint(data, at)
        return at + size
    if kind in (9, 10):  # list, set
        size, inner = data[at] >> 4, data[at] & 0x0F
        at += 1
        if size == 15:
            size, at = _varint(data, at)
        for _ in range(size):
            at = _skip(data, at, inner)
        return at
    if kind == 12:
        return _struct_fields(data, at, {}, ())
    raise ValueError(f"Thrift type {kind}")


def _struct_fields(data: bytes, at: int, found: dict[tuple[int, ...], int], path: tuple[int, ...]) -> int:
    """Walk a Thrift compact struct at ``at``, noting in ``found`` where each i32 field (by its path of field
    ids) starts; the offset after the struct."""
    field = 0
    while data[at]:
        header = data[at]
        at += 1
        if header >> 4:
            field += header >> 4
        else:
            zigzag, at = _varint(data, at)
            field = (zigzag >> 1) ^ -(zigzag & 1)
        kind = header & 0x0F
        if kind == 12:
            at = _struct_fields(data, at, found, (*path, field))
            continue
        if kind == 5:
            found[(*path, field)] = at
        at = _skip(data, at, kind)
    return at + 1


def page_encoding_offsets(path: Path) -> list[int]:
    """Where the encoding of every page header of the file starts (pages walked by their compressed sizes)."""
    data, footer = path.read_bytes(), pq.ParquetFile(path).metadata
    offsets = []
    for group in range(footer.num_row_groups):
        for column in range(footer.num_columns):
            chunk = footer.row_group(group).column(column)
            at = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
            end = at + chunk.total_compressed_size
            while at < end:
                found: dict[tuple[int, ...], int] = {}
                body = _struct_fields(data, at, found, ())
                offsets += [found[field] for field in _ENCODING_FIELDS if field in found]
                zigzag = _varint(data, found[_COMPRESSED_SIZE])[0]
                at = body + ((zigzag >> 1) ^ -(zigzag & 1))
    return offsets


def damaged_copies(path: Path, trials: int, targeted: int, rng: random.Random) -> Iterator[tuple[str, bytes]]:
    data = path.read_bytes()
    footer_start = len(data) - 8 - int.from_bytes(data[-8:-4], "little")
    encodings = page_encoding_offsets(path)
    for trial in range(trials + targeted):
        copy = bytearray(data)
        if trial < trials:
            for _ in range(rng.randint(1, 8)):
                copy[rng.randrange(4, footer_start)] = rng.randrange(256)
        else:
            copy[rng.choice(encodings)] = rng.randrange(128)
        yield ("random" if trial < trials else "targeted"), bytes(copy)


def group_errors(data: bytes) -> Iterator[tuple[Exception, Any]]:
    """Each error a row group read alone raises, with what :func:`_not_damage` makes of it."""
    file = pq.ParquetFile(io.BytesIO(data))
    for group in range(file.num_row_groups):
        try:
            for _ in file.iter_batches(batch_size=500, row_groups=[group], use_threads=False):
                pass
        except Exception as problem:
            yield problem, _not_damage(problem, group, file.metadata.row_group(group))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=250, help="random damage, copies per file")
    parser.add_argument("--targeted", type=int, default=50, help="a page header's encoding set, copies per file")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    rng = random.Random(arguments.seed)
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    with tempfile.TemporaryDirectory() as folder:
        for path in write_files(Path(folder)):
            for kind, data in damaged_copies(path, arguments.trials, arguments.targeted, rng):
                counts[kind]["copies"] += 1
                for problem, refusal in group_errors(data):
                    counts[kind]["groups failed"] += 1
                    counts[kind][type(problem).__name__] += 1
                    counts[kind][f"said {UNKNOWN_ENCODING!r}"] += str(problem) == UNKNOWN_ENCODING
                    counts[kind]["called no damage"] += refusal is not None
    print(f"pyarrow {pa.__version__}")
    for kind, counted in counts.items():
        print(f"{kind}: " + ", ".join(f"{name} {number:,}" for name, number in counted.items()))


if __name__ == "__main__":
    main()
