"""Batch tagger at scale: rows/s, peak memory (whole process tree), order and resume on a big CSV.

Builds a CSV of N rows by sampling real teddy2020c message texts (with a GBK-encoded copy),
then runs `triage tag --jobs J` on both, a run killed with SIGKILL about half-way and resumed,
and checks that output rows == input rows with identical ids in order and that the resumed
output equals the uninterrupted one. Peak RSS is sampled over the tagger and its workers.
Run: `python benchmarks/tag_throughput.py [--rows 1000000] [--jobs 2] [--workdir DIR]`.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import filecmp
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from triage.datasets import teddy2020c


def build_csv(path: Path, rows: int, encoding: str) -> None:
    folder = teddy2020c.default_path()
    if folder is None:
        raise SystemExit("teddy2020c data not found (../shared/data/teddy2020c)")
    replies = teddy2020c.load_replies(folder)
    votes = teddy2020c.load_votes(folder)
    subjects = list(replies["subject"]) + list(votes["subject"])
    bodies = list(replies["body"]) + list(votes["body"])
    rng = random.Random(20261125)
    with path.open("w", encoding=encoding, errors="replace", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["工单编号", "留言主题", "留言详情"])
        for i in range(rows):
            k = rng.randrange(len(bodies))
            writer.writerow([f"WO{i:08d}", subjects[k], bodies[k]])


def run(args: list[str], kill_after_rows: int | None = None, checkpoint: Path | None = None) -> dict[str, float]:
    """Run a command, sampling the RSS of its whole process tree; optionally SIGKILL it mid-way."""
    start = time.perf_counter()
    process = subprocess.Popen(args)
    parent = psutil.Process(process.pid)
    peak_rss = peak_pss = 0
    while process.poll() is None:
        try:
            tree = [parent, *parent.children(recursive=True)]
            memory = [p.memory_full_info() for p in tree if p.is_running()]
            peak_rss = max(peak_rss, sum(m.rss for m in memory))
            peak_pss = max(peak_pss, sum(m.pss for m in memory))
        except psutil.Error:
            pass
        if kill_after_rows and checkpoint and checkpoint.is_file():
            try:
                if json.loads(checkpoint.read_text()).get("rows_done", 0) >= kill_after_rows:
                    for child in parent.children(recursive=True):
                        child.send_signal(signal.SIGKILL)
                    process.send_signal(signal.SIGKILL)
            except (ValueError, psutil.Error):
                pass
        with contextlib.suppress(subprocess.TimeoutExpired):  # returns as the process ends: no wall time
            process.wait(timeout=0.2)  # rounded up to the next sample
    return {
        "seconds": time.perf_counter() - start,
        "peak_rss_mib": peak_rss / 2**20,
        "peak_pss_mib": peak_pss / 2**20,
        "returncode": process.returncode,
    }


def ids(path: Path, encoding: str) -> list[str]:
    with path.open(encoding=encoding, newline="") as handle:
        return [row[0] for row in csv.reader(handle)][1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="triage-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    utf8, gbk = workdir / f"in-{args.rows}.csv", workdir / f"in-{args.rows}-gbk.csv"
    if not utf8.exists():
        build_csv(utf8, args.rows, "utf-8")
        build_csv(gbk, args.rows, "gb18030")
    sizes = f"{utf8.stat().st_size / 2**20:.0f} MiB (UTF-8), {gbk.stat().st_size / 2**20:.0f} MiB (GB18030)"
    print(f"input: {args.rows} rows, {sizes}")
    tag = [sys.executable, "-m", "triage", "tag", "--jobs", str(args.jobs), "--silent", "--overwrite"]
    expected = ids(utf8, "utf-8")
    for label, source, encoding in (("UTF-8", utf8, "utf-8-sig"), ("GB18030 (--encoding auto)", gbk, "auto")):
        out = workdir / f"out-{source.stem}.csv"
        result = run([*tag, str(source), "-o", str(out), "--encoding", encoding])
        same = ids(out, "utf-8-sig") == expected
        print(
            f"{label}: {args.rows / result['seconds']:.0f} rows/s ({result['seconds']:.0f} s); peak over the tagger "
            f"and its workers: RSS {result['peak_rss_mib']:.0f} MiB summed (shared pages counted in each process), "
            f"PSS {result['peak_pss_mib']:.0f} MiB (shared pages split); ids identical and in order: {same}"
        )
    cut = workdir / "out-resumed.csv"
    cut.unlink(missing_ok=True)
    checkpoint = Path(f"{cut}.partial.json")
    killed = run([*tag, str(utf8), "-o", str(cut)], kill_after_rows=args.rows // 2, checkpoint=checkpoint)
    if not checkpoint.is_file():  # the run finished between two samples: nothing to resume
        print(
            f"the run to kill ended (exit {killed['returncode']}) before it was seen past {args.rows // 2} rows: "
            "no resume check; use more rows (the script samples every 0.2 s)"
        )
        return
    done = json.loads(checkpoint.read_text())["rows_done"]
    resumed = run([*tag, str(utf8), "-o", str(cut), "--resume"])
    equal = filecmp.cmp(cut, workdir / f"out-{utf8.stem}.csv", shallow=False)
    print(
        f"kill -9 after {done} rows (exit {killed['returncode']}), resumed in {resumed['seconds']:.0f} s: "
        f"output identical to the uninterrupted run: {equal}"
    )


if __name__ == "__main__":
    main()
