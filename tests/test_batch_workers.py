"""The parallel tagger's worker code, run in this process: forked workers are out of reach of
coverage and mutation tools, so a stand-in for ProcessPoolExecutor runs the same initializer and
tasks here and the output is compared with a serial run's, byte for byte."""

from __future__ import annotations

import ctypes
import itertools
import json
import os
import signal
import sys
import weakref
from collections import Counter
from concurrent.futures import Future
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from tests.conftest import TEXTS, not_utf8_strings
from tests.test_batch_checkpoints import FailsAfter
from triage.batch import OUTPUT_COLUMNS, tag_file, workers
from triage.io import DataError, byte_shares
from triage.routing import example_config_path

LINUX = sys.platform == "linux"  # read once: a test below pretends to run elsewhere
linux_only = pytest.mark.skipif(not LINUX, reason="workers are tied to their parent with Linux's prctl")
PR_SET_PDEATHSIG, PR_GET_PDEATHSIG = 1, 2


def death_signal() -> int:
    """The signal this process gets when its parent dies (0: none, or not Linux)."""
    if not LINUX:
        return 0
    value = ctypes.c_int()
    ctypes.CDLL(None, use_errno=True).prctl(PR_GET_PDEATHSIG, ctypes.byref(value))
    return value.value


class InProcessPool:
    """ProcessPoolExecutor's interface, running the initializer and each task at once in this process.

    The initializer is given this process's parent as the parent to die with, as a forked worker
    would see this process; what it set up is recorded in ``worker_setup`` and undone at shutdown."""

    created: ClassVar[list[InProcessPool]] = []

    def __init__(self, max_workers: int, mp_context: Any = None, initializer: Any = None, initargs: tuple = ()):
        import pyarrow

        self.max_workers, self.mp_context, self.submitted = max_workers, mp_context, 0
        self.tasks: Counter[str] = Counter()
        self.memory_pool = pyarrow.default_memory_pool()
        *arguments, self.parent = initargs
        self.initializer = initializer.__name__
        initializer(*arguments, os.getppid())
        model, run = workers._worker()
        self.worker_setup = {
            "death_signal": death_signal(),
            "memory_pool": pyarrow.default_memory_pool().backend_name,
            "model_path": model.path,
            "run": run,
        }
        InProcessPool.created.append(self)

    def submit(self, function: Any, *arguments: Any) -> Future:
        self.submitted += 1
        self.tasks[function.__name__] += 1
        future: Future = Future()
        try:
            future.set_result(function(*arguments))
        except Exception as error:
            future.set_exception(error)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        import pyarrow

        if LINUX:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, 0)
        pyarrow.set_memory_pool(self.memory_pool)

    def __enter__(self) -> InProcessPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


@pytest.fixture
def in_process_pool(monkeypatch):
    """Parallel runs of tag_file use :class:`InProcessPool`; yields the pools made, in order."""
    monkeypatch.setattr(workers, "ProcessPoolExecutor", InProcessPool)
    monkeypatch.setattr(workers, "_worker_state", None)
    monkeypatch.setattr(InProcessPool, "created", [])
    return InProcessPool.created


def write_export(path: Path, rows: int, encoding: str = "utf-8") -> Path:
    texts = [TEXTS[i % len(TEXTS)] for i in range(rows)]
    pd.DataFrame({"id": [f"r{i}" for i in range(rows)], "text": texts}).to_csv(path, index=False, encoding=encoding)
    return path


def tag(src: Path, dst: Path, **options: Any):
    return tag_file(src, dst, text_columns=["text"], progress=False, **options)


@linux_only
@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_workers_reading_shares_write_what_one_process_writes(small_model, tmp_path, in_process_pool, suffix, encoding):
    src = write_export(tmp_path / "in.csv", 45, encoding)
    serial = tag(src, tmp_path / f"serial{suffix}", model=small_model, chunk_size=4)
    parallel = tag(src, tmp_path / f"parallel{suffix}", model=small_model, chunk_size=4, n_jobs=3)
    assert (tmp_path / f"serial{suffix}").read_bytes() == (tmp_path / f"parallel{suffix}").read_bytes()
    assert parallel.rows_out == serial.rows_out == 45 and parallel.departments == serial.departments
    (pool,) = in_process_pool
    assert pool.max_workers == 3 and pool.mp_context.get_start_method() == "fork"
    assert pool.initializer == "_set_worker_state" and pool.parent == os.getpid()
    assert pool.worker_setup["death_signal"] == signal.SIGTERM
    assert pool.worker_setup["memory_pool"] == "system"
    assert pool.worker_setup["run"].source == src
    assert pool.submitted > 2 and pool.tasks["_tag_share_in_worker"] == pool.submitted - 1  # warm-up, then shares


