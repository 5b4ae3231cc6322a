"""The rows of a JSON Lines file: its columns, the keys of all its objects (scanned for first, in processes
when large: :func:`_jsonl_keys`), then a row per object."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import sys
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triage.io.cells import Row, has_surrogate, row_cells
from triage.io.encodings import _is_gb, _not_valid_in, _utf8_read_as_gb
from triage.io.errors import DataError
from triage.io.lines import _text_lines, byte_shares

#: The most distinct keys the objects of a JSONL file may hold (its columns); exports have tens (a 12345 work
#: order: 20 to 60 fields). A file past it (an object used as a map, a new key per row) is refused: its columns,
#: and every row's cells, would otherwise grow with its rows. Memory grows with it: a chunk of 2,000 rows of
#: 15,986 cells held 1.5 GB (tagged at 72 rows/s, against 0.1 GB for a file of ten keys); 4,000 rows of 3,991
#: keys, 0.43 GB peak (211 rows/s). A quarter of what an XLSX sheet could hold (16,384 columns, 13 of triage's).
MAX_JSONL_KEYS = 4_000


#: The longest key, in characters, of a JSONL object (a column name, the header of every output). Exports' field
#: names are words (留言编号, create_time); a survey export keyed by its questions has names of a sentence or two, a
#: few hundred characters at most. A key longer than this is text used as a key (an object used as a map keyed by
#: messages) or a broken export, and is refused: it would be written in the header of every output and every
#: message listing the columns (a checkpoint keeps only their digest). Far below the 32,767 characters an XLSX
#: cell holds; and :data:`MAX_JSONL_KEYS` keys of this length are 4 million characters, a header still written at once.
MAX_JSONL_KEY_CHARS = 1_000


# A JSONL file smaller than this is scanned for its keys in one process even when more are asked for: scanning
# takes ~5 ms a MiB (0.75 s of CPU for 155 MB), so processes started for less gain less than they cost.
_PARALLEL_SCAN_BYTES = 16 << 20


@dataclass(frozen=True)
class _KeysSeen:
    """What scanning lines of a JSONL file found: each key with the row it first appeared in, the rows read and the
    first row that is no object, with why (rows numbered from 1 as :func:`_jsonl_rows` numbers them)."""

    keys: dict[str, int]
    rows: int
    first_problem: tuple[int, str] | None


def _keys_seen(lines: Iterable[str], stop_after: int | None = None) -> _KeysSeen:
    """The keys of the objects on ``lines``, in the order they first appear, up to row ``stop_after``; it stops
    once more than :data:`MAX_JSONL_KEYS` are seen, or one over :data:`MAX_JSONL_KEY_CHARS` (the file is refused).
    A line that is no object, or holds bytes not valid in the encoding, gives no key: it is its row's error
    (:func:`_jsonl_rows`)."""
    keys: dict[str, int] = {}
    rows, problem = 0, None
    for rows, line in enumerate(itertools.islice((line for line in lines if line.strip()), stop_after), 1):
        record, reason = _json_object(line)
        if record is None:
            problem = problem or (rows, reason)
        elif not record.keys() <= keys.keys() and not has_surrogate(line):  # only new keys need the check
            keys.update((key, rows) for key in record if key not in keys)
            if len(keys) > MAX_JSONL_KEYS or max(map(len, record)) > MAX_JSONL_KEY_CHARS:
                break
    return _KeysSeen(keys, rows, problem)


def _share_keys(
    path: Path,
    encoding: str,
    start: int,
    stop: int | None,
    stop_after: int | None = None,
    shown: Callable[[int], object] | None = None,
) -> _KeysSeen:
    """:func:`_keys_seen` of the lines of ``path`` that start in bytes ``[start, stop)`` (read as rows are), up to
    row ``stop_after`` of them; ``shown`` is told the bytes of each read."""
    lines, handle = _text_lines(path, start, encoding, True, count=shown is not None, stop=stop, on_read=shown)
    with handle:
        return _keys_seen(lines, stop_after)


def _merged_keys(shares: Iterable[_KeysSeen]) -> list[str]:
    """The keys of a whole JSONL file from what its consecutive shares saw, in the order they first appear;
    refused past :data:`MAX_JSONL_KEYS` or with a key over :data:`MAX_JSONL_KEY_CHARS`, naming the row, and when
    no object has a key."""
    keys: dict[str, None] = {}
    rows, problem = 0, None
    for share in shares:
        for key, row in share.keys.items():
            if key not in keys:
                keys[key] = None
                if len(keys) > MAX_JSONL_KEYS:
                    raise DataError(_too_many_keys("its objects", f"row {rows + row:,}", key))
                if len(key) > MAX_JSONL_KEY_CHARS:
                    raise DataError(_key_too_long(rows + row, key))
        if problem is None and share.first_problem is not None:
            problem = (rows + share.first_problem[0], share.first_problem[1])
        rows += share.rows
    if not rows:
        raise DataError("the file is empty")
    if not keys:
        first = f" (row {problem[0]}: {problem[1]})" if problem else ""
        raise DataError(
            f"no JSON object with a key in its {rows:,} row(s), so the columns cannot be told{first}; "
            "JSON Lines hold one object a line: convert a JSON array with `jq -c '.[]'`"
        )
    return list(keys)


def joined_keys(keys_of: Iterable[tuple[str | Path, Sequence[str]]]) -> list[str]:
    """The columns of JSONL files read as one (a glob on Dask), from each file's keys in turn: their keys in the
    order they first appear, as their concatenation's are; refused past :data:`MAX_JSONL_KEYS`, naming the file."""
    keys: dict[str, None] = {}
    for path, found in keys_of:
        keys.update(dict.fromkeys(found))
        if len(keys) > MAX_JSONL_KEYS:
            key = next(itertools.islice(keys, MAX_JSONL_KEYS, None))
            raise DataError(_too_many_keys("the objects of the files", str(path), key))
    return list(keys)


