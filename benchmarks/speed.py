"""Speed of triage against the classic pipeline, measured side by side in one run.

Both are trained on the same data (teddy2020c ``bodies.csv``) and measured on the real
messages of ``votes.csv`` (4,326, subject + body). The classic pipeline is jieba.lcut +
TfidfVectorizer + LinearSVC (``benchmarks/classic.py``). Printed, each with the ratio
triage / classic:

- throughput in one process and with 2 worker processes (messages/s, MB/s of UTF-8 text), and
  triage's one-process figure without its compiled featuriser (an install without a C compiler);
- single-message latency p50 / p99 over the messages of at most 500 characters;
- cold start: a fresh process importing, loading the saved model and classifying one message;
- peak RSS of a fresh process that loads the model and classifies every message;
- batch tagging of a CSV: ``triage tag --jobs 2`` against the classic pipeline tagging the
  same file in one process (pandas chunks in, predictions out);
- macro-F1 on the fixed split (train bodies.csv, test messages.csv) with each segmenter, and
  how often jieba and rjieba give identical token lists.

Run: ``python benchmarks/speed.py [--data FOLDER] [--tag-rows 100000] [--runs 5]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from classic import classic
from quality import train_and_evaluate
from sklearn.metrics import f1_score

import triage
from triage.datasets import teddy2020c
from triage.model import default_model_path
from triage.text import prepare

BENCHMARKS = Path(__file__).resolve().parent
COLD_TRIAGE = """
import json, time
t0 = time.perf_counter()
import triage
model = triage.load({path!r})
model.classify("小区物业乱收停车费，垃圾也没人清理")
print(json.dumps(time.perf_counter() - t0))
"""
COLD_CLASSIC = """
import json, time
t0 = time.perf_counter()
import joblib
model = joblib.load({path!r})
model.predict(["小区物业乱收停车费，垃圾也没人清理"])
print(json.dumps(time.perf_counter() - t0))
"""
NUMPY_ONLY = """
import json, sys, time
sys.modules["triage._featurize"] = None  # as if installed without a C compiler
import triage
texts = json.load(open({texts!r}, encoding="utf-8"))
model = triage.load({path!r})
model.predict(texts[:10])
t0 = time.perf_counter()
model.predict(texts)
print(json.dumps(len(texts) / (time.perf_counter() - t0)))
"""
RSS_TRIAGE = r"""
import json, re, triage
texts = json.load(open({texts!r}, encoding="utf-8"))
triage.load({path!r}).predict(texts)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec
print(int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024)
"""
RSS_CLASSIC = r"""
import json, re, joblib
texts = json.load(open({texts!r}, encoding="utf-8"))
joblib.load({path!r}).predict(texts)
print(int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024)
"""
CLASSIC_TAGGER = """
import sys, joblib, pandas as pd
model = joblib.load(sys.argv[1])
first = True
for chunk in pd.read_csv(sys.argv[2], chunksize=1000, dtype=str, keep_default_na=False):
    chunk["department"] = model.predict((chunk["留言主题"] + "\\n" + chunk["留言详情"]).tolist())
    chunk.to_csv(sys.argv[3], mode="w" if first else "a", header=first, index=False)
    first = False
"""


def run_probe(code: str, env: dict[str, str] | None = None, *args: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, cwd=BENCHMARKS, env=env
    )
    return json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else 0.0


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


_predict = None


def _set_predict(predict) -> None:
    global _predict
    _predict = predict


def _predict_in_worker(texts: list[str]) -> int:
    return len(_predict(texts))


def two_workers(predict, texts: list[str]) -> float:
    """Seconds for 2 forked processes (model inherited, pool warm) to predict all texts."""
    halves = [texts[: len(texts) // 2], texts[len(texts) // 2 :]]
    context = multiprocessing.get_context("fork")
    with context.Pool(2, initializer=_set_predict, initargs=(predict,)) as pool:
        pool.map(_predict_in_worker, [["预热"], ["预热"]])
        start = time.perf_counter()
        pool.map(_predict_in_worker, halves)
        return time.perf_counter() - start


def row(name: str, ours: float, theirs: float, unit: str, higher_is_better: bool = True) -> None:
    ratio = ours / theirs if higher_is_better else theirs / ours
    print(f"  {name:<34} triage {ours:10.2f} {unit:<6} classic {theirs:10.2f} {unit:<6} ratio {ratio:5.1f}x")


def train_and_score(data: Path, segmenter_name: str, folder: Path) -> float:
    """Macro-F1 of the fixed split, trained and evaluated by triage's commands on one segmenter."""
    env = {**os.environ, "TRIAGE_SEGMENTER": segmenter_name}
    return train_and_evaluate(data, folder / f"model-{segmenter_name}", env)[0]["macro_f1"]