@linux_only
def test_workers_read_parquet_record_batches(small_model, tmp_path, in_process_pool):
    src = tmp_path / "in.parquet"
    texts = [TEXTS[i % len(TEXTS)] for i in range(30)]
    pd.DataFrame({"id": range(30), "text": texts}).to_parquet(src, row_group_size=7)
    tag(src, tmp_path / "serial.csv", model=small_model, chunk_size=4)
    tag(src, tmp_path / "parallel.csv", model=small_model, chunk_size=4, n_jobs=2)
    assert (tmp_path / "serial.csv").read_bytes() == (tmp_path / "parallel.csv").read_bytes()
    assert in_process_pool[0].submitted == 1 + 8  # the warm-up, then one task per batch of 4 rows


@linux_only
@pytest.mark.parametrize("unreadable", [False, True])
def test_workers_keep_parquet_columns_as_one_process_does(small_model, tmp_path, in_process_pool, unreadable):
    """Parquet to Parquet, workers write the input columns as read (ints, floats with NaN, lists, nulls), as one
    process does; a date past year 9999, which pyarrow cannot convert, is kept and fails no row."""
    import pyarrow
    import pyarrow.parquet

    texts = [TEXTS[i % len(TEXTS)] if i % 5 else None for i in range(30)]
    days = [0] * 30
    if unreadable:
        days[9] = 3_000_000  # year 10183: pyarrow reads it, Python's date cannot hold it
    table = pyarrow.table(
        {
            "id": pyarrow.array(range(30), type=pyarrow.int32()),
            "score": [float("nan") if i % 7 == 0 else i / 3 for i in range(30)],
            "tags": [[f"t{i}"] * (i % 3) for i in range(30)],
            "day": pyarrow.array(days, type=pyarrow.date32()),
            "text": texts,
        }
    )
    pyarrow.parquet.write_table(table, src := tmp_path / "in.parquet", row_group_size=7)
    serial = tag(src, tmp_path / "serial.parquet", model=small_model, chunk_size=4)
    parallel = tag(src, tmp_path / "parallel.parquet", model=small_model, chunk_size=4, n_jobs=2)
    assert (tmp_path / "serial.parquet").read_bytes() == (tmp_path / "parallel.parquet").read_bytes()
    assert parallel.errors == serial.errors == 0
    written = pyarrow.parquet.read_table(tmp_path / "parallel.parquet")
    assert written.schema.field("day").type == pyarrow.date32() and written.column("id").to_pylist() == list(range(30))
    assert written.column("day").cast(pyarrow.int32()).to_pylist() == days
    departments = written.column("department").to_pylist()
    assert departments[9] and all(departments[i] == departments[9] for i in range(30) if texts[i] == texts[9])


def typed_parquet(path: Path, rows: int, unreadable_row: int | None = None) -> Path:
    """A Parquet file holding a column of each kind the output keeps as read (integers, floats with NaN,
    booleans with nulls, nulls, lists, maps, dates, nanosecond timestamps, decimals) beside the text.
    ``unreadable_row`` holds values Python cannot: a date past year 9999 and text bytes that are not UTF-8."""
    import decimal

    import pyarrow
    import pyarrow.parquet

    days = [i * 400 for i in range(rows)]
    texts = [TEXTS[i % len(TEXTS)].encode() if i % 6 else None for i in range(rows)]
    if unreadable_row is not None:
        days[unreadable_row] = 3_000_000  # year 10183: pyarrow reads it, Python's date cannot hold it
        texts[unreadable_row] = "派出所".encode() + b"\xe5\xff"
    table = pyarrow.table(
        {
            "id": pyarrow.array(range(rows), type=pyarrow.int32()),
            "big": pyarrow.array([2**63 + i if i % 3 else None for i in range(rows)], type=pyarrow.uint64()),
            "score": [float("nan") if i % 7 == 0 else i / 3 for i in range(rows)],
            "flag": [None if i % 5 == 0 else i % 2 == 0 for i in range(rows)],
            "nothing": pyarrow.nulls(rows),
            "text": not_utf8_strings(texts),
            "tags": [[f"t{i}"] * (i % 3) for i in range(rows)],
            "weights": pyarrow.array(
                [[("a", i)] if i % 4 else None for i in range(rows)], pyarrow.map_(pyarrow.string(), pyarrow.int64())
            ),
            "day": pyarrow.array(days, type=pyarrow.date32()),
            "at": pyarrow.array([i * 10**9 + 7 for i in range(rows)], type=pyarrow.timestamp("ns")),
            "price": pyarrow.array([decimal.Decimal(i) / 4 for i in range(rows)], type=pyarrow.decimal128(9, 2)),
        }
    )
    pyarrow.parquet.write_table(table, path, row_group_size=7)
    return path


