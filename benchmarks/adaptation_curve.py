"""Learning curve of a deployment's own units: `--base default` against `--base none` and the classic pipeline.

On each city board (jiamusi, dalian; ../shared/data or --data), messages sorted by date: the last
``--test-share`` (default 20 %) are the test set, fixed; the first 100 / 300 / 1,000 / all of the
others train. Every method predicts the handling unit (the ``handler`` column, the city's own
names); units seen once in training are left out of training and count as errors in the test.

* base: ``triage.train(texts, units, base=BASE)`` (the base model's scores stacked beside TF-IDF,
  a message naming a unit's district or county boosting that area's units);
* no-area: the same with ``area_boost=0`` (the first N rows only);
* none: ``triage.train(texts, units)`` (today's behaviour);
* classic: jieba + TF-IDF + LinearSVC (benchmarks/classic.py), top-3 by SVM score.

BASE must not have seen the test city, and the shipped default model is retrained on the city
boards, so BASE is trained here on the authored corpus plus teddy2020c's replies whose handler the
reply shows (train split): no message of either board (cached in --base-cache). Also reported:
top-1 without dalian's general hub (大连市公共行政服务中心) as true unit, department-level top-1
of the unit models (units mapped by name, else by the base model), the triage methods trained on
the *latest* 100 / 300 / 1,000 messages before the test period (a deployment's few labels are its
recent ones; units are renamed over the years), on all history weighted by recency (half-life
180 days, ``--half-life``) and on the history since a date (``--since-days``: the messages of the
last 365 days before the test period, ``triage.adaptation.rows_since``). Run:
`python benchmarks/adaptation_curve.py` (about 20 minutes on a shared machine).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

import triage
from triage.adaptation import AREA_BOOST, recency_weights, rows_since
from triage.datasets import load_petitions, teddy2020c
from triage.datasets.cities import load_board
from triage.evaluation import evaluate
from triage.exceptions import TrainingDataWarning

HUB = "大连市公共行政服务中心"
#: The share of each board, its latest messages by date, that issue 16's figures test on.
TEST_SHARE = 0.2
METHODS = ("base", "no-area", "none", "classic")
HALF_LIFE_DAYS = 180.0
SINCE_DAYS = 365


def boards_folder() -> Path:
    """The folder holding the city boards: beside teddy2020c's (``teddy2020c.default_path``), else ../shared/data."""
    teddy = teddy2020c.default_path()
    return teddy.parent if teddy is not None else Path("../shared/data")


def training_end(frame: Any, test_share: float = TEST_SHARE) -> int:
    """How many of a board's messages (sorted by date, :func:`load_board`) come before its test part, the
    last ``test_share`` of them: the time-ordered split every #16 benchmark reports on."""
    return round(len(frame) * (1 - test_share))


def build_base(cache: Path, data: Path) -> triage.TriageModel:
    """Authored corpus + teddy2020c replies with a handler the reply shows (train split): no board message."""
    if cache.is_dir():
        return triage.load(cache)
    petitions = load_petitions()
    replies = teddy2020c.load_replies(data / "teddy2020c")
    shown = replies[(replies["split"] == "train") & replies["department"].notna()]
    texts = [*petitions.texts, *shown["text"]]
    labels = [*petitions.departments, *shown["department"]]
    started = time.perf_counter()
    model = triage.train(
        texts,
        labels,
        training_data={
            "name": "adaptation-curve-base",
            "description": "Base for benchmarks/adaptation_curve.py: no message of the jiamusi or dalian boards.",
            "sources": [f"{len(petitions)} authored messages", f"{len(shown)} teddy2020c replies (train split)"],
        },
    )
    print(f"base trained on {len(texts)} messages in {time.perf_counter() - started:.0f} s; cached in {cache}")
    model.save(cache)
    return triage.load(cache)


def top_k(proba: np.ndarray, classes: np.ndarray, labels: np.ndarray, k: int, rows: np.ndarray) -> float:
    top = classes[np.argsort(-proba[rows], axis=1)[:, :k]]
    return float(np.mean([label in row for label, row in zip(labels[rows], top, strict=True)]))


def classic_scores(train_texts: list[str], train_labels: np.ndarray, test_texts: list[str]):
    from classic import classic

    pipeline = classic().fit(train_texts, train_labels)
    scores = pipeline.decision_function(test_texts)
    classes = pipeline.classes_
    if scores.ndim == 1:
        scores = np.column_stack([-scores, scores])
    return scores, classes


