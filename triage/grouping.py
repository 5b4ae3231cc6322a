"""Near-duplicate grouping: messages that raise the same concern in (mostly) the same words.

A liaison station hears one blocked drain from dozens of residents; grouping lets it open one
case. :func:`group` gives every text a group id, the index of the group's first member.

How, and why this way:

* Each text is prepared like everywhere else (:func:`triage.text.prepare`: normalised, personal
  data masked), stripped to letters, digits and CJK characters (punctuation and spacing do not
  make two messages different), and cut into overlapping character n-grams ("shingles").
* The batch's boilerplate (:mod:`triage.boilerplate`: the template its first texts were typed
  into, learned from them) is cut off first, so templated messages are compared by what they say.
* Sketch: one-permutation MinHash with rotation densification (Shrivastava & Li, 2014). Every
  shingle is hashed once with a fixed 64-bit mixer; its top bits pick one of ``signature_size``
  bins and each bin keeps its smallest value. That costs one hash per shingle instead of one
  per shingle *and* permutation, and two signatures agree in a bin with probability equal to
  the Jaccard similarity of the shingle sets. Hashes are seeded constants, so signatures and
  group ids are the same on every machine and run.
* Candidates: LSH banding. The signature is cut into bands; texts whose band is identical share
  a bucket. Every member of a bucket is verified against the bucket's first member (estimated
  Jaccard >= ``threshold``), so work stays linear in the number of texts however large a bucket
  gets; a whole-signature band first joins texts with identical signatures (identical texts).
* Groups: connected components (scipy) of the verified pairs, after every band.

Measured recall on random texts and edited copies at ``threshold=0.3`` (tests/test_grouping.py):
pairs of trigram Jaccard >= 0.4 are grouped 98% of the time, 0.35-0.4 about 90%, 0.3-0.35 about
70% (the bands catch 95% at the threshold; checking against a bucket's first member loses some).

Memory: texts are sketched in chunks. Past 100,000 texts their signatures (``signature_size``
uint32 per text, 256 bytes) go to an unnamed temporary file (:class:`SignatureSpill`), read back
memory-mapped: the page cache holds them while there is room, and the kernel drops and re-reads
pages when there is not, so an export of tens of millions of texts does not need them in the
process's own memory (where the temporary directory is a tmpfs, i.e. RAM, a warning says to
point ``TMPDIR`` at a disk). Grouping itself takes about 150 bytes per text, up to about 400 when many texts are
near-duplicates, one band at a time; there is never an n x n matrix.

Rule for texts without Chinese characters (empty, punctuation only, other languages): they are
not a concern one can group, so each is its own group. A non-``str`` item raises ``TypeError``
naming its index, as :meth:`triage.TriageModel.classify` does.
"""

from __future__ import annotations

import itertools
import mmap
import os
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np

from triage.boilerplate import Boilerplate, compared_text, sample_chunks
from triage.defaults import DEFAULT_GROUP_THRESHOLD as DEFAULT_THRESHOLD
from triage.hashing import code_points, mix64
from triage.text import prepare

__all__ = [
    "DEFAULT_THRESHOLD",
    "RowSpill",
    "SignatureSpill",
    "Sketcher",
    "band_keys",
    "band_spans",
    "chunk_spans",
    "connected_groups",
    "estimated_jaccard",
    "group",
    "group_chunks",
    "group_signatures",
    "lsh_bands",
    "release_pages",
]


_EMPTY = np.uint32(0xFFFFFFFF)  # a bin no shingle fell into; real values are < 2**31
_MASK64 = 0xFFFFFFFFFFFFFFFF


