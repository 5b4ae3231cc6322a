"""Place names: whole names, no fragments of the words around them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage.places import extract_places, is_coded


# Invented sentences, written for these tests
@pytest.mark.parametrize(
    ("text", "places"),
    [
        ("A市A5区柳湾村三组的水渠塌了", ["A市", "A5区", "柳湾村"]),
        ("反映大营街道幸福花园停车难", ["大营街道", "幸福花园"]),
        ("住在1滨湖路的居民说，施工严重影响小区", ["滨湖路"]),  # no house number, no "严重影响小区"
        ("安置小区和居民小区都没有路灯", []),  # common nouns, not names
        ("恢复南山路的公交站", ["南山路"]),  # the verb before the name is cut
        ("我想买套公寓", []),
        ("这样下去人走上绝路", []),
        ("柳湾村村民反映路线不合理", ["柳湾村"]),  # 村民, 路线 are words, not places
        ("丽发新城和魅力之城小区的业主", ["丽发新城", "魅力之城小区"]),
        ("税务局望仙路口", ["望仙路"]),
        ("沿东四路往北走", ["东四路"]),
        ("①滨湖路 ②人民路", ["滨湖路", "人民路"]),
        ("我们或者柳湾路的住户", ["柳湾路"]),  # 者 ends 或者, it does not begin the name
        ("二〇二三年度青禾园小区的账目", ["青禾园小区"]),  # 度 ends 年度
        ("每晚10点居民小区里很吵", []),  # 点 is the unit of 10
        ("A5区星桥湾小区停水", ["A5区", "星桥湾小区"]),  # 区星 is a word to jieba, not here
        ("物业监督检查青禾园小区的设施", ["青禾园小区"]),  # a verbal noun is no part of a name
        ("我特地跑去小区门口看", []),  # two one-character verbs before the place word
        ("翠柳苑三期青禾苑的业主", ["翠柳苑", "青禾苑"]),  # an estate's phase ends a name
        ("建工集团青禾苑项目", ["青禾苑"]),  # so does a company
        ("乡亲们说美丽乡村建设要先修新建小区的路", []),  # 乡村, 新建小区: no names
        ("多次跟村里反映，上述小区无人管", []),  # a preposition or a referring word before the place word
        ("泥巴路和快速路都不是名字，青禾路是", ["青禾路"]),
        ("东方一品小区", ["东方一品小区"]),  # a classic name word stays
        ("青禾镇镇长说河西路网要改", ["青禾镇"]),  # 镇长, 路网 are words
        ("整个该区域青禾北路都封了", ["青禾北路"]),  # 区域 is a word
        ("五百米范围内小区都停电，二期小区也停", []),
        ("与翠柳中心一路之隔", []),  # 一路之隔: one road apart
        ("在A市大道翠柳路入口", ["A市", "翠柳路"]),  # a road ends another name
    ],
)
def test_extract_places(text, places):
    assert extract_places(text) == places


@given(st.text(max_size=60))
def test_any_text_gives_distinct_names_found_in_it(text):
    places = extract_places(text)
    assert len(places) == len(set(places)) and all(place in text for place in places)
    assert all(is_coded(place) or len(place) >= 3 for place in places)
