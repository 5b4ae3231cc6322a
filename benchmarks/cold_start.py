"""The fixed start-up cost of triage: importing, loading the model and the first classification.

Every run is a fresh Python process (nothing warm but the OS file cache), which times its phases
in order: ``import triage``; importing what the CLI adds (``triage.cli``, ``triage.batch``);
``triage.load()`` of the shipped model; the first ``classify`` of one message. Printed: the median
of each phase's wall time over ``--runs`` processes (and the min, as a floor), the median of its
CPU time in the main thread (what triage's own work costs; it moves less than wall time with the
machine's load, and leaves out the threads OpenBLAS starts, and spins, when numpy is imported),
the whole process's wall time, and the load average, since on a shared machine the figures move with it.

With ``--tag FILE``, also ``triage tag FILE --jobs 2`` of a small file (a few hundred rows) in
fresh processes: wall, user and system seconds, the fixed cost a batch run pays before its workers
start.

Byte-compiled modules matter (about 0.1 s): an installed wheel has them, an editable install under
``PYTHONDONTWRITEBYTECODE=1`` compiles every module on each run. Run ``python -m compileall -q
triage`` in the checkout first.

Run: ``python benchmarks/cold_start.py [--runs 9] [--model DIR] [--tag SMALL.csv]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MESSAGE = "小区物业乱收停车费，垃圾也没人清理"
PHASES = ("import triage", "import CLI (triage.cli, triage.batch)", "triage.load()", "first classify")
PROBE = """
import json, sys, time
def mark():
    return time.perf_counter(), time.thread_time()
marks = [mark()]
import triage
marks.append(mark())
import triage.batch, triage.cli
marks.append(mark())
model = triage.load(sys.argv[1] or None)
marks.append(mark())
model.classify(sys.argv[2])
marks.append(mark())
print(json.dumps([[b[0] - a[0], b[1] - a[1]] for a, b in zip(marks, marks[1:])]))
"""


def probe(model: str) -> tuple[list[list[float]], float]:
    """(wall, CPU) seconds of each phase, measured inside one fresh process, and its wall time."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", PROBE, model, MESSAGE], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1]), time.perf_counter() - started


def tag_once(source: Path, output: Path) -> tuple[float, float, float]:
    """Wall, user and system seconds of one ``triage tag --jobs 2`` run (workers included)."""
    command = shutil.which("triage") or str(Path(sys.executable).with_name("triage"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [command, "tag", str(source), "-o", str(output), "--jobs", "2", "--overwrite", "--silent"], check=True
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def line(name: str, values: list[float], cpu: list[float] | None = None) -> str:
    figures = [statistics.median(values), min(values), *([statistics.median(cpu)] if cpu else [])]
    return f"{name:<40}" + "".join(f" {figure * 1000:8.1f}" for figure in figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9, help="fresh processes per figure (median reported)")
    parser.add_argument("--model", default="", help="model directory (default: the shipped model)")
    parser.add_argument("--tag", type=Path, help="a small CSV to time `triage tag --jobs 2` on")
    args = parser.parse_args()

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    # numpy's OpenBLAS starts a thread per core at import, each spinning ~0.1 s of CPU: on a busy
    # machine that moves the wall times; OPENBLAS_NUM_THREADS=1 keeps it from starting them
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(unset)')}")
    probe(args.model)  # warms the OS file cache
    runs = [probe(args.model) for _ in range(args.runs)]
    print(f"cold start, fresh processes, {args.runs} runs (ms): wall median and min, main-thread CPU median")
    print(f"{'phase':<40} {'median':>8} {'min':>8} {'CPU':>8}")
    for index, name in enumerate(PHASES):
        print(line(name, [phases[index][0] for phases, _ in runs], [phases[index][1] for phases, _ in runs]))
    print(
        line(
            "sum of the phases",
            [sum(wall for wall, _ in phases) for phases, _ in runs],
            [sum(cpu for _, cpu in phases) for phases, _ in runs],
        )
    )
    print(line("process wall (interpreter start included)", [wall for _, wall in runs]))

    if args.tag is not None:
        with tempfile.TemporaryDirectory() as folder:
            output = Path(folder) / "tagged.csv"
            tag_once(args.tag, output)
            tags = [tag_once(args.tag, output) for _ in range(args.runs)]
        print(f"triage tag {args.tag.name} --jobs 2, median of {args.runs} (s)")
        for index, name in enumerate(("wall", "user", "system")):
            print(f"  {name:<8} {statistics.median(t[index] for t in tags):6.3f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
