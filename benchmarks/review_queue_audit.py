"""Why so few messages of a new city can be routed at precision 0.95: precision at coverage, and what
the most confident predictions get wrong, per left-out board.

Reads the leave-one-board-out scores saved by `models/train_default.py --scores S` (or
`benchmarks/cross_city.py --scores S`); each board's confidence is the temperature's top probability
with the temperature fitted on the other boards (the confidence scaling keeps this order, so the
curves are those of the shipped confidence). Prints counts only, never message text:

- precision of the most confident 1 % … 50 % of all rows, and of the functional rows ranked alone
  (rows a local government handled left out), with the share of local-office rows in each slice;
- the largest share at precision 0.95 on all rows, on functional rows only, and with local-office rows
  counted right when the model names a functional department (what the label may hide);
- among the most confident 5 / 10 / 20 %: the right predictions that named a department other than the
  handling unit's own (units owning several), and the wrong ones by kind: a local government handled it
  and the model named a functional department; a functional unit handled it and the model named
  ``street_community``; a unit owning several departments, another named; a single-department unit,
  another named.

Run: `python benchmarks/review_queue_audit.py S` (seconds).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import joblib
import numpy as np
from scipy.special import softmax

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))

from train_default import LOCAL_OFFICE, TARGET_PRECISION, acceptable_mask, fit_temperature

from triage.metrics import choose_review_threshold

COVERAGES = (0.01, 0.02, 0.05, 0.10, 0.20, 0.30, 0.50)
KINDS = (
    "local office handled, functional named",
    "functional unit handled, street_community named",
    "multi-department unit, another named",
    "single-department unit, another named",
)


def best_share(confidence: np.ndarray, right: np.ndarray) -> float:
    """The largest share of rows routed automatically at ``TARGET_PRECISION`` (0 when none reaches it)."""
    threshold = choose_review_threshold(confidence, right, TARGET_PRECISION)
    return float((confidence >= threshold).mean()) if threshold < 1.0 else 0.0


def audit(board: str, part: dict, temperature: float) -> None:
    proba = softmax(part["scores"] / temperature, axis=1)
    confidence, best = proba.max(axis=1), proba.argmax(axis=1)
    predicted = part["classes"][best]
    right = acceptable_mask(part["classes"], part["departments"])[np.arange(len(best)), best]
    local = np.array([d[0] == LOCAL_OFFICE for d in part["departments"]])
    several = np.array([len(d) > 1 for d in part["departments"]])
    lenient = right | (local & (predicted != LOCAL_OFFICE))
    order = np.argsort(-confidence, kind="stable")
    functional_order = order[~local[order]]
    print(
        f"\n{board}: {len(right)} rows, {local.sum()} a local government handled ({local.mean():.1%}), {several.sum()} "
        f"from units owning several departments; top-1 {right.mean():.3f} (functional {right[~local].mean():.3f}, "
        f"local {right[local].mean():.3f}); temperature {temperature:.3f} from the other boards"
    )
    print(
        f"  largest share at precision {TARGET_PRECISION}: all rows {best_share(confidence, right):.1%}, functional "
        f"rows only {best_share(confidence[~local], right[~local]):.1%}, local rows counted right when a functional "
        f"department is named {best_share(confidence, lenient):.1%}"
    )
    print("  most confident | precision, all rows | local rows in slice | precision, functional rows ranked alone")
    for coverage in COVERAGES:
        k = max(1, round(coverage * len(order)))
        k_functional = max(1, round(coverage * len(functional_order)))
        print(
            f"  {coverage:>13.0%} | {right[order[:k]].mean():.3f} of {k:<6} | {local[order[:k]].mean():>19.1%} | "
            f"{right[functional_order[:k_functional]].mean():.3f} of {k_functional}"
        )
    for coverage in (0.05, 0.10, 0.20):
        top = order[: round(coverage * len(order))]
        wrong = top[~right[top]]
        kinds = Counter(
            KINDS[0] if local[i] else KINDS[1] if predicted[i] == LOCAL_OFFICE else KINDS[2] if several[i] else KINDS[3]
            for i in wrong
        )
        # right only because the unit owns several departments: the model named one that is not the unit's own
        by_second = sum(right[i] and predicted[i] != part["departments"][i][0] for i in top)
        print(
            f"  most confident {coverage:.0%} ({len(top)}): {len(top) - len(wrong)} right ({by_second} naming a unit's "
            f"second or later department), {len(wrong)} wrong: " + "; ".join(f"{kind} {kinds[kind]}" for kind in KINDS)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scores", type=Path, help="leave-one-board-out scores saved by --scores")
    results = joblib.load(parser.parse_args().scores)
    for board, part in results.items():
        audit(board, part, fit_temperature([results[b] for b in results if b != board]))


if __name__ == "__main__":
    main()