@linux_only
@pytest.mark.parametrize("unreadable", [False, True])
def test_parquet_workers_get_the_columns_they_tag_with_and_send_back_what_they_add(
    small_model, tmp_path, in_process_pool, monkeypatch, unreadable
):
    """Parquet to Parquet, a worker is sent only the text and sends back only the added columns; the parent
    puts them beside the input columns it read, which it writes as read. So do values Python cannot hold: a
    date past year 9999 is kept and its row tagged; text that is not UTF-8 is its row's error, kept too."""
    import pyarrow.parquet

    src = typed_parquet(tmp_path / "in.parquet", 12, unreadable_row=5 if unreadable else None)
    sent, returned = [], []
    tag_columns = workers._tag_columns_in_worker

    def recording(part: Any, columns: tuple[int, ...]) -> Any:
        sent.append(part.schema.names)
        tagged = tag_columns(part, columns)
        returned.append(sorted(tagged.data))
        return tagged

    monkeypatch.setattr(workers, "_tag_columns_in_worker", recording)
    tag(src, tmp_path / "parallel.parquet", model=small_model, chunk_size=4, n_jobs=2)
    tag(src, tmp_path / "serial.parquet", model=small_model, chunk_size=4)
    assert (tmp_path / "serial.parquet").read_bytes() == (tmp_path / "parallel.parquet").read_bytes()
    assert sent == [["text"]] * 3 and returned == [list(range(11, 11 + len(OUTPUT_COLUMNS)))] * 3
    read, written = (pyarrow.parquet.read_table(path) for path in (src, tmp_path / "parallel.parquet"))
    nan_free = [name for name in read.column_names if name != "score"]  # Table.equals: NaN != NaN
    assert written.select(nan_free).equals(read.select(nan_free))
    assert np.array_equal(written.column("score"), read.column("score"), equal_nan=True)
    errors = written.column("error").to_pylist()
    assert [i for i, error in enumerate(errors) if error] == ([5] if unreadable else [])
    if unreadable:
        assert errors[5].startswith("column 'text': unreadable value: UnicodeDecodeError")


@linux_only
@pytest.mark.parametrize("unreadable", [False, True])
def test_parquet_workers_build_rows_only_for_a_batch_where_a_row_may_fail(
    small_model, tmp_path, in_process_pool, monkeypatch, unreadable
):
    """Parquet to Parquet, a worker tags a batch whose text all passes the cell rule from its columns
    (batch_text_columns), building no row; only a batch holding text that is not UTF-8 becomes rows, for
    their errors (rows give the same tags and counts, at more cost)."""
    src = typed_parquet(tmp_path / "in.parquet", 12, unreadable_row=5 if unreadable else None)
    built = []
    batch_rows = workers.batch_rows

    def recording(part: Any, *arguments: Any) -> Any:
        rows = list(batch_rows(part, *arguments))
        built.append([row.error != "" for row in rows])
        return iter(rows)

    monkeypatch.setattr(workers, "batch_rows", recording)
    tag(src, tmp_path / "out.parquet", model=small_model, chunk_size=4, n_jobs=2)
    assert built == ([[False, True, False, False]] if unreadable else [])


