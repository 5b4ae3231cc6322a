"""Concerns: one issue at one place or policy, however worded, near-duplicates included."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.concerns import ConcernTerms, concern_groups, concern_groups_of, copies_by_place
from triage.grouping import group

# Invented messages, written for these tests: residents of one estate, each in their own words
OPENINGS = (
    "我是柳湾小区的业主，",
    "作为柳湾小区的一名居民，",
    "强烈投诉：",
    "向领导反映，",
    "本人住在柳湾小区，",
    "实在忍无可忍，",
)
PLACES = ("柳湾小区", "青石区柳湾小区", "柳湾小区东门", "柳湾小区二期")
ISSUES = (
    "旁边新建的搅拌站噪音太大，晚上根本睡不着",
    "附近的搅拌站粉尘满天飞，孩子天天咳嗽",
    "搅拌站的大车日夜进出，灰尘和噪音严重扰民",
    "边上违规建设的混凝土搅拌站彻夜施工",
    "搅拌站离居民楼不到一百米，窗户都不敢开",
)
ENDINGS = (
    "希望尽快把搅拌站搬走。",
    "请环保部门依法查处。",
    "请政府管一管吧！",
    "恳请领导重视。",
    "还居民一个安静的环境。",
)
OTHERS = (
    "城北菜市场的井盖丢了，已经有老人摔伤",
    "孩子上小学划片不合理，离家太远，希望教育局调整",
    "幸福花园物业乱收停车费，每月三百元，没有任何依据",
    "早高峰的公交车太挤了，等三趟都上不去",
    "市医院挂号太难，排队要三个小时",
    "社保卡丢了补办要等两个月，太慢了",
)


def campaign(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct messages about the mixing plant beside 柳湾小区, combined from the parts above."""
    rng = random.Random(seed)
    texts: list[str] = []
    while len(texts) < n:
        text = rng.choice(OPENINGS) + rng.choice(PLACES) + rng.choice(ISSUES) + "，" + rng.choice(ENDINGS)
        if text not in texts:
            texts.append(text)
    return texts


def test_a_reworded_campaign_is_one_concern_and_other_issues_stay_apart():
    texts = [*campaign(30), *OTHERS]
    concerns = concern_groups_of(texts, group(texts))
    assert len(set(concerns[:30].tolist())) == 1
    assert len(set(concerns[30:].tolist())) == len(OTHERS) and not set(concerns[30:]) & set(concerns[:30])


def test_the_same_issue_at_another_place_is_another_concern():
    here = [f"柳湾小区旁边的搅拌站噪音扰民，{ending}" for ending in ENDINGS]
    there = [f"桃源新村旁边的搅拌站噪音扰民，{ending}" for ending in ENDINGS]
    texts = [*here, *there, *OTHERS]
    concerns = concern_groups_of(texts, np.arange(len(texts)))  # no near-duplicates given: words alone
    assert set(concerns[:5]) != set(concerns[5:10])


def test_near_duplicates_stay_together_whatever_the_words():
    texts = ["物业费太贵", "停车难", "路灯坏了"]
    concerns = concern_groups(*_terms(texts), np.array([0, 0, 0]))
    assert concerns.tolist() == [0, 0, 0]


def _terms(texts, chunks=None, idf_sample=5000):
    terms = ConcernTerms(idf_sample=idf_sample)
    for start in range(0, len(texts), chunks or max(len(texts), 1)):
        terms.add(texts[start : start + (chunks or len(texts))])
    return terms.arrays()


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 12), st.integers(3, 40))
def test_chunks_give_the_terms_of_one_batch(chunk, idf_sample):
    texts = [*campaign(12, seed=1), *OTHERS, "", "!!!"]
    ids, weights = _terms(texts, idf_sample=idf_sample)
    chunked_ids, chunked_weights = _terms(texts, chunks=chunk, idf_sample=idf_sample)
    assert np.array_equal(ids, chunked_ids) and np.allclose(weights, chunked_weights)
    assert ids.shape == (len(texts), 16) and not weights[-2:].any()  # no words in empty or punctuation


