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
    ],
)
def test_extract_places(text, places):
    assert extract_places(text) == places


@given(st.text(max_size=60))
def test_any_text_gives_distinct_names_found_in_it(text):
    places = extract_places(text)
    assert len(places) == len(set(places)) and all(place in text for place in places)
    assert all(is_coded(place) or len(place) >= 3 for place in places)
