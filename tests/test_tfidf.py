"""fit_tfidf leaves a TfidfVectorizer exactly as its own fit_transform does; the calibrated SVM fit
scores every row out of fold as cross_val_predict does."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from tests.conftest import LABELS, TEXTS
from triage import TriageClassifier
from triage.estimator import CALIBRATION_TOL, _NaiveBayesScaledSVC, fit_with_out_of_fold_scores
from triage.segmentation import segment
from triage.text import prepared_texts
from triage.tfidf import fit_tfidf, fit_union

# few distinct characters, so terms repeat, tie in frequency and fall to min_df and max_features
DOCUMENTS = st.lists(st.text(alphabet="物业费涨了派出所 学校，A1", max_size=30), min_size=1, max_size=12)
SETTINGS = st.fixed_dictionaries(
    {
        "ngram_range": st.sampled_from([(1, 1), (1, 2), (1, 3), (2, 4)]),
        "min_df": st.sampled_from([1, 2, 3, 0.2]),
        "max_df": st.sampled_from([1.0, 0.9, 5]),
        "max_features": st.sampled_from([None, 1, 5, 20]),
        "sublinear_tf": st.booleans(),
        "binary": st.booleans(),
        "norm": st.sampled_from(["l2", "l1", None]),
        "smooth_idf": st.booleans(),
    }
)


def assert_same_fit(make: TfidfVectorizer, documents: list[str]) -> None:
    """fit_tfidf and scikit-learn's fit_transform agree on everything, or raise the same error."""
    theirs, ours = clone(make), clone(make)
    try:
        expected = theirs.fit_transform(documents)
    except ValueError as error:
        with pytest.raises(ValueError, match=str(error).split(";")[0].split(".")[0]):
            fit_tfidf(ours, documents)
        return
    got = fit_tfidf(ours, documents)
    assert ours.vocabulary_ == theirs.vocabulary_
    np.testing.assert_array_equal(ours.idf_, theirs.idf_)
    assert ours.idf_.dtype == theirs.idf_.dtype
    # bit for bit, entries stored in the same order: the SVM sums them in that order
    assert got.dtype == expected.dtype and got.shape == expected.shape
    for part in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(got, part), getattr(expected, part))
    assert (ours.transform(documents) != theirs.transform(documents)).nnz == 0


@settings(max_examples=150, deadline=None)
@given(documents=DOCUMENTS, params=SETTINGS)
def test_character_ngrams_fit_as_scikit_learn_fits_them(documents, params):
    assert_same_fit(TfidfVectorizer(analyzer="char", lowercase=False, dtype=np.float32, **params), documents)


@settings(max_examples=60, deadline=None)
@given(documents=DOCUMENTS, params=SETTINGS)
def test_segmented_words_fit_as_scikit_learn_fits_them(documents, params):
    vectorizer = TfidfVectorizer(tokenizer=segment, token_pattern=None, lowercase=False, **params)
    assert_same_fit(vectorizer, documents)


def test_the_estimators_vectorizers_fit_as_scikit_learn_fits_them():
    union = TriageClassifier(min_df=1)._make_vectorizer(len(TEXTS))
    texts = prepared_texts(TEXTS)
    for _, vectorizer in union.transformer_list:
        assert_same_fit(vectorizer, texts)


def test_fractional_document_frequencies_are_shares_of_the_documents():
    documents = ["物业费", "物价", "派出所", "物业"]
    vectorizer = TfidfVectorizer(analyzer="char", min_df=0.5, max_df=0.9)
    fit_tfidf(vectorizer, documents)
    assert vectorizer.vocabulary_ == {"业": 0, "物": 1}  # in 2 and 3 of the 4 documents
    assert_same_fit(vectorizer, documents)