@linux_only
def test_parquet_to_parquet_holds_only_the_record_batches_in_flight(
    small_model, tmp_path, in_process_pool, monkeypatch
):
    """The parent keeps each batch it sent until the worker's tags come back, then lets it go (itertools.tee
    held up to 57 batches: ~120 MB of text in a 100,000-row run)."""
    src = typed_parquet(tmp_path / "in.parquet", 60)
    sent, alive = [], []
    joined_parts = workers._joined_parts

    def recording(batches: Any, *arguments: Any) -> Any:
        def watched() -> Any:
            for read in batches:
                sent.append(weakref.ref(read))
                yield read

        for part in joined_parts(watched(), *arguments):
            alive.append(sum(held() is not None for held in sent))
            yield part

    monkeypatch.setattr(workers, "_joined_parts", recording)
    tag(src, tmp_path / "out.parquet", model=small_model, chunk_size=2, n_jobs=2)
    assert len(sent) == len(alive) == 30 and max(alive) <= 2 * 2 + 1


class Item:
    """Something a weak reference can follow (lists and rows cannot)."""


class ThisProcess:
    """A pool that runs each task as it is submitted."""

    def submit(self, function: Any, *arguments: Any) -> Future:
        future: Future = Future()
        future.set_result(function(*arguments))
        return future


@pytest.mark.parametrize("jobs", [1, 3])
def test_items_sent_to_workers_are_held_only_while_in_flight(jobs):
    held, alive = [], []

    def produced() -> Any:
        for _ in range(100):
            item = Item()
            held.append(weakref.ref(item))
            yield item

    pool: Any = ThisProcess()
    for item, future in workers._sent_in_order(pool, produced(), lambda item: (id, item), jobs):
        assert future.result() == id(item)
        del item
        alive.append(sum(ref() is not None for ref in held))
    assert len(alive) == 100 and max(alive) <= 2 * jobs + 1


@linux_only
def test_parquet_workers_are_sent_a_text_column_of_any_type(small_model, tmp_path, in_process_pool, monkeypatch):
    import pyarrow
    import pyarrow.parquet

    pyarrow.parquet.write_table(pyarrow.table({"n": [1, 2], "m": [3, 4]}), src := tmp_path / "in.parquet")
    sent = []
    tag_columns = workers._tag_columns_in_worker

    def recording(part: Any, columns: tuple[int, ...]) -> Any:
        sent.append(columns)
        return tag_columns(part, columns)

    monkeypatch.setattr(workers, "_tag_columns_in_worker", recording)
    options = {"model": small_model, "text_columns": ["m"], "progress": False}
    tag_file(src, tmp_path / "parallel.parquet", n_jobs=2, **options)
    tag_file(src, tmp_path / "serial.parquet", **options)
    assert (tmp_path / "serial.parquet").read_bytes() == (tmp_path / "parallel.parquet").read_bytes()
    assert sent == [(1,)]


@linux_only
@pytest.mark.parametrize("options", [{"group": True, "config": example_config_path()}, {"stop_after": 20}])
def test_workers_sent_texts_write_what_one_process_writes(small_model, tmp_path, in_process_pool, options):
    src = write_export(tmp_path / "in.csv", 25)
    tag(src, tmp_path / "serial.csv", model=small_model, chunk_size=4, **options)
    tag(src, tmp_path / "parallel.csv", model=small_model, chunk_size=4, n_jobs=2, **options)
    assert (tmp_path / "serial.csv").read_bytes() == (tmp_path / "parallel.csv").read_bytes()


@linux_only
def test_workers_read_their_shares_as_the_run_says(small_model, tmp_path, in_process_pool):
    """The format and encoding asked for, not what the file's name and bytes suggest (UTF-8 read as GB18030)."""
    src = write_export(tmp_path / "in.dat", 30)
    options = {"model": small_model, "chunk_size": 4, "input_format": "csv", "encoding": "gb18030"}
    tag(src, tmp_path / "serial.csv", **options)
    tag(src, tmp_path / "parallel.csv", n_jobs=2, **options)
    assert (tmp_path / "serial.csv").read_bytes() == (tmp_path / "parallel.csv").read_bytes()
    assert in_process_pool[0].submitted > 2


