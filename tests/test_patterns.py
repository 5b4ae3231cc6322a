"""The characters a built-in pattern can start with, which the fast scans of triage.pii and routing jump between,
and the characters its matches hold, which the trigger scan of triage.pii keeps."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage.patterns import first_character_lookahead, first_characters, matched_characters


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


def _listed(ranges: set[tuple[int, int]]) -> str:
    return "".join(sorted(chr(code) for low, high in ranges for code in range(low, high + 1)))


@pytest.mark.parametrize(
    ("pattern", "expected", "digits"),
    [
        ("电话|座机", "座机电话", False),
        (r"(?<=\d\d\d)[室房]", "室房", True),  # a lookbehind reads characters too
        (r"(?:我叫|本人)?[:：]? ?[a-c]", " :abc人叫我本：", False),
        (r"(?=x)(?>y+)z{2,}+", "xyz", False),  # lookahead, atomic group, possessive repeat
    ],
)
def test_matched_characters(pattern, expected, digits):
    ranges, has_digits = matched_characters(pattern)
    assert (_listed(ranges), has_digits) == (expected, digits)


@pytest.mark.parametrize(
    "pattern", ["a.", "[^a]", r"\w", r"\s", r"\D", "a$", r"\bx", "(?!a)b", "(?<!a)b", "(?i)a", "(?i:a)b", r"(a)\1"]
)
def test_matched_characters_refuses_what_it_cannot_list(pattern):
    assert matched_characters(pattern) is None


@given(st.sampled_from(PATTERNS), st.text(alphabet="电话座机我叫本人:： 王室房栋楼1٣qQ扣x"))
def test_every_match_holds_only_the_matched_characters(pattern, text):
    ranges, digits = matched_characters(pattern)
    held = {char for match in re.finditer(pattern, text) for char in match.group()}
    assert all(char in _listed(ranges) or (digits and char.isdecimal()) for char in held)
