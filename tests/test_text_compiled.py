"""normalize()'s compiled pass (``triage._text``) returns what its Python path returns, text for text.

normalize() takes the compiled pass for every text it can decide, so any difference would silently
change features and masked text: the tests compare the two paths on random text built from the
characters NFKC, whitespace collapsing and dropping treat specially, and on every real message.
"""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import triage.text as text_module
from tests.conftest import SHARED_DATA, board_texts
from triage.text import normalize

_text = pytest.importorskip("triage._text", reason="normalize()'s compiled pass was not built (no C compiler)")

WHITESPACE = "".join(chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace())
SPECIAL = (
    WHITESPACE
    + "ＡＢｚ０９，：！？（）；～￥｡｢ｶﾞﾟ￣￤"  # full-width and half-width forms (ﾞ composes, ￣ holds a mark)
    + "…″Ⅱⅻ①⑴⒈㎡㍱﹒﹐﹏½²ﬁµſ\ufdfa"  # other compatibility characters, some to several (ﷺ: words)
    + "\x00\x07\x1b\x7f\x85\x9f\u00ad\u200b\u200d\u2060\u2066\ufeff\U000e0001"  # controls and format
    + "\ud800\udbff\udc00\udfff"  # lone surrogates
    + "\ue000\uf8ff\U000f0000\U0010fffd"  # private use
    + "😀👪\U00020000\U0002a6df\U0002f800𝐀𝟘"  # astral: emoji, CJK extension B, compatibility ideograph
    + "\u0301\u0323\u0308\u3099\u309a\u0345\u093c"  # combining marks
    + "\u1100\u1161\u11a8\uac00\u3131\ua960\ud7b0"  # conjoining and compatibility jamo, a syllable
    + "\u0958\u2126\u212b\u1e9b\uf900\u0387\u0374\ufa6c"  # singletons, composition exclusions
    + "\u0378\U000e0080\U0010ffff"  # unassigned, noncharacters
    + "物业费aA1 .-"
)


def _two_paths(text: str) -> tuple[str, str]:
    return normalize(text), text_module._normalize_in_python(text)


@given(
    st.text(alphabet=SPECIAL)
    | st.text(alphabet=st.characters(codec=None))
    | st.lists(st.sampled_from(("物业费", "\r\n", "　", "\u200b", "Ａ\u0301", "ｶﾞ", "가\u11a8", " \u0301"))).map("".join)
)
@example("a\u0301")
@example(" \u0301b")  # a mark after a space: NFKC keeps it, and the space with it
@example("ｶﾞ")
@example("\u1100\u1161\u11a8")
@example("物\u200b \x07\t业")
def test_compiled_pass_gives_the_python_result(text):
    compiled, python = _two_paths(text)
    assert compiled == python


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＡＢＣ１２３，物业！", "ABC123,物业!"),
        ("\n\t路灯\u3000\u00a0坏了\r\n", "路灯 坏了"),
        ("零宽\u200b字符\ufeff和\x07控制符\ud800", "零宽字符和控制符"),
        ("a \x07 b\u200b \u200b c", "a b c"),  # a dropped character does not break a whitespace run
        ("面积89㎡…①号楼Ⅱ期½", "面积89m2...1号楼II期1⁄2"),
        ("\U0001f600\U00020000\ue000𝐀", "\U0001f600\U00020000A"),
        ("éa", "éa"),  # precomposed: its own NFKC form
        # past what the one pass over a Chinese text writes (forms beyond the BMP, longer results or texts)
        ("物\ufa6c ", "物\U000242ee"),
        ("物" + "㌀" * 700, "物" + "アパート" * 700),
        ("物 " * 1500, " ".join("物" * 1500)),
        ("", ""),
        (" \t\n ", ""),
    ],
)
def test_the_compiled_pass_decides_texts_without_marks_or_jamo(text, expected):
    normalize(text)  # teaches the pass every character of it
    assert _text.normalize(text) == expected


