"""Concerns: one issue at one place or policy, however worded, near-duplicates included."""

from __future__ import annotations

import math
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


def _rows(*rows, columns):
    """A sparse matrix of ``rows`` given as ``{column: value}``."""
    import scipy.sparse as sparse

    matrix = sparse.lil_matrix((len(rows), columns))
    for i, row in enumerate(rows):
        for column, value in row.items():
            matrix[i, column] = value
    return matrix.tocsr()


# Columns 0-3 and 10 are places, the others words; five pairs of unit rows, each pair alone in its columns, their
# cosines exact: neither names a place (0.5), one does (0.6), both the same one (0.35), both another (0.64), one does
# (0.9, the first naming none)
PAIRS_BY_PLACE = _rows(
    {4: 1.0},
    {4: 0.5, 5: 0.75**0.5},
    {0: 0.6, 6: 0.8},
    {6: 0.75, 7: (1 - 0.75**2) ** 0.5},
    {1: 1.0},
    {1: 0.35, 8: (1 - 0.35**2) ** 0.5},
    {2: 0.6, 9: 0.8},
    {3: 0.6, 9: 0.8},
    {11: 1.0},
    {10: (1 - 0.9**2) ** 0.5, 11: 0.9},
    columns=12,
)
PLACE_COLUMNS = np.isin(np.arange(12), [0, 1, 2, 3, 10])


@pytest.mark.parametrize("block", [1, 2, 3, 256])
@pytest.mark.parametrize("reverse", [False, True])
def test_a_pairs_threshold_depends_on_the_places_it_names_and_is_reached_block_by_block(block, reverse, monkeypatch):
    from triage.concerns import _similar_pairs

    monkeypatch.setattr("triage.concerns._MAX_POSTINGS", 2)  # every word here is in two messages
    rows = PAIRS_BY_PLACE[::-1] if reverse else PAIRS_BY_PLACE
    left, right, similarity = _similar_pairs(rows, PLACE_COLUMNS, 0.5, block)
    # at 0.5: neither 0.5 (reached), one 0.8 (0.9 reached), the same place 0.35 (reached), other places 1.5
    kept = {(0, 1): 0.5, (4, 5): 0.35, (8, 9): 0.9}
    if reverse:
        kept = {(9 - j, 9 - i): value for (i, j), value in kept.items()}
    found = {(i, j): value for i, j, value in zip(left.tolist(), right.tolist(), similarity.tolist(), strict=True)}
    assert found == pytest.approx(kept) and left.dtype == right.dtype == np.int64


def test_a_word_in_more_messages_than_compared_only_weighs_in_the_norms(monkeypatch):
    from triage.concerns import _similar_pairs

    monkeypatch.setattr("triage.concerns._MAX_POSTINGS", 2)
    three = _rows({4: 1.0}, {4: 1.0}, {4: 1.0}, columns=12)
    assert all(len(part) == 0 for part in _similar_pairs(three, PLACE_COLUMNS, 0.5, 256))


def test_a_chain_too_large_is_cut_at_its_weaker_pairs_until_each_piece_is_small_enough(monkeypatch):
    from triage.concerns import _split_chains

    monkeypatch.setattr("triage.concerns._LINKAGE_LIMIT", 3)
    alike = _rows(*[{0: 1.0}] * 8, columns=1)  # one issue: average linkage cuts nothing
    nowhere = _rows(*[{}] * 8, columns=1)
    # chains 0-1-2-3-4-5 of 6 > 3 rows, and a weak pair 6-7 in no chain too large (never cut)
    weak_link = np.array([0.9, 0.9, 0.5, 0.9, 0.9, 0.3])  # cut once: 0-1-2 and 3-4-5, three rows each
    weak_links = np.array([0.9, 0.7, 0.9, 0.5, 0.9, 0.3])  # cut at 0.6, 0-1-2-3 is cut again at 0.72

    def cut(similarity, first_cut):
        pairs = (np.array([0, 1, 2, 3, 4, 6]), np.array([1, 2, 3, 4, 5, 7]), similarity)
        return _split_chains(alike, nowhere, pairs, average=0.1, first_cut=first_cut).tolist()

    assert cut(weak_link, 0.6) == [0, 0, 0, 3, 3, 3, 6, 6]
    assert cut(weak_links, 0.6) == [0, 0, 2, 2, 4, 4, 6, 6]
    assert cut(weak_links, 0.9) == [0, 0, 2, 2, 4, 4, 6, 6]  # a pair at the cut stays
    assert cut(weak_links, 0.95) == [0, 1, 2, 3, 4, 5, 6, 6]


