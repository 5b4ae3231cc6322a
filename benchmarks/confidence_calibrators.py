"""Which confidence calibration holds in a city it was not fitted on: nested leave-one-board-out.

The leave-one-board-out scores of `models/train_default.py` (each real board scored by a model trained
without it) are calibrated again one level down: for each board, a calibrator and the review threshold
(precision 0.95) are fitted on the *other two* boards' left-out scores, then measured on this one: ECE,
the share routed automatically and its precision, and the largest share the board itself would allow at
0.95. Candidates: the temperature (the old baseline), a bias per class, a temperature and bias per class
(vector scaling), isotonic regression of the top probability, Platt scaling of its log-odds (what the
default model ships: `triage.confidence`), and logistic models of P(top department right | top
probability, margin, entropy, predicted department, local-office prediction, text length).

Run: `python models/train_default.py --scores S` or `python benchmarks/cross_city.py --scores S` once
(about 6-10 minutes), then `python benchmarks/confidence_calibrators.py S` (seconds, as often as needed).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp, softmax
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))

from train_default import (
    LOCAL_OFFICE,
    acceptable_mask,
    fit_confidence_scaling,
    fit_temperature,
    test_rows,
    top_is_acceptable,
)

from triage.datasets import teddy2020c
from triage.metrics import choose_review_threshold, expected_calibration_error

TARGET = 0.95
#: A calibrator is fitted on left-out parts and returns, for any part, (confidence, predicted column).
Fitted = Callable[[dict], tuple[np.ndarray, np.ndarray]]


def _board_weights(parts: list[dict], equal: bool) -> np.ndarray:
    return np.concatenate([np.full(len(p["scores"]), 1 / len(p["scores"]) if equal else 1.0) for p in parts])


def temperature(parts: list[dict], equal: bool = False) -> Fitted:
    if equal:  # each board weighing about the same: its rows repeated (whole times) in inverse proportion to its size
        size = max(len(p["scores"]) for p in parts)
        parts = [{**p, "scores": np.tile(p["scores"], (size // len(p["scores"]), 1)),
                  "departments": list(p["departments"]) * (size // len(p["scores"]))} for p in parts]  # fmt: skip
    t = fit_temperature(parts)

    def apply(part: dict) -> tuple[np.ndarray, np.ndarray]:
        proba = softmax(part["scores"] / t, axis=1)
        return proba.max(axis=1), proba.argmax(axis=1)

    return apply


def class_scaling(parts: list[dict], *, per_class_slope: bool) -> Fitted:
    """softmax(a_k * s_k + b_k): one slope (bias scaling) or one per class (vector scaling), lightly
    penalised towards a common slope and no bias."""
    scores = np.vstack([p["scores"] for p in parts])
    mask = np.vstack([acceptable_mask(p["classes"], p["departments"]) for p in parts])
    k = scores.shape[1]

    def unpack(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (np.exp(x[:k]), x[k:]) if per_class_slope else (np.full(k, np.exp(x[0])), x[1:])

    def loss(x: np.ndarray) -> float:
        slope, bias = unpack(x)
        z = scores * slope + bias
        nll = np.mean(logsumexp(z, axis=1) - logsumexp(np.where(mask, z, -np.inf), axis=1))
        return float(nll + 1e-2 * (np.sum(bias**2) + np.sum((np.log(slope) - np.log(slope).mean()) ** 2)))

    start = np.r_[np.full(k if per_class_slope else 1, np.log(3.0)), np.zeros(k)]
    slope, bias = unpack(minimize(loss, start, method="L-BFGS-B").x)

    def apply(part: dict) -> tuple[np.ndarray, np.ndarray]:
        proba = softmax(part["scores"] * slope + bias, axis=1)
        return proba.max(axis=1), proba.argmax(axis=1)

    return apply


def isotonic(parts: list[dict]) -> Fitted:
    t = fit_temperature(parts)
    top = np.concatenate([softmax(p["scores"] / t, axis=1).max(axis=1) for p in parts])
    right = np.concatenate([top_is_acceptable(p, p["scores"]) for p in parts])
    fitted = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(top, right)

    def apply(part: dict) -> tuple[np.ndarray, np.ndarray]:
        proba = softmax(part["scores"] / t, axis=1)
        return fitted.predict(proba.max(axis=1)), proba.argmax(axis=1)

    return apply


def platt_shipped(parts: list[dict]) -> Fitted:
    """What the default model ships: temperature, then `fit_confidence_scaling` (boards weighing the same)."""
    t = fit_temperature(parts)
    scaling = fit_confidence_scaling(parts, t)

    def apply(part: dict) -> tuple[np.ndarray, np.ndarray]:
        proba = scaling.apply(softmax(part["scores"] / t, axis=1))
        return proba.max(axis=1), proba.argmax(axis=1)

    return apply


def _features(part: dict, t: float, kinds: tuple[str, ...]) -> np.ndarray:
    proba = softmax(part["scores"] / t, axis=1)
    best = proba.argmax(axis=1)
    top = np.clip(proba.max(axis=1), 1e-9, 1 - 1e-9)
    ranked = np.sort(part["scores"], axis=1)
    columns = [np.log(top / (1 - top))]
    if "shape" in kinds:  # margin, top score, entropy
        columns += [ranked[:, -1] - ranked[:, -2], ranked[:, -1], -(proba * np.log(np.clip(proba, 1e-12, 1))).sum(1)]
    if "local" in kinds:
        columns.append((part["classes"][best] == LOCAL_OFFICE).astype(float))
    if "length" in kinds:
        columns.append(np.log1p(part["lengths"]))
    if "department" in kinds:
        columns += [(best == k).astype(float) for k in range(proba.shape[1])]
    return np.column_stack(columns)


def correctness_model(parts: list[dict], kinds: tuple[str, ...], equal: bool = False, beta: bool = False) -> Fitted:
    """A logistic regression of whether the top department is right (``beta``: on log p and -log(1 - p))."""
    t = fit_temperature(parts)

    def features(part: dict) -> np.ndarray:
        if beta:
            top = np.clip(softmax(part["scores"] / t, axis=1).max(axis=1), 1e-9, 1 - 1e-9)
            return np.column_stack([np.log(top), -np.log1p(-top)])
        return _features(part, t, kinds)

    x = np.vstack([features(p) for p in parts])
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    right = np.concatenate([top_is_acceptable(p, p["scores"]) for p in parts])
    weights = _board_weights(parts, equal)
    fitted = LogisticRegression(max_iter=2000).fit((x - mean) / std, right, sample_weight=weights / weights.mean())

    def apply(part: dict) -> tuple[np.ndarray, np.ndarray]:
        return fitted.predict_proba((features(part) - mean) / std)[:, 1], part["scores"].argmax(axis=1)

    return apply


CALIBRATORS: dict[str, Callable[[list[dict]], Fitted]] = {
    "temperature (before)": temperature,
    "temperature, boards equal": lambda parts: temperature(parts, equal=True),
    "bias per class": lambda parts: class_scaling(parts, per_class_slope=False),
    "vector scaling": lambda parts: class_scaling(parts, per_class_slope=True),
    "isotonic(top p)": isotonic,
    "Platt(top p)": lambda parts: correctness_model(parts, ()),
    "Platt, boards equal (shipped)": platt_shipped,
    "beta(top p)": lambda parts: correctness_model(parts, (), beta=True),
    "+ margin, top, entropy": lambda parts: correctness_model(parts, ("shape",)),
    "+ local, length": lambda parts: correctness_model(parts, ("shape", "local", "length")),
    "+ department": lambda parts: correctness_model(parts, ("shape", "local", "length", "department")),
    "Platt + department": lambda parts: correctness_model(parts, ("department",)),
}


def nested(results: dict[str, dict], fit: Callable[[list[dict]], Fitted]) -> dict[str, dict]:
    """Per board: fitted on the other boards, measured on this one."""
    figures = {}
    for board, part in results.items():
        others = [results[b] for b in results if b != board]
        apply = fit(others)
        pooled = [apply(o) for o in others]
        threshold = choose_review_threshold(
            np.concatenate([c for c, _ in pooled]),
            np.concatenate([_right(o, best) for o, (_, best) in zip(others, pooled, strict=True)]),
            TARGET,
        )
        confidence, best = apply(part)
        right = _right(part, best)
        automatic = confidence >= threshold
        own = choose_review_threshold(confidence, right, TARGET)
        figures[board] = {
            "ece": expected_calibration_error(confidence, right),
            "threshold": threshold,
            "auto": automatic.mean(),
            "precision": right[automatic].mean() if automatic.any() else float("nan"),
            "best": (confidence >= own).mean() if own < 1 else 0.0,
        }
    return figures


def _right(part: dict, best: np.ndarray) -> np.ndarray:
    return acceptable_mask(part["classes"], part["departments"])[np.arange(len(best)), best]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scores", type=Path, help="leave-one-board-out scores saved by --scores")
    parser.add_argument("--data", type=Path, default=teddy2020c.default_path(), help="teddy2020c folder")
    args = parser.parse_args()
    if args.data is None:
        parser.error("../shared/data/teddy2020c not found: pass --data")
    results = joblib.load(args.scores)
    for board, part in results.items():
        lengths = np.array([len(text) for text in test_rows(board, args.data).texts])
        if len(lengths) != len(part["scores"]):
            parser.error(f"{args.scores} holds {len(part['scores'])} rows of {board}, the data {len(lengths)}: rescore")
        part["lengths"] = lengths
    boards = list(results)
    print("nested leave-one-board-out; per board: ECE, threshold (fitted on the other boards), share routed "
          "automatically, its precision, the board's own best share at precision 0.95")  # fmt: skip
    print("calibrator".ljust(30) + "".join(f"| {b:<40}" for b in boards) + "| mean ECE")
    for name, fit in CALIBRATORS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # log(0) inside masked log-sum-exps
            figures = nested(results, fit)
        cells = [
            f"| {f['ece']:.3f} {f['threshold']:.3f} {f['auto']:6.1%} {f['precision']:.3f} {f['best']:6.1%}     "
            for f in figures.values()
        ]
        print(name.ljust(30) + "".join(cells) + f"| {np.mean([f['ece'] for f in figures.values()]):.3f}", flush=True)


if __name__ == "__main__":
    main()
