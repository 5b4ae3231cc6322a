"""How much of a unit model's error on the future is a shift in how often each unit answers (issue 16's audit).

On each city board (jiamusi, dalian), messages sorted by date, the last ``--test-share`` (20 %) as
test, as in benchmarks/adaptation_curve.py: ``triage.train`` on all the earlier messages (``--base
none``), then unit top-1 / top-3 on the test set with the model's probabilities

* as trained;
* re-weighted by the test period's true unit shares over the training shares (an oracle: it reads
  the test labels, so it is a ceiling, not a method): what knowing exactly how often each unit
  answers in the future would buy a text model;
* re-weighted by the shares of the last fifth of the training period (what a deployment knows).

If the oracle gains little, the errors are not in how often units answer but in which unit the
text points to (a district government or a bureau, the bus office or the transport bureau).
Run: ``python benchmarks/prior_shift.py [--data ../shared/data]`` (about a minute per board).
"""

from __future__ import annotations

import argparse
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
from adaptation_curve import HUB, TEST_SHARE, boards_folder, top_k, training_end
from sklearn.exceptions import ConvergenceWarning

import triage
from triage.datasets.cities import load_board
from triage.exceptions import TrainingDataWarning


def shares(labels: list[str], classes: np.ndarray, smoothing: float = 0.0) -> np.ndarray:
    counts = Counter(labels)
    found = np.array([counts[c] for c in classes], dtype=float) + smoothing
    return found / found.sum()


def reweighted(proba: np.ndarray, target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Probabilities moved from the source priors to the target priors (Bayes' rule, renormalised)."""
    moved = proba * (target / source)
    return moved / moved.sum(axis=1, keepdims=True)


def run_board(board: str, data: Path, test_share: float) -> None:
    frame = load_board(board, data / board)
    cut = training_end(frame, test_share)
    train_units, test_units = list(frame["handler"][:cut]), np.asarray(frame["handler"][cut:], dtype=object)
    model = triage.train(list(frame["text"][:cut]), train_units)
    proba = model.predict_proba(list(frame["text"][cut:]))
    classes = np.asarray(model.classes_, dtype=object)
    trained = shares(train_units, classes)
    rows = {"all": np.arange(len(test_units))}
    if board == "dalian":
        rows["without the hub"] = np.flatnonzero(test_units != HUB)
    variants = {
        "as trained": proba,
        "oracle: test-period shares": reweighted(proba, shares(list(test_units), classes, 0.5), trained),
        "last fifth of training's shares": reweighted(proba, shares(train_units[-cut // 5 :], classes, 0.5), trained),
    }
    print(f"\n{board}: train {cut} messages, test {len(test_units)}, {len(classes)} units")
    for name, variant in variants.items():
        figures = ", ".join(
            f"{label} top-1 {top_k(variant, classes, test_units, 1, where):.3f} "
            f"top-3 {top_k(variant, classes, test_units, 3, where):.3f}"
            for label, where in rows.items()
        )
        print(f"  {name:<34}{figures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=boards_folder(), help="the folder holding jiamusi/ and dalian/")
    parser.add_argument("--test-share", type=float, default=TEST_SHARE)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    warnings.simplefilter("ignore", TrainingDataWarning)
    for board in ("jiamusi", "dalian"):
        run_board(board, args.data, args.test_share)


if __name__ == "__main__":
    main()