@pytest.mark.parametrize("text", ["a\u0301", "ｶﾞ", "가\u11a8", "物业￣", "\u0958", "物\ufdfa"])
def test_texts_whose_characters_compose_or_reorder_are_left_to_python(text):
    normalize(text)
    assert _text.normalize(text) is None
    assert normalize(text) == unicodedata.normalize("NFKC", text)


def test_only_marks_and_jamo_compose_with_the_character_before_them():
    """_replacement's premise, on this Python's Unicode database: a character that NFC composes with
    the one before it (the second of a canonical pair, or a Hangul vowel or final) is never inert."""
    seconds = {chr(code) for code in range(0x1161, 0x1176)} | {chr(code) for code in range(0x11A8, 0x11C3)}
    for code in range(sys.maxunicode + 1):
        decomposition = unicodedata.decomposition(chr(code)).split()
        if len(decomposition) == 2 and not decomposition[0].startswith("<"):
            first, second = (chr(int(part, 16)) for part in decomposition)
            if unicodedata.normalize("NFC", first + second) == chr(code):
                seconds.add(second)
    assert len(seconds) > 100
    assert not [hex(ord(char)) for char in seconds if text_module._inert(char)]


def test_learn_and_normalize_refuse_what_they_cannot_read():
    with pytest.raises(TypeError, match="takes a str, not bytes"):
        _text.normalize(b"abc")
    with pytest.raises(ValueError, match="1114112 is not a code point"):
        _text.learn(sys.maxunicode + 1, "a")
    with pytest.raises(TypeError, match="becomes must be str or None, not int"):
        _text.learn(ord("a"), 1)
    with pytest.raises(ValueError, match="holds no space"):
        _text.learn(0xFFE3, " \u0304")


KEPT = "0123456789٣电话王 -"


def _bitmap(characters: str) -> bytes:
    kept = bytearray((sys.maxunicode + 1) // 8)
    for char in characters:
        kept[ord(char) >> 3] |= 1 << (ord(char) & 7)
    return bytes(kept)


@given(st.text(alphabet=SPECIAL + KEPT) | st.text(alphabet=st.characters(codec=None)))
@example("电话\ud800 13988999988")
@example("物业费电话王")
@example("\U0001f600 1\U000104a0")
def test_a_keeper_writes_each_run_of_other_characters_as_one_nul(text):
    expected = re.sub(f"[^{re.escape(KEPT)}]+", "\x00", text).encode("utf-8")
    assert _text.Keeper(_bitmap(KEPT)).utf8(text) == expected


@pytest.mark.parametrize("text", ["aé业\U0001f600\ud800", "é\U0001f600", "ab"])  # every width, a surrogate
def test_a_keeper_writes_kept_characters_of_every_width(text):
    keeper = _text.Keeper(_bitmap(text))
    assert keeper.utf8(text) == text.encode("utf-8", "surrogatepass")
    assert keeper.utf8("物" + text * 300 + "物") == b"\x00" + text.encode("utf-8", "surrogatepass") * 300 + b"\x00"


def test_a_keeper_refuses_a_bitmap_of_the_wrong_size_or_keeping_nul():
    with pytest.raises(ValueError, match="must hold 139264 bytes, one bit per code point, not 100"):
        _text.Keeper(b"\xff" * 100)
    with pytest.raises(ValueError, match="NUL stands for the characters not kept"):
        _text.Keeper(_bitmap("\x00a"))
    with pytest.raises(TypeError, match="takes a str, not bytes"):
        _text.Keeper(_bitmap("a")).utf8(b"a")


@pytest.mark.realdata
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is absent (real data stays outside)")
def test_every_real_message_gives_the_python_result():
    differing = [where for where, text in board_texts() if len(set(_two_paths(text))) != 1]
    assert not differing, f"{len(differing)} texts normalise differently, first: {differing[:5]}"
