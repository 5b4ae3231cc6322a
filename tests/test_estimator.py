"""TriageClassifier behaves like any scikit-learn classifier."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict, cross_val_score
from sklearn.pipeline import Pipeline

from tests.conftest import LABELS, TEXTS
from triage import TriageClassifier

SMALL = {"min_df": 1, "calibration_folds": 3}


@pytest.fixture(scope="module")
def fitted():
    return TriageClassifier(**SMALL).fit(TEXTS, LABELS)


def test_fit_returns_self_and_sets_classes():
    clf = TriageClassifier(**SMALL)
    assert clf.fit(TEXTS, LABELS) is clf
    assert list(clf.classes_) == sorted(set(LABELS))


def test_init_is_keyword_only():
    with pytest.raises(TypeError):
        TriageClassifier((1, 2))  # type: ignore[misc]


def test_predict_proba_is_a_distribution(fitted):
    proba = fitted.predict_proba(["物业乱收费", "孩子入学难"])
    assert proba.shape == (2, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert fitted.temperature_ > 0


def test_predicts_its_training_domains(fitted):
    assert list(fitted.predict(["物业不修电梯还涨物业费", "派出所办户口", "学校乱收费补课"])) == [
        "property_management",
        "public_security",
        "education",
    ]


def test_decision_function_ranks_like_predict_proba(fitted):
    texts = ["物业费太贵", "身份证补办", "幼儿园学位"]
    assert np.array_equal(fitted.decision_function(texts).argmax(1), fitted.predict_proba(texts).argmax(1))


def test_rejects_a_bare_string(fitted):
    with pytest.raises(ValueError, match="Iterable over raw text documents expected"):
        fitted.predict("物业费")


def test_rejects_non_str_documents_naming_the_index():
    with pytest.raises(TypeError, match="document 1 is NoneType"):
        TriageClassifier(**SMALL).fit(["物业", None, "学校"], ["a", "b", "a"])


def test_single_example_class_is_a_clear_error():
    with pytest.raises(ValueError, match="single example cannot be calibrated: lonely"):
        TriageClassifier(**SMALL).fit([*TEXTS, "孤零零"], [*LABELS, "lonely"])


def test_binary_problem():
    texts = TEXTS[:20]
    clf = TriageClassifier(**SMALL).fit(texts, LABELS[:20])
    proba = clf.predict_proba(["物业乱收停车费"])
    assert proba.shape == (1, 2)
    assert clf.predict(["物业乱收停车费"])[0] == "property_management"
    assert clf.decision_function(["物业乱收停车费"]).shape == (1,)


def test_clone_keeps_params():
    clf = TriageClassifier(C=2.0, char_ngram_range=(1, 3))
    assert clone(clf).get_params() == clf.get_params()


def test_works_in_pipeline_and_grid_search():
    pipeline = Pipeline([("clf", TriageClassifier(**SMALL))])
    search = GridSearchCV(pipeline, {"clf__C": [0.1, 1.0]}, cv=2).fit(TEXTS, LABELS)
    assert search.best_params_["clf__C"] in (0.1, 1.0)
    assert search.predict(["物业费"]).shape == (1,)


def test_cross_val_score():
    scores = cross_val_score(TriageClassifier(**SMALL), list(TEXTS), list(LABELS), cv=2)
    assert scores.shape == (2,)


def test_cross_val_predict_proba():
    # scikit-learn hands the estimator integer-encoded labels for method="predict_proba"
    folds = StratifiedKFold(n_splits=2, shuffle=True, random_state=0)
    proba = cross_val_predict(TriageClassifier(**SMALL), list(TEXTS), list(LABELS), cv=folds, method="predict_proba")
    assert proba.shape == (len(TEXTS), len(set(LABELS)))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_integer_labels():
    codes = {label: code for code, label in enumerate(sorted(set(LABELS)))}
    clf = TriageClassifier(**SMALL).fit(TEXTS, [codes[label] for label in LABELS])
    assert list(clf.classes_) == sorted(codes.values())
    assert clf.predict(["物业费太贵了"])[0] == codes["property_management"]


def test_term_weights_point_to_the_predicted_class(fitted):
    features = fitted.transform(["派出所补办身份证"])
    class_index = list(fitted.classes_).index("public_security")
    weights = fitted.term_weights(features[0], class_index)
    names = fitted.feature_names()
    assert weights and all(w > 0 for _, w in weights)
    assert "words__派出所" in {names[i] for i, _ in weights}


def test_nb_scaling_folds_its_ratios_into_a_plain_linear_svc():
    from sklearn.svm import LinearSVC

    scaled = TriageClassifier(**SMALL).fit(TEXTS, LABELS)
    plain = TriageClassifier(**SMALL, nb_scaling=False).fit(TEXTS, LABELS)
    assert type(scaled.svm_) is LinearSVC and scaled.svm_.coef_.shape == plain.svm_.coef_.shape
    assert not np.allclose(scaled.svm_.coef_, plain.svm_.coef_)
    assert (scaled.predict(TEXTS) == np.asarray(LABELS)).mean() >= 0.9


def test_estimators_saved_before_nb_scaling_load_as_plain_svms():
    state = TriageClassifier(**SMALL, nb_scaling=False).fit(TEXTS, LABELS).__getstate__()
    del state["nb_scaling"]
    restored = TriageClassifier.__new__(TriageClassifier)
    restored.__setstate__(state)
    assert restored.get_params()["nb_scaling"] is False


def test_parallel_fit_gives_the_serial_model_and_serves_serially(fitted):
    parallel = TriageClassifier(**SMALL, n_jobs=2).fit(TEXTS, LABELS)
    np.testing.assert_allclose(parallel.predict_proba(TEXTS), fitted.predict_proba(TEXTS), atol=1e-6)
    assert parallel.vectorizer_.n_jobs is None  # a saved model never starts worker processes to answer