def run_city(
    board: str, data: Path, base: triage.TriageModel, sizes: list[int | None], test_share: float, since_days: int
) -> None:
    frame = load_board(board, data / board)
    cut = training_end(frame, test_share)
    texts = list(frame["text"])
    units = np.asarray(frame["handler"], dtype=object)
    test = np.arange(cut, len(frame))
    test_texts, test_units = [texts[i] for i in test], units[test]
    everyone = np.arange(len(test))
    without_hub = np.flatnonzero(test_units != HUB)
    print(
        f"\n{board}: {len(frame)} messages, train = first of {cut} ({frame['date'][0]:%Y-%m-%d} … "
        f"{frame['date'][cut - 1]:%Y-%m-%d}), test = last {len(test)} ({frame['date'][cut]:%Y-%m-%d} … "
        f"{frame['date'].iloc[-1]:%Y-%m-%d}), {len(set(test_units))} units in test"
    )
    header = f"{'train':>28} {'method':>8} {'top-1':>6} {'top-3':>6} {'no hub':>7} {'dept':>6} {'units':>6} {'s':>5}"
    print(header)
    plans = [(f"first {size}" if size else f"all {cut}", np.arange(min(size or cut, cut)), METHODS) for size in sizes]
    plans += [(f"latest {size}", np.arange(cut - size, cut), ("base", "none")) for size in sizes if size and size < cut]
    plans.append((f"all {cut}, half-life {HALF_LIFE_DAYS:g} d", np.arange(cut), ("base", "none")))
    since = frame["date"][cut - 1] - np.timedelta64(since_days - 1, "D")
    recent = np.flatnonzero(rows_since(list(frame["date"][:cut]), since))
    plans.append((f"since {since:%Y-%m-%d} ({len(recent)})", recent, ("base", "none")))
    for label, rows, methods in plans:
        train_texts, train_units = [texts[i] for i in rows], units[rows]
        weights = recency_weights(list(frame["date"][rows]), HALF_LIFE_DAYS) if "half-life" in label else None
        for method in methods:
            started = time.perf_counter()
            department = float("nan")
            if method == "classic":
                proba, classes = classic_scores(train_texts, train_units, test_texts)
                n_units = len(classes)
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", TrainingDataWarning)
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    model = triage.train(
                        train_texts,
                        train_units,
                        base=base if method in ("base", "no-area") else None,
                        area_boost=0.0 if method == "no-area" else AREA_BOOST,
                        unit_departments="auto",
                        sample_weight=weights,
                        n_jobs=1,
                    )
                proba, classes = model.predict_proba(test_texts), np.asarray(model.classes, dtype=object)
                department = evaluate(model, test_texts, test_units)["department_level"]["accuracy"]
                n_units = len(classes)
            print(
                f"{label:>28} {method:>8} {top_k(proba, classes, test_units, 1, everyone):6.3f} "
                f"{top_k(proba, classes, test_units, 3, everyone):6.3f} "
                f"{top_k(proba, classes, test_units, 1, without_hub):7.3f} {department:6.3f} {n_units:6d} "
                f"{time.perf_counter() - started:5.0f}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=boards_folder(), help="the folder holding jiamusi/ and dalian/")
    parser.add_argument("--base-cache", type=Path, default=Path("/tmp/triage-adaptation-base"))
    parser.add_argument("--boards", default="jiamusi,dalian")
    parser.add_argument("--sizes", default="100,300,1000,all")
    parser.add_argument("--test-share", type=float, default=TEST_SHARE)
    parser.add_argument(
        "--since-days", type=int, default=SINCE_DAYS, help="the 'since' row: train on this many last days"
    )
    args = parser.parse_args()
    if not (args.data / "jiamusi").is_dir():
        raise SystemExit(f"board data not found in {args.data}; pass --data FOLDER (the one holding jiamusi/)")
    base = build_base(args.base_cache, args.data)
    print(
        f"base: {args.base_cache} ({base.manifest['training_data']['n_documents']} messages: "
        "authored corpus + teddy2020c replies; no jiamusi or dalian message)"
    )
    sizes = [None if size == "all" else int(size) for size in args.sizes.split(",")]
    for board in args.boards.split(","):
        run_city(board, args.data, base, sizes, args.test_share, args.since_days)


if __name__ == "__main__":
    main()