def token_parity(texts: list[str]) -> float:
    """Share of texts that jieba and rjieba segment into identical token lists."""
    from triage.segmentation import _build_cut, segment_with

    jieba_cut, rjieba_cut = _build_cut("jieba"), _build_cut("rjieba")
    return sum(segment_with(jieba_cut, t) == segment_with(rjieba_cut, t) for t in texts) / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=teddy2020c.default_path())
    parser.add_argument("--tag-rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per cold-start figure")
    args = parser.parse_args()
    if args.data is None:
        raise SystemExit("teddy2020c data not found; pass --data FOLDER")
    bodies = teddy2020c.load_bodies(args.data)
    votes = teddy2020c.load_votes(args.data)
    texts = list(votes["text"])
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    median = int(np.median([len(t) for t in texts]))
    print(f"votes.csv: {len(texts)} messages, {megabytes:.2f} MB, median {median} characters")
    print(f"segmenter: {triage.segmentation.segmenter()}")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ours = triage.train(list(bodies["text"]), list(bodies["label"]))
        ours_dir = ours.save(folder / "triage-model")
        ours = triage.load(ours_dir)
        theirs = classic().fit(list(bodies["text"]), bodies["label"])
        theirs_file = folder / "classic.joblib"
        joblib.dump(theirs, theirs_file)
        ours.predict(texts[:10])
        theirs.predict(texts[:10])

        print("throughput on votes.csv")
        ours_seconds, theirs_seconds = timed(ours.predict, texts), timed(theirs.predict, texts)
        row("one process, messages/s", len(texts) / ours_seconds, len(texts) / theirs_seconds, "msg/s")
        row("one process, MB/s", megabytes / ours_seconds, megabytes / theirs_seconds, "MB/s")
        classify_seconds = timed(ours.classify, texts)
        print(f"  {'(triage classify(): top 3 + explanation)':<34} {len(texts) / classify_seconds:10.2f} msg/s")
        texts_file = folder / "texts.json"
        texts_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        numpy_only = run_probe(NUMPY_ONLY.format(texts=str(texts_file), path=str(ours_dir)))
        print(f"  {'(triage without triage._featurize)':<34} {numpy_only:10.2f} msg/s")
        ours_two, theirs_two = two_workers(ours.predict, texts), two_workers(theirs.predict, texts)
        row("2 workers, messages/s", len(texts) / ours_two, len(texts) / theirs_two, "msg/s")
        row("2 workers vs classic 1 process", len(texts) / ours_two, len(texts) / theirs_seconds, "msg/s")

        print("single-message latency (messages of at most 500 characters)")
        short = [t for t in texts if len(t) <= 500]
        ours_ms = [timed(ours.classify, t) * 1000 for t in short]
        theirs_ms = [timed(theirs.predict, [t]) * 1000 for t in short]
        for q in (50, 99):
            row(f"p{q} ms (n={len(short)})", np.percentile(ours_ms, q), np.percentile(theirs_ms, q), "ms", False)

        print(f"cold start: fresh process, import + load + first message (median of {args.runs})")
        ours_cold = statistics.median(run_probe(COLD_TRIAGE.format(path=str(ours_dir))) for _ in range(args.runs))
        theirs_cold = statistics.median(run_probe(COLD_CLASSIC.format(path=str(theirs_file))) for _ in range(args.runs))
        row("seconds", ours_cold, theirs_cold, "s", False)
        default_cold = statistics.median(
            run_probe(COLD_TRIAGE.format(path=str(default_model_path()))) for _ in range(args.runs)
        )
        print(f"  {'(shipped default model)':<34} triage {default_cold:10.2f} s")

        print("peak RSS of a fresh process classifying all of votes.csv")
        ours_rss = run_probe(RSS_TRIAGE.format(texts=str(texts_file), path=str(ours_dir)))
        theirs_rss = run_probe(RSS_CLASSIC.format(texts=str(texts_file), path=str(theirs_file)))
        row("MiB", ours_rss, theirs_rss, "MiB", False)

        print(f"batch tagging a {args.tag_rows:,}-row CSV (sampled votes.csv messages)")
        rng = random.Random(8)
        picks = [rng.randrange(len(votes)) for _ in range(args.tag_rows)]
        export = pd.DataFrame(
            {
                "工单编号": [f"WO{i:08d}" for i in range(args.tag_rows)],
                "留言主题": votes["subject"].to_numpy()[picks],
                "留言详情": votes["body"].to_numpy()[picks],
            }
        )
        export.to_csv(folder / "export.csv", index=False)
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "triage",
                "tag",
                str(folder / "export.csv"),
                "-o",
                str(folder / "ours.csv"),
                "--model",
                str(ours_dir),
                "--jobs",
                "2",
                "--silent",
            ],
            check=True,
        )
        ours_tag = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-c",
                CLASSIC_TAGGER,
                str(theirs_file),
                str(folder / "export.csv"),
                str(folder / "classic.csv"),
            ],
            check=True,
            cwd=BENCHMARKS,
        )
        theirs_tag = time.perf_counter() - start
        row("triage --jobs 2 vs classic, rows/s", args.tag_rows / ours_tag, args.tag_rows / theirs_tag, "rows/s")

        print("quality on the fixed split: train bodies.csv, test messages.csv (macro-F1)")
        messages = teddy2020c.load_messages(args.data)
        classic_f1 = f1_score(messages["label"], theirs.predict(list(messages["text"])), average="macro")
        for name in triage.segmentation.SEGMENTERS:
            print(f"  triage on {name:<24} {train_and_score(args.data, name, folder):.3f}")
        print(f"  classic                            {classic_f1:.3f}")
        prepared = [prepare(t).text for t in texts]
        print(f"  identical token lists jieba vs rjieba: {token_parity(prepared):.2%} of votes.csv messages")


if __name__ == "__main__":
    main()
