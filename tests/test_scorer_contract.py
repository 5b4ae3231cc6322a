"""The scorer serves exactly what the estimator computes: settings it does not implement are refused
at conversion, a scorer that answers otherwise is refused at save, and it takes raw text."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

import triage
from tests.conftest import LABELS, TEXTS
from triage import TriageClassifier, TriageModel
from triage.exceptions import ScorerMismatchError, UnservableEstimatorError
from triage.scorer_contract import (
    AGREEMENT_TOLERANCE,
    PROBE_TEXTS,
    _expected_proba,
    check_agreement,
    check_servable,
    probe_texts,
)
from triage.scoring import MAX_NGRAM, LinearScorer
from triage.text import prepare

# Invented messages holding phone numbers, so the masked form ("[PHONE]") is part of the vocabulary.
PHONE_DOCS = (
    "物业电话13900001111一直打不通，楼道灯坏了",
    "物业值班电话13700002222没人接，车库漏水",
    "派出所电话13600003333占线，身份证补办问不到",
)
CORPUS = TEXTS + PHONE_DOCS
CORPUS_LABELS = (*LABELS, "property_management", "property_management", "public_security")


@pytest.fixture(scope="module")
def fitted() -> TriageClassifier:
    return TriageClassifier(min_df=1, calibration_folds=3).fit(CORPUS, CORPUS_LABELS)


def _vectorizer(estimator: TriageClassifier, name: str):
    return dict(estimator.vectorizer_.transformer_list)[name]


@pytest.mark.parametrize(
    "name, setting, value, message",
    [
        ("words", "norm", "l1", "vectorizer 'words' has norm='l1'.*implements only norm='l2'"),
        ("chars", "norm", None, "vectorizer 'chars' has norm=None.*norm='l2'"),
        ("words", "use_idf", False, "use_idf=False.*use_idf=True"),
        ("chars", "lowercase", True, "lowercase=True.*lowercase=False"),
        ("words", "binary", True, "binary=True.*binary=False"),
        ("chars", "strip_accents", "unicode", "strip_accents='unicode'.*strip_accents=None"),
        ("chars", "analyzer", "char_wb", "analyzer='char_wb'.*analyzer='char'"),
        ("words", "analyzer", "char", "analyzer='char'.*analyzer='word'"),
        ("words", "tokenizer", str.split, "tokenizer=str.split.*tokenizer=segment"),
        ("words", "stop_words", ["的"], "stop_words=\\['的'\\].*stop_words=None"),
        ("chars", "preprocessor", str.strip, "preprocessor=str.strip.*preprocessor=None"),
        ("chars", "dtype", np.float64, "dtype=float64.*dtype=float32"),
        ("words", "input", "filename", "input='filename'.*input='content'"),
        ("chars", "sublinear_tf", False, "sublinear_tf=True \\(words\\) and False \\(chars\\)"),
        ("words", "ngram_range", (1, 40), "'words' has ngram_range=\\(1, 40\\).*n-grams of 1 to 32 units"),
    ],
)
def test_a_vectorizer_setting_the_scorer_does_not_implement_is_refused(fitted, name, setting, value, message):
    changed = copy.deepcopy(fitted)
    _vectorizer(changed, name).set_params(**{setting: value})
    with pytest.raises(UnservableEstimatorError, match=message):
        LinearScorer.from_estimator(changed)


def _bare_vectorizer(estimator: TriageClassifier) -> None:
    estimator.vectorizer_ = _vectorizer(estimator, "words")


def _weighted(estimator: TriageClassifier) -> None:
    estimator.vectorizer_.transformer_weights = {"words": 2.0, "chars": 1.0}


def _chars_first(estimator: TriageClassifier) -> None:
    estimator.vectorizer_.transformer_list.reverse()


def _counts(estimator: TriageClassifier) -> None:
    estimator.vectorizer_.transformer_list[0] = ("words", CountVectorizer())


def _idf_for_other_terms(estimator: TriageClassifier) -> None:
    vocabulary = _vectorizer(estimator, "words").vocabulary_
    del vocabulary[next(iter(vocabulary))]


def _logistic(estimator: TriageClassifier) -> None:
    estimator.svm_ = LogisticRegression()


def _fewer_weights(estimator: TriageClassifier) -> None:
    estimator.svm_.coef_ = estimator.svm_.coef_[:, :-1]


@pytest.mark.parametrize(
    "change, message",
    [
        (_bare_vectorizer, "the estimator has vectorizer_=TfidfVectorizer, but .* only vectorizer_=FeatureUnion;"),
        (
            _weighted,
            "the FeatureUnion has transformer_weights=\\{'words': 2.0, 'chars': 1.0\\}, but .*transformer_weights=None",
        ),
        (_chars_first, "the FeatureUnion has transformer names=\\['chars', 'words'\\], but .*\\['words', 'chars'\\]"),
        (_counts, "'words' has type=CountVectorizer.*type=TfidfVectorizer"),
        (_idf_for_other_terms, "^vectorizer 'words' has (\\d+) IDF weights for (?!\\1 )\\d+ terms$"),
        (_logistic, "the estimator has svm_=LogisticRegression, but .* only svm_=LinearSVC;"),
        (
            _fewer_weights,
            r"the SVM's weights have shape \(3, \d+\) and intercept \(3,\), "
            r"expected \(3, \d+\) and \(3,\) for 3 classes",
        ),
    ],
)
def test_a_union_or_svm_the_scorer_does_not_implement_is_refused(fitted, change, message):
    changed = copy.deepcopy(fitted)
    change(changed)
    with pytest.raises(UnservableEstimatorError, match=message):
        LinearScorer.from_estimator(changed)


def test_only_fitted_triage_classifiers_convert():
    with pytest.raises(UnservableEstimatorError, match="converts a TriageClassifier, not LinearSVC"):
        LinearScorer.from_estimator(LinearSVC())
    with pytest.raises(
        UnservableEstimatorError, match=r"not fitted \(no vectorizer_, svm_, classes_, temperature_\); call fit first"
    ):
        LinearScorer.from_estimator(TriageClassifier())


class _FitOnlySettings(TriageClassifier):
    """Settings that shape only fitting: the scorer copies their outcome (vocabulary, IDF weights)."""

    def _make_vectorizer(self, n_documents):
        union = super()._make_vectorizer(n_documents)
        union.set_params(words__smooth_idf=False, chars__max_df=0.5, words__token_pattern=r"\w+")
        return union


def test_settings_that_only_shape_fitting_are_served():
    with pytest.warns(UserWarning, match="token_pattern"):  # scikit-learn: unused beside a tokenizer
        fitted = _FitOnlySettings(min_df=1, calibration_folds=3).fit(TEXTS, LABELS)
    probes = [*TEXTS[::4], *PROBE_TEXTS]
    np.testing.assert_allclose(
        LinearScorer.from_estimator(fitted).predict_proba(probes), fitted.predict_proba(probes), atol=1e-5
    )


def test_raw_text_scores_as_its_prepared_form_and_as_the_estimator(fitted):
    scorer = LinearScorer.from_estimator(fitted)
    raw = "电话１３８１２３４５６７８"  # full-width digits: normalised, then masked
    prepared = prepare(raw).text
    assert "[PHONE]" in prepared and "138" not in prepared
    expected = fitted.predict_proba([raw])
    np.testing.assert_allclose(scorer.predict_proba([raw]), expected, atol=1e-5)
    np.testing.assert_array_equal(scorer.predict_proba([raw]), scorer.predict_proba([prepared]))
    # what a caller who skips prepare would get: the digits, not the placeholder, as features
    skipped = scorer.proba(scorer.transform_prepared([raw]))
    assert np.abs(skipped - expected).max() > 0.05


def test_raw_entry_refuses_what_the_estimator_refuses(fitted):
    scorer = LinearScorer.from_estimator(fitted)
    with pytest.raises(ValueError, match="Iterable over raw text documents expected"):
        scorer.predict_proba("物业费太贵")
    with pytest.raises(TypeError, match="document 1 is NoneType"):
        scorer.predict_proba(["物业费太贵", None])


def test_probes_hold_the_invented_texts_and_each_class_strongest_term(fitted):
    probes = probe_texts(fitted)
    names = [name.split("__", 1)[1] for name in fitted.feature_names()]
    strongest = {names[column] for column in fitted.svm_.coef_.argmax(axis=1)}
    assert probes[: len(PROBE_TEXTS)] == list(PROBE_TEXTS)
    assert strongest <= set(probes[len(PROBE_TEXTS) :])
    assert len(probes) > len(PROBE_TEXTS) + 100  # and a spread of the vocabulary


def test_a_vocabulary_of_at_most_the_spread_is_probed_whole_in_column_order():
    """Up to 128 features, the evenly spaced columns are every column, first and last included."""
    small = TriageClassifier(min_df=1, calibration_folds=3, max_features=30).fit(CORPUS, CORPUS_LABELS)
    terms = [name.split("__", 1)[1] for name in small.feature_names()]
    assert len(terms) == 60
    assert probe_texts(small) == [*PROBE_TEXTS, *terms]


def test_scikit_learns_float64_svm_weights_are_served_as_float32(fitted):
    """An SVM whose weights were not narrowed after fitting (scikit-learn leaves them float64)."""
    wide = copy.deepcopy(fitted)
    wide.svm_.coef_ = wide.svm_.coef_.astype(np.float64)
    scorer = LinearScorer.from_estimator(wide)
    assert scorer.weights.dtype == np.float32
    check_agreement(scorer, wide)


def test_an_untouched_compact_scorer_is_saved(fitted, tmp_path):
    LinearScorer.from_estimator(fitted).save(tmp_path / "scorer.npz", estimator=fitted)
    assert LinearScorer.load(tmp_path / "scorer.npz").classes.tolist() == fitted.classes_.tolist()


@pytest.mark.parametrize(
    "params",
    [
        {"word_ngram_range": (1, 3), "char_ngram_range": (2, 4)},
        {"sublinear_tf": False, "max_features": 40},
        {"nb_scaling": False},
        {"word_ngram_range": (2, 2), "char_ngram_range": (1, MAX_NGRAM)},
    ],
)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_an_honest_scorer_agrees_whatever_the_settings(params, n_classes):
    """Compact or not, a scorer converted from its estimator passes; the check models the int8
    weights exactly, so what it tolerates is float rounding."""
    size = 10 * n_classes
    fitted = TriageClassifier(min_df=1, calibration_folds=3, **params).fit(TEXTS[:size], LABELS[:size])
    scorer = LinearScorer.from_estimator(fitted)
    for candidate in (scorer, scorer.compacted()):
        check_agreement(candidate, fitted)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.text(alphabet="".join(sorted(set("".join(CORPUS)))) + "0123456789abc ，。[]", max_size=80),
        min_size=1,
        max_size=8,
    )
)
def test_the_modelled_compact_answers_are_the_compact_scorer_answers(fitted, texts):
    """What the check expects of a compact scorer (the estimator's features, weights quantised,
    weightless features left out and norms taken again) is what it answers, for any text, far
    within the tolerance (measured: below 2e-7 on 2,000 random texts per setting)."""
    expected = _expected_proba(fitted, check_servable(fitted), texts, compact=True)
    np.testing.assert_allclose(
        LinearScorer.from_estimator(fitted).compacted().predict_proba(texts), expected, atol=AGREEMENT_TOLERANCE / 100
    )


def _swap_two_classes(scorer: LinearScorer, fitted: TriageClassifier) -> None:
    scorer.weights[[0, 1]] = scorer.weights[[1, 0]]


def _negate_the_strongest_term(scorer: LinearScorer, fitted: TriageClassifier) -> None:
    """One weight of one feature: the term pushing the first class hardest now pushes it away."""
    kind, term = fitted.feature_names()[fitted.svm_.coef_[0].argmax()].split("__", 1)
    block = range(scorer.n_word_features) if kind == "words" else range(scorer.n_word_features, len(scorer.idf))
    column = next(i for i in block if scorer.term(i) == term)
    scorer.weights[0, column] *= -1


def _shift_an_intercept(scorer: LinearScorer, fitted: TriageClassifier) -> None:
    scorer.intercept[2] += 3.0


@pytest.mark.parametrize("tamper", [_swap_two_classes, _negate_the_strongest_term, _shift_an_intercept])
def test_a_scorer_changed_after_conversion_is_refused_at_save(fitted, tamper, tmp_path):
    scorer = LinearScorer.from_estimator(fitted).compacted()
    tamper(scorer, fitted)
    with pytest.raises(ScorerMismatchError, match=f"disagrees with its estimator.*tolerance {AGREEMENT_TOLERANCE}"):
        scorer.save(tmp_path / "scorer.npz", estimator=fitted)
    assert not (tmp_path / "scorer.npz").exists()


def test_the_refusal_counts_the_probes_apart_and_names_the_worst(fitted):
    """One weight of one term changed: only the probes holding the term disagree, the term itself most."""
    scorer = LinearScorer.from_estimator(fitted).compacted()
    _negate_the_strongest_term(scorer, fitted)
    term = fitted.feature_names()[fitted.svm_.coef_[0].argmax()].split("__", 1)[1]
    n_probes = len(probe_texts(fitted))
    with pytest.raises(ScorerMismatchError) as refused:
        check_agreement(scorer, fitted)
    apart, of = re.search(r"disagrees with its estimator on (\d+) of (\d+) probe texts", str(refused.value)).groups()
    assert int(of) == n_probes and 0 < int(apart) < n_probes
    assert f"most on {term!r}: the estimator gives {fitted.classes_[0]} " in str(refused.value)
    assert str(refused.value).endswith("convert it again with LinearScorer.from_estimator")


def test_a_model_whose_scorer_changed_is_not_saved(small_model, tmp_path):
    model = TriageModel.from_estimator(small_model.estimator, small_model.manifest)
    model.scorer.weights[[0, 1]] = model.scorer.weights[[1, 0]]
    for include_estimator in (False, True):
        with pytest.raises(ScorerMismatchError, match="disagrees with its estimator"):
            model.save(tmp_path / "model", include_estimator=include_estimator)
        assert not (tmp_path / "model").exists()


def test_a_model_whose_sub_scorer_changed_is_not_saved(sub_model, tmp_path):
    model = TriageModel.from_estimator(sub_model.estimator, sub_model.manifest, sub_estimator=sub_model.sub_estimator)
    model.sub_scorer.intercept[0] += 5.0
    with pytest.raises(ScorerMismatchError, match="disagrees with its estimator"):
        model.save(tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_a_scorer_with_other_classes_is_refused_at_save(fitted, tmp_path):
    other = copy.deepcopy(fitted)
    other.classes_ = np.array(["a", "b", "c"], dtype=object)
    expected = re.escape(f"the scorer's classes {fitted.classes_.tolist()} are not the estimator's ['a', 'b', 'c']")
    with pytest.raises(ScorerMismatchError, match=expected):
        LinearScorer.from_estimator(fitted).save(tmp_path / "scorer.npz", estimator=other)


def test_every_serving_path_prepares_raw_text(fitted):
    """classify, predict_proba and predict answer a raw message as the scorer's raw entry does, which
    a caller skipping prepare would not: the full-width phone number must become the placeholder."""
    model = TriageModel.from_estimator(fitted, {"labels": [{"code": str(c)} for c in fitted.classes_]})
    raw = "电话１３８１２３４５６７８"
    expected = model.scorer.predict_proba([raw])
    skipped = model.scorer.proba(model.scorer.transform_prepared([raw]))
    assert np.abs(skipped - expected).max() > 0.05
    np.testing.assert_array_equal(model.predict_proba([raw]), expected)
    candidates = dict(model.classify(raw, top_k=len(model.classes_)).candidates)
    np.testing.assert_allclose([candidates[c] for c in model.classes_], expected[0], rtol=1e-12)
    assert model.predict([raw])[0] == model.classes_[int(expected.argmax())]


def test_a_loaded_model_whose_scorer_changed_is_not_saved_with_its_estimator(saved_model_dir, tmp_path):
    """The estimator is read from model.skops for the save, and the scorer answering now is checked against it."""
    model = triage.load(saved_model_dir)
    with pytest.raises(ValueError, match="read-only"):  # a loaded scorer's arrays cannot be edited in place
        model.scorer.intercept[0] += 5.0
    changed = model.scorer.intercept.copy()
    changed[0] += 5.0
    model.scorer.intercept = changed
    with pytest.raises(ScorerMismatchError, match="disagrees with its estimator"):
        model.save(tmp_path / "model", include_estimator=True)
    assert not (tmp_path / "model").exists()
