"""Where the time of `triage train` goes, and the quality it buys, on the real teddy2020c data.

Three parts, each optional:

1. ``--stages``: ``triage.train`` + ``model.save`` on bodies.csv in this process with ``n_jobs=1``,
   every stage timed (wall and CPU seconds) by wrapping the functions that do it: preparing the
   text, the word and character vectorizers, the SVM fits on all rows and on the calibration
   folds, the naive-Bayes ratios and scaling, the temperature, the metrics, building the scorer,
   saving.
2. ``--cli``: the command itself, ``triage train bodies.csv --text-column body --label-column
   label`` in a fresh process (imports, reading, training, saving), once per ``--jobs`` value:
   wall seconds, and CPU seconds of the process and the worker processes it waited for.
3. ``--quality``: macro-F1 on messages.csv (495, subject + body) of the model that command saved,
   and of ``TriageClassifier()`` with its defaults on each fixed fold of bodies.csv (train on the
   other four), the protocol of the data's README (``benchmarks/quality.py``).

Without any of the three flags all three run. The machine is shared: compare CPU seconds, and
run the versions to compare back to back (``PYTHONPATH=/other/checkout python
benchmarks/train_speed.py`` runs another checkout's triage with this script).

Run: ``python benchmarks/train_speed.py [--data FOLDER] [--stages] [--cli] [--quality] [--jobs 1 2]``
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

import triage
from triage.datasets import teddy2020c

CLI_ARGUMENTS = ("--text-column", "body", "--label-column", "label", "--silent")


class Clock:
    """Wall and CPU seconds (this process; with ``children``, also the child processes it waited for)."""

    def __init__(self, *, children: bool = False) -> None:
        self.children = children
        self.wall, self.cpu = time.perf_counter(), self._cpu()

    def _cpu(self) -> float:
        if not self.children:
            return time.process_time()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def elapsed(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, self._cpu() - self.cpu


# ------------------------------------------------------------------------------------------ stages

#: Stage label, the module and attribute path of the function doing it. Functions a checkout does
#: not have are skipped, so the script times older checkouts too (e.g. before triage.tfidf existed).
STAGES = (
    ("usable rows (prepare, Chinese check)", "triage.training", "usable_rows"),
    ("estimator fit", "triage.estimator", "TriageClassifier.fit"),
    ("  prepare", "triage.estimator", "prepared_texts"),
    ("  vectorizer", "sklearn.feature_extraction.text", "TfidfVectorizer.fit_transform"),
    ("  vectorizer", "triage.tfidf", "fit_tfidf"),
    ("  NB-SVM fit", "triage.estimator", "_NaiveBayesScaledSVC.fit"),
    ("    log-count ratios", "triage.estimator", "_log_count_ratios"),
    ("    LinearSVC", "sklearn.svm", "LinearSVC.fit"),
    ("  temperature", "triage.estimator", "_fit_temperature"),
    ("metrics + review threshold", "triage.training", "evaluate_predictions"),
    ("metrics + review threshold", "triage.training", "choose_review_threshold"),
    ("scorer building", "triage.model", "TriageModel.from_estimator"),
    ("save (scorer check, files)", "triage.model", "TriageModel.save"),
)


def _owner_and_name(module_name: str, path: str) -> tuple[Any, str] | None:
    try:
        owner: Any = __import__(module_name, fromlist=["_"])
    except ImportError:
        return None
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent, None)
    return (owner, name) if owner is not None and hasattr(owner, name) else None


def _split_label(label: str, args: tuple[Any, ...], n_rows: int) -> str:
    """Vectorizers by analyzer; SVM fits on all rows apart from those on calibration folds."""
    if label.strip() == "vectorizer":
        vectorizer = args[0]
        return f"{label} ({'words' if vectorizer.analyzer == 'word' else 'chars'})"
    if label.strip() == "LinearSVC":
        return f"{label} ({'all rows' if args[1].shape[0] == n_rows else 'calibration folds'})"
    return label


@contextmanager
def timed_stages(n_rows: int) -> Iterator[dict[str, list[float]]]:
    """Wrap every function of :data:`STAGES` for the duration: label → [wall, cpu, calls]."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    undo: list[tuple[Any, str, Any]] = []

    def wrap(function: Callable[..., Any], label: str) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            entry = totals[_split_label(label, args, n_rows)]  # listed in the order the stages start
            clock = Clock()
            try:
                return function(*args, **kwargs)
            finally:
                wall, cpu = clock.elapsed()
                entry[0] += wall
                entry[1] += cpu
                entry[2] += 1

        return timed

    for label, module_name, path in STAGES:
        found = _owner_and_name(module_name, path)
        if found is None:
            continue
        owner, name = found
        static = inspect.getattr_static(owner, name)
        if isinstance(static, classmethod):
            replacement: Any = classmethod(wrap(static.__func__, label))
        else:
            replacement = wrap(static, label)
        undo.append((owner, name, static))
        setattr(owner, name, replacement)
    try:
        yield totals
    finally:
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)


