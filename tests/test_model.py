"""The app-facing model: classify one or many, bad input, threads."""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import triage
from tests.conftest import LABELS
from triage import Classification, ReviewReason
from triage.text import MAX_TEXT_CHARS


def test_classify_one_message(small_model):
    result = small_model.classify("小区物业乱收停车费，垃圾也没人清理")
    assert isinstance(result, Classification)
    assert result.department == "property_management"
    assert result.department_name == "物业"
    assert 0 < result.confidence <= 1
    assert result.candidates[0] == ("property_management", result.confidence)
    assert len(result.candidates) == 3
    assert any("物业" in term for term, _ in result.explanation)


def test_result_is_frozen_and_json_serialisable(small_model):
    result = small_model.classify("派出所补办身份证")
    with pytest.raises(AttributeError):
        result.department = "other"  # type: ignore[misc]
    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert data["department"] == "public_security"


def test_classify_list_matches_single_calls(small_model):
    texts = ["物业不修电梯", "派出所办户口", "学校乱收费"]
    batch = small_model.classify(texts)
    assert batch == [small_model.classify(t) for t in texts]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", ReviewReason.EMPTY_TEXT),
        ("   \u3000\n", ReviewReason.EMPTY_TEXT),
        ("！？。…", ReviewReason.EMPTY_TEXT),
        ("please fix the road", ReviewReason.NO_CHINESE_TEXT),
        ("13988999988", ReviewReason.NO_CHINESE_TEXT),
    ],
)
def test_unclassifiable_text_needs_review_without_spoiling_others(small_model, text, reason):
    good, bad = small_model.classify(["派出所补办身份证", text])
    assert good.department == "public_security"
    assert bad.department is None and bad.department_name is None
    assert bad.needs_review and bad.reason is reason
    assert bad.candidates == () and bad.confidence == 0.0


@pytest.mark.parametrize(
    ("item", "kind"), [(None, "NoneType"), (math.nan, "float"), (b"\xe7\x89\xa9", "bytes"), (42, "int")]
)
def test_non_str_items_raise_type_error_naming_the_index(small_model, item, kind):
    with pytest.raises(TypeError, match=f"text at index 1 is {kind}, not str"):
        small_model.classify(["物业费", item])


def test_long_text_is_truncated_and_flagged(small_model):
    result = small_model.classify("物业不作为" * (MAX_TEXT_CHARS // 2))
    assert result.truncated and result.department == "property_management"


def test_low_confidence_is_sent_to_review(small_model):
    result = small_model.classify("今天天气不错")
    assert result.needs_review == (result.confidence < small_model.review_threshold)
    if result.needs_review:
        assert result.reason is ReviewReason.LOW_CONFIDENCE


def test_predict_returns_codes_and_unclassified(small_model):
    codes = small_model.predict(["物业费太贵", "", "学校补课", "please fix the road"])
    assert list(codes) == ["property_management", triage.UNCLASSIFIED, "education", "unclassified"]
    assert triage.UNCLASSIFIED not in small_model.classes_


def test_predictions_go_straight_into_scikit_learn_metrics(small_model):
    """predict() gave None for blank text, and f1_score raised on the mix of str and None."""
    from sklearn.metrics import classification_report, f1_score

    truth = ["property_management", "education", "education"]
    predicted = small_model.predict(["物业费太贵", "", "学校补课"])
    assert f1_score(truth, predicted, average="micro") == pytest.approx(2 / 3)
    assert "unclassified" in classification_report(truth, predicted, zero_division=0)


def test_classes_underscore_as_in_scikit_learn(small_model):
    assert small_model.classes_ == small_model.classes == sorted(set(LABELS))
    assert small_model.predict_proba(["物业费太贵"]).shape == (1, len(small_model.classes_))


def test_predict_rejects_bare_string(small_model):
    with pytest.raises(ValueError, match="use classify"):
        small_model.predict("物业费")


def test_top_k_and_explain_options(small_model):
    result = small_model.classify("物业费太贵", top_k=1, explain=0)
    assert len(result.candidates) == 1 and result.explanation == ()
    with pytest.raises(ValueError, match="top_k must be at least 1"):
        small_model.classify("物业费", top_k=0)


def test_eight_threads_agree_with_serial(small_model):
    texts = [f"第{i}次反映：" + t for i, t in enumerate(["物业乱收费", "派出所户口", "学校补课", "!!!", ""] * 20)]
    serial = small_model.classify(texts)
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(small_model.classify, texts))
        batches = list(pool.map(small_model.classify, [texts] * 8))
    assert parallel == serial
    assert all(batch == serial for batch in batches)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(), max_size=5))
def test_classify_never_crashes_on_any_text(small_model, texts):
    results = small_model.classify(texts)
    assert len(results) == len(texts)
    for result in results:
        probabilities = [p for _, p in result.candidates]
        assert all(0.0 <= p <= 1.0 for p in probabilities)
        assert probabilities == sorted(probabilities, reverse=True)
        if result.department is None:
            assert result.needs_review and not result.candidates
        else:
            assert result.candidates[0] == (result.department, result.confidence)


def test_text_with_no_known_terms_goes_to_review(small_model):
    result = small_model.classify("龘靐齉")  # Chinese, but not a character the invented corpus has
    assert result.department is not None and result.needs_review
    assert result.reason is ReviewReason.NO_KNOWN_TERMS and result.explanation == ()
