"""The characters a built-in pattern can start with, which the fast scans of triage.pii and routing jump between."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage.patterns import first_character_lookahead, first_characters


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("电话|座机", "座电"),
        (r"[tT][eE][lL]", "Tt"),
        (r"(?<=\d\d\d)[室房]", "室房"),  # a lookbehind is passed over
        (r"(?:我叫|本人)?[:：]? ?王", " :我本王："),  # optional parts add their first characters
        (r"x?y", "xy"),
        (r"\d+", None),  # a class it cannot list
        (r"x?", None),  # can match empty
        ("[一-龥]", None),  # too many to list
    ],
)
def test_first_characters(pattern, expected):
    assert first_characters(pattern) == expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [("(社会|城乡)?救助站", "(?=[城救社])"), (r"[A-Za-z]x", "(?=[A-Za-z])"), (r"\d+", ""), ("x?", "")],
)
def test_first_character_lookahead(pattern, expected):
    assert first_character_lookahead(pattern) == expected


PATTERNS = ("电话|座机", r"(?:我叫|本人)?[:：]? ?王", r"(?<=\d)[室房]|[栋楼] ?\d", "[qQ]{2}|扣扣")


@given(st.sampled_from(PATTERNS), st.text(alphabet="电话座机我叫本人:： 王室房栋楼1qQ扣x"))
def test_every_match_starts_with_one_of_the_first_characters(pattern, text):
    starts = {text[match.start()] for match in re.finditer(pattern, text)}
    assert starts <= set(first_characters(pattern) or "")
