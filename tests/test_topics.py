"""What a hot topic is about: its key terms, place, department, representative and CSV row.

The words of a text are fixed here by splitting it at spaces (the segmenter replaced), so that each test
says which terms a topic has; the model is a stand-in whose department is read from the text.
"""

from __future__ import annotations

import math
from collections import Counter
from types import SimpleNamespace
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage.boilerplate import Boilerplate
from triage.hotness import Ranking, Signals
from triage.topics import CSV_COLUMNS, HotTopic, _key_terms, _representative, _topic_place, describe

# Invented words: 12 that can be key terms, and a character alone, a code and a number that cannot.
TERMS = ("停车费", "物业", "收费", "路灯", "噪音", "施工", "小区", "业主", "垃圾", "污水", "学校", "停车2")
NOT_TERMS = ("路", "A栋", "3号")
DEPARTMENTS = {"路灯": "roads", "停车": "property"}  # a word of the text -> the stand-in model's department
DEPARTMENT_NAMES = {"roads": "路政", "property": "物业"}


class _StandIn:
    """A model whose department is the first of ``DEPARTMENTS`` whose word the text holds, if any (asked as
    topics ask a model: of texts it reads as they are, having no template of its own)."""

    template = Boilerplate()

    def _classify_prepared(self, prepared, top_k, explain):
        return [
            SimpleNamespace(department=next((d for w, d in DEPARTMENTS.items() if w in item.text), None))
            for item in prepared
        ]

    def department_name(self, code):
        return DEPARTMENT_NAMES[code]


@pytest.fixture
def words_at_spaces(monkeypatch):
    """Texts segmented at their spaces."""
    monkeypatch.setattr("triage.segmentation.segment", str.split)


def _one_topic(texts, sample=()):
    """The topic of all of ``texts`` as one ranked group, term rarity read from the ``sample`` texts after them."""
    n = len(texts)
    ranking = Ranking(
        order=[0],
        ids=np.array([0]),
        sizes=np.array([n]),
        hotness=np.array([2.5]),
        voices=np.array([n]),
        members_of={0: np.arange(n)},
        sample=np.arange(n, n + len(sample)),
    )
    signals = Signals(groups=np.zeros(n, dtype=np.int64), copies=np.arange(n), stamps=None, likes=None)
    (topic,) = describe(ranking, signals, [*texts, *sample], _StandIn())
    return topic


@given(
    members=st.lists(st.lists(st.sampled_from(TERMS + NOT_TERMS), max_size=12), min_size=1, max_size=5),
    sample=st.lists(st.lists(st.sampled_from(TERMS + NOT_TERMS), max_size=6), max_size=6),
)
def test_key_terms_weigh_occurrences_in_the_topic_by_rarity_in_the_batch(members, sample):
    documents = Counter(term for text in sample for term in set(text))
    shared = 2 if len(members) > 1 else 1
    scores = {
        term: sum(text.count(term) for text in members) * math.log((1 + len(sample)) / (1 + documents[term]))
        for term in TERMS
        if sum(term in text for text in members) >= shared
    }
    expected = tuple(sorted(scores, key=lambda term: (-scores[term], term))[:8])
    with mock.patch("triage.segmentation.segment", str.split):
        assert _key_terms([" ".join(text) for text in members], documents, len(sample)) == expected


def test_a_key_term_is_a_word_two_members_share():
    members = ["噪音 施工 路 A栋 3号", "噪音 小区 路 A栋 3号", "施工 学校 路 A栋 3号"]
    with mock.patch("triage.segmentation.segment", str.split):
        assert _key_terms(members, Counter(), 0) == ("噪音", "施工")
        assert _key_terms(members[:1], Counter(), 0) == ("噪音", "施工")  # one member shares with itself


def test_the_representative_is_the_member_most_like_the_others():
    members = [
        "垃圾站臭气熏天，夏天没人清理",
        "柳湾小区物业乱收停车费，每月三百元，业主要求公开收费依据",
        "柳湾小区物业乱收停车费，每个月三百块，业主要求公开收费依据",
        "柳湾小区物业乱收停车费每月三百元，业主们要求公开收费依据",
    ]
    assert _representative(members) in (1, 2, 3)
    assert _representative(members[1:] + members[:1]) in (0, 1, 2)


