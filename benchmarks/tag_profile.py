"""Where `triage tag` spends its time: a per-stage, per-row breakdown of the batch tagger.

Builds an input of N rows by cycling through the teddy2020c votes (subject + body, in file order,
so a 2,000-row chunk holds no repeated text for the tagger to score only once), then in one run:

(a) ``tag_file(..., n_jobs=1)`` once plain (rows/s) and once with exclusive timers around the
    library's stage functions: reading and decoding, row conversion, ``prepare``, segmentation,
    featurising, scoring, explanations, results and candidates, writing, checkpoint and fsync.
    Where the featuriser segments itself (both extensions built), segmentation counts under featurising.
    Timers are patched in from here (the library is unchanged); a stage's time excludes the
    stages it calls, so the column adds up to the wall time.
(b) ``tag_file(..., n_jobs=2)``: rows/s, the CPU time per row of the parent process and of the
    workers, and, in the parent, the time the main thread waits on workers and submits parts, and
    the time its background threads spend pickling tasks out (byte ranges, or Parquet record
    batches) and unpickling the workers' encoded parts back (with the bytes moved).

The machine's load average is printed beside the figures: on a shared machine they move with it
(``--cpu`` times the stages of (a) in CPU time, which moves far less).
Run: ``python benchmarks/tag_profile.py [--rows 50000] [--format csv|parquet|both] [--cpu] [--workdir DIR]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import csv
import functools
import os
import resource
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any

import triage
import triage.batch
import triage.boilerplate
import triage.io
import triage.model
import triage.scoring
import triage.segmentation
from triage.datasets import teddy2020c

#: The stages of a tagging run, in pipeline order, as the table prints them.
STAGES = (
    "reading and decoding",
    "row conversion",
    "prepare",
    "segmentation",
    "featurising",
    "scoring",
    "explanations",
    "results and candidates",
    "writing",
    "checkpoint and fsync",
    "other (loop, counts, setup)",
)
ROOT = STAGES[-1]


#: The clock stages are timed with: wall time, or (``--cpu``) the main thread's CPU time, which a busy
#: machine inflates far less.
CLOCK = time.perf_counter


class StageClock:
    """Exclusive time per stage on the main thread: entering a stage pauses the one it was called from."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self._stack: list[str] = []
        self._mark = 0.0
        self._thread = threading.get_ident()

    def enter(self, stage: str) -> None:
        now = CLOCK()
        if self._stack:
            self.seconds[self._stack[-1]] += now - self._mark
        self._stack.append(stage)
        self.calls[stage] += 1
        self._mark = now

    def leave(self) -> None:
        now = CLOCK()
        self.seconds[self._stack.pop()] += now - self._mark
        self._mark = now

    def on_main_thread(self) -> bool:
        return threading.get_ident() == self._thread


