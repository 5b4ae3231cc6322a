"""Metrics of predictions: the review threshold, calibration error, accuracy and F1 figures."""

from __future__ import annotations

import numpy as np
import pytest

from triage.metrics import choose_review_threshold, evaluate_predictions, expected_calibration_error
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


def test_metrics_are_still_importable_from_training():
    assert old_location is choose_review_threshold
