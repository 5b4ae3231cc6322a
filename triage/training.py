"""Train a model from labelled texts: hold out data, measure, pick the review threshold, refit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from triage.departments import default_directory
from triage.estimator import TriageClassifier
from triage.model import TriageModel

__all__ = ["choose_review_threshold", "evaluate_predictions", "train"]


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


def evaluate_predictions(
    labels: np.ndarray, proba: np.ndarray, classes: np.ndarray, review_threshold: float
) -> dict[str, Any]:
    """Held-out metrics of calibrated probabilities: accuracy, F1, top-3, per class, review share."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    predicted = classes[np.argmax(proba, axis=1)]
    top3 = classes[np.argsort(-proba, axis=1)[:, :3]]
    confidence = proba.max(axis=1)
    automatic = confidence >= review_threshold
    precision, recall, f1, support = precision_recall_fscore_support(labels, predicted, labels=classes, zero_division=0)
    return {
        "n_test": len(labels),
        "accuracy": float(accuracy_score(labels, predicted)),
        "macro_f1": float(f1_score(labels, predicted, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(labels, predicted, average="weighted", zero_division=0)),
        "top3_accuracy": float(np.mean([label in row for label, row in zip(labels, top3, strict=True)])),
        "automatic_share": float(automatic.mean()),
        "automatic_precision": float((predicted == labels)[automatic].mean()) if automatic.any() else None,
        "per_class": {
            str(c): {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for c, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
        },
    }


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    test_size: float = 0.2,
    target_precision: float = 0.95,
    label_names: Mapping[str, str] | None = None,
    training_data: Mapping[str, Any] | None = None,
    random_state: int = 0,
    **params: Any,
) -> TriageModel:
    """Train a :class:`TriageModel` on raw ``texts`` and their department ``labels``.

    A stratified ``test_size`` share is held out to measure the model and to choose the
    review threshold reaching ``target_precision``; the returned model is then refitted on
    all data with the same settings. ``params`` go to :class:`TriageClassifier`.

    Examples
    --------
    >>> from triage.datasets import load_petitions
    >>> data = load_petitions()
    >>> model = train(data.texts, data.departments)  # doctest: +SKIP
    >>> model.save("my-model")  # doctest: +SKIP
    """
    from sklearn.model_selection import train_test_split

    labels_array = np.asarray(labels, dtype=object)
    train_x, test_x, train_y, test_y = train_test_split(
        list(texts), labels_array, test_size=test_size, stratify=labels_array, random_state=random_state
    )
    held_out = TriageClassifier(**params).fit(train_x, train_y)
    proba = held_out.predict_proba(test_x)
    correct = held_out.classes_[np.argmax(proba, axis=1)] == test_y
    threshold = choose_review_threshold(proba.max(axis=1), correct, target_precision)
    metrics = evaluate_predictions(test_y, proba, held_out.classes_, threshold)
    metrics["target_precision"] = target_precision

    estimator = TriageClassifier(**params).fit(list(texts), labels_array)
    names = dict(label_names or {})
    directory = default_directory()
    manifest = {
        "labels": [
            {"code": str(c), "name": names.get(str(c), directory.display_name(str(c)))} for c in estimator.classes_
        ],
        "review_threshold": threshold,
        "training_data": {"n_documents": len(labels_array), **(training_data or {})},
        "metrics": {"held_out": metrics},
        "params": {k: v if not isinstance(v, tuple) else list(v) for k, v in estimator.get_params().items()},
    }
    return TriageModel(estimator, manifest)
