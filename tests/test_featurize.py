"""The compiled featuriser (``triage._featurize``) gives the numpy path's features and scores.

``tests/test_scoring.py`` checks the scorer that runs (compiled where built) against scikit-learn;
this module checks the two implementations against each other: the same rows and columns, values
equal up to float32 rounding (the two use different ``log`` routines), and refusals of bad input
rather than crashes or hangs.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import triage
from tests.conftest import LABELS, TEXTS, default_model_probabilities_without
from triage import TriageClassifier
from triage.scoring import LinearScorer
from triage.scoring.scorer import _WHITE_SPACES
from triage.segmentation import segment
from triage.text import prepare

_featurize = pytest.importorskip("triage._featurize", reason="the compiled featuriser was not built (no C compiler)")

ALPHABET = "".join(sorted(set("".join(TEXTS)))) + "0123456789abcXYZ ，。！？[]()-_物業費\u3000\U00020000"
texts_strategy = st.lists(st.text(alphabet=ALPHABET, max_size=120), min_size=1, max_size=12)


@pytest.fixture(
    scope="module",
    params=[
        ({}, False),
        ({"word_ngram_range": (1, 3), "char_ngram_range": (2, 4)}, False),
        ({"sublinear_tf": False}, False),
        ({}, True),  # compacted, as saved and loaded: its columns run in slot order (read through directories)
    ],
    ids=["default", "wider-ngrams", "linear-tf", "compacted"],
)
def scorer(request) -> LinearScorer:
    settings, compact = request.param
    fitted = LinearScorer.from_estimator(TriageClassifier(min_df=1, calibration_folds=3, **settings).fit(TEXTS, LABELS))
    return fitted.compacted() if compact else fitted


def _inputs(texts: list[str]) -> tuple[list[str], list[list[str]]]:
    prepared = [prepare(text).text for text in texts]
    return [_WHITE_SPACES.sub(" ", text) for text in prepared], [segment(text) for text in prepared]


def _assert_same_features(scorer: LinearScorer, texts: list[str]) -> None:
    chars, tokens = _inputs(texts)
    compiled = scorer._features_compiled(chars, tokens)
    expected = scorer._features_numpy(chars, tokens)
    np.testing.assert_array_equal(compiled[0], expected[0])  # offsets
    np.testing.assert_array_equal(compiled[1], expected[1])  # columns, ascending within each row
    np.testing.assert_allclose(compiled[2], expected[2], rtol=1e-6)


@settings(max_examples=80, deadline=None)
@given(texts=texts_strategy)
def test_any_text_gets_the_numpy_features(scorer, texts):
    _assert_same_features(scorer, texts)


def test_training_texts_and_edge_cases_get_the_numpy_features(scorer):
    _assert_same_features(scorer, [*TEXTS, "", " ", "派出所 派出所 派出所", "物" * 5000])


# Every character str.isspace() and regex \s call whitespace, a few that are not (U+200B, U+FEFF), and text.
WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace()) + "\u200b\ufeff物业ab"


@pytest.fixture(scope="module")
def spaced_scorer() -> LinearScorer:
    """A scorer whose character n-grams hold spaces (物 业, 业 ): trained on texts spelled out with them."""
    texts = [" ".join(text) for text in TEXTS]
    return LinearScorer.from_estimator(TriageClassifier(min_df=1, calibration_folds=3).fit(texts, LABELS))


@settings(max_examples=80, deadline=None)
@given(texts=st.lists(st.text(alphabet=WHITESPACE, max_size=40), min_size=1, max_size=8))
def test_whitespace_runs_are_read_as_the_numpy_path_collapses_them(spaced_scorer, texts):
    """The compiled featuriser collapses runs of whitespace as it reads unprepared text, as
    ``_WHITE_SPACES.sub(" ", text)`` does before the numpy path (a single whitespace stays as it is)."""
    tokens = [segment(text) for text in texts]
    compiled = spaced_scorer._features_compiled(texts, tokens)
    expected = spaced_scorer._features_numpy(texts, tokens)
    assert compiled[0].tolist() == expected[0].tolist()
    assert compiled[1].tolist() == expected[1].tolist()
    np.testing.assert_allclose(compiled[2], expected[2], rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(texts=texts_strategy)
def test_compiled_scores_are_the_numpy_scores(scorer, texts):
    rows = scorer.transform_prepared([prepare(text).text for text in texts])
    compiled = scorer.logits(rows)
    numpy_only = patch("triage.scoring.scorer._featurize", None)  # where logits looks it up
    with numpy_only, patch.object(_featurize, "linear_scores", side_effect=AssertionError("the compiled scorer ran")):
        expected = scorer.logits(rows)
    np.testing.assert_allclose(compiled, expected, rtol=1e-5, atol=1e-6)


def test_threads_share_one_scorer(scorer):
    """The featuriser releases the GIL while it counts; concurrent calls must not see each other."""
    texts = [prepare(text).text for text in TEXTS] * 20
    expected = scorer.predict_proba(texts)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: scorer.predict_proba(texts), range(8)))
    for result in results:
        np.testing.assert_array_equal(result, expected)


def test_a_table_pointing_past_the_vocabulary_is_an_error_not_a_crash(scorer):
    chars, tokens = _inputs(["物业乱收停车费"])
    keys, columns = scorer._char_table
    broken = np.where(columns >= 0, len(scorer.idf) + 7, columns).astype(np.int32)
    arguments = [*scorer._word_table, keys, broken, scorer.idf, scorer.n_word_features]
    with pytest.raises(ValueError, match="outside the vocabulary"):
        _featurize.tfidf_rows(chars, tokens, *arguments, *scorer.word_ngram_range, *scorer.char_ngram_range, True)


def test_rows_pointing_past_the_weights_are_an_error_not_a_crash(scorer):
    offsets = np.array([0, 1], dtype=np.int64)
    columns = np.array([len(scorer.idf)], dtype=np.int64)
    values = np.ones(1, dtype=np.float32)
    with pytest.raises(ValueError, match="outside the"):
        _featurize.linear_scores(offsets, columns, values, scorer._term_weights, scorer.intercept)


def test_non_string_tokens_are_a_type_error(scorer):
    arguments = [*scorer._word_table, *scorer._char_table, scorer.idf, scorer.n_word_features]
    with pytest.raises(TypeError, match="token of text 0"):
        _featurize.tfidf_rows(["物业"], [[b"bytes"]], *arguments, 1, 2, 1, 3, True)


def test_an_install_without_the_extension_classifies_the_same():
    """The shipped default model served as an install without a C compiler would: same answers."""
    probes = [*TEXTS[:30], "", "物业费 ２０％ 涨价!!", "路灯坏了\n\n晚上很黑"]
    check = (
        "assert triage.scoring.FEATURIZER == 'numpy'\n"
        "assert triage.segmentation._content_tokens is triage.segmentation._content_tokens_python"
    )
    answers = default_model_probabilities_without("triage._featurize", check, probes)
    expected = triage.load().predict_proba(probes)
    np.testing.assert_allclose(np.array(answers), expected, rtol=1e-5, atol=1e-7)


def test_ngram_ranges_longer_than_any_text_cost_nothing(scorer):
    """Only n-grams a text can hold are counted: a huge range returns at once, as in numpy."""
    chars, tokens = _inputs(["物业乱收停车费"])
    arguments = [*scorer._word_table, *scorer._char_table, scorer.idf, scorer.n_word_features]
    offsets, _, _ = _featurize.tfidf_rows(chars, tokens, *arguments, 1, 2**40, 1, 2**40, True)
    assert np.frombuffer(offsets, dtype=np.int64)[-1] > 0


@pytest.mark.parametrize(
    "change, message",
    [
        ({"char_ngram_range": (1, 2**40)}, "character n-gram range"),
        ({"word_ngram_range": (2, 1)}, "word n-gram range"),
        ({"temperature": float("nan")}, "temperature"),
        ({"temperature": 0.0}, "temperature"),
    ],
)
def test_a_scorer_refuses_settings_it_cannot_serve(scorer, change, message, tmp_path):
    scorer.save(tmp_path / "scorer.npz")
    with np.load(tmp_path / "scorer.npz") as archive:
        arrays = dict(archive)
    word_low, word_high, char_low, char_high, sublinear, temperature = arrays["settings"].tolist()
    settings = {
        "word_ngram_range": (word_low, word_high),
        "char_ngram_range": (char_low, char_high),
        "temperature": temperature,
        **change,
    }
    arrays["settings"] = np.array(
        [*settings["word_ngram_range"], *settings["char_ngram_range"], sublinear, settings["temperature"]]
    )
    np.savez(tmp_path / "edited.npz", **arrays)
    with pytest.raises(ValueError, match=message):
        LinearScorer.load(tmp_path / "edited.npz")


def test_a_table_without_a_free_slot_ends_its_probes(scorer):
    """Refused by LinearScorer; called directly, the lookup still stops after one lap of the table."""
    chars, tokens = _inputs(["物业乱收停车费"])
    full_keys = np.arange(1, 17, dtype=np.uint64)
    full_columns = np.full(16, -1, dtype=np.int32)
    arguments = [full_keys, full_columns, full_keys, full_columns, scorer.idf, scorer.n_word_features]
    offsets, columns, _ = _featurize.tfidf_rows(chars, tokens, *arguments, 1, 2, 1, 3, True)
    assert np.frombuffer(offsets, dtype=np.int64).tolist() == [0, 0] and columns == b""


def test_a_token_filter_survives_tokens_whose_comparison_changes_the_list():
    tokens: list[str] = []

    class Meddling(str):
        def __hash__(self) -> int:
            tokens.clear()  # drops the list's references while the filter is looking at this token
            return str.__hash__(self)

        __eq__ = str.__eq__

    tokens.extend([Meddling("物业" * 50), "停车费"])
    assert _featurize.content_tokens(tokens, frozenset({"的"})) == ["物业" * 50]


def test_single_characters_are_read_from_their_own_array(scorer):
    """A scorer reading single characters passes their columns by code point; the featuriser reads
    them there (a blind array loses them) and refuses one pointing past the vocabulary."""
    if scorer.char_ngram_range[0] != 1:
        assert not len(scorer._char_unigrams)
        return
    chars, tokens = _inputs([*TEXTS[:5], "物业\U00020000费"])
    arguments = [*scorer._word_table, *scorer._char_table, scorer.idf, scorer.n_word_features]
    ranges = [*scorer.word_ngram_range, *scorer.char_ngram_range, scorer.sublinear_tf]
    probed = _featurize.tfidf_rows(chars, tokens, *arguments, *ranges)
    assert _featurize.tfidf_rows(chars, tokens, *arguments, *ranges, scorer._char_unigrams) == probed
    blind = np.full_like(scorer._char_unigrams, -1)
    assert _featurize.tfidf_rows(chars, tokens, *arguments, *ranges, blind) != probed
    broken = np.full_like(scorer._char_unigrams, len(scorer.idf))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        _featurize.tfidf_rows(chars, tokens, *arguments, *ranges, broken)


def test_key_filters_skip_only_keys_their_table_lacks(scorer):
    """Each table's key filter has the bit of every key the table holds, so reading through it gives the
    features of probing every n-gram; a filter of clear bits drops the probed n-grams (it is read), and
    one whose size is not a power of two is refused."""
    for (keys, _), key_filter in zip(scorer._compiled_tables, scorer._key_filters, strict=True):
        assert key_filter.dtype == np.uint8 and key_filter.nbytes * 4 == len(keys)  # 2 bits per slot
        bits = (keys[keys != 0] & np.uint64(key_filter.nbytes * 8 - 1)).astype(np.intp)
        assert ((key_filter[bits // 8] >> (bits % 8)) & 1).all()
    chars, tokens = _inputs([*TEXTS[:8], "物业乱收停车费，小区电梯坏了"])
    arguments = scorer._featurizer_arguments()
    without_filters = arguments[:-2]
    filtered = _featurize.tfidf_rows(chars, tokens, *arguments)
    assert filtered == _featurize.tfidf_rows(chars, tokens, *without_filters)
    clear = np.zeros_like(scorer._key_filters[1])
    assert _featurize.tfidf_rows(chars, tokens, *without_filters, scorer._key_filters[0], clear) != filtered
    with pytest.raises(ValueError, match="key filter is malformed"):
        _featurize.tfidf_rows(chars, tokens, *without_filters, np.zeros(3, dtype=np.uint8), clear)


def test_a_compact_scorer_scores_from_int8_levels_as_from_its_float32_weights():
    """The compiled scorer reads a compact scorer's int8 levels until its float32 weights are asked
    for (and perhaps edited through :attr:`LinearScorer.weights`); both give the same scores."""
    scorer = LinearScorer.load(triage.model.default_model_path() / "scorer.npz")
    rows = scorer.transform_prepared([prepare(text).text for text in TEXTS])
    from_levels = scorer.logits(rows)
    assert scorer._term_levels is not None and "_term_weights" not in scorer.__dict__
    assert scorer.weights.dtype == np.float32  # made from the levels now, and read from now on
    np.testing.assert_array_equal(scorer.logits(rows), from_levels)
    scorer.weights[0] += 1.0
    assert (scorer.logits(rows)[:, 0] > from_levels[:, 0]).all()


@pytest.fixture(scope="module")
def fitted_and_compact() -> tuple[LinearScorer, LinearScorer]:
    fitted = LinearScorer.from_estimator(TriageClassifier(min_df=1, calibration_folds=3).fit(TEXTS, LABELS))
    return fitted, fitted.compacted()


def _settings(scorer: LinearScorer) -> list:
    return [scorer.idf, scorer.n_word_features, *scorer.word_ngram_range, *scorer.char_ngram_range, True]


def test_tables_in_slot_order_are_read_through_a_directory_with_the_same_features(fitted_and_compact):
    fitted, compact = fitted_and_compact
    assert [columns.dtype for _, columns in fitted._compiled_tables] == [np.int32, np.int32]  # not in slot order
    tables = (compact._word_table, compact._char_table)
    for (keys, directory), (_, columns) in zip(compact._compiled_tables, tables, strict=True):
        assert directory.dtype == np.uint64 and directory.shape == (len(keys) // 64, 2)
        assert directory.nbytes * 16 == columns.nbytes  # 16 bytes per 64 slots, against 4 per slot
    chars, tokens = _inputs([*TEXTS, "物业乱收停车费，小区电梯坏了"])
    through_columns = _featurize.tfidf_rows(chars, tokens, *tables[0], *tables[1], *_settings(compact))
    through_directories = [array for table in compact._compiled_tables for array in table]
    assert _featurize.tfidf_rows(chars, tokens, *through_directories, *_settings(compact)) == through_columns


def test_a_directory_pointing_past_the_vocabulary_is_an_error_not_a_crash(fitted_and_compact):
    _, compact = fitted_and_compact
    (word_keys, word_directory), (char_keys, char_directory) = compact._compiled_tables
    broken = char_directory.copy()
    broken[:, 1] += np.uint64(len(compact.idf))
    chars, tokens = _inputs(["物业乱收停车费"])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        _featurize.tfidf_rows(chars, tokens, word_keys, word_directory, char_keys, broken, *_settings(compact))
    with pytest.raises(ValueError, match="neither one per slot nor a directory"):
        _featurize.tfidf_rows(
            chars, tokens, word_keys, word_directory[:-1], char_keys, char_directory, *_settings(compact)
        )