def test_three_messages_alike_in_a_chain_but_not_on_average_are_parted():
    from triage.concerns import _split_chains

    rows = _rows({0: 1.0}, {0: 0.8, 1: 0.6}, {1: 1.0}, columns=2)  # 0 and 1 alike (0.8), 1 and 2 (0.6), 0 and 2 not
    pairs = (np.array([0, 1]), np.array([1, 2]), np.array([0.8, 0.6]))
    assert _split_chains(rows, _rows({}, {}, {}, columns=1), pairs, average=0.5, first_cut=0.3).tolist() == [0, 0, 2]


def test_messages_naming_no_common_place_count_as_unlike_no_more():
    from triage.concerns import _split_chains

    alike = _rows({0: 1.0}, {0: 1.0}, {0: 1.0}, columns=1)  # the same words; 0 and 2 name two places, 1 none
    named = _rows({0: 1.0}, {}, {1: 1.0}, columns=2)
    pairs = (np.array([0, 1]), np.array([1, 2]), np.array([1.0, 1.0]))
    assert _split_chains(alike, named, pairs, average=0.5, first_cut=0.3).tolist() == [0, 0, 0]  # (1 + 0) / 2 apart
    assert _split_chains(alike, named, pairs, average=0.6, first_cut=0.3).tolist() in ([0, 0, 2], [0, 1, 1])


def test_rows_past_the_number_of_words_are_compared_too():
    from triage.concerns import _similar_pairs

    left, right, _ = _similar_pairs(_rows({0: 1.0}, {0: 1.0}, {0: 1.0}, columns=1), np.array([False]), 0.5, 1)
    assert sorted(zip(left.tolist(), right.tolist(), strict=True)) == [(0, 1), (0, 2), (1, 2)]


def test_concerns_are_joined_at_the_place_more_than_half_their_voices_name(monkeypatch):
    from triage.concerns import _join_at_places

    monkeypatch.setattr("triage.concerns._MAX_POSTINGS", 2)  # the place of two concerns is not yet crowded
    # concerns 0 (voices 0-2, two name the place), 3 (voices 3-4, one does) and 5 (voice 5, names it); one issue;
    # the second place column is nobody's
    places = _rows({0: 1.0}, {0: 1.0}, {}, {0: 1.0}, {}, {0: 1.0}, columns=2)
    words = _rows(*[{0: 1.0}] * 6, columns=1)
    labels = np.array([0, 0, 0, 3, 3, 5])
    assert _join_at_places(places, words, labels, 0.1).tolist() == [0, 0, 0, 3, 3, 0]
    assert _join_at_places(places, words, labels, 1.0).tolist() == [0, 0, 0, 3, 3, 0]  # one issue: a cosine of 1
    monkeypatch.setattr("triage.concerns._MAX_POSTINGS", 1)  # a place of more concerns joins none
    assert _join_at_places(places, words, labels, 0.1).tolist() == labels.tolist()


@pytest.mark.parametrize("voice_block", [1, 2, 3])
def test_messages_read_a_block_at_a_time_give_what_all_at_once_give(monkeypatch, voice_block):
    from triage.concerns import _first_places, _named, _vocabulary

    texts = [*(LETTER.format(place) for place in ("柳湾小区", "翠竹苑", "", "翠竹苑")), *OTHERS, *campaign(6)]
    ids, weights = _terms(texts)
    copies = np.array([0, 0, 0, 0, *range(4, 16)])
    voices = copies_by_place(ids, weights, copies)
    concerns = concern_groups(ids, weights, voices)
    named = _named(ids, weights)
    monkeypatch.setattr("triage.concerns._VOICE_BLOCK", voice_block)
    assert _vocabulary(ids, weights).tolist() == np.unique(ids[weights > 0]).tolist()
    has_place, first_place = _first_places(ids, weights)
    assert has_place.tolist() == named.any(axis=1).tolist() and has_place[:4].tolist() == [True, True, False, True]
    assert first_place.tolist() == np.where(named, ids, 0xFFFFFFFF).min(axis=1).tolist()
    assert copies_by_place(ids, weights, copies).tolist() == voices.tolist()
    assert concern_groups(ids, weights, voices).tolist() == concerns.tolist()


