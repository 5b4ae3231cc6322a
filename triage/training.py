"""Train a model from labelled texts, measure it on held-out predictions, pick the review threshold."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from triage.departments import default_directory
from triage.estimator import TriageClassifier
from triage.model import TriageModel

__all__ = [
    "choose_review_threshold",
    "evaluate_predictions",
    "expected_calibration_error",
    "refine_labels",
    "train",
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
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
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


def refine_labels(
    estimator: TriageClassifier,
    texts: Sequence[str],
    coarse_labels: Sequence[str],
    allowed: Mapping[str, Collection[str]],
) -> np.ndarray:
    """Turn coarse labels into fine ones: for each text, the most probable fine label its coarse label allows.

    Analysts' exports often carry a coarser taxonomy than the departments (a topic such as
    城乡建设 spans housing, property, urban management, water, ...). A model trained on fine
    labels picks the department within the topic; the topic itself is never overridden.

    Raises ``ValueError`` when a coarse label allows no label the estimator knows.
    """
    classes = estimator.classes_
    known = {coarse: np.isin(classes, list(fine)) for coarse, fine in allowed.items()}
    missing = sorted({c for c in coarse_labels if not known.get(c, np.zeros(1, bool)).any()})
    if missing:
        raise ValueError(f"no known fine label is allowed for: {', '.join(map(str, missing))}")
    mask = np.array([known[c] for c in coarse_labels])
    proba = estimator.predict_proba(texts)
    return classes[np.where(mask, proba, -1.0).argmax(axis=1)]


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    target_precision: float = 0.95,
    label_names: Mapping[str, str] | None = None,
    training_data: Mapping[str, Any] | None = None,
    **params: Any,
) -> TriageModel:
    """Train a :class:`TriageModel` on raw ``texts`` and their department ``labels``.

    The model is fitted once on all data. Its out-of-fold probabilities (each document
    predicted by a model that never saw it) give the cross-validated metrics recorded in the
    manifest and the review threshold: the lowest confidence at which automatically routed
    messages reach ``target_precision``. ``params`` go to :class:`TriageClassifier`.

    Examples
    --------
    >>> from triage.datasets import load_petitions
    >>> data = load_petitions()
    >>> model = train(data.texts, data.departments)  # doctest: +SKIP
    >>> model.save("my-model")  # doctest: +SKIP
    """
    labels_array = np.asarray(labels, dtype=object)
    estimator = TriageClassifier(**params).fit(list(texts), labels_array)
    proba = estimator.oof_proba_
    correct = estimator.classes_[np.argmax(proba, axis=1)] == labels_array
    threshold = choose_review_threshold(proba.max(axis=1), correct, target_precision)
    cross_validated = evaluate_predictions(labels_array, proba, estimator.classes_, threshold)
    names = dict(label_names or {})
    directory = default_directory()
    manifest = {
        "labels": [
            {"code": str(c), "name": names.get(str(c), directory.display_name(str(c)))} for c in estimator.classes_
        ],
        "review_threshold": threshold,
        "target_precision": target_precision,
        "training_data": {"n_documents": len(labels_array), **(training_data or {})},
        "metrics": {"cross_validated": cross_validated},
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in estimator.get_params().items()},
    }
    return TriageModel(estimator, manifest)
