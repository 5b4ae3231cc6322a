"""Metrics of predictions: the review threshold, calibration error, accuracy and F1 figures."""

from __future__ import annotations

import numpy as np
import pytest

from triage.metrics import (
    choose_review_threshold,
    evaluate_predictions,
    evaluate_sub_labels,
    expected_calibration_error,
)
from triage.training import choose_review_threshold as old_location


def test_review_threshold_reaches_target_precision():
    confidence = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6])
    correct = np.array([True, True, True, False, True, False])
    assert choose_review_threshold(confidence, correct, 1.0) == 0.9
    assert choose_review_threshold(confidence, correct, 0.8) == 0.7
    assert choose_review_threshold(confidence, correct, 0.5) == 0.6


def test_review_threshold_never_splits_ties():
    confidence = np.array([0.9, 0.9, 0.5])
    correct = np.array([True, False, False])
    assert choose_review_threshold(confidence, correct, 0.9) == 1.0


def test_review_threshold_never_splits_ties_below_the_most_confident():
    confidence = np.array([0.9, 0.8, 0.8, 0.5])
    correct = np.array([True, True, False, False])
    assert choose_review_threshold(confidence, correct, 1.0) == 0.9  # 0.8 would route the wrong 0.8 too


def test_calibration_error_uses_ten_bins_of_a_tenth_by_default():
    """The lowest and highest bins hold 0 and 1; each bin's gap weighs its share of the messages."""
    confidence = np.array([0.02, 0.12, 0.5, 0.85, 0.905, 0.95, 1.0])
    correct = np.array([True, False, True, True, True, False, False])
    top_bin = abs((0.905 + 0.95 + 1.0) / 3 - 1 / 3) * 3  # 0.905, 0.95 and 1.0 share [0.9, 1]
    expected = (abs(0.02 - 1) + 0.12 + abs(0.5 - 1) + abs(0.85 - 1) + top_bin) / len(confidence)
    assert expected_calibration_error(confidence, correct) == pytest.approx(expected)


def test_expected_calibration_error():
    confidence = np.array([0.95, 0.95, 0.55, 0.55])
    assert expected_calibration_error(confidence, np.array([True, True, True, False])) == pytest.approx(
        0.5 * 0.05 + 0.5 * 0.05
    )


def test_evaluate_predictions():
    classes = np.array(["a", "b", "c"], dtype=object)
    proba = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.5, 0.3, 0.2]])
    metrics = evaluate_predictions(np.array(["a", "b", "c"], dtype=object), proba, classes, review_threshold=0.6)
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    assert metrics["top3_accuracy"] == 1.0
    assert metrics["automatic_share"] == pytest.approx(2 / 3) and metrics["automatic_precision"] == 1.0
    assert metrics["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}


def test_evaluated_figures_of_departments_missed_unpredicted_or_outside_the_top_three():
    """Five departments: "e" neither true nor predicted, "d" true but fourth most probable; a confidence equal to the
    review threshold is routed automatically."""
    classes = np.array(["a", "b", "c", "d", "e"], dtype=object)
    proba = np.array(
        [[0.6, 0.2, 0.12, 0.05, 0.03], [0.15, 0.5, 0.3, 0.03, 0.02], [0.4, 0.3, 0.2, 0.06, 0.04]]
    )  # predicted a, b, a
    metrics = evaluate_predictions(["a", "c", "d"], proba, classes, review_threshold=0.5)
    nothing = {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert metrics == {
        "n": 3,
        "accuracy": pytest.approx(1 / 3),
        "macro_f1": pytest.approx(2 / 3 / 4),  # a's F1 over the four departments true or predicted
        "weighted_f1": pytest.approx(2 / 3 / 3),  # a's F1 over the three true labels
        "top3_accuracy": pytest.approx(2 / 3),
        "expected_calibration_error": expected_calibration_error(np.array([0.6, 0.5, 0.4]), np.array([1, 0, 0])),
        "automatic_share": pytest.approx(2 / 3),
        "automatic_precision": 0.5,
        "per_class": {
            "a": {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1},
            "b": {**nothing, "support": 0},
            "c": {**nothing, "support": 1},
            "d": {**nothing, "support": 1},
            "e": {**nothing, "support": 0},
        },
    }
    confident = evaluate_predictions(["a", "c", "d"], proba, classes, review_threshold=0.9)
    assert (confident["automatic_share"], confident["automatic_precision"]) == (0.0, None)


def test_a_sub_label_of_a_label_without_pairs_is_wrong_even_if_another_labels_pair_names_it():
    result = evaluate_sub_labels(
        np.array(["a", "b"], dtype=object),
        np.array(["x", "x"], dtype=object),
        np.array([[0.7, 0.3], [0.6, 0.4]]),
        [("a", "x"), ("a", "y")],
        description="held-out messages",
    )
    assert (result["description"], result["n"], result["accuracy"]) == ("held-out messages", 2, 0.5)
    assert result["per_label"]["b"] == {"n": 1, "accuracy": 0.0, "majority_baseline": 1.0, "sub_labels": {"x": 1}}


def test_metrics_are_still_importable_from_training():
    assert old_location is choose_review_threshold