def _too_many_keys(whose: str, where: str, key: str) -> str:
    """Why JSONL objects (``whose``) holding too many distinct keys are refused, the first past the limit coming
    ``where`` (a row, a file), and what to do."""
    return (
        f"{whose} hold more than {MAX_JSONL_KEYS:,} distinct keys ({where} brings key number "
        f"{MAX_JSONL_KEYS + 1:,}, {key[:80]!r}), far more than an export's fields: an object "
        f"used as a map, a new key per row? {_KEEP_FIELDS}"
    )


def _key_too_long(row: int, key: str) -> str:
    """Why a JSONL file with a key over :data:`MAX_JSONL_KEY_CHARS` is refused, and what to do."""
    return (
        f"row {row:,} holds a key of {len(key):,} characters ({key[:40]!r}...), over the {MAX_JSONL_KEY_CHARS:,} "
        "a column name may have (each key is a column, named in the header of every output): an object used as "
        f"a map keyed by text, or a broken export? {_KEEP_FIELDS}"
    )


# What to do with JSONL objects whose keys cannot all be columns.
_KEEP_FIELDS = (
    "Keep the fields to tag by and put the others in one, e.g. "
    "jq -c '{id, content, rest: (del(.id, .content) | tojson)}' IN.jsonl > OUT.jsonl"
)


def _jsonl_keys(
    path: Path,
    encoding: str,
    jobs: int,
    stop_after: int | None = None,
    shown: Callable[[int], object] | None = None,
) -> list[str]:
    """The columns of a JSONL file: the keys of all its objects, in the order they first appear, so that no value
    is lost (exporters such as mongoexport leave out null fields, so a rare field may first appear on any row);
    with ``stop_after``, of its rows up to that one, the only rows read.
    The file is scanned as its rows are read (:func:`_keys_seen`), by ``jobs`` processes in byte shares on Linux
    (forked, as the batch tagger's workers are) when the file is large enough to gain from them. Up to a row, it
    is scanned in one process: where a share's rows start is known only once the shares before it are scanned,
    and the scan takes a fraction of the time the parent then spends reading those rows itself.
    ``shown`` is told the bytes scanned: as they are read in one process, a share's as it is taken in many."""
    size = path.stat().st_size
    serial = jobs <= 1 or size < _PARALLEL_SCAN_BYTES or stop_after is not None
    if serial or sys.platform != "linux":  # forked only where batch's workers are
        return _merged_keys([_share_keys(path, encoding, 0, None, stop_after, shown)])
    shares = list(byte_shares(path, "jsonl", 0, 1, jobs, share_bytes=-(-size // (4 * jobs)), encoding=encoding))
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        starts, stops = zip(*shares, strict=True)
        seen = pool.map(_share_keys, itertools.repeat(path), itertools.repeat(encoding), starts, stops)
        return _merged_keys(seen if shown is None else _told(seen, shares, shown))


def _told(
    seen: Iterable[_KeysSeen], shares: Sequence[tuple[int, int]], shown: Callable[[int], object]
) -> Iterator[_KeysSeen]:
    """What each of the byte ``shares`` saw, telling ``shown`` its bytes as it is taken."""
    for share, (start, stop) in zip(seen, shares, strict=True):
        shown(stop - start)
        yield share


def _jsonl_rows(lines: Iterable[str], header: list[str], keys: list[str], encoding: str) -> Generator[Row]:
    """Rows of JSONL ``lines``, a cell for each of ``keys`` (the file's: :func:`_jsonl_keys`). An object with a
    key not among them is its row's error, not a value silently lost: a key holding bytes not valid in the
    encoding (no column is made of it), or a key the file gained after its keys were found."""
    check_utf8 = _is_gb(encoding)
    known = dict.fromkeys(keys).keys()
    for number, line in enumerate((line for line in lines if line.strip()), 1):
        record, reason = _json_object(line)
        if record is None:
            if has_surrogate(line):
                reason = _not_valid_in(encoding)
            yield Row(number, [""] * len(header), reason)
            continue
        values = [record.get(key) for key in keys]
        cells, error = row_cells(values, header, encoding)
        if not error and check_utf8:
            error = _utf8_read_as_gb(cells, encoding)
        if not error and not record.keys() <= known:
            error = _not_valid_in(encoding) if has_surrogate(line) else _keys_not_in_columns(record.keys() - known)
        yield Row(number, cells, error, values=values)


def _keys_not_in_columns(extra: Iterable[str]) -> str:
    """The error of a JSONL row with keys the file's columns lack."""
    named = ", ".join(repr(key[:80]) for key in sorted(extra)[:5])
    return f"the object has keys not among the file's columns ({named}): was the file changed while read? Tag it again"


def _json_object(line: str) -> tuple[dict[str, Any] | None, str]:
    """``(the line's JSON object, "")``, or ``(None, why it is not one)``. A byte-order mark before the line
    (files joined with ``cat``, each saved with one) is skipped, as the decoder skips the file's first."""
    try:
        record = json.loads(line.removeprefix("\ufeff"))
    except json.JSONDecodeError as problem:
        return None, f"line is not JSON ({problem})"
    except RecursionError:
        return None, "line is nested too deep to read"
    except ValueError as problem:  # e.g. an integer over sys.get_int_max_str_digits()
        return None, f"line cannot be read: {str(problem)[:200]}"
    if not isinstance(record, dict):
        return None, f"line is not a JSON object (a {_JSON_TYPES.get(type(record), 'value')})"
    return record, ""


# The JSON names of what json.loads gives, for the row error of a line that is not an object.
_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}