@pytest.mark.parametrize(
    ("places", "read", "place"),
    [
        ({"建设路": 2, "柳湾小区": 1}, 3, "建设路"),  # the most named, not the last by name
        ({"建设路": 2, "柳湾小区": 2}, 4, "建设路"),  # a tie: the shorter name
        ({"建设路": 2, "A3区": 1}, 3, "建设路"),  # two of three members
        ({"建设路": 2}, 6, "建设路"),  # two at least, or a third
        ({"建设路": 3}, 9, "建设路"),
        ({"建设路": 3, "A3区": 1}, 12, "A3区"),  # fewer than a third: the commonest coded division
        ({"建设路": 1, "A3区": 2, "A5区": 1}, 2, "A3区"),  # one member is no concern's place
        ({"建设路": 1}, 1, None),
        ({}, 3, None),
    ],
)
def test_a_topics_place_is_named_by_a_third_of_its_members(places, read, place):
    assert _topic_place(Counter(places), read) == place


def test_a_topic_lists_named_places_first_then_coded_ones_the_most_named_first(words_at_spaces):
    texts = ["大营街道 建设路 A5区 B2区 路灯", "建设路 路灯 A5区 坏了", "柳湾小区 路灯 坏了", "建设路 柳湾小区 路灯"]
    topic = _one_topic([*texts, "路灯 C1区"])
    assert topic.places == ("建设路", "柳湾小区", "大营街道", "A5区", "B2区")  # five at most
    assert topic.place == "建设路"


def test_the_issue_is_three_key_terms_that_are_not_part_of_a_place_nor_hold_one(words_at_spaces):
    topic = _one_topic(["东风路 东风 乱收 停车费 收费 公开 东风路口"] * 2)
    assert topic.places == ("东风路",)
    assert topic.key_terms == ("东风", "东风路", "东风路口", "乱收", "停车费", "公开", "收费")  # all tie: by name
    assert topic.issue == "乱收、停车费、公开"


def test_key_terms_are_rare_in_the_sample_of_the_batch(words_at_spaces):
    topic = _one_topic(["路灯 办理"] * 2, sample=["办理 户口", "办理 社保", "办理 医保"])
    assert topic.key_terms == ("路灯", "办理")


@pytest.mark.parametrize(
    ("texts", "department", "name", "share"),
    [
        (["路灯 坏了"] * 3 + ["停车 乱收", "噪音"], "roads", "路政", 0.75),  # the members with no department abstain
        (["路灯 坏了", "噪音"], "roads", "路政", 1.0),
        (["噪音"] * 2, None, None, 0.0),
    ],
)
def test_a_topics_department_is_the_one_most_members_went_to(words_at_spaces, texts, department, name, share):
    topic = _one_topic(texts)
    assert (topic.department, topic.department_name, topic.department_share) == (department, name, share)


def _topic(**changes):
    figures = {
        "rank": 1,
        "group_id": 0,
        "size": 4,
        "hotness": 3.14159,
        "voices": 2,
        "place": "柳湾小区",
        "issue": "停车费、收费",
        "first_time": "2024-05-01 09:00:00",
        "last_time": "2024-06-02 10:00:00",
        "likes": 7,
        "places": ("柳湾小区", "青石区"),
        "department": "property",
        "department_name": "物业",
        "department_share": 2 / 3,
        "key_terms": ("停车费", "收费"),
        "representative": "停车费乱收",
        "members": (0, 1, 2, 3),
    }
    return HotTopic(**{**figures, **changes})


def test_a_topic_as_a_row_rounds_its_figures_and_joins_its_lists():
    row = [1, "0", 4, 3.142, 2, "柳湾小区", "停车费、收费", "2024-05-01 09:00:00", "2024-06-02 10:00:00", 7]
    row += ["柳湾小区;青石区", "property", "物业", 0.67, "停车费;收费", "停车费乱收", "0;1;2;3"]
    assert _topic().as_row() == row and len(row) == len(CSV_COLUMNS)
    named = _topic().as_row(["m0", "m1", "m2", "m3"])
    assert named[1] == "m0" and named[-1] == "m0;m1;m2;m3"


def test_a_topic_as_a_row_leaves_what_it_lacks_empty():
    bare = _topic(place=None, first_time=None, last_time=None, places=(), department=None, department_name=None)
    row = bare.as_row()
    assert [row[CSV_COLUMNS.index(column)] for column in ("place", "first_time", "last_time", "places")] == [""] * 4
    assert row[CSV_COLUMNS.index("department")] == row[CSV_COLUMNS.index("department_name")] == ""
