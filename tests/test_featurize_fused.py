"""The fused featuriser (``triage._featurize.tfidf_rows_segmented``) gives the features of the two-step path.

Where both extensions are built, :meth:`LinearScorer.transform_prepared` lets the featuriser cut the
texts with the compiled segmenter and read each token as offsets into its text, instead of taking
:func:`~triage.segmentation.segment`'s lists of str. Any difference would silently change scores, so
every test here asks for the same bytes: offsets, columns and values of both paths.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import triage
from tests.conftest import LABELS, SHARED_DATA, TEXTS, board_texts, default_model_probabilities_without
from tests.test_segment_compiled import mixed_text
from triage import TriageClassifier
from triage.scoring import LinearScorer
from triage.segmentation import compiled_segmenter, segment, segmenter
from triage.text import prepare

_featurize = pytest.importorskip("triage._featurize", reason="the compiled featuriser was not built (no C compiler)")
pytest.importorskip("triage._segment", reason="the compiled segmenter was not built (no C compiler)")
if segmenter() != "compiled":
    pytest.skip("segment() does not run on the compiled segmenter here (TRIAGE_SEGMENTER)", allow_module_level=True)


@pytest.fixture(scope="module", params=["default", "small"])
def scorer(request) -> LinearScorer:
    """The shipped model's scorer (its real tables), and one trained here with other n-gram ranges."""
    if request.param == "default":
        return triage.load().scorer
    fitted = TriageClassifier(min_df=1, calibration_folds=3, word_ngram_range=(1, 3), char_ngram_range=(2, 4))
    return LinearScorer.from_estimator(fitted.fit(TEXTS, LABELS))


def _two_step(scorer: LinearScorer, texts: list[str]) -> tuple[bytes, bytes, bytes]:
    return _featurize.tfidf_rows(texts, [segment(text) for text in texts], *scorer._featurizer_arguments())


def _fused(scorer: LinearScorer, texts: list[str]) -> tuple[bytes, bytes, bytes]:
    return _featurize.tfidf_rows_segmented(compiled_segmenter(), texts, *scorer._featurizer_arguments())


@pytest.mark.parametrize(
    "texts",
    [
        [],
        [""],
        ["路灯坏了，晚上路很黑", "物业电话[PHONE]打不通，车牌[PLATE]", "[[PHONE]][PHON]E[EMAIL][URL]abc"],
        ["QQ号12345678和车架号LSVAU2180N2183294", "版本v2.3.1、c++和C#、AT&T、50%", "ＡＢＣ１２３ ① ² ٣ Ⅻ"],
        ["😀👪物业\u200b费\r\n\r\n\t\u3000上访", "𠀀𪛟䶿鿿豈﫿 𰀀", "物业\ud800费", "派出所 " * 400],
    ],
)
def test_hand_written_texts_get_the_same_features(scorer, texts):
    assert _fused(scorer, texts) == _two_step(scorer, texts)


@settings(max_examples=150, deadline=None)
@given(st.lists(mixed_text, max_size=8))
def test_random_mixes_get_the_same_features(scorer, texts):
    assert _fused(scorer, texts) == _two_step(scorer, texts)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=80), max_size=6))
def test_any_text_gets_the_same_features(scorer, texts):
    assert _fused(scorer, texts) == _two_step(scorer, texts)


def test_transform_prepared_fuses_unless_tokens_are_kept(scorer):
    texts = [prepare(text).text for text in TEXTS]
    with patch.object(_featurize, "tfidf_rows", side_effect=AssertionError("the two-step path ran")):
        fused = scorer.transform_prepared(texts)
    with patch.object(_featurize, "tfidf_rows_segmented", side_effect=AssertionError("the fused path ran")):
        kept = scorer.transform_prepared(texts, keep_tokens=True)
    for name in ("offsets", "columns", "values"):
        np.testing.assert_array_equal(getattr(fused, name), getattr(kept, name))
    assert fused.known_tokens is None and kept.known_tokens is not None
    assert fused.tokens == kept.tokens == [segment(text) for text in texts]  # segmented when first read


def test_a_model_with_sub_labels_segments_each_text_once(sub_model):
    """Its second scorer reads the tokens: the first keeps them rather than cutting twice."""
    texts = ["小区物业乱收停车费", "学校食堂饭菜太贵", "派出所办户口排队太久"]
    expected = sub_model.classify(texts)
    fused = patch.object(_featurize, "tfidf_rows_segmented", side_effect=AssertionError("the tokens were not kept"))
    with fused, patch("triage.scoring.scorer.segment", side_effect=segment) as counted:
        assert sub_model.classify(texts) == expected
    assert counted.call_count == len(texts)


def test_threads_share_the_segmenter(scorer):
    texts = [prepare(text).text for text in TEXTS] * 5
    expected = _two_step(scorer, texts)
    with ThreadPoolExecutor(4) as pool:
        assert all(result == expected for result in pool.map(lambda _: _fused(scorer, texts), range(8)))


def test_wrong_arguments_are_type_errors_not_crashes(scorer):
    with pytest.raises(TypeError, match=r"takes a triage\._segment\.Segmenter, not str"):
        _featurize.tfidf_rows_segmented("segmenter", ["物业"], *scorer._featurizer_arguments())
    with pytest.raises(TypeError, match="text 1 is bytes, not str"):
        _featurize.tfidf_rows_segmented(compiled_segmenter(), ["物业", b"bytes"], *scorer._featurizer_arguments())
    with pytest.raises(TypeError):
        _featurize.tfidf_rows_segmented(compiled_segmenter(), ["物业"])


def test_without_the_compiled_segmenter_the_featuriser_takes_token_lists():
    """An install whose segmenter extension was not built scores on rjieba's tokens, the same way."""
    probes = [*TEXTS[:20], "", "物业费 ２０％ 涨价!!", "[PHONE]路灯坏了\n\n晚上很黑"]
    check = "assert triage.scoring.FEATURIZER == 'compiled' and triage.segmentation.compiled_segmenter() is None"
    answers = default_model_probabilities_without("triage._segment", check, probes)
    np.testing.assert_array_equal(np.array(answers), triage.load().predict_proba(probes))


@pytest.mark.realdata
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is absent (real data stays outside)")
def test_every_real_message_gets_the_same_features():
    """Every subject, title, body and reply of the three boards, prepared, on the shipped model."""
    scorer = triage.load().scorer
    texts = [prepare(text).text for _, text in board_texts()]
    differing = [
        start
        for start in range(0, len(texts), 256)
        if _fused(scorer, texts[start : start + 256]) != _two_step(scorer, texts[start : start + 256])
    ]
    assert not differing, f"{len(differing)} chunks of 256 texts get other features, first at text {differing[:3]}"