@linux_only
def test_workers_count_errors_and_suspect_rows_of_their_shares_as_one_process(small_model, tmp_path, in_process_pool):
    lines = [f"{i},标题,{TEXTS[i % len(TEXTS)]}" for i in range(30)]
    lines[13] = "13"  # unreadable: one field
    lines[21] = f'21,标题,"{TEXTS[0]}\n99,标题,{TEXTS[1]}"'  # holds a line that looks like a row
    src = tmp_path / "in.csv"
    src.write_text("id,title,text\n" + "".join(line + "\n" for line in lines), encoding="utf-8")
    options = {"model": small_model, "chunk_size": 4, "config": example_config_path()}
    serial = tag(src, tmp_path / "serial.csv", **options)
    parallel = tag(src, tmp_path / "parallel.csv", n_jobs=2, **options)
    assert (tmp_path / "serial.csv").read_bytes() == (tmp_path / "parallel.csv").read_bytes()
    assert (parallel.first_error, parallel.suspect_rows, parallel.errors) == (serial.first_error, [22], 1)
    assert parallel.first_error.startswith("row 14: ") and parallel.departments == serial.departments


@linux_only
def test_workers_given_an_empty_input_write_an_empty_parquet_file(small_model, tmp_path, in_process_pool):
    src = tmp_path / "in.csv"
    src.write_text("id,text\n", encoding="utf-8")
    tag(src, tmp_path / "serial.parquet", model=small_model)
    summary = tag(src, tmp_path / "parallel.parquet", model=small_model, n_jobs=2)
    assert (tmp_path / "serial.parquet").read_bytes() == (tmp_path / "parallel.parquet").read_bytes()
    assert summary.rows_out == 0 and in_process_pool[0].submitted == 2  # the warm-up and the one empty share


@linux_only
def test_a_share_cut_inside_a_record_by_a_stray_quote_is_read_again(small_model, tmp_path, in_process_pool):
    """A stray quote inverts the quote count byte_shares cuts by, so shares start inside quoted cells that hold
    line breaks: such a share is skipped, or read again from where the share before really ended."""
    records = []
    for i in range(40):
        if i % 8 == 3:
            records.append(f'{i},标题,他说"好')  # a quote inside an unquoted cell: literal for the CSV reader
        elif i % 8 == 4:
            records.append(f'{i},标题,"' + "\n".join(TEXTS[(i + k) % len(TEXTS)][:6] for k in range(6)) + '"')
        else:
            records.append(f"{i},标题,{TEXTS[i % len(TEXTS)]}")
    src = tmp_path / "in.csv"
    src.write_bytes(("id,title,text\n" + "".join(r + "\n" for r in records)).encode("utf-8"))
    starts = list(itertools.accumulate((len(r.encode("utf-8")) + 1 for r in records[:-1]), initial=14))
    shares = list(byte_shares(src, "csv", starts[0], 1))
    assert sum(start not in starts for start, _ in shares) >= 2  # what this test is about
    serial = tag(src, tmp_path / "serial.csv", model=small_model, chunk_size=1)
    parallel = tag(src, tmp_path / "parallel.csv", model=small_model, chunk_size=1, n_jobs=2)
    assert (tmp_path / "serial.csv").read_bytes() == (tmp_path / "parallel.csv").read_bytes()
    assert parallel.rows_out == serial.rows_out == 40 and in_process_pool[0].submitted > 1 + len(shares)


@linux_only
def test_workers_read_the_lines_after_a_quote_left_open_as_one_process_does(small_model, tmp_path, in_process_pool):
    """A stray quote halfway through a file misleads where shares are cut (by counting quotes): the worker whose
    share holds it reads on to the end, then reads the lines after it again up to its share's end, and the
    output is the one process's, every row in it."""
    records = [f"{i},小区物业乱收停车费{i}" if i != 20 else f'{i},"学校乱收费' for i in range(60)]
    src = tmp_path / "in.csv"
    src.write_text("id,text\n" + "".join(record + "\n" for record in records), "utf-8")
    serial = tag_file(src, tmp_path / "serial.csv", model=small_model, chunk_size=4, progress=False)
    parallel = tag_file(src, tmp_path / "parallel.csv", model=small_model, chunk_size=4, n_jobs=2, progress=False)
    assert (tmp_path / "serial.csv").read_bytes() == (tmp_path / "parallel.csv").read_bytes()
    assert parallel.rows_out == serial.rows_out == 60 and parallel.errors == 1


