"""Segmentation: dictionary, stop words, placeholders, safe caching, thread-safe first use."""

from __future__ import annotations

import os
import pickle
import stat
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

import triage.segmentation as segmentation
from triage.segmentation import segment, stop_words


@pytest.fixture(params=segmentation.SEGMENTERS)
def each_segmenter(request, monkeypatch):
    """Run a test on each implementation, then restore the default one."""
    if request.param == "compiled" and not segmentation._compiled_available():
        pytest.skip("the compiled segmenter was not built (no C compiler)")
    monkeypatch.setenv("TRIAGE_SEGMENTER", request.param)
    segmentation.segmenter.cache_clear()
    monkeypatch.setattr(segmentation, "_segment_text", None)
    yield request.param
    segmentation.segmenter.cache_clear()


def test_segmenter_is_chosen_by_environment(each_segmenter):
    assert segmentation.segmenter() == each_segmenter


def test_unknown_segmenter_is_refused(monkeypatch):
    monkeypatch.setenv("TRIAGE_SEGMENTER", "thulac")
    segmentation.segmenter.cache_clear()
    try:
        with pytest.raises(ValueError, match="not one of compiled, rjieba, jieba"):
            segmentation.segmenter()
    finally:
        segmentation.segmenter.cache_clear()


def test_keeps_one_character_content_words(each_segmenter):
    assert segment("路灯坏了，晚上路很黑") == ["路灯", "坏", "晚上", "路", "黑"]


@pytest.mark.parametrize(
    "term",
    [
        "物业费",
        "城中村",
        "派出所",
        "户口迁移",
        "居住证",
        "低保",
        "老年食堂",
        "四点半课堂",
        "违建",
        "占道经营",
        "噪音扰民",
        "拖欠工资",
        "社保",
        "医保",
    ],
)
def test_user_dictionary_terms_stay_whole(term, each_segmenter):
    assert term in segment(f"关于{term}的问题")


def test_placeholders_stay_whole(each_segmenter):
    assert segment("物业电话[PHONE]打不通，车牌[PLATE]") == ["物业", "电话", "[PHONE]", "打", "不通", "车牌", "[PLATE]"]


def test_drops_stop_words_and_punctuation():
    tokens = segment("我们的小区，已经停水了！！！")
    assert not set(tokens) & stop_words()
    assert all(any(ch.isalnum() for ch in t) for t in tokens)


def test_rejects_non_str():
    with pytest.raises(TypeError, match="expects str, got float"):
        segment(float("nan"))


def test_segment_pickles_by_reference():
    assert pickle.loads(pickle.dumps(segment)) is segment


def test_first_use_is_thread_safe(monkeypatch):
    monkeypatch.setattr(segmentation, "_segment_text", None)
    builds = []
    real_build = segmentation._build_segment

    def counting_build(name):
        builds.append(1)
        return real_build(name)

    monkeypatch.setattr(segmentation, "_build_segment", counting_build)
    barrier = threading.Barrier(8)
    results = []

    def work():
        barrier.wait()
        results.append(segment("小区物业乱收停车费"))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    assert len(results) == 8 and all(r == results[0] for r in results)


def test_cache_goes_to_private_directory(monkeypatch, tmp_path):
    cache = tmp_path / "cache"
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(cache))
    segmentation._build_jieba()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert list(cache.glob("jieba*.cache"))


def test_shared_writable_cache_directory_is_not_used(monkeypatch, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(shared))
    assert segmentation._cache_dir() is None
    segmentation._build_jieba()  # still works, without caching there
    assert not list(shared.iterdir())


@given(st.text())
def test_segment_never_crashes_and_yields_content(text):
    tokens = segment(text)
    assert all(t.strip() for t in tokens)


def test_user_dictionary_stays_out_of_rjiebas_global_instance(monkeypatch):
    """triage's words go to its own tokenizer: other code using rjieba in the process is unaffected."""
    monkeypatch.setenv("TRIAGE_SEGMENTER", "rjieba")
    segmentation.segmenter.cache_clear()
    monkeypatch.setattr(segmentation, "_segment_text", None)
    try:
        assert "四点半课堂" in segment("四点半课堂收费太高")
    finally:
        segmentation.segmenter.cache_clear()
    rjieba = pytest.importorskip("rjieba")
    assert rjieba.cut("四点半课堂收费太高", False)[0] != "四点半课堂"


_TOKENS = st.lists(
    st.one_of(
        st.sampled_from(sorted(stop_words())),
        st.text(alphabet="的了物业，。！ _-·①²٣ⅫA1\u3000\u200b", min_size=0, max_size=4),
        st.text(max_size=3),
    ),
    max_size=30,
)


@given(_TOKENS)
def test_compiled_token_filter_keeps_what_the_python_rule_keeps(tokens):
    pytest.importorskip("triage._featurize", reason="the compiled featuriser was not built (no C compiler)")
    assert segmentation._content_tokens(tokens, stop_words()) == segmentation._content_tokens_python(
        tokens, stop_words()
    )


def _compiled_or_skip():
    if segmentation.segmenter() != "compiled":
        pytest.skip("the compiled segmenter was not built (no C compiler)")


def test_a_model_load_builds_the_segmenter_meanwhile_and_leaves_no_thread(monkeypatch, saved_model_dir):
    _compiled_or_skip()
    monkeypatch.setattr(segmentation, "_segment_text", None)
    import triage

    model = triage.load(saved_model_dir)
    assert segmentation._segment_text is not None  # built while the model's files were read
    assert not [thread for thread in threading.enumerate() if thread.name == "triage-segmenter"]
    assert model.classify("路灯坏了，晚上路很黑").department  # and used


def test_a_failed_background_build_is_raised_by_the_first_segment(monkeypatch):
    """The block runs as without it; the error comes where segmenting is asked for, once per call."""
    _compiled_or_skip()
    monkeypatch.setattr(segmentation, "_segment_text", None)

    def broken(name):
        raise segmentation.ConfigError("jieba's dict.txt was not found")

    monkeypatch.setattr(segmentation, "_build_segment", broken)
    with segmentation.building_segmenter():
        pass
    assert segmentation._segment_text is None
    with pytest.raises(segmentation.ConfigError, match=r"dict\.txt was not found"):
        segment("物业")
