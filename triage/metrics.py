"""Metrics of predictions against true labels, and the review threshold they give.

Training records them in a model's manifest (from out-of-fold predictions); evaluation computes
them on held-out messages; both call these functions, so a figure means the same thing in both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "choose_review_threshold",
    "evaluate_predictions",
    "evaluate_sub_labels",
    "expected_calibration_error",
]


def choose_review_threshold(confidence: np.ndarray, correct: np.ndarray, target_precision: float) -> float:
    """The lowest confidence threshold whose auto-routed messages reach ``target_precision``.

    Messages with confidence at or above the threshold are routed automatically; the rest go
    to review. Returns 1.0 (review everything) when no threshold reaches the target.
    """
    order = np.argsort(-confidence, kind="stable")
    sorted_conf = confidence[order]
    precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    # Only cut between distinct confidence values: ties are routed together.
    last_of_tie = np.r_[sorted_conf[1:] != sorted_conf[:-1], True]
    reaching = np.flatnonzero(last_of_tie & (precision >= target_precision))
    return float(sorted_conf[reaching[-1]]) if reaching.size else 1.0


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Mean gap between confidence and accuracy over equal-width confidence bins, weighted by bin size."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.digitize(confidence, edges[1:-1])  # 0 to bins - 1: 1.0 falls in the last bin, as 0.0 in the first
    gaps = [
        abs(confidence[which == b].mean() - correct[which == b].mean()) * np.mean(which == b)
        for b in range(bins)
        if np.any(which == b)
    ]
    return float(np.sum(gaps))


def evaluate_predictions(
    labels: np.ndarray, proba: np.ndarray, classes: np.ndarray, review_threshold: float
) -> dict[str, Any]:
    """Metrics of calibrated probabilities against true labels: accuracy, F1, top-3, calibration, review share."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    labels = np.asarray(labels, dtype=object)
    predicted = classes[np.argmax(proba, axis=1)]
    top3 = classes[np.argsort(-proba, axis=1)[:, :3]]
    confidence = proba.max(axis=1)
    correct = predicted == labels
    automatic = confidence >= review_threshold
    precision, recall, f1, support = precision_recall_fscore_support(labels, predicted, labels=classes, zero_division=0)
    return {
        "n": len(labels),
        "accuracy": float(accuracy_score(labels, predicted)),
        "macro_f1": float(f1_score(labels, predicted, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(labels, predicted, average="weighted", zero_division=0)),
        "top3_accuracy": float(np.mean([label in row for label, row in zip(labels, top3, strict=True)])),
        "expected_calibration_error": expected_calibration_error(confidence, correct),
        "automatic_share": float(automatic.mean()),
        "automatic_precision": float(correct[automatic].mean()) if automatic.any() else None,
        "per_class": {
            str(c): {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for c, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
        },
    }


def evaluate_sub_labels(
    labels: np.ndarray,
    sub_labels: np.ndarray,
    proba: np.ndarray,
    pairs: Sequence[tuple[str, str]],
    description: str = "Sub-label given the true label, from out-of-fold predictions of the training messages.",
) -> dict[str, Any]:
    """Accuracy of the sub-label given the true label: each row's most probable pair among its own
    label's pairs (``pairs`` name the columns of ``proba``), overall and per label, beside the
    majority baseline (always the label's most frequent sub-label). A row whose label has no pairs
    counts as wrong."""
    pair_labels = np.array([label for label, _ in pairs], dtype=object)
    pair_subs = np.array([sub for _, sub in pairs], dtype=object)
    allowed = pair_labels[None, :] == labels[:, None]
    correct = (pair_subs[np.where(allowed, proba, -1.0).argmax(axis=1)] == sub_labels) & allowed.any(axis=1)
    per_label: dict[str, dict[str, Any]] = {}
    for label in np.unique(labels):
        rows = labels == label
        counts = Counter(sub_labels[rows])
        per_label[str(label)] = {
            "n": int(rows.sum()),
            "accuracy": float(correct[rows].mean()),
            "majority_baseline": counts.most_common(1)[0][1] / int(rows.sum()),
            "sub_labels": {str(sub): n for sub, n in sorted(counts.items())},
        }
    return {
        "description": description,
        "n": len(labels),
        "accuracy": float(correct.mean()),
        "majority_baseline": sum(max(row["sub_labels"].values()) for row in per_label.values()) / len(labels),
        "per_label": per_label,
    }