def test_a_sample_completed_inside_a_chunk_takes_only_the_texts_it_lacks():
    texts = [*campaign(12, seed=1), *OTHERS]
    assert all(
        np.array_equal(whole, chunked)
        for whole, chunked in zip(_terms(texts, idf_sample=5), _terms(texts, chunks=4, idf_sample=5), strict=True)
    )


@pytest.mark.parametrize("threshold", [0, 1.5])
def test_a_bad_threshold_is_refused(threshold):
    with pytest.raises(ValueError, match=f"^concern threshold must be in \\(0, 1\\], got {threshold}$"):
        concern_groups(*_terms(list(OTHERS)), np.arange(len(OTHERS)), threshold=threshold)


def test_concerns_of_texts_are_found_at_the_threshold_given():
    texts = campaign(12)
    copies = np.arange(len(texts))
    assert len(set(concern_groups_of(texts, copies).tolist())) == 1
    assert len(set(concern_groups_of(texts, copies, threshold=1.0).tolist())) > 1


def test_a_chain_too_large_for_average_linkage_is_cut_at_stronger_pairs_first(monkeypatch):
    texts = [*campaign(30, seed=2), *OTHERS]
    ids, weights = _terms(texts)
    whole = concern_groups(ids, weights, np.arange(len(texts)))
    monkeypatch.setattr("triage.concerns._LINKAGE_LIMIT", 4)
    cut = concern_groups(ids, weights, np.arange(len(texts)))
    sizes = np.unique(cut, return_counts=True)[1]
    assert all(cut[i] == min(np.flatnonzero(cut == cut[i])) for i in range(len(texts)))  # ids: first members
    assert sizes.max() <= np.unique(whole, return_counts=True)[1].max()
    assert set(cut[30:].tolist()) == set(range(30, len(texts)))  # the other messages stay alone


# One letter, word for word, sent about two estates (invented)
LETTER = "{}临街门面的烧烤摊每晚营业到凌晨两点，油烟直排进住户窗户，噪音吵得老人孩子睡不着，请城管和环保部门依法查处"


def test_one_letter_about_two_estates_is_two_voices_and_two_concerns():
    texts = [LETTER.format(place) for place in ("柳湾小区", "柳湾小区", "翠竹苑", "", "翠竹苑")]
    copies = group(texts)
    assert len(set(copies.tolist())) == 1  # near-duplicates all
    terms = ConcernTerms()
    terms.add(texts)
    ids, weights = terms.arrays()
    voices = copies_by_place(ids, weights, copies)
    assert voices.tolist() == [0, 0, 2, 0, 2]  # the copy naming no place joins the first estate's
    concerns = concern_groups_of(texts, copies)
    assert concerns[0] == concerns[1] == concerns[3] != concerns[2] == concerns[4]


def test_a_first_copy_naming_no_place_joins_the_first_estate_named():
    texts = [LETTER.format(place) for place in ("", "柳湾小区", "翠竹苑", "柳湾小区", "翠竹苑")]
    terms = ConcernTerms()
    terms.add(texts)
    ids, weights = terms.arrays()
    assert copies_by_place(ids, weights, np.zeros(5, dtype=np.int64)).tolist() == [0, 0, 2, 0, 2]


def test_copies_naming_one_place_or_none_stay_one_voice():
    texts = [LETTER.format("柳湾小区"), LETTER.format("青石区柳湾小区"), LETTER.format("")]
    terms = ConcernTerms()
    terms.add(texts)
    ids, weights = terms.arrays()
    copies = group(texts)
    assert copies_by_place(ids, weights, copies).tolist() == copies.tolist() == [0, 0, 0]