@linux_only
def test_xlsx_output_is_read_by_the_parent_and_tagged_by_workers(small_model, tmp_path, in_process_pool):
    openpyxl = pytest.importorskip("openpyxl")
    src = write_export(tmp_path / "in.csv", 12)
    tag(src, tmp_path / "serial.xlsx", model=small_model, chunk_size=4)
    tag(src, tmp_path / "parallel.xlsx", model=small_model, chunk_size=4, n_jobs=2)
    serial, parallel = (
        [[c.value for c in row] for row in openpyxl.load_workbook(tmp_path / name).active.iter_rows()]
        for name in ("serial.xlsx", "parallel.xlsx")
    )
    assert parallel == serial and len(parallel) == 13
    assert in_process_pool[0].tasks == {"int": 1, "_tag_in_worker": 3}


@linux_only
def test_a_serial_checkpoint_is_resumed_by_workers_sent_texts(small_model, tmp_path, in_process_pool):
    """A checkpoint without an input offset (written by one process) cannot tell workers where to read."""
    src = write_export(tmp_path / "in.csv", 20)
    tag(src, tmp_path / "whole.csv", model=small_model, chunk_size=4)
    with pytest.raises(RuntimeError, match="interrupted"):
        tag(src, tmp_path / "out.csv", model=FailsAfter(small_model, chunks=2), chunk_size=4)
    summary = tag(src, tmp_path / "out.csv", model=small_model, chunk_size=4, n_jobs=2, resume=True)
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert summary.resumed_after_rows == 8 and in_process_pool[0].tasks["_tag_in_worker"] == 3


@linux_only
def test_a_share_of_many_chunks_counts_all_of_them(small_model, tmp_path, in_process_pool):
    """Shares are cut by the first megabyte's mean line length: where lines are shorter, a share
    holds several chunks, and its counts must add up every chunk's."""
    # the short lines first: the shares near the end are cut smaller (byte_shares tapers them)
    lines = [f'{i},标题,"一\n{i},x,y"' if i % 3 == 0 else f"{i},," for i in range(40, 120)]  # suspect or empty
    lines += [f"{i},标题,{TEXTS[i % len(TEXTS)] * 20}" for i in range(40)]
    src = tmp_path / "in.csv"
    src.write_text("id,title,text\n" + "".join(line + "\n" for line in lines), encoding="utf-8")
    serial = tag(src, tmp_path / "serial.csv", model=small_model, chunk_size=4)
    parallel = tag(src, tmp_path / "parallel.csv", model=small_model, chunk_size=4, n_jobs=2)
    assert (tmp_path / "serial.csv").read_bytes() == (tmp_path / "parallel.csv").read_bytes()
    assert in_process_pool[0].tasks["_tag_share_in_worker"] < 120 // 4  # some shares hold several chunks
    assert (parallel.needs_review, parallel.suspect_rows) == (serial.needs_review, serial.suspect_rows)
    assert serial.needs_review >= 54 and len(serial.suspect_rows) == 26  # 54 empty texts, 26 suspect rows


def test_elsewhere_workers_load_the_saved_model(saved_model_dir, small_model, tmp_path, in_process_pool, monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")  # no fork: each worker loads the model from its directory
    src = write_export(tmp_path / "in.csv", 20)
    tag(src, tmp_path / "serial.csv", model=small_model, chunk_size=4)
    tag(src, tmp_path / "parallel.csv", model_path=saved_model_dir, chunk_size=4, n_jobs=2)
    assert (tmp_path / "serial.csv").read_bytes() == (tmp_path / "parallel.csv").read_bytes()
    (pool,) = in_process_pool
    assert pool.initializer == "_load_worker_state" and pool.mp_context is None and pool.max_workers == 2
    assert pool.worker_setup["model_path"] == saved_model_dir and pool.worker_setup["death_signal"] == 0
    with pytest.raises(DataError, match=r"^tagging with several processes here needs a saved model: save it"):
        tag(src, tmp_path / "unsaved.csv", model=small_model, n_jobs=2)


@linux_only
def test_a_worker_asks_to_die_with_its_parent(monkeypatch):
    try:
        workers._die_with_parent(os.getppid())
        assert death_signal() == signal.SIGTERM
    finally:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, 0)
    exits = []
    monkeypatch.setattr(os, "_exit", exits.append)
    try:
        workers._die_with_parent(os.getppid() + 1)  # the parent died before the request was in place
    finally:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, 0)
    assert exits == [1]


def test_a_worker_without_its_model_or_run_says_so(small_model, monkeypatch):
    for state in (None, (small_model, None)):
        monkeypatch.setattr(workers, "_worker_state", state)
        with pytest.raises(RuntimeError, match=r"^a triage worker process started without its model$"):
            workers._tag_in_worker(["物业"], [""])


