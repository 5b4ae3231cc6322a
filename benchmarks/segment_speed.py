"""segment() on each implementation: CPU time per message, build time and memory of a fresh process.

Messages: teddy2020c ``votes.csv`` (subject + body), prepared as triage prepares them. Each
implementation runs in its own fresh process (``TRIAGE_SEGMENTER``): the dictionary build (CPU
seconds and resident-memory growth), then ``--rounds`` passes over every message, timed in CPU time
(the figure to trust on a shared machine; the load average is printed beside it). The minimum and
the median pass are printed, in microseconds per message.

Run: ``python benchmarks/segment_speed.py [--data FOLDER] [--rounds 7] [--segmenters compiled,rjieba]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from triage.datasets import teddy2020c

_MEASURE = """
import json, os, sys, time
import triage.segmentation as segmentation
from triage.text import prepare

def resident_mb():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

texts = [prepare(text).text for text in json.loads(sys.stdin.read())]
segmentation.stop_words()
before, start = resident_mb(), time.process_time()
segmentation.segment("")
build, grown = time.process_time() - start, resident_mb() - before
passes = []
for _ in range({rounds}):
    start = time.process_time()
    for text in texts:
        segmentation.segment(text)
    passes.append((time.process_time() - start) / len(texts) * 1e6)
print(json.dumps({{"build": build, "grown": grown, "passes": passes, "chars": sum(map(len, texts)) / len(texts)}}))
"""


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=teddy2020c.default_path())
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--segmenters", default="compiled,rjieba", help="comma-separated TRIAGE_SEGMENTER values")
    args = parser.parse_args()
    if args.data is None:
        raise SystemExit("teddy2020c data not found; pass --data FOLDER")
    texts = list(teddy2020c.load_votes(args.data)["text"])
    print(f"votes.csv: {len(texts)} messages; load average {load_average()} ({os.cpu_count()} cores)")
    for name in args.segmenters.split(","):
        result = subprocess.run(
            [sys.executable, "-c", _MEASURE.format(rounds=args.rounds)],
            input=json.dumps(texts),
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "TRIAGE_SEGMENTER": name},
        )
        figures = json.loads(result.stdout)
        passes = figures["passes"]
        print(
            f"{name:9s} {figures['chars']:.0f} chars/message: {min(passes):6.1f} µs/message min, "
            f"{statistics.median(passes):6.1f} median; build {figures['build']:.3f} s CPU, "
            f"+{figures['grown']:.0f} MB resident; load average {load_average()}"
        )


if __name__ == "__main__":
    main()
