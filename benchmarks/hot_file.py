"""`triage hot` on a large export: wall time and peak memory of the streaming command, beside the
in-memory path (the whole file read with pandas, then ``triage.hot.hot_topics``) on the same file.

Rows are edited copies of the real messages of ../shared/data/teddy2020c/votes.csv (as in
``benchmarks/grouping.py``) with their times and likes, written to a temporary CSV that is deleted
afterwards. Both runs are fresh processes; peak RSS is each child's ``ru_maxrss``. Run it niced:

    nice -n 19 python benchmarks/hot_file.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import csv
import resource
import subprocess
import sys
import tempfile
import time
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


def run(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and last output line of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:
        raise SystemExit("a child's peak RSS was not above the previous child's; run the paths in separate calls")
    return seconds, peak / 1024, (done.stdout + done.stderr).strip().splitlines()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-in-memory", action="store_true")
    args = parser.parse_args()
    votes = load_votes(default_path())
    rng = np.random.default_rng(args.seed)
    origin = rng.integers(0, len(votes), args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "export.csv"
        with src.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "subject", "body", "time", "likes"])
            for row, i in enumerate(origin):
                message = votes.iloc[int(i)]
                writer.writerow(
                    [row, message["subject"], edited(message["body"], rng), message["time"], message["likes"]]
                )
        print(f"{args.rows:,} rows, {src.stat().st_size / 2**20:.0f} MiB CSV")
        # the streaming command first: ru_maxrss of children only grows, so the smaller peak must come first
        seconds, peak, line = run(
            [
                sys.executable,
                "-m",
                "triage",
                "hot",
                str(src),
                "-o",
                str(Path(tmp) / "hot.csv"),
                "--top",
                "20",
                "--text-column",
                "subject",
                "--text-column",
                "body",
                "--time-column",
                "time",
                "--likes-column",
                "likes",
                "--id-column",
                "id",
            ]
        )
        print(f"triage hot (two streaming passes): {seconds:.0f} s, peak RSS {peak:.0f} MiB ({line})")
        if not args.skip_in_memory:
            seconds, peak, line = run([sys.executable, "-c", IN_MEMORY, str(src)])
            print(f"in memory (pandas + hot_topics):   {seconds:.0f} s, peak RSS {peak:.0f} MiB ({line})")


if __name__ == "__main__":
    main()