def stage_breakdown(data: Path) -> None:
    from triage.io import join_text_columns, read_table

    clock = Clock()
    frame = read_table(data / "bodies.csv")
    texts, labels = join_text_columns(frame, ["body"]), list(frame["label"])
    read_wall, read_cpu = clock.elapsed()
    with tempfile.TemporaryDirectory() as folder, timed_stages(len(texts)) as totals:
        clock = Clock()
        model = triage.train(texts, labels, n_jobs=1, progress=False)
        model.save(Path(folder) / "model")
        wall, cpu = clock.elapsed()
    print(f"stages of triage.train + model.save on bodies.csv ({len(texts)} rows, n_jobs=1, in this process)")
    print(f"  {'stage':<46}{'wall s':>8}{'CPU s':>8}{'calls':>7}")
    print(f"  {'reading bodies.csv (triage.io.read_table)':<46}{read_wall:8.2f}{read_cpu:8.2f}{1:7d}")
    for label, (stage_wall, stage_cpu, calls) in totals.items():
        print(f"  {label:<46}{stage_wall:8.2f}{stage_cpu:8.2f}{calls:7d}")
    print(f"  {'total train + save':<46}{wall:8.2f}{cpu:8.2f}")


# ------------------------------------------------------------------------------------ CLI, quality


def cli_train(data: Path, output: Path, jobs: int) -> tuple[float, float]:
    """Wall and CPU seconds of ``triage train`` on bodies.csv, run as a user runs it."""
    command = [sys.executable, "-m", "triage", "train", str(data / "bodies.csv"), "-o", str(output), "--overwrite"]
    clock = Clock(children=True)
    subprocess.run([*command, *CLI_ARGUMENTS, "--jobs", str(jobs)], check=True, capture_output=True)
    return clock.elapsed()


def messages_macro_f1(data: Path, model_dir: Path) -> dict[str, Any]:
    """``triage evaluate`` of a saved model on messages.csv (subject + body), as quality.py runs it."""
    columns = ("--text-column", "subject", "--text-column", "body", "--label-column", "label", "--json")
    command = [sys.executable, "-m", "triage", "evaluate", str(model_dir), str(data / "messages.csv"), *columns]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def fold_macro_f1(data: Path, jobs: int) -> list[float]:
    """Macro-F1 of ``TriageClassifier()`` on each fixed fold of bodies.csv, trained on the other four."""
    from sklearn.metrics import f1_score

    from triage import TriageClassifier

    bodies = teddy2020c.load_bodies(data)
    folds = bodies["fold"].astype(int).to_numpy()
    texts = np.asarray(bodies["text"], dtype=object)
    labels = bodies["label"].to_numpy()
    scores = []
    for fold in range(5):
        test = folds == fold
        model = TriageClassifier(n_jobs=jobs).fit(list(texts[~test]), labels[~test])
        scores.append(float(f1_score(labels[test], model.predict(list(texts[test])), average="macro")))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=teddy2020c.default_path())
    parser.add_argument("--stages", action="store_true", help="the stage breakdown, in this process")
    parser.add_argument("--cli", action="store_true", help="time the `triage train` command")
    parser.add_argument("--quality", action="store_true", help="macro-F1 on messages.csv and per fixed fold")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="--jobs values of the timed command")
    args = parser.parse_args()
    if args.data is None:
        raise SystemExit("teddy2020c data not found; pass --data FOLDER or set $TRIAGE_TEDDY2020C")
    everything = not (args.stages or args.cli or args.quality)
    print(f"triage from {Path(triage.__file__).parent}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.stages or everything:
        stage_breakdown(args.data)
    with tempfile.TemporaryDirectory() as folder:
        model_dir = Path(folder) / "model"
        if args.cli or args.quality or everything:
            for jobs in args.jobs:
                wall, cpu = cli_train(args.data, model_dir, jobs)
                print(f"`triage train bodies.csv --jobs {jobs}`: wall {wall:.1f} s, CPU {cpu:.1f} s (with workers)")
        if args.quality or everything:
            result = messages_macro_f1(args.data, model_dir)
            print(
                f"messages.csv (n={result['n']}): macro-F1 {result['macro_f1']:.4f}, accuracy {result['accuracy']:.4f}"
            )
            scores = fold_macro_f1(args.data, max(args.jobs))
            figures = " ".join(f"{score:.4f}" for score in scores)
            print(f"fixed folds of bodies.csv, macro-F1: {figures}  mean {np.mean(scores):.4f}")


if __name__ == "__main__":
    main()