def _fitting_process(document: str) -> list[str]:
    """A tokenizer whose one term is the process that analysed the document."""
    return [str(os.getpid())]


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_fit_union_fits_on_n_jobs_processes(n_jobs):
    make = TfidfVectorizer(tokenizer=_fitting_process, token_pattern=None)
    union = FeatureUnion([("one", clone(make)), ("two", clone(make))])
    fit_union(union, ["物业费涨了", "派出所"], n_jobs=n_jobs)
    processes = {term for _, vectorizer in union.transformer_list for term in vectorizer.vocabulary_}
    assert (processes == {str(os.getpid())}) == (n_jobs is None)


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_fit_union_gives_feature_unions_matrix_and_leaves_it_serial(n_jobs):
    texts = prepared_texts(TEXTS)
    union = TriageClassifier(min_df=1)._make_vectorizer(len(texts))
    expected = clone(union).fit_transform(texts)
    got = fit_union(union, texts, n_jobs=n_jobs)
    assert (got != expected).nnz == 0 and union.n_jobs is None
    assert (union.transform(texts) != expected).nnz == 0


@pytest.mark.parametrize(
    ("vectorizer", "message"),
    [
        (
            TfidfVectorizer(vocabulary=["物业"]),
            r"^fit_tfidf learns the vocabulary; a vectorizer with a fixed vocabulary needs no fitting$",
        ),
        (
            TfidfVectorizer(use_idf=False),
            r"^fit_tfidf fits IDF weights; use the vectorizer's own fit_transform with use_idf=False$",
        ),
        (TfidfVectorizer(analyzer="char", ngram_range=(2, 1)), r"ngram_range=\(2, 1\) lower boundary larger"),
        (
            TfidfVectorizer(analyzer="char", min_df=2),
            r"^After pruning, no terms remain\. Try a lower min_df or a higher max_df\.$",
        ),
        (TfidfVectorizer(analyzer="char", min_df=3, max_df=2), r"^max_df corresponds to < documents than min_df$"),
    ],
)
def test_settings_it_cannot_fit_are_refused(vectorizer, message):
    with pytest.raises(ValueError, match=message):
        fit_tfidf(vectorizer, ["物业费涨了", "派出所"])


def test_it_warns_of_unused_parameters_as_scikit_learn_does():
    vectorizer = TfidfVectorizer(tokenizer=segment, token_pattern=r"\w+", lowercase=False)
    with pytest.warns(UserWarning, match="'token_pattern' will not be used"):
        fit_tfidf(vectorizer, ["物业费涨了", "派出所"])


def test_documents_without_terms_are_an_empty_vocabulary():
    with pytest.raises(ValueError, match=r"^empty vocabulary; perhaps the documents only contain stop words$"):
        fit_tfidf(TfidfVectorizer(analyzer="char"), ["", ""])


@pytest.mark.parametrize("n_jobs", [None, 2])
@pytest.mark.parametrize("svm", [_NaiveBayesScaledSVC(C=0.5), LinearSVC(C=0.5, random_state=0)], ids=["nb", "plain"])
def test_out_of_fold_scores_are_cross_val_predicts_and_the_full_fit_is_a_plain_fit(svm, n_jobs):
    features = TfidfVectorizer(analyzer="char").fit_transform(prepared_texts(TEXTS)).astype(np.float64)
    labels = np.asarray(LABELS, dtype=object)
    weights = np.linspace(0.5, 1.5, len(labels))
    fitted, scores = fit_with_out_of_fold_scores(clone(svm), features, labels, 3, n_jobs=n_jobs, sample_weight=weights)
    expected = cross_val_predict(
        clone(svm).set_params(tol=CALIBRATION_TOL),
        features,
        labels,
        cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=0),
        method="decision_function",
        params={"sample_weight": weights},
    )
    np.testing.assert_array_equal(scores, expected)
    plain = clone(svm).fit(features, labels, sample_weight=weights)
    np.testing.assert_array_equal(fitted.coef_, plain.coef_)


def test_the_union_of_a_fitted_classifier_is_plain_scikit_learn():
    fitted = TriageClassifier(min_df=1, calibration_folds=3).fit(TEXTS, LABELS)
    assert type(fitted.vectorizer_) is FeatureUnion
    assert all(type(vectorizer) is TfidfVectorizer for _, vectorizer in fitted.vectorizer_.transformer_list)