def lsh_bands(threshold: float, signature_size: int) -> tuple[int, int]:
    """``(bands, rows)``: the fewest candidates that still catch a pair at ``threshold`` 95% of the time.

    A pair with Jaccard ``s`` shares at least one band with probability ``1 - (1 - s**r)**b``;
    more rows per band means fewer chance candidates, so the largest ``r`` reaching 0.95 at the
    threshold is taken (``r = 1`` if none does).
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    best = (signature_size, 1)
    for rows in range(1, signature_size + 1):
        bands = signature_size // rows
        if 1 - (1 - threshold**rows) ** bands >= 0.95:
            best = (bands, rows)
    return best


@dataclass(frozen=True)
class Sketcher:
    """Turns texts into MinHash signatures, chunk by chunk (the same ones in every process), with
    ``boilerplate`` (:meth:`learned` from the batch) cut off first."""

    shingle_size: int = 3
    signature_size: int = 64
    seed: int = 0
    boilerplate: Boilerplate = field(default_factory=Boilerplate)

    def __post_init__(self) -> None:
        if self.shingle_size < 1:
            raise ValueError(f"shingle_size must be at least 1, got {self.shingle_size}")
        if self.signature_size < 2 or self.signature_size & (self.signature_size - 1):
            raise ValueError(f"signature_size must be a power of two >= 2, got {self.signature_size}")

    def sketch(self, texts: Sequence[str], offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(signatures, usable)`` for ``texts``: ``len(texts) x signature_size`` uint32, and a bool
        per text (False: no Chinese characters, never grouped). ``offset`` only numbers errors."""
        return self.sign(self.clean(texts, offset))

    def clean(self, texts: Sequence[str], offset: int = 0) -> list[str]:
        """``texts`` as they are compared: prepared, cut to letters, digits and CJK characters, and
        ``""`` for one without Chinese characters. ``offset`` only numbers errors."""
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text {offset + index} is {type(text).__name__}, not str")
        return [compared_text(prepare(text).text) for text in texts]

    def sign(self, cleaned: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`sketch` of texts already :meth:`clean`."""
        usable = np.array([bool(text) for text in cleaned], dtype=bool)
        if self.boilerplate:
            cleaned = [self.boilerplate.strip(text, keep=self.shingle_size) for text in cleaned]
        spans = chunk_spans([len(text) for text in cleaned], _SKETCH_CHARACTERS)
        return np.concatenate([self._signatures(list(cleaned[start:stop])) for start, stop in spans]), usable

    def learned(self, cleaned: Iterable[str]) -> Sketcher:
        """This sketcher with the boilerplate of a batch whose first texts, :meth:`clean`, are ``cleaned``
        (:meth:`triage.boilerplate.Boilerplate.learn`)."""
        return replace(self, boilerplate=Boilerplate.learn(cleaned))

    def _signatures(self, cleaned: list[str]) -> np.ndarray:
        k, size = self.shingle_size, self.signature_size
        # texts shorter than one shingle become one shingle, padded with NULs
        padded = [text if len(text) >= k or not text else text.ljust(k, "\0") for text in cleaned]
        lengths = np.fromiter(map(len, padded), dtype=np.int64, count=len(padded))
        signatures = np.full((len(padded), size), _EMPTY, dtype=np.uint32)
        if not lengths.any():
            return signatures
        codes = code_points("".join(padded))
        starts = np.cumsum(lengths) - lengths
        shingles = np.maximum(lengths - k + 1, 0)
        owner = np.repeat(np.arange(len(padded)), shingles)
        # position of every shingle in the joined code points
        first = np.repeat(starts - np.cumsum(shingles) + shingles, shingles) + np.arange(shingles.sum())
        # code points are < 2**21, so three of them pack exactly into one uint64 before mixing
        hashes = np.full(first.shape, np.uint64(self.seed & _MASK64) ^ np.uint64(0x9E3779B97F4A7C15))
        for group_start in range(0, k, 3):
            packed = np.zeros_like(hashes)
            for step in range(group_start, min(group_start + 3, k)):
                packed = (packed << np.uint64(21)) | codes[first + step]
            hashes = mix64(hashes ^ packed)
        bits = size.bit_length() - 1
        bins = (hashes >> np.uint64(64 - bits)).astype(np.int64)
        values = (hashes & np.uint64(0x7FFFFFFF)).astype(np.uint32)
        flat = signatures.reshape(-1)
        np.minimum.at(flat, owner * size + bins, values)
        return _densify(signatures)


#: Characters sketched at once: the shingles' temporaries take about 60 bytes a character (a
#: 5,000-message chunk of long messages took 110 MiB at once, 16 MiB in spans of this size).
_SKETCH_CHARACTERS = 1 << 18


def chunk_spans(lengths: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Consecutive ``(start, stop)`` spans of items whose lengths add up to at most ``budget`` (an
    item longer than that alone; one empty span for no items): work done a span at a time keeps
    its temporaries bounded."""
    spans, start, size = [], 0, 0
    for index, length in enumerate(lengths):
        if index > start and size + length > budget:
            spans.append((start, index))
            start, size = index, 0
        size += length
    spans.append((start, len(lengths)))
    return spans


def _densify(signatures: np.ndarray) -> np.ndarray:
    """Fill empty bins from the next non-empty bin to the right (circularly), salted by the distance."""
    empty = signatures == _EMPTY
    if not empty.any():
        return signatures
    size = signatures.shape[1]
    position = np.where(~np.concatenate([empty, empty], axis=1), np.arange(2 * size), 2 * size)
    nearest = np.minimum.accumulate(position[:, ::-1], axis=1)[:, ::-1][:, :size]
    has_any = nearest[:, 0] < 2 * size
    source = np.where(has_any[:, None], nearest, 0) % size
    distance = (np.where(has_any[:, None], nearest, 0) - np.arange(size)).astype(np.uint64)
    borrowed = np.take_along_axis(signatures, source, axis=1).astype(np.uint64)
    salted = (mix64(borrowed ^ (distance << np.uint64(32))) & np.uint64(0x7FFFFFFF)).astype(np.uint32)
    return np.where(empty & has_any[:, None], salted, signatures)


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share of equal bins between rows of two signature arrays (the Jaccard estimate)."""
    return (a == b).mean(axis=-1)


_MOUNTS = Path("/proc/mounts")


def _warn_if_in_memory(directory: str, what: str) -> None:
    """Warn when ``directory`` is on a RAM-backed file system (Linux), where spilled rows (``what``)
    take memory after all: /tmp is a tmpfs on Fedora, Arch and Debian 13."""
    try:
        mounts = [line.split() for line in _MOUNTS.read_text().splitlines()]
    except OSError:  # not Linux, or no /proc: nothing to tell
        return
    path = os.path.realpath(directory)
    under = [m for m in mounts if len(m) >= 3 and (path == m[1] or path.startswith(m[1].rstrip("/") + "/"))]
    if under and max(under, key=lambda m: len(m[1]))[2] in ("tmpfs", "ramfs"):
        warnings.warn(
            f"the temporary directory {directory} is in memory: the {what} of a large export will take "
            "RAM there; set TMPDIR to a directory on disk",
            RuntimeWarning,
            stacklevel=4,
        )


class RowSpill:
    """Rows of ``width`` uint32 values appended chunk by chunk: in memory up to ``in_memory_rows``
    rows, beyond that in an unnamed temporary file (in :func:`tempfile.gettempdir`) that
    :meth:`rows` maps read-only (read it a block at a time and :func:`release_pages`, and it never
    takes memory). ``what`` names the rows in messages. A context manager; arrays already returned
    stay readable after it closes."""

    def __init__(self, width: int, in_memory_rows: int = 100_000, what: str = "rows") -> None:
        self.width = width
        self.in_memory_rows = in_memory_rows
        self.what = what
        self._chunks: list[np.ndarray] = []
        self._file: Any = None
        self._rows = 0

    def append_rows(self, rows: np.ndarray) -> None:
        """Add the next ``len(rows) x width`` rows."""
        if rows.ndim != 2 or rows.shape[1] != self.width:
            raise ValueError(f"expected {self.width} values a row for the {self.what}, got shape {rows.shape}")
        rows = np.ascontiguousarray(rows, dtype=np.uint32)
        if self._file is None and self._rows + len(rows) > self.in_memory_rows:
            _warn_if_in_memory(tempfile.gettempdir(), f"{self.what} ({self.width * 4} bytes a message)")
            self._file = self._spill(tempfile.TemporaryFile, prefix="triage-spill-")
            for chunk in self._chunks:
                self._spill(self._file.write, chunk.tobytes())
            self._chunks = []
        if self._file is None:
            self._chunks.append(rows)
        else:
            self._spill(self._file.write, rows.tobytes())
        self._rows += len(rows)

    def _spill(self, operation: Any, *args: Any, **kwargs: Any) -> Any:
        """``operation`` on the temporary file, its failure (no temporary directory, disk full)
        explained."""
        try:
            return operation(*args, **kwargs)
        except OSError as error:
            needed = self._rows * self.width * 4 // 2**20 + 1
            raise OSError(
                error.errno,
                f"cannot keep {self.what} in a temporary file in {tempfile.gettempdir()} "
                f"({error.strerror}); set TMPDIR to a writable directory with more than {needed} MB free",
            ) from error

    def rows(self) -> np.ndarray:
        """Every row appended so far (``n x width`` uint32)."""
        if self._file is None:
            if len(self._chunks) > 1:
                self._chunks = [np.concatenate(self._chunks)]
            return self._chunks[0] if self._chunks else np.zeros((0, self.width), dtype=np.uint32)
        self._spill(self._file.flush)
        return np.memmap(self._file, dtype=np.uint32, mode="r", shape=(self._rows, self.width))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


class SignatureSpill(RowSpill):
    """Signatures of many texts, appended chunk by chunk (a :class:`RowSpill`: in memory up to
    ``in_memory_rows`` texts, beyond that in a temporary file that :meth:`arrays` maps)."""

    def __init__(self, signature_size: int = 64, in_memory_rows: int = 100_000) -> None:
        super().__init__(signature_size, in_memory_rows, what="near-duplicate signatures")
        self.signature_size = signature_size
        self._usable: list[np.ndarray] = []

    def append(self, signatures: np.ndarray, usable: np.ndarray) -> None:
        """Add :meth:`Sketcher.sketch` output for the next texts."""
        if signatures.shape != (len(usable), self.signature_size):
            raise ValueError(f"expected {len(usable)} x {self.signature_size} signatures, got {signatures.shape}")
        self.append_rows(signatures)
        self._usable.append(np.asarray(usable, dtype=bool))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(signatures, usable)`` of every text appended so far."""
        usable = np.concatenate(self._usable) if self._usable else np.zeros(0, dtype=bool)
        return self.rows(), usable


def band_keys(signatures: np.ndarray, members: np.ndarray, start: int, stop: int, block: int = 65_536) -> np.ndarray:
    """One uint64 bucket key per member from its signature columns ``start:stop``.

    Rows are gathered a block at a time, so a memory-mapped matrix is read once per band, in
    order, instead of once per column (and its pages are let go after each block:
    :func:`release_pages`)."""
    keys = np.empty(len(members), dtype=np.uint64)
    for at in range(0, len(members), block):
        rows = np.asarray(signatures[members[at : at + block], start:stop])
        release_pages(signatures)
        part = np.full(len(rows), np.uint64(start), dtype=np.uint64)
        for column in range(stop - start):
            part = mix64(part ^ rows[:, column].astype(np.uint64))
        keys[at : at + block] = part
    return keys


def release_pages(array: np.ndarray) -> None:
    """Let the kernel take back the pages of a memory-mapped ``array`` this process has read; they
    stay in the page cache, so reading them again is cheap. Mapped pages count in the resident set
    until then: a spilled signature file read band after band would add its whole size (256 MB at
    1M messages). Arrays in memory, and systems without ``madvise``, are left as they are."""
    base: object = array
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        base.madvise(mmap.MADV_DONTNEED)


def group_signatures(
    signatures: np.ndarray, usable: np.ndarray, *, threshold: float = DEFAULT_THRESHOLD, block: int = 4_096
) -> np.ndarray:
    """Group ids (index of each group's first member) from :meth:`Sketcher.sketch` output.

    Memory beyond the signatures (which may be memory-mapped, see :func:`release_pages`) is a few
    arrays of 8 bytes per message; pairs are verified a ``block`` at a time (a pair's anchor may
    be anywhere in a mapped file: a block of pairs maps up to two pages each)."""
    n, size = signatures.shape
    labels = np.arange(n)
    if n == 0:
        return labels
    candidates = np.flatnonzero(usable)
    for start, stop in band_spans(threshold, size):
        left, right = _bucket_pairs(signatures, candidates, labels, start, stop)
        edges = []
        for at in range(0, len(left), block):  # bounded: compare a block of pairs at a time
            part_left, part_right = left[at : at + block], right[at : at + block]
            same = estimated_jaccard(signatures[part_left], signatures[part_right]) >= threshold
            release_pages(signatures)
            edges.append((part_left[same], part_right[same]))
        if any(len(e[0]) for e in edges):
            labels = _joined(labels, np.concatenate([e[0] for e in edges]), np.concatenate([e[1] for e in edges]))
    return labels


def _bucket_pairs(
    signatures: np.ndarray, candidates: np.ndarray, labels: np.ndarray, start: int, stop: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(member, anchor)`` pairs to verify in the band ``start:stop``: each candidate and the first
    member of its bucket, unless they are in one group already."""
    keys = band_keys(signatures, candidates, start, stop)
    order = np.argsort(keys, kind="stable")  # members of a bucket stay in index order
    sorted_keys = keys[order]
    del keys
    run_start = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
    del sorted_keys
    anchor = np.empty(len(order), dtype=np.int64)
    anchor[order] = candidates[order][np.maximum.accumulate(np.where(run_start, np.arange(len(order)), 0))]
    pending = np.flatnonzero((anchor != candidates) & (labels[anchor] != labels[candidates]))
    return candidates[pending], anchor[pending]


def _joined(labels: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``labels`` (each item's lowest joined item) with the pairs ``(left, right)`` joined too,
    changed in place: components are found among the labels the pairs touch, so the graph has as
    many nodes as pairs, not as items."""
    touched, inverse = np.unique(np.concatenate([labels[left], labels[right]]), return_inverse=True)
    lowest = touched[connected_groups(len(touched), inverse[: len(left)], inverse[len(left) :])]
    at = np.minimum(np.searchsorted(touched, labels), len(touched) - 1)
    hit = np.flatnonzero(touched[at] == labels)
    labels[hit] = lowest[at[hit]]
    return labels


def band_spans(threshold: float, signature_size: int) -> list[tuple[int, int]]:
    """The signature columns of each LSH band, the whole signature first (it joins identical texts)."""
    bands, rows = lsh_bands(threshold, signature_size)
    return [(0, signature_size), *((b * rows, (b + 1) * rows) for b in range(bands))]


def connected_groups(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """For each of ``n`` items, the lowest item joined to it through the pairs ``(left[i], right[i])``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _, components = connected_components(graph, directed=False)
    first = np.full(components.max() + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first, components, np.arange(n))
    return first[components]


def group(
    texts: Iterable[str],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    shingle_size: int = 3,
    signature_size: int = 64,
    chunk_size: int = 5_000,
    strip_boilerplate: bool = True,
) -> np.ndarray:
    """A group id for every text: texts raising the same concern in mostly the same words share one.

    The id is the index of the group's first member, so ids are deterministic and a text whose id
    equals its own index starts a group (or stands alone). ``threshold`` is the estimated Jaccard
    similarity of the texts' character ``shingle_size``-gram sets above which two texts are joined;
    groups are its transitive closure. Texts without Chinese characters each stand alone. The
    boilerplate of the batch (:mod:`triage.boilerplate`: the template its first texts were typed
    into) is cut off before texts are compared, unless ``strip_boilerplate`` is False.

    >>> group(["小区下水道堵了一个月没人管", "小区下水道堵了一个多月没人管！", "学校食堂饭菜太差", ""]).tolist()
    [0, 0, 2, 3]
    """
    if isinstance(texts, str):
        raise ValueError("group() takes an iterable of texts, not one str")
    sketcher = Sketcher(shingle_size=shingle_size, signature_size=signature_size)
    return group_chunks(
        _batches(texts, chunk_size), threshold=threshold, sketcher=sketcher, strip_boilerplate=strip_boilerplate
    )


def group_chunks(
    chunks: Iterable[Sequence[str]],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    sketcher: Sketcher | None = None,
    strip_boilerplate: bool = True,
) -> np.ndarray:
    """:func:`group` of texts arriving in chunks (a file read in a pass): each chunk is sketched as it
    comes and its signatures go to a :class:`SignatureSpill`. The chunks holding the first
    :data:`~triage.boilerplate.SAMPLE_SIZE` texts are held (cleaned) until their boilerplate is
    learned, unless ``sketcher`` knows it already or ``strip_boilerplate`` is False."""
    sketcher = sketcher or Sketcher()
    cleaned = _cleaned(chunks, sketcher)
    if strip_boilerplate and not sketcher.boilerplate:
        sample = sample_chunks(cleaned)
        sketcher = sketcher.learned(itertools.chain.from_iterable(sample))
        cleaned = itertools.chain(sample, cleaned)
    with SignatureSpill(sketcher.signature_size) as spill:
        for chunk in cleaned:
            spill.append(*sketcher.sign(chunk))
        return group_signatures(*spill.arrays(), threshold=threshold)


def _cleaned(chunks: Iterable[Sequence[str]], sketcher: Sketcher) -> Iterator[list[str]]:
    """Each chunk :meth:`Sketcher.clean`, errors numbered across chunks."""
    done = 0
    for chunk in chunks:
        yield sketcher.clean(chunk, offset=done)
        done += len(chunk)


def _batches(texts: Iterable[str], size: int) -> Iterable[list[str]]:
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