# One estate's shops (invented): residents stress the fumes, the noise at night, or another issue
SHOP_FUMES = (
    "金桂家园楼下几家餐馆不装烟道，油烟直排，衣服晾在外面全是油烟味",
    "金桂家园底层饭店的油烟熏得窗户不敢开，油烟净化器形同虚设",
    "金桂家园临街餐馆油烟直排进住户家里，厨房排风对着卧室，油烟呛人",
)
SHOP_NOISE = (
    "金桂家园楼下烧烤夜宵摊每天营业到凌晨三点，划拳喝酒声音吵得睡不着",
    "金桂家园底层夜宵店凌晨还在营业，食客喝酒吵闹，老人孩子无法休息",
    "金桂家园临街烧烤摊深夜喧哗，凌晨两点还在喝酒，严重影响休息",
)
CRACKS = (
    "金桂家园交房一年，楼板开裂，墙面裂缝越来越多，开发商推诿",
    "金桂家园房屋质量太差，承重墙开裂，楼板裂缝好几米长",
    "金桂家园多户楼板开裂渗水，要求开发商维修并鉴定质量",
)
ELSEWHERE = (
    "城北菜市场的井盖丢了，已经有老人摔伤",
    "孩子上小学划片不合理，离家太远，希望教育局调整",
    "早高峰的公交车太挤了，等三趟都上不去",
    "市医院挂号太难，排队要三个小时",
    "社保卡丢了补办要等两个月，太慢了",
)


def test_the_fumes_and_the_noise_of_one_estates_shops_are_one_concern_its_cracks_another():
    texts = [*SHOP_FUMES, *SHOP_NOISE, *CRACKS, *ELSEWHERE]
    concerns = concern_groups_of(texts, np.arange(len(texts)))  # no copies: words alone
    assert len(set(concerns[:6].tolist())) == 1  # pairwise their words barely meet; their sums do
    assert len(set(concerns[6:9].tolist())) == 1 and concerns[6] != concerns[0]  # not by the estate's name
    assert set(concerns[9:].tolist()) == set(range(9, len(texts)))


def test_fumes_and_noise_stay_two_concerns_without_a_shared_place():
    texts = [*SHOP_FUMES, *(text.replace("金桂家园", "") for text in SHOP_NOISE), *ELSEWHERE]
    concerns = concern_groups_of(texts, np.arange(len(texts)))
    assert not set(concerns[:3]) & set(concerns[3:6])


MIXING_ENDINGS = (
    "希望尽快把搅拌站搬走。",
    "请环保部门依法查处。",
    "请政府管一管吧！",
    "恳请领导重视。",
    "还居民一个安静的环境。",
    "晚上根本睡不着。",
)


def test_a_message_naming_no_place_does_not_bind_one_issue_at_two_estates():
    here = [f"柳湾小区旁边的搅拌站噪音扰民，{ending}" for ending in MIXING_ENDINGS]
    there = [f"桃源新村旁边的搅拌站噪音扰民，{ending}" for ending in MIXING_ENDINGS]
    texts = [*here, "我家旁边的搅拌站噪音扰民，夜里吵得人心烦。", *there, *ELSEWHERE]
    concerns = concern_groups_of(texts, np.arange(len(texts)))
    assert len(set(concerns[:6].tolist())) == 1 and len(set(concerns[7:13].tolist())) == 1
    assert concerns[0] != concerns[7]


def test_a_name_with_something_in_front_is_the_place_it_ends_with():
    written = [f"翠湖金桂苑旁边的搅拌站噪音扰民，{ending}" for ending in MIXING_ENDINGS]
    dotted = [f"翠湖.金桂苑旁边的搅拌站噪音扰民，{ending}" for ending in MIXING_ENDINGS]  # found as 金桂苑
    texts = [*written, "我家旁边的搅拌站噪音扰民，夜里吵得人心烦。", *dotted, *ELSEWHERE]
    concerns = concern_groups_of(texts, np.arange(len(texts)))
    assert len(set(concerns[:13].tolist())) == 1


def test_concerns_of_one_place_compared_a_few_pairs_at_a_time_are_the_same(monkeypatch):
    texts = [*SHOP_FUMES, *SHOP_NOISE, *CRACKS, *ELSEWHERE]
    whole = concern_groups_of(texts, np.arange(len(texts)))
    monkeypatch.setattr("triage.concerns._PAIR_BLOCK", 2)
    assert concern_groups_of(texts, np.arange(len(texts))).tolist() == whole.tolist()