@linux_only
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_parallel_run_resumes_where_its_checkpoint_says(small_model, tmp_path, in_process_pool, suffix):
    src = write_export(tmp_path / "in.csv", 40)
    if suffix == ".parquet":
        pd.read_csv(src, dtype=str).to_parquet(src := tmp_path / "in.parquet", row_group_size=6)
    tag(src, tmp_path / "whole.csv", model=small_model, chunk_size=4)
    with pytest.raises(RuntimeError, match="interrupted"):
        tag(src, tmp_path / "out.csv", model=FailsAfter(small_model, chunks=3), chunk_size=4, n_jobs=2)
    state = json.loads((tmp_path / "out.csv.partial.json").read_text(encoding="utf-8"))
    # three parts written: Parquet batches of 4 rows, or byte ranges of about 4 rows ending at input_offset
    offset = state["input_offset"]
    assert (state["rows_done"], offset) == (12, None) if suffix == ".parquet" else 0 < state["rows_done"] < 40
    if suffix == ".csv":
        assert (
            src.read_bytes()[offset - 1 : offset] == b"\n"
            and src.read_bytes()[:offset].count(b"\n") == 1 + state["rows_done"]
        )
    summary = tag(src, tmp_path / "out.csv", model=small_model, chunk_size=4, n_jobs=2, resume=True)
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert summary.resumed_after_rows == state["rows_done"] and summary.rows_out == 40
    resumed = in_process_pool[-1].tasks  # the workers still read their own shares, from the checkpoint's offset
    assert resumed["_tag_batch_in_worker" if suffix == ".parquet" else "_tag_share_in_worker"] > 0


@linux_only
def test_workers_read_jsonl_shares_with_the_keys_the_parent_found(small_model, tmp_path, in_process_pool, monkeypatch):
    """The whole file is scanned for its keys once, by the parent; each worker reads its byte range with them, so a
    key first seen in a late share is a column of every share, and no share scans the whole file again."""
    from triage import io as tio

    records = [{"id": i, "text": TEXTS[i % len(TEXTS)]} for i in range(40)]
    records[35]["district"] = "A3区"
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    scans = Counter()
    scan = tio.jsonl._jsonl_keys  # read_rows calls it from triage.io, where it is patched
    monkeypatch.setattr(tio, "_jsonl_keys", lambda *args: scans.update([args[0]]) or scan(*args))
    tag(src, tmp_path / "serial.csv", model=small_model, chunk_size=4)
    tag(src, tmp_path / "parallel.csv", model=small_model, chunk_size=4, n_jobs=2)
    assert (tmp_path / "serial.csv").read_bytes() == (tmp_path / "parallel.csv").read_bytes()
    assert in_process_pool[0].tasks["_tag_share_in_worker"] > 4 and scans == {src: 2}
    assert in_process_pool[0].worker_setup["run"].jsonl_keys == ("id", "text", "district")
    lines = (tmp_path / "parallel.csv").read_text("utf-8-sig").splitlines()
    assert lines[0].startswith("id,text,district,") and lines[36].startswith("35,")
    assert lines[36].split(",")[2] == "A3区"


@linux_only
def test_a_parallel_jsonl_run_resumes_with_the_keys_of_the_whole_file(small_model, tmp_path, in_process_pool):
    """Resumed from its checkpoint's offset, a run still writes the columns of keys first seen past the first MiB."""
    records = [{"id": i, "text": TEXTS[i % len(TEXTS)], "note": "备注" * 15_000} for i in range(40)]
    records[37]["district"] = "A3区"
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    tag(src, tmp_path / "whole.csv", model=small_model, chunk_size=4)
    with pytest.raises(RuntimeError, match="interrupted"):
        tag(src, tmp_path / "out.csv", model=FailsAfter(small_model, chunks=3), chunk_size=4, n_jobs=2)
    assert json.loads((tmp_path / "out.csv.partial.json").read_text("utf-8"))["input_offset"] > 0
    tag(src, tmp_path / "out.csv", model=small_model, chunk_size=4, n_jobs=2, resume=True)
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert "A3区" in (tmp_path / "out.csv").read_text("utf-8-sig").splitlines()[38]
