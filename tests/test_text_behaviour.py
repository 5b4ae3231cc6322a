"""Edges of text preparation that mutation testing found unchecked: where truncation starts, what the
input errors say, and how display_text cuts. Invented strings only."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage.text import _RAW_SCAN_LIMIT, MAX_TEXT_CHARS, PLACEHOLDERS, display_text, normalize, prepare, prepared_texts

PHONE_TEXT = "电话13988999988请回电"  # prepared: 电话[PHONE]请回电


def test_a_control_character_next_to_spaces_keeps_the_spaces():
    assert normalize("路灯 坏了\x07 三天") == "路灯 坏了 三天"


@pytest.mark.parametrize(
    ("raw", "expected", "truncated"),
    [
        ("路" * MAX_TEXT_CHARS, "路" * MAX_TEXT_CHARS, False),  # exactly the limit: kept whole
        ("路" * (MAX_TEXT_CHARS + 1), "路" * MAX_TEXT_CHARS, True),
        # raw input up to the scan limit is looked at whole, even when cleaning leaves little of it
        (" " * (_RAW_SCAN_LIMIT - 1) + "路", "路", False),
        # beyond it nothing is looked at, and the text says so even though what is left is short
        (" " * _RAW_SCAN_LIMIT + "路", "", True),
        ("灯" + " " * (_RAW_SCAN_LIMIT - 1) + "路", "灯", True),
    ],
)
def test_prepare_truncates_exactly_past_its_limits(raw, expected, truncated):
    prepared = prepare(raw)
    assert (prepared.text, prepared.truncated) == (expected, truncated)


@pytest.mark.parametrize("documents", ["路灯坏了", b"\xe8\xb7\xaf"])
def test_prepared_texts_refuses_a_bare_string_like_scikit_learn(documents):
    with pytest.raises(ValueError, match=r"^Iterable over raw text documents expected, string object received\.$"):
        prepared_texts(documents)


def test_prepared_texts_names_the_index_and_type_of_a_missing_value():
    message = "document 1 is NoneType, not str; replace missing values with '' before calling triage"
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        prepared_texts(["路灯坏了", None])
    with pytest.raises(TypeError, match=r"^document 2 is int, not str; "):
        prepared_texts(["路灯坏了", "", 42])


def test_prepared_texts_prepares_every_document_in_order():
    assert prepared_texts(["ＡＢ　路灯", PHONE_TEXT, ""]) == ["AB 路灯", "电话[PHONE]请回电", ""]


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (None, "电话[PHONE]请回电"),
        (12, "电话[PHONE]请回电"),  # exactly its length: whole
        (11, "电话[PHONE]请回"),
        (9, "电话[PHONE]"),
        (8, "电话"),  # never half a placeholder
        (3, "电话"),
        (2, "电话"),
        (0, ""),
    ],
)
def test_display_text_never_cuts_a_placeholder_in_half(limit, expected):
    assert display_text(PHONE_TEXT, limit=limit) == expected


def test_display_text_drops_a_cut_placeholder_right_after_the_first_character():
    assert display_text("打13988999988", limit=4) == "打"


def test_display_text_cuts_a_plain_bracket_like_any_character():
    assert display_text("买了[三个]灯泡", limit=4) == "买了[三"
    assert display_text("[NAME太长", limit=3) == "[NA"  # no placeholder starts there: a cut like any other


def test_display_text_cuts_after_the_last_placeholder_only():
    assert display_text(f"{PHONE_TEXT}，再打{PHONE_TEXT}", limit=18) == "电话[PHONE]请回电,再打电话"


@given(st.text(alphabet="电话路灯[]PHONE 13988999988,", max_size=60), st.integers(min_value=0, max_value=70))
def test_display_text_is_a_short_prefix_of_the_prepared_text(text, limit):
    shown, full = display_text(text, limit=limit), prepare(text).text
    assert full.startswith(shown)
    assert len(shown) <= limit
    longest = max(map(len, PLACEHOLDERS.values()))
    assert len(shown) >= min(len(full), limit) - (longest - 1)  # at most a placeholder's head is dropped
    if len(full) <= limit:
        assert shown == full