def test_no_messages_have_no_concerns():
    empty = concern_groups(np.zeros((0, 16), np.uint32), np.zeros((0, 16), np.float32), np.zeros(0, np.int64))
    assert empty.tolist() == []


@pytest.mark.parametrize(
    ("place", "key"),
    [("魅力之城小区", "@魅力之城"), ("柳湾小区", "@柳湾"), ("东苑", "@东苑"), ("新城", "@新城"), ("建设路", "@建设路")],
)
def test_a_place_is_keyed_by_its_stem_of_two_characters_or_more(place, key):
    from triage.concerns import _place_key

    assert _place_key(place) == key


def test_the_pieces_of_a_name_are_its_runs_of_two_characters_or_more():
    from triage.concerns import _pieces

    assert _pieces(["魅力之城", "东苑"]) == {"魅力", "魅力之", "魅力之城", "力之", "力之城", "之城", "东苑"}


def test_a_known_stem_mentioned_bare_is_a_place_word_once():
    from collections import Counter

    from triage.concerns import _bare_places

    words = Counter({"@翠湖湾": 3, "噪音": 1})
    _bare_places("靠近翠湖湾噪音大，我住金桂园", words, {"金桂": frozenset({"金桂园"}), "翠湖": frozenset({"翠湖湾"})})
    assert words == {"@翠湖湾": 3, "噪音": 1, "@金桂园": 1}


@pytest.mark.parametrize("stem", ["新滨河", "伊景园滨河"])
def test_a_place_ending_in_a_known_name_is_that_place_too(stem):
    from collections import Counter

    from triage.concerns import _place_tails

    words = Counter({f"@{stem}": 2, "噪音": 1})
    _place_tails(words, frozenset({"滨河", "翠湖"}))
    assert words == {f"@{stem}": 2, "噪音": 1, "@滨河": 1}


def test_places_named_twice_in_the_sample_are_found_bare_and_at_the_end_of_longer_names():
    from triage.concerns import _hash

    texts = [
        "翠竹湾小区的路灯坏了",
        "翠竹湾小区停车难",
        "我家在翠竹湾，晚上太吵",
        "青石湾小区停车难",
        "住在青石湾，晚上太吵",
    ]
    texts += ["滨河苑的路灯坏了", "滨河苑停车难", "新滨河苑噪音扰民"]
    ids, weights = _terms(texts, idf_sample=len(texts))

    def names(row, place):
        return _hash(place) in ids[row][weights[row] > 0]

    assert names(2, "@翠竹湾") and names(7, "@滨河")  # named twice: a stem looked for, a name looked for at the end
    assert not names(4, "@青石湾")  # named once: not looked for
    # in 3 of the 8 sampled messages (2 with a place word, 1 bare), a place word weighs twice
    assert weights[2][ids[2] == _hash("@翠竹湾")] == pytest.approx(2 * (math.log(9 / 4) + 1))


def test_a_words_weight_is_its_smoothed_tf_idf_and_a_word_seen_once_in_the_sample_is_noise(monkeypatch):
    from triage.concerns import _hash

    monkeypatch.setattr("triage.segmentation.segment", str.split)  # the words are the text's, split at spaces
    terms = ConcernTerms(idf_sample=4)
    terms.add(["噪音 扰民", "噪音 施工", "停车 收费", "噪音 噪音 垃圾", "噪音 噪音 夜间 停车"])
    ids, weights = terms.arrays()
    noise = (1 + math.log(2)) * (math.log(5 / 4) + 1)  # twice in the message, in 3 of the sample's 4
    # 夜间 is missing from the full sample: rare; 停车, 扰民, 垃圾 are in one message of it: noise
    assert ids[4][:3].tolist() == [_hash("夜间"), _hash("噪音"), 0]
    assert weights[4][:2].tolist() == pytest.approx([math.log(5) + 1, noise])
    assert ids[0][:2].tolist() == [_hash("噪音"), 0] and weights[0][0] == pytest.approx(math.log(5 / 4) + 1)
    assert ids[3][:2].tolist() == [_hash("噪音"), 0] and weights[3][0] == pytest.approx(noise)
    unsampled = ConcernTerms(idf_sample=0)
    unsampled.add(["噪音 扰民"])
    assert unsampled.arrays()[1][0][:2].tolist() == pytest.approx([math.log(2) + 1] * 2)  # as if of one message
