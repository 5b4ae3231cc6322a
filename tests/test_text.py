"""Normalisation, personal-data masking and truncation, on invented strings."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

import triage.text as text_module
from triage import pii
from triage.text import MAX_TEXT_CHARS, has_chinese, mask_pii, normalize, prepare

NORMALIZED = [
    ("ＡＢＣ１２３", "ABC123"),  # full-width letters and digits
    ("物业\u3000\u3000不管", "物业 不管"),  # ideographic spaces
    ("路灯\u00a0坏了\t\t三天\n\n没人修", "路灯 坏了 三天 没人修"),  # NBSP, tabs, newlines
    ("  前后空格  ", "前后空格"),
    ("零宽\u200b字符\ufeff和\x07控制符", "零宽字符和控制符"),
    ("孤立代理\ud800字符", "孤立代理字符"),
    ("面积89㎡…①号楼Ⅱ期", "面积89m2...1号楼II期"),  # compatibility characters
    ("ｶﾞ", "ガ"),  # a half-width kana and its voiced mark compose
    ("", ""),
]


@pytest.mark.parametrize(("raw", "expected"), NORMALIZED)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), NORMALIZED)
def test_normalize_without_the_compiled_pass(monkeypatch, raw, expected):
    """As where triage._text could not be built (no C compiler at install)."""
    monkeypatch.setattr(text_module, "_compiled", None)
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("手 机:13988999988", "手 机:[PHONE]"),
        ("电话139 8899 9988请回电", "电话[PHONE]请回电"),
        ("电话139-8899-9988", "电话[PHONE]"),
        ("+86-123-4567", "[PHONE]"),
        ("+86 139 8899 9988", "[PHONE]"),
        ("客服400-123-4567投诉无门", "客服[PHONE]投诉无门"),
        ("热线8008201234", "热线[PHONE]"),
        ("座机0731-88886666", "座机[PHONE]"),
        ("(010)12345678转分机", "[PHONE]转分机"),
        ("邮箱xx@xx.com有回复吗", "邮箱[EMAIL]有回复吗"),
        ("详见https://example.gov.cn/a?id=3，谢谢", "详见[URL]，谢谢"),
        ("www.example.com上说的", "[URL]上说的"),
        ("车牌湘A12345堵了消防通道", "车牌[PLATE]堵了消防通道"),
        ("新能源车粤B·D12345乱停", "新能源车[PLATE]乱停"),
        ("身份证11010519491231002X丢了", "身份证[ID]丢了"),
        # 18 digits failing the checksum (an order number) stay as they are
        ("工单号110105194912310021", "工单号110105194912310021"),
        ("2020年3月5日交了1200元", "2020年3月5日交了1200元"),
        ("A3区5栋2单元", "A3区5栋2单元"),
    ],
)
def test_mask_pii(raw, expected):
    assert mask_pii(raw) == expected


def test_prepare_masks_after_normalising_full_width_digits():
    assert prepare("电话：１３９８８９９９９８８").text == "电话:[PHONE]"


def test_prepare_truncates_long_text_and_flags_it():
    result = prepare("物业" * MAX_TEXT_CHARS)
    assert result.truncated
    assert len(result.text) == MAX_TEXT_CHARS


def test_prepare_bounds_work_on_huge_input():
    result = prepare("噪" * 10_000_000)
    assert result.truncated and len(result.text) == MAX_TEXT_CHARS


def test_short_text_is_not_flagged():
    assert not prepare("路灯坏了").truncated


@pytest.mark.parametrize(("text", "expected"), [("abc", False), ("路", True), ("臺灣", True), ("123!", False)])
def test_has_chinese(text, expected):
    assert has_chinese(text) is expected


@given(st.text())
def test_prepare_is_idempotent(text):
    once = prepare(text).text
    assert prepare(once).text == once


@given(st.text())
def test_prepared_text_is_clean(text):
    prepared = prepare(text).text
    assert prepared == prepared.strip()
    assert "  " not in prepared
    prepared.encode("utf-8")  # never a lone surrogate


def _reference_normalize(text: str) -> str:
    """normalize() by its definition, one character at a time (the fast path must agree)."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co"})
    return re.sub(r"\s+", " ", text).strip()


@given(
    st.text(alphabet=st.characters(codec=None))
    | st.text(alphabet="ＡＢ１２，！？（）　\u200b\t\n\r物业费 a\u0301Ａ\u0301")
    # compatibility characters replaced one by one (…, ㎡, ①, ⑴, Ⅱ, ﹒, ￥, ″, half-width kana and its
    # voiced mark, which NFKC composes with the kana before it) and their neighbours in NFKC
    | st.text(alphabet="…㎡①⑴Ⅱ﹒￥″ｶﾞ\u3099カ物 ,.\u0301\u2025\u2034\u33ff\uffef\uff5f")
)
def test_normalize_agrees_with_its_definition(text):
    assert normalize(text) == _reference_normalize(text)


@given(st.text(alphabet="0123456789 -()+@.wXx湘A物业电话:/"))
def test_mask_pii_shortcuts_change_nothing(text):
    """Skipping patterns whose hint is absent gives what applying every pattern gives."""
    assert mask_pii(text) == pii._mask_with_every_rule(text)
