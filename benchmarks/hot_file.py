"""`triage hot` on a large export: wall time and peak memory of the streaming command, beside the
in-memory path (the whole file read with pandas, then ``triage.hot.hot_topics``) on the same file.

Rows are edited copies of the real messages of ../shared/data/teddy2020c/votes.csv (as in
``benchmarks/grouping.py``) with their times and likes, written to a temporary CSV that is deleted
afterwards. Both runs are fresh processes; their peak RSS and anonymous RSS are sampled from
/proc. Run it niced:

    nice -n 19 python benchmarks/hot_file.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import csv
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


def run(command: list[str]) -> tuple[float, float, float, str]:
    """Wall seconds, peak RSS and peak anonymous RSS (MiB), and the first output line of one child.

    RSS counts the pages of a memory-mapped file the child has touched, which the kernel can drop
    and read again; anonymous RSS is the memory only the process holds (sampled every 20 ms).
    """
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peaks = {"VmRSS": 0, "RssAnon": 0}
    while child.poll() is None:
        try:
            for line in Path(f"/proc/{child.pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in peaks:
                    peaks[key] = max(peaks[key], int(value.split()[0]))
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.02)
    output = child.communicate()[0]
    seconds = time.perf_counter() - started
    if child.returncode:
        raise SystemExit(f"{command[:4]} failed:\n{output}")
    return seconds, peaks["VmRSS"] / 1024, peaks["RssAnon"] / 1024, output.strip().splitlines()[0]


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
        seconds, peak, anonymous, line = run(
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
                "--silent",
            ]
        )
        print(
            f"triage hot (two streaming passes): {seconds:.0f} s, peak RSS {peak:.0f} MiB, "
            f"anonymous {anonymous:.0f} MiB ({line})"
        )
        if not args.skip_in_memory:
            seconds, peak, anonymous, line = run([sys.executable, "-c", IN_MEMORY, str(src)])
            print(
                f"in memory (pandas + hot_topics):   {seconds:.0f} s, peak RSS {peak:.0f} MiB, "
                f"anonymous {anonymous:.0f} MiB ({line})"
            )


if __name__ == "__main__":
    main()
