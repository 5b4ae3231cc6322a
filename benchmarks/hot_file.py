"""`triage hot` on a large export: wall time and peak memory of the streaming command, and whether
the Dask path (near-duplicate ids from :func:`triage.dask.group`) gives the same topics.

Rows are edited copies of the real messages of ../shared/data/teddy2020c/votes.csv (as in
``benchmarks/grouping.py``) with their times and likes, written on the fly to a temporary CSV (in
``TMPDIR``, never in the repository) that is deleted afterwards. The command runs in a fresh
process under ``/usr/bin/time -v`` (peak RSS, wall time). Run it niced:

    nice -n 19 python benchmarks/hot_file.py [--rows 1000000] [--dask-rows 20000] [--in-memory]

Each run prints one memory line: peak RSS, CPU seconds and rows per CPU second (CPU time says
what the work costs on a shared, loaded machine). ``--rows`` takes several counts (say ``--rows
100000 200000 400000``): the export of the largest is written once, the smaller ones are its
first rows, and a line fits peak RSS against rows (MiB at no rows + bytes per row) to show what
grows with the export.

``--dask-rows N`` takes the first N rows, finds their near-duplicate ids with ``triage.dask.group``
(local threads, several partitions) and compares them and the topics they give
(``hot_topics(..., copies=...)``) with the streaming command's library call on the same rows.
``--in-memory`` also runs the in-memory path (the whole file read with pandas, then
``triage.hot.hot_topics``) for comparison; it needs several GiB at 1M rows.
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from grouping import edited

from triage.datasets.teddy2020c import default_path, load_votes

IN_MEMORY = """
import sys
import triage
from triage.hot import hot_topics
from triage.io import read_table
frame = read_table(sys.argv[1])
texts = [s + "\\n" + b for s, b in zip(frame["subject"], frame["body"])]
topics = hot_topics(texts, times=list(frame["time"]), likes=list(frame["likes"]), top=20, model=triage.load())
print(len(topics), "topics")
"""
COLUMNS = ["--text-column", "subject", "--text-column", "body", "--time-column", "time", "--likes-column", "likes"]


@dataclass(frozen=True)
class Run:
    """Wall and CPU seconds and peak RSS (MiB) of one child, and its last output line."""

    wall: float
    cpu: float
    peak: float
    line: str

    def figures(self, rows: int) -> str:
        return (
            f"peak RSS {self.peak:.0f} MiB, {self.cpu:.0f} s CPU ({rows / max(self.cpu, 1e-9):,.0f} rows/s), "
            f"{self.wall:.0f} s wall"
        )


def timed(command: list[str]) -> Run:
    """One child under ``/usr/bin/time -v``."""
    done = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{command[:4]} failed:\n{done.stdout}\n{done.stderr}")

    def field(name: str) -> str:
        return re.search(rf"{re.escape(name)}: ([\d:.]+)", done.stderr).group(1)

    wall = sum(
        float(part) * 60**i
        for i, part in enumerate(reversed(field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")))
    )
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    peak = int(field("Maximum resident set size (kbytes)")) / 1024
    lines = [line for line in done.stderr.splitlines() if " topics from " in line] or done.stdout.splitlines()
    return Run(wall, cpu, peak, lines[-1].strip() if lines else "")


def first_rows(src: Path, rows: int, dst: Path) -> None:
    """The header and first ``rows`` records of the CSV ``src`` (cells may hold line breaks), as ``dst``."""
    with src.open(encoding="utf-8", newline="") as source, dst.open("w", encoding="utf-8", newline="") as target:
        writer = csv.writer(target)
        for number, row in enumerate(csv.reader(source)):
            if number > rows:
                break
            writer.writerow(row)


def write_export(path: Path, rows: int, seed: int) -> None:
    """``rows`` edited real messages with their times and likes, as CSV."""
    votes = load_votes(default_path())
    rng = np.random.default_rng(seed)
    origin = rng.integers(0, len(votes), rows)
    subjects, bodies = votes["subject"].tolist(), votes["body"].tolist()
    times, likes = votes["time"].tolist(), votes["likes"].tolist()
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "subject", "body", "time", "likes"])
        for row, i in enumerate(origin.tolist()):
            writer.writerow([row, subjects[i], edited(bodies[i], rng), times[i], likes[i]])


def dask_check(src: Path, rows: int, tmp: Path) -> None:
    """The topics of the first ``rows`` rows through the streaming reader and through Dask's ids."""
    import dask

    import triage
    import triage.dask
    from triage.grouping import group
    from triage.hot import hot_topics, hot_topics_from_file
    from triage.io import read_table

    part = tmp / "first.csv"
    first_rows(src, rows, part)
    model = triage.load()
    frame = read_table(part)
    texts = [s + "\n" + b for s, b in zip(frame["subject"], frame["body"], strict=True)]
    with dask.config.set(scheduler="threads", num_workers=2):
        ddf = triage.dask.read_export(str(part), blocksize="2MB")
        copies = triage.dask.group(ddf, ["subject", "body"])
    local = group(texts)
    streamed = hot_topics_from_file(
        part, text_columns=["subject", "body"], time_column="time", likes_column="likes", model=model
    ).topics
    through_dask = hot_topics(texts, times=list(frame["time"]), likes=list(frame["likes"]), copies=copies, model=model)
    print(
        f"Dask check on {rows:,} rows ({ddf.npartitions} partitions): near-duplicate ids equal the local ones: "
        f"{bool(np.array_equal(copies, local))}; {len(through_dask)} topics, equal to the streamed ones: "
        f"{through_dask == streamed}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dask-rows", type=int, default=0)
    parser.add_argument("--in-memory", action="store_true")
    args = parser.parse_args()
    counts = sorted(set(args.rows))
    with tempfile.TemporaryDirectory(prefix="triage-hot-bench-") as folder:
        tmp = Path(folder)
        src = tmp / "export.csv"
        write_export(src, counts[-1], args.seed)
        print(f"{counts[-1]:,} rows, {src.stat().st_size / 2**20:.0f} MiB CSV in {tmp}", flush=True)
        out = ["-o", str(tmp / "hot.csv"), "--html", str(tmp / "hot.html"), "--top", "20", "--id-column", "id"]
        peaks = []
        for rows in counts:
            part = src if rows == counts[-1] else tmp / f"first-{rows}.csv"
            if part != src:
                first_rows(src, rows, part)
            run = timed([sys.executable, "-m", "triage", "hot", str(part), *out, "--overwrite", *COLUMNS, "--silent"])
            peaks.append(run.peak)
            print(f"triage hot (two streaming passes), {rows:,} rows: {run.figures(rows)} ({run.line})", flush=True)
        if len(counts) > 1:
            slope, intercept = np.polyfit(counts, peaks, 1)
            print(f"peak RSS ~ {intercept:.0f} MiB + {slope * 2**20:.0f} bytes per row", flush=True)
        if args.in_memory:
            run = timed([sys.executable, "-c", IN_MEMORY, str(src)])
            print(f"in memory (pandas + hot_topics), {counts[-1]:,} rows: {run.figures(counts[-1])} ({run.line})")
        if args.dask_rows:
            dask_check(src, args.dask_rows, tmp)


if __name__ == "__main__":
    main()
