"""Dask tagging: how often `triage tag --engine dask` reads the export, and where its time goes.

Builds a CSV and a Parquet export of N rows by sampling real teddy2020c vote messages (in a temporary
folder, never in the repository), then runs :func:`triage.dask.tag_dataset` on each, with and without
``group_threshold`` (``--group``), on a fresh local cluster of ``--jobs`` worker processes per run. On the
client and on every worker it wraps triage.dask's functions to count

- reads: calls of ``read_rows`` (text byte ranges, Parquet row groups, whole files for headers) and of
  ``byte_shares`` (the client's byte scan that cuts a text file into ranges), with the bytes of each range;
- calls, wall and CPU time (of the thread running it) of the steps: planning on the client, then reading,
  tagging, sketching, writing on workers.

CPU is the process time of the client and the workers. Prints one JSON line per run. To compare with other
code, run it with that code first on ``PYTHONPATH`` (the workers inherit it) and the same ``--workdir``:

    nice -n 10 python benchmarks/dask_reads.py [--rows 200000] [--jobs 2] [--workdir DIR] [--label new] [--model DIR]
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import os
import random
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

#: triage.dask's functions whose calls and time are counted, where they exist (the code measured may differ).
_STEPS = (
    # on the client: planning (whole), the grouping pass (whole), the tagging and writing pass (whole)
    "_export_frame",
    "_group_ids",
    "_write_dataset",
    # pieces of those: planning a text file's ranges (it parses each for its end: _end_from), reading a range or
    # a run of Parquet row groups, tagging, sketching, writing a partition
    "_text_ranges",
    "_parquet_pieces",
    "_end_from",
    "_range_frame",
    "_piece_frame",
    "_tag_partition",
    "_sketch_partition",
    "_verified",
    "_attach_groups",
    "_write_part",
)


def build_exports(folder: Path, rows: int) -> tuple[Path, Path]:
    """A CSV and a Parquet file of ``rows`` messages (id, subject, body) sampled from teddy2020c's votes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from triage.datasets import teddy2020c

    source = teddy2020c.default_path()
    if source is None:
        raise SystemExit("teddy2020c data not found (../shared/data/teddy2020c)")
    votes = teddy2020c.load_votes(source)
    subjects, bodies = list(votes["subject"].fillna("")), list(votes["body"].fillna(""))
    rng = random.Random(20261207)
    picks = [rng.randrange(len(bodies)) for _ in range(rows)]
    columns = {
        "id": [str(number) for number in range(rows)],
        "subject": [subjects[pick] for pick in picks],
        "body": [bodies[pick] for pick in picks],
    }
    csv_path, parquet_path = folder / "export.csv", folder / "export.parquet"
    if not csv_path.exists():
        with csv_path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows(zip(*columns.values(), strict=True))
    if not parquet_path.exists():
        pq.write_table(pa.table(columns), parquet_path, row_group_size=20_000)
    return csv_path, parquet_path


def install_counters() -> None:
    """Wrap triage.dask's ``read_rows``, ``byte_shares`` and steps in this process to count calls, time and
    bytes (kept in ``triage.dask._bench_counts``)."""
    import contextlib

    import triage.dask as module

    counts: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0])
    module._bench_counts = counts  # type: ignore[attr-defined]

    def timed(name: str, function: Any) -> Any:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            begun, cpu = time.perf_counter(), time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                counts[name][0] += 1
                counts[name][1] += time.perf_counter() - begun
                counts[name][2] += time.thread_time() - cpu

        return wrapper

    original_read = module.read_rows

    @functools.wraps(original_read)
    @contextlib.contextmanager
    def read_rows(path: Any, **kwargs: Any) -> Any:
        span = kwargs.get("byte_range")
        kind = "range" if span else "row_groups" if kwargs.get("row_groups") is not None else "whole"
        counts[f"read_rows:{kind}"][0] += 1
        counts[f"read_rows:{kind}"][3] += (span[1] - span[0]) if span else 0
        with original_read(path, **kwargs) as export:
            yield export

    module.read_rows = read_rows
    original_shares = module.byte_shares

    @functools.wraps(original_shares)
    def byte_shares(path: Any, *args: Any, **kwargs: Any) -> Any:
        counts["byte_shares"][0] += 1
        counts["byte_shares"][3] += Path(path).stat().st_size
        return original_shares(path, *args, **kwargs)

    module.byte_shares = byte_shares
    for name in _STEPS:
        if hasattr(module, name):
            setattr(module, name, timed(name, getattr(module, name)))


def collected() -> dict[str, Any]:
    """This process's counts, and its CPU seconds so far."""
    import triage.dask as module

    return {"counts": dict(module._bench_counts), "cpu": time.process_time()}  # type: ignore[attr-defined]


def one_run(source: Path, output: Path, jobs: int, group: bool, model: Path | None) -> dict[str, Any]:
    """tag_dataset of ``source`` on a fresh cluster of ``jobs`` workers, with its counts and times."""
    import distributed

    import triage.dask

    with (
        distributed.LocalCluster(n_workers=jobs, threads_per_worker=1, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        install_counters()
        client.run(install_counters)
        cpu_before = {address: result["cpu"] for address, result in client.run(collected).items()}
        client_cpu = resource.getrusage(resource.RUSAGE_SELF)
        begun = time.perf_counter()
        triage.dask.tag_dataset(
            source,
            output,
            scheduler=cluster.scheduler_address,
            group_threshold=triage.dask.DEFAULT_THRESHOLD if group else None,
            model_path=model,
            overwrite=True,
        )
        wall = time.perf_counter() - begun
        after = resource.getrusage(resource.RUSAGE_SELF)
        workers = client.run(collected)
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0])
    for result in [collected(), *workers.values()]:
        for name, values in result["counts"].items():
            totals[name] = [total + value for total, value in zip(totals[name], values, strict=True)]
    worker_cpu = sum(result["cpu"] - cpu_before[address] for address, result in workers.items())
    client_seconds = after.ru_utime + after.ru_stime - client_cpu.ru_utime - client_cpu.ru_stime
    return {
        "wall": round(wall, 2),
        "cpu_client": round(client_seconds, 2),
        "cpu_workers": round(worker_cpu, 2),
        # name: [calls, wall seconds, CPU seconds, bytes of the ranges read]
        "counts": {
            name: [int(calls), round(wall, 2), round(cpu, 2), int(size)]
            for name, (calls, wall, cpu, size) in totals.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None, help="keeps the exports between runs")
    parser.add_argument("--label", default="", help="names the code measured in the output lines")
    parser.add_argument("--formats", nargs="+", default=["csv", "parquet"])
    parser.add_argument("--model", type=Path, default=None, help="the model folder (default: the shipped one)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = arguments.workdir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        exports = dict(zip(["csv", "parquet"], build_exports(folder, arguments.rows), strict=True))
        for kind in arguments.formats:
            for group in (False, True):
                output = folder / f"out-{arguments.label or 'run'}-{kind}-{'group' if group else 'plain'}"
                result = one_run(exports[kind], output, arguments.jobs, group, arguments.model)
                cpu = result["cpu_client"] + result["cpu_workers"]
                print(
                    json.dumps(
                        {
                            "label": arguments.label,
                            "format": kind,
                            "group": group,
                            "rows": arguments.rows,
                            "load": round(os.getloadavg()[0], 2),
                            "wall_us_per_row": round(1e6 * result["wall"] / arguments.rows, 1),
                            "cpu_us_per_row": round(1e6 * cpu / arguments.rows, 1),
                            **result,
                        },
                        ensure_ascii=False,
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    sys.exit(main())
