"""The numpy scorer gives the estimator's probabilities, for any text and any fitted settings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import LABELS, TEXTS
from triage import TriageClassifier
from triage.scoring import LinearScorer
from triage.scoring.tables import _build_table, _look_up
from triage.text import prepare

# Characters of the invented corpus plus digits, Latin, punctuation, placeholders' brackets
# and a traditional form: n-grams the vocabulary knows and many it does not.
ALPHABET = "".join(sorted(set("".join(TEXTS)))) + "0123456789abcXYZ ，。！？[]()-_物業費"
texts_strategy = st.lists(st.text(alphabet=ALPHABET, max_size=80), min_size=1, max_size=12)


@pytest.fixture(scope="module")
def fitted() -> TriageClassifier:
    return TriageClassifier(min_df=1, calibration_folds=3).fit(TEXTS, LABELS)


@pytest.fixture(scope="module")
def scorer(fitted) -> LinearScorer:
    return LinearScorer.from_estimator(fitted)


def test_training_texts_score_as_in_scikit_learn(fitted, scorer):
    np.testing.assert_allclose(scorer.predict_proba(list(TEXTS)), fitted.predict_proba(TEXTS), atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(texts_strategy)
def test_any_text_scores_as_in_scikit_learn(fitted, scorer, texts):
    np.testing.assert_allclose(scorer.predict_proba(texts), fitted.predict_proba(texts), atol=1e-5)


@pytest.mark.parametrize(
    "params",
    [
        {"word_ngram_range": (1, 3), "char_ngram_range": (2, 4)},
        {"word_ngram_range": (2, 2), "char_ngram_range": (1, 1), "sublinear_tf": False},
        {"max_features": 40},
        {"nb_scaling": False},
    ],
)
def test_other_settings_score_as_in_scikit_learn(params):
    fitted = TriageClassifier(min_df=1, calibration_folds=3, **params).fit(TEXTS, LABELS)
    probes = [*TEXTS[::3], "物业乱收费", "", "abc", "派出所 派出所 派出所"]
    np.testing.assert_allclose(
        LinearScorer.from_estimator(fitted).predict_proba(probes), fitted.predict_proba(probes), atol=1e-5
    )


def test_two_classes_score_as_in_scikit_learn():
    texts, labels = TEXTS[:20], LABELS[:20]
    fitted = TriageClassifier(min_df=1, calibration_folds=3).fit(texts, labels)
    np.testing.assert_allclose(
        LinearScorer.from_estimator(fitted).predict_proba(list(TEXTS)), fitted.predict_proba(TEXTS), atol=1e-5
    )


def test_save_and_load_round_trip(scorer, tmp_path):
    """What is saved is the compact form; it comes back exactly."""
    scorer.save(tmp_path / "scorer.npz")
    loaded = LinearScorer.load(tmp_path / "scorer.npz")
    compact = scorer.compacted()
    probes = list(TEXTS)
    np.testing.assert_array_equal(loaded.predict_proba(probes), compact.predict_proba(probes))
    assert [loaded.term(i) for i in range(len(loaded.idf))] == [compact.term(i) for i in range(len(compact.idf))]
    np.testing.assert_array_equal(loaded.weight_scales, compact.weight_scales)
    assert loaded.compacted() is loaded


def test_compact_form_keeps_the_terms_that_carry_weight(fitted, scorer):
    compact = scorer.compacted()
    carrying = np.rint(scorer.weights / compact.weight_scales[:, None]).any(axis=0)

    def feature(model: LinearScorer, column: int) -> tuple[bool, str]:  # a word and a character n-gram may be equal
        return column < model.n_word_features, model.term(column)

    assert sorted(feature(compact, i) for i in range(len(compact.idf))) == sorted(
        feature(scorer, i) for i in np.flatnonzero(carrying)
    )
    assert 0 < len(compact.idf) < len(scorer.idf)
    # int8 levels: each weight within half a step of its class's scale
    column_of = {feature(scorer, i): i for i in np.flatnonzero(carrying)}
    original = scorer.weights[:, [column_of[feature(compact, i)] for i in range(len(compact.idf))]]
    assert (np.abs(compact.weights - original) <= compact.weight_scales[:, None] / 2 + 1e-7).all()


@given(texts_strategy)
@settings(max_examples=40, deadline=None)
def test_compact_form_scores_close_to_the_estimator(fitted, scorer, texts):
    """int8 weights of this tiny model move probabilities by up to 0.06 (worst of 1,500 random
    batches); 0.05 on the default model's 2,000 real messages, top department unchanged."""
    compact = scorer.compacted()
    np.testing.assert_allclose(compact.predict_proba(texts), fitted.predict_proba(texts), atol=0.1)


def test_unreadable_file_is_a_value_error(tmp_path):
    (tmp_path / "scorer.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable scorer file"):
        LinearScorer.load(tmp_path / "scorer.npz")


def test_terms_name_the_estimator_features(fitted, scorer):
    names = [name.split("__", 1)[1] for name in fitted.feature_names()]
    assert [scorer.term(i) for i in range(len(names))] == names


def test_contributions_are_the_estimator_term_weights(fitted, scorer):
    text = prepare(TEXTS[0]).text
    class_index = int(np.argmax(fitted.predict_proba([text])[0]))
    names = fitted.feature_names()
    expected = [
        (names[i].split("__", 1)[0], names[i].split("__", 1)[1], w)
        for i, w in fitted.term_weights(fitted.transform([text])[0], class_index)
    ]
    columns, weights = scorer.contributions(scorer.transform_prepared([text]), 0, class_index)
    got = [("words" if c < scorer.n_word_features else "chars", scorer.term(c)) for c in columns]
    assert got == [(kind, term) for kind, term, _ in expected]
    np.testing.assert_allclose(weights, [w for *_, w in expected], rtol=1e-4)


def test_empty_batch():
    fitted = TriageClassifier(min_df=1, calibration_folds=3).fit(TEXTS, LABELS)
    assert LinearScorer.from_estimator(fitted).predict_proba([]).shape == (0, 3)


@given(st.sets(st.integers(min_value=1, max_value=2**64 - 1), max_size=300), st.lists(st.integers(1, 2**64 - 1)))
def test_table_finds_every_key_and_nothing_else(stored, probes):
    keys = np.array(sorted(stored), dtype=np.uint64)
    table = _build_table(keys, np.arange(len(keys)))
    found = _look_up(*table, keys)
    np.testing.assert_array_equal(found, np.arange(len(keys)))
    absent = np.array([p for p in probes if p not in stored], dtype=np.uint64)
    assert (_look_up(*table, absent) == -1).all()


def test_a_table_without_a_free_slot_is_refused(scorer, tmp_path):
    scorer.save(tmp_path / "scorer.npz")
    arrays = dict(np.load(tmp_path / "scorer.npz"))
    arrays["char_filled"] = np.full_like(arrays["char_filled"], 0xFF)  # full: lookups never stop
    n_slots = 8 * len(arrays["char_filled"])
    arrays["char_displacements"] = np.zeros(n_slots, dtype=np.uint8)
    arrays["char_key_bytes"] = np.ones((8, n_slots), dtype=np.uint8)
    np.savez(tmp_path / "scorer.npz", **arrays)
    with pytest.raises(ValueError, match="n-gram table is malformed"):
        LinearScorer.load(tmp_path / "scorer.npz")
