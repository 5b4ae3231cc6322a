"""The confidence scaling (triage.confidence): its maths, its manifest record, and a model that uses it."""

from __future__ import annotations

import doctest
import json
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import triage
import triage.confidence
from tests.conftest import REPO
from triage.confidence import ConfidenceScaling
from triage.exceptions import ModelIntegrityError
from triage.persistence import CARD_FILE, MANIFEST_FILE

SHRINKING = ConfidenceScaling(slope=0.4, intercept=-0.3)  # pulls the top towards 0.5 and below it
PROBES = ("小区物业乱收停车费，垃圾也没人清理", "孩子入学报名难", "路灯坏了，晚上路很黑")


def _rows(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum(axis=1, keepdims=True)


probability_rows = arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(2, 8)),
    # a softmax of SVM scores over a temperature keeps probabilities far above 1e-6 or rounds them to 0
    elements=st.one_of(st.just(0.0), st.floats(1e-6, 1.0)),
).filter(lambda a: (a.sum(axis=1) > 0).all())


@settings(max_examples=200, deadline=None)
@given(probability_rows, st.floats(0.01, 20.0), st.floats(-100.0, 100.0))
def test_scaled_rows_stay_distributions_with_the_same_ranking(weights, slope, intercept):
    proba = _rows(weights)
    scaled = ConfidenceScaling(slope=slope, intercept=intercept).apply(proba)
    assert scaled.shape == proba.shape
    np.testing.assert_allclose(scaled.sum(axis=1), 1.0, rtol=1e-9)
    assert (scaled >= 0).all()
    assert (scaled.argmax(axis=1) == proba.argmax(axis=1)).all()
    # the others keep their order (ties among them stay ties)
    for before, after, best in zip(proba, scaled, proba.argmax(axis=1), strict=True):
        rest = np.delete(np.arange(len(before)), best)
        order_before = np.sign(np.subtract.outer(before[rest], before[rest]))
        assert (order_before == np.sign(np.subtract.outer(after[rest], after[rest]))).all()


def test_top_is_the_sigmoid_of_its_scaled_log_odds_and_the_rest_keep_their_ratios():
    proba = np.array([[0.9, 0.08, 0.02], [0.2, 0.5, 0.3]])
    scaled = ConfidenceScaling(slope=0.5, intercept=0.2).apply(proba)
    expected_top = 1 / (1 + np.exp(-(0.5 * np.log(np.array([0.9, 0.5]) / np.array([0.1, 0.5])) + 0.2)))
    np.testing.assert_allclose(scaled[[0, 1], [0, 1]], expected_top)
    assert scaled[0, 1] / scaled[0, 2] == pytest.approx(4.0)
    assert scaled[1, 2] / scaled[1, 0] == pytest.approx(1.5)


def test_identity_scaling_changes_nothing_and_certainty_stays_certain():
    proba = _rows(np.array([[3.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.1, 0.7, 0.2]]))
    np.testing.assert_allclose(ConfidenceScaling(slope=1.0, intercept=0.0).apply(proba), proba, atol=1e-12)
    assert SHRINKING.apply(proba)[1].tolist() == [1.0, 0.0, 0.0]


def test_a_top_scaled_below_the_runner_up_stays_first():
    scaled = SHRINKING.apply(np.array([[0.5, 0.45, 0.05]]))
    assert scaled.argmax() == 0 and scaled[0, 0] > scaled[0, 1]


def test_fit_recovers_a_known_scaling():
    rng = np.random.default_rng(0)
    top = rng.uniform(0.5, 0.999, 20_000)
    proba = np.column_stack([top, 1 - top])
    truth = ConfidenceScaling(slope=0.4, intercept=0.3)
    right = rng.random(len(top)) < truth.apply(proba)[:, 0]
    fitted = ConfidenceScaling.fit(proba, right)
    assert fitted.slope == pytest.approx(0.4, abs=0.05) and fitted.intercept == pytest.approx(0.3, abs=0.1)


def test_fit_weighs_rows():
    proba = np.array([[0.9, 0.1]] * 4)
    right = np.array([True, True, False, False])
    even = ConfidenceScaling.fit(proba, right)
    leaning = ConfidenceScaling.fit(proba, right, sample_weight=np.array([3.0, 3.0, 1.0, 1.0]))
    assert even.apply(proba)[0, 0] == pytest.approx(0.5, abs=1e-3)
    assert leaning.apply(proba)[0, 0] == pytest.approx(0.75, abs=1e-3)


@pytest.mark.parametrize(
    ("proba", "right", "message"),
    [
        (np.array([[0.9, 0.1], [0.6, 0.4]]), np.array([True, True]), "every row is right"),
        (np.array([[0.9, 0.1], [0.6, 0.4]]), np.array([True, False, True]), "must have a row"),
        (np.array([0.9, 0.6]), np.array([True, False]), "must have a row"),
    ],
)
def test_fit_refuses_what_it_cannot_fit(proba, right, message):
    with pytest.raises(ValueError, match=message):
        ConfidenceScaling.fit(proba, right)


def test_docstring_example():
    failures, tried = doctest.testmod(triage.confidence)
    assert tried > 0 and failures == 0


