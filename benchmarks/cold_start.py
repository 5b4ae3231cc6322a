"""Cold start and per-message latency of the default model.

Cold start = a fresh Python process doing `import triage`, `triage.load()` and one
`classify`, measured inside the process (interpreter start-up excluded) and as wall time of
the whole process. Run: `python benchmarks/cold_start.py [--runs 5]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time

PROBE = r"""
import json, time
t0 = time.perf_counter()
import triage
t1 = time.perf_counter()
model = triage.load()
t2 = time.perf_counter()
model.classify("小区物业乱收停车费，垃圾也没人清理")
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "first_classify": t3 - t2, "total": t3 - t0}))
"""

MESSAGES = [
    "小区物业乱收停车费，垃圾也没人清理",
    "派出所补办身份证要排好几天队",
    "孩子上小学划片不合理，离家太远",
    "城中村下水道堵了一个月，污水漫到路上",
    "社区老年食堂饭菜涨价了，老人吃不起",
]


def cold_runs(runs: int, env: dict[str, str] | None) -> list[dict[str, float]]:
    results = []
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=env)
        row = json.loads(out.stdout)
        row["process_wall"] = time.perf_counter() - start
        results.append(row)
    return results


def summarise(label: str, rows: list[dict[str, float]]) -> None:
    print(f"{label} (median of {len(rows)} fresh processes):")
    for key in ("import", "load", "first_classify", "total", "process_wall"):
        print(f"  {key:<15} {statistics.median(r[key] for r in rows) * 1000:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    import os

    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "TRIAGE_CACHE_DIR": cache}
        summarise("first ever start (empty segmentation cache)", cold_runs(1, env))
        summarise("cold start (segmentation cache present)", cold_runs(args.runs, env))

    import triage

    model = triage.load()
    model.classify(MESSAGES[0])
    repeats = 200
    start = time.perf_counter()
    for i in range(repeats):
        model.classify(MESSAGES[i % len(MESSAGES)])
    single = (time.perf_counter() - start) / repeats
    batch = MESSAGES * 200
    start = time.perf_counter()
    model.classify(batch)
    batched = (time.perf_counter() - start) / len(batch)
    print(f"warm classify, one message per call: {single * 1000:.2f} ms/message")
    print(f"warm classify, list of {len(batch)}: {batched * 1000:.2f} ms/message ({1 / batched:.0f} messages/s)")


if __name__ == "__main__":
    main()