def _timed_call(clock: StageClock, stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        if not clock.on_main_thread():
            return function(*args, **kwargs)
        clock.enter(stage)
        try:
            return function(*args, **kwargs)
        finally:
            clock.leave()

    return timed


def _timed_iteration(clock: StageClock, stage: str, items: Iterable[Any]) -> Iterator[Any]:
    """``items``, the time taken to produce each one (a lazy reader's work) counted to ``stage``."""
    iterator = iter(items)
    while True:
        clock.enter(stage)
        try:
            item = next(iterator)
        except StopIteration:
            return
        finally:
            clock.leave()
        yield item


def _timed_generator(clock: StageClock, stage: str, function: Callable[..., Iterable[Any]]) -> Callable[..., Any]:
    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
        return _timed_iteration(clock, stage, function(*args, **kwargs))

    return timed


@contextlib.contextmanager
def patched(replacements: list[tuple[Any, str, Any]]) -> Iterator[None]:
    """Set attributes for the duration of a run, then put the originals back."""
    originals = [(owner, name, owner.__dict__[name]) for owner, name, _ in replacements]
    try:
        for owner, name, value in replacements:
            setattr(owner, name, value)
        yield
    finally:
        for owner, name, value in originals:
            setattr(owner, name, value)


def stage_timers(clock: StageClock) -> list[tuple[Any, str, Any]]:
    """The library functions behind each stage, wrapped in ``clock`` (where the tagger looks them up: each
    module of :mod:`triage.batch` that calls one is patched)."""
    batch, io_, model, scoring = triage.batch, triage.io, triage.model, triage.scoring
    tagging, workers, writers = triage.batch.tagging, triage.batch.workers, triage.batch.writers
    original_read_rows = batch.read_rows
    original_values = tagging._original_values

    @contextlib.contextmanager
    def read_rows(*args: Any, **kwargs: Any) -> Iterator[Any]:
        clock.enter(STAGES[0])  # opening: encoding detection, header
        try:
            opened = original_read_rows(*args, **kwargs)
            export = opened.__enter__()
        finally:
            clock.leave()
        export.chunks = _timed_iteration(clock, STAGES[0], export.chunks)
        if export.batches is not None:  # Parquet to Parquet tags the record batches as read
            export.batches = _timed_iteration(clock, STAGES[0], export.batches)
        with contextlib.ExitStack() as stack:
            stack.push(opened)
            yield export

    def output_values(in_kind: str, out_kind: str) -> Any:
        return _timed_call(clock, "row conversion", original_values(in_kind, out_kind))

    def call(owner: Any, name: str, stage: str) -> tuple[Any, str, Any]:
        return owner, name, _timed_call(clock, stage, owner.__dict__[name])

    return [
        (batch, "read_rows", read_rows),
        (workers, "read_rows", read_rows),
        (tagging, "_original_values", output_values),
        call(batch, "join_text", "row conversion"),
        call(tagging, "join_text", "row conversion"),
        call(workers, "batch_text_columns", "row conversion"),
        *(call(reader, "row_cells", "row conversion") for reader in (io_.delimited, io_.jsonl, io_.parquet, io_.xlsx)),
        call(io_.delimited, "_merged_rows", "row conversion"),
        call(triage.boilerplate, "prepare", "prepare"),  # the model prepares (and cuts) through Boilerplate.prepared
        call(scoring.scorer, "segment", "segmentation"),
        call(scoring.LinearScorer, "transform_prepared", "featurising"),
        (model.TriageModel, "_score_chunks", _timed_generator(clock, "scoring", model.TriageModel._score_chunks)),
        call(scoring.LinearScorer, "proba", "scoring"),
        call(model.TriageModel, "_sub_categories", "scoring"),
        call(model.TriageModel, "_explain", "explanations"),
        call(model.TriageModel, "_classify_prepared", "results and candidates"),
        call(tagging, "_tag_chunk", "results and candidates"),
        *(
            call(writer, name, "writing")
            for writer in (writers._DelimitedWriter, writers._JsonlWriter, writers._TableWriter)
            for name in ("header", "columns", "part", "close")
            if name in writer.__dict__
        ),
        call(writers._DelimitedWriter, "flush", "writing"),
        call(batch, "_write_checkpoint", "checkpoint and fsync"),
        call(os, "fsync", "checkpoint and fsync"),
    ]


class Transfer:
    """Pickling in the parent's background threads (chunks out, results back), summed over threads."""

    def __init__(self) -> None:
        self.seconds = {"pickling tasks": 0.0, "unpickling results": 0.0}
        self.bytes = {"pickling tasks": 0, "unpickling results": 0}
        self._lock = threading.Lock()
        self._parent = os.getpid()

    def _count(self, kind: str, seconds: float, size: int) -> None:
        if os.getpid() == self._parent:  # forked workers inherit the patch; their share is theirs
            with self._lock:
                self.seconds[kind] += seconds
                self.bytes[kind] += size

    def timers(self) -> list[tuple[Any, str, Any]]:
        dumps, loads = ForkingPickler.__dict__["dumps"].__func__, ForkingPickler.__dict__["loads"]

        def timed_dumps(cls: type, obj: Any, protocol: Any = None) -> Any:
            start = time.perf_counter()
            data = dumps(cls, obj, protocol)
            self._count("pickling tasks", time.perf_counter() - start, len(data))
            return data

        def timed_loads(data: Any, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            obj = loads(data, *args, **kwargs)
            self._count("unpickling results", time.perf_counter() - start, memoryview(data).nbytes)
            return obj

        return [(ForkingPickler, "dumps", classmethod(timed_dumps)), (ForkingPickler, "loads", timed_loads)]


def build_input(folder: Path, rows: int, workdir: Path, formats: list[str]) -> dict[str, Path]:
    """The votes' subjects and bodies cycled to ``rows`` rows, as CSV (and Parquet)."""
    votes = teddy2020c.load_votes(folder)
    pairs = list(zip(votes["subject"], votes["body"], strict=True))
    header = ["工单编号", "留言主题", "留言详情"]
    records = [[f"WO{i:08d}", *pairs[i % len(pairs)]] for i in range(rows)]
    paths = {}
    if "csv" in formats:
        paths["csv"] = workdir / "input.csv"
        with paths["csv"].open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(records)
    if "parquet" in formats:
        import pyarrow
        import pyarrow.parquet

        paths["parquet"] = workdir / "input.parquet"
        table = pyarrow.table({name: [r[k] for r in records] for k, name in enumerate(header)})
        pyarrow.parquet.write_table(table, paths["parquet"])
    return paths


def tag(model: triage.TriageModel, source: Path, jobs: int) -> float:
    """Seconds for one ``tag_file`` run (output in the input's format, beside it)."""
    start = time.perf_counter()
    triage.batch.tag_file(
        source, source.with_name(f"tagged{source.suffix}"), model=model, n_jobs=jobs, overwrite=True, progress=False
    )
    return time.perf_counter() - start


def timer_cost(repeats: int = 200_000) -> float:
    """Seconds a timed call adds to a plain one (the price of each entry in the ``calls`` column)."""

    def nothing() -> None:
        return None

    timed = _timed_call(StageClock(), "calibration", nothing)
    start = time.perf_counter()
    for _ in range(repeats):
        nothing()
    plain = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(repeats):
        timed()
    return max(time.perf_counter() - start - plain, 0.0) / repeats


def load_average() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" ({os.cpu_count()} cores)"


def profile(model: triage.TriageModel, source: Path, rows: int) -> None:
    kind = source.suffix.lstrip(".")
    print(f"\n== {kind.upper()} in, {kind.upper()} out, {rows:,} rows; {load_average()}")
    plain = tag(model, source, 1)
    print(f"--jobs 1 plain: {plain:.2f} s, {rows / plain:,.0f} rows/s; {load_average()}")

    clock = StageClock()
    with patched(stage_timers(clock)):
        clock.enter(ROOT)
        timed = tag(model, source, 1)
        clock.leave()
    print(f"--jobs 1 with stage timers: {timed:.2f} s, {rows / timed:,.0f} rows/s; {load_average()}")
    total = sum(clock.seconds.values())
    print(f"{'stage':<30}{'seconds':>9}{'µs/row':>9}{'share':>8}{'calls':>9}")
    for stage in STAGES:
        seconds = clock.seconds.get(stage, 0.0)
        calls = clock.calls.get(stage, 0)
        print(f"{stage:<30}{seconds:>9.3f}{seconds / rows * 1e6:>9.1f}{seconds / total:>8.1%}{calls:>9,}")
    print(f"{'total':<30}{total:>9.3f}{total / rows * 1e6:>9.1f}{1:>8.0%}{clock.calls.total():>9,}")
    overhead = clock.calls.total() * timer_cost()
    print(
        f"(timers' own cost, estimated: {overhead:.3f} s, {overhead / rows * 1e6:.1f} µs/row, spread over the stages)"
    )

    parent = StageClock()
    workers = triage.batch.workers
    transfer = Transfer()
    ipc = [
        (workers, "_worker_pool", _timed_call(parent, "starting workers (fork, warm-up)", workers._worker_pool)),
        (
            concurrent.futures.ProcessPoolExecutor,
            "submit",
            _timed_call(parent, "submitting tasks", concurrent.futures.ProcessPoolExecutor.submit),
        ),
        (
            concurrent.futures.Future,
            "result",
            _timed_call(parent, "waiting on workers", concurrent.futures.Future.result),
        ),
    ]
    own, children = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    with patched(ipc + transfer.timers()):
        parent.enter("rest of the main thread (reading, writing, loop)")
        two = tag(model, source, 2)
        parent.leave()
    own = time.process_time() - own
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers = after.ru_utime - children.ru_utime + after.ru_stime - children.ru_stime
    print(f"\n--jobs 2: {two:.2f} s, {rows / two:,.0f} rows/s ({plain / two:.2f}x --jobs 1 plain); {load_average()}")
    print(f"CPU µs/row: parent process (all threads) {own / rows * 1e6:.1f}, workers {workers / rows * 1e6:.1f}")
    print(f"{'parent, main thread':<50}{'seconds':>9}{'µs/row':>9}")
    for stage, seconds in parent.seconds.items():
        print(f"{stage:<50}{seconds:>9.3f}{seconds / rows * 1e6:>9.1f}")
    print(f"{'parent, background threads (IPC)':<50}{'seconds':>9}{'µs/row':>9}{'MiB':>9}")
    for kind, seconds in transfer.seconds.items():
        print(f"{kind:<50}{seconds:>9.3f}{seconds / rows * 1e6:>9.1f}{transfer.bytes[kind] / 2**20:>9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--format", choices=("csv", "parquet", "both"), default="csv")
    parser.add_argument("--data", type=Path, default=None, help="teddy2020c folder (default: ../shared/data)")
    parser.add_argument("--workdir", type=Path, default=None, help="input and outputs (default: a temp dir)")
    parser.add_argument("--cpu", action="store_true", help="time stages in CPU time of the main thread, not wall time")
    args = parser.parse_args()
    if args.cpu:
        global CLOCK
        CLOCK = time.thread_time
    folder = args.data or teddy2020c.default_path()
    if folder is None:
        raise SystemExit("teddy2020c data not found: pass --data or run beside ../shared/data")
    formats = ["csv", "parquet"] if args.format == "both" else [args.format]
    with tempfile.TemporaryDirectory() as temporary:
        workdir = args.workdir or Path(temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        paths = build_input(folder, args.rows, workdir, formats)
        start = time.perf_counter()
        model = triage.load()
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        model.classify("预热", explain=0)  # segmentation dictionary and lazy state: once per process, not per row
        warm = time.perf_counter() - start
        print(f"once per process: model load {loaded:.2f} s, first classification (warm-up) {warm:.2f} s")
        compiled = triage.scoring.FEATURIZER
        fused = compiled == "compiled" and triage.segmentation.compiled_segmenter() is not None
        print(
            f"segmenter {triage.segmentation.segmenter()}, featuriser {compiled}"
            + (" (fused: the featuriser segments, so segmentation's time is under featurising)" if fused else "")
        )
        for kind in formats:
            profile(model, paths[kind], args.rows)


if __name__ == "__main__":
    main()