def test_record_round_trips():
    assert ConfidenceScaling.from_record(SHRINKING.to_record()) == SHRINKING
    assert json.loads(json.dumps(SHRINKING.to_record())) == SHRINKING.to_record()


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"method": "platt_top_probability", "slope": -0.4, "intercept": 0.0}, "must be positive"),
        ({"method": "platt_top_probability", "slope": 0.0, "intercept": 0.0}, "must be positive"),
        ({"method": "platt_top_probability", "slope": 25.0, "intercept": 0.0}, "at most 20"),
        ({"method": "platt_top_probability", "slope": 1.0, "intercept": -800.0}, "beyond"),
        ({"method": "platt_top_probability", "slope": float("nan"), "intercept": 0.0}, "not a finite number"),
        ({"method": "platt_top_probability", "slope": True, "intercept": 0.0}, "not a finite number"),
        ({"method": "platt_top_probability", "slope": "0.4", "intercept": 0.0}, "not a finite number"),
        ({"method": "isotonic", "slope": 0.4, "intercept": 0.0}, "upgrade triage"),
        ({"method": "platt_top_probability", "slope": 0.4}, "exactly the fields"),
        ({"method": "platt_top_probability", "slope": 0.4, "intercept": 0.0, "extra": 1}, "exactly the fields"),
        ([0.4, 0.0], "exactly the fields"),
    ],
)
def test_bad_records_are_refused(record, message):
    with pytest.raises(ValueError, match=message):
        ConfidenceScaling.from_record(record)


# --- a model that records a scaling ---------------------------------------------------------------


@pytest.fixture(scope="module")
def scaled_model(small_model):
    manifest = {**small_model.manifest, "confidence_scaling": SHRINKING.to_record(), "review_threshold": 0.5}
    return triage.TriageModel(small_model.scorer, manifest)


def test_answers_carry_the_scaled_confidence(small_model, scaled_model):
    before = small_model.predict_proba(PROBES)
    after = scaled_model.predict_proba(PROBES)
    np.testing.assert_allclose(after, SHRINKING.apply(before), rtol=1e-6)
    for text, row in zip(PROBES, after, strict=True):
        result = scaled_model.classify(text)
        assert result.department == small_model.classify(text).department
        assert result.confidence == pytest.approx(row.max(), rel=1e-6)
        assert result.candidates[0][1] == result.confidence
        assert result.needs_review == (result.confidence < 0.5)
        assert scaled_model.route(text).confidence == pytest.approx(result.confidence, rel=1e-6)


def test_review_follows_the_scaled_confidence(small_model):
    """A threshold between a message's unscaled and scaled confidence flags it only once scaled."""
    text = PROBES[0]
    unscaled = small_model.classify(text).confidence
    scaled = SHRINKING.apply(small_model.predict_proba([text]))[0].max()
    assert scaled < unscaled
    manifest = {**small_model.manifest, "review_threshold": (scaled + unscaled) / 2}
    assert not triage.TriageModel(small_model.scorer, manifest).classify(text).needs_review
    manifest["confidence_scaling"] = SHRINKING.to_record()
    assert triage.TriageModel(small_model.scorer, manifest).classify(text).needs_review


def test_a_model_without_a_scaling_answers_unscaled(small_model):
    assert small_model.confidence_scaling is None and "confidence_scaling" not in small_model.manifest


def test_the_scaling_survives_save_and_load_and_shows_in_the_card(scaled_model, tmp_path):
    directory = scaled_model.save(tmp_path / "scaled")
    loaded = triage.load(directory)
    assert loaded.confidence_scaling == SHRINKING
    np.testing.assert_allclose(loaded.predict_proba(PROBES), scaled_model.predict_proba(PROBES), rtol=1e-6)
    card = (directory / CARD_FILE).read_text(encoding="utf-8")
    assert "sigmoid(0.400 · log(p / (1 − p)) -0.300)" in card


@pytest.mark.parametrize(
    "record",
    [
        {"method": "platt_top_probability", "slope": -1.0, "intercept": 0.0},
        {"method": "platt_top_probability", "slope": "nan", "intercept": 0.0},
        {"method": "pickle", "slope": 1.0, "intercept": 0.0},
        "sigmoid",
    ],
)
def test_a_tampered_scaling_is_refused_at_load(scaled_model, tmp_path, record):
    directory = shutil.copytree(scaled_model.save(tmp_path / "scaled"), tmp_path / "tampered")
    path = directory / MANIFEST_FILE
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["confidence_scaling"] = record
    path.write_text(json.dumps(manifest), encoding="utf-8")
    expected = r"manifest.json: key 'confidence_scaling' .* confidence scaling record"
    with pytest.raises(ModelIntegrityError, match=expected):
        triage.load(directory)


# --- the default model's recipe (models/train_default.py) fits and reports it -------------------------


def _overconfident_board(rng: np.random.Generator, n: int, accuracy: float) -> dict:
    """Synthetic left-out scores of three classes: the top class is sharp, but right only ``accuracy`` of
    the time (a city whose labels the model never saw)."""
    classes = np.array(["education", "property_management", "public_security"], dtype=object)
    scores = rng.normal(0.0, 0.3, (n, 3))
    top = rng.integers(0, 3, n)
    scores[np.arange(n), top] += rng.uniform(0.5, 3.0, n)
    truth = np.where(rng.random(n) < accuracy, top, (top + 1) % 3)
    return {"scores": scores, "classes": classes, "departments": [(classes[t],) for t in truth]}


def test_the_recipe_fits_the_scaling_on_other_boards_and_reports_both_calibration_errors():
    import sys

    sys.path.insert(0, str(REPO / "models"))
    try:
        import train_default
    finally:
        sys.path.remove(str(REPO / "models"))
    rng = np.random.default_rng(0)
    results = {name: _overconfident_board(rng, 600, 0.7) for name in ("a", "b", "c")}
    report = train_default.cross_city_report(results)
    for figures in report.values():
        scaling = ConfidenceScaling.from_record(figures["confidence_scaling"])
        assert scaling.slope < 1  # too sure at the top: the scaling flattens it
        assert figures["expected_calibration_error"] < 0.6 * figures["expected_calibration_error_temperature_only"]
