"""Text clean-up applied to every message before features are computed or anything is logged.

Training, serving, the CLI and the batch tagger all go through :func:`prepare`, so a
message is cleaned exactly one way everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from triage.pii import PLACEHOLDERS, mask_normalized, mask_pii

try:  # normalize()'s common path in C (triage/_text.c), where pip install could compile it
    from triage import _text as _compiled
except ImportError:  # no C compiler at install: the same results, in Python
    _compiled = None  # type: ignore[assignment]

__all__ = [
    "MAX_TEXT_CHARS",
    "PLACEHOLDERS",
    "PreparedText",
    "display_text",
    "has_chinese",
    "mask_pii",
    "normalize",
    "prepare",
    "prepared_texts",
]

#: Messages longer than this many characters (after normalisation) are cut here and flagged.
#: Real petitions rarely exceed 4,000 characters; the cut keeps memory and latency bounded.
MAX_TEXT_CHARS = 5000

# Raw input beyond this is never looked at, so a 100 MB "message" costs no more than a long one.
_RAW_SCAN_LIMIT = 4 * MAX_TEXT_CHARS

# Cc (controls), Cf (format: zero-width spaces, BOM, bidi marks), Cs (lone surrogates from
# bad decoding, which would crash any later UTF-8 encode) and Co (private use).
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co"})
# Compatibility characters Chinese messages hold: full-width and half-width forms (！ to ～, ￥),
# the ellipsis …, ″, Roman numerals (Ⅱ), circled and bracketed numbers (①, ⑴), units (㎡) and small
# forms (﹒). Replacing one by its NFKC form leaves the NFKC form of the text unchanged, and costs
# far less than normalising the whole text (about 120 us for a message of 1,000 characters).
_COMPATIBILITY_RANGES = (
    (0x2026, 0x2026),
    (0x2033, 0x2033),
    (0x2160, 0x217F),
    (0x2460, 0x24FF),
    (0x3300, 0x33FF),
    (0xFE50, 0xFE6F),
    (0xFF01, 0xFFEE),
)
_COMPATIBILITY = re.compile("[" + "".join(f"{chr(low)}-{chr(high)}" for low, high in _COMPATIBILITY_RANGES) + "]")
_NFKC_OF = {
    chr(code): unicodedata.normalize("NFKC", chr(code))
    for low, high in _COMPATIBILITY_RANGES
    for code in range(low, high + 1)
}
# The full-width punctuation of almost every message typed on a Chinese keyboard, replaced without
# looking for the others first (a regex pass over the message).
_COMMON_FULLWIDTH = tuple((char, _NFKC_OF[char]) for char in "，：！？（）；")
# Hangul jamo, old and extended: NFC composes a syllable with the vowel or final consonant after it
_CONJOINING_JAMO = ((0x1100, 0x11FF), (0xA960, 0xA97F), (0xD7B0, 0xD7FF))
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")


@dataclass(frozen=True, slots=True)
class PreparedText:
    """A message ready for feature extraction, with what had to be done to it."""

    text: str
    truncated: bool


def normalize(text: str) -> str:
    """Return ``text`` in NFKC form, without control characters, with whitespace runs collapsed.

    NFKC turns full-width digits and letters into half-width ones, so ``１３９`` and ``139``
    become the same feature. Every whitespace run (tabs, newlines, U+3000, NBSP) becomes one
    space.

    Examples
    --------
    >>> normalize("　物业费\\t涨了 ２０％\\u200b！")
    '物业费 涨了 20%!'
    """
    if _compiled is not None:  # one pass in C, 5x faster, for every text without undecided characters
        result = _compiled.normalize(text)
        if isinstance(result, list):  # characters met for the first time: taught, then read again
            for code in set(result):
                _compiled.learn(code, _replacement(chr(code)))
            result = _compiled.normalize(text)
        if isinstance(result, str):
            return result
    return _normalize_in_python(text)


def _normalize_in_python(text: str) -> str:
    """:func:`normalize` without the compiled pass: its definition, and its path for the texts the pass
    leaves (combining marks, conjoining jamo) or where the pass was not built."""
    # NFKC's commonest mappings, done cheaply first: one replace per distinct compatibility character
    # (，：！ and a few more in a typical message) is 5x faster than str.translate's per-character lookups
    for wide, narrow in _COMMON_FULLWIDTH:
        text = text.replace(wide, narrow)  # the same text back, uncopied, when it holds none
    if not unicodedata.is_normalized("NFKC", text):
        for char in set(_COMPATIBILITY.findall(text)):
            text = text.replace(char, _NFKC_OF[char])
        if not unicodedata.is_normalized("NFKC", text):  # rarer characters: normalise the whole text
            text = unicodedata.normalize("NFKC", text)
    # str.split() splits on exactly what the regex \s matches (both use Py_UNICODE_ISSPACE), 4x faster
    text = " ".join(text.split())
    if not text.isprintable():  # rare: only then look at each character's category
        text = "".join(ch for ch in text if ch == " " or unicodedata.category(ch) not in _DROPPED_CATEGORIES)
        text = " ".join(text.split())
    return text


def _replacement(char: str) -> str | None:
    """What ``char`` becomes in :func:`normalize`'s result wherever it stands, for the compiled pass:
    itself or its NFKC form (spaceless), ``" "`` (part of a whitespace run) or ``""`` (dropped); ``None``
    where that depends on its neighbours.

    Why the pass then returns normalize's result: replacing a character by its NFKC form leaves the
    NFKC form of the text unchanged (the text's full decomposition, canonically ordered, is the same),
    and a text of characters that are their own NFKC form, never reordered (combining class 0) and
    never composed with the character before them (NFKC quick check "yes") is in NFKC form. So the
    NFKC form of a text whose characters all have a replacement is the text with its characters
    replaced, before whitespace and dropped characters are dealt with.
    """
    form = unicodedata.normalize("NFKC", char)
    if char.isspace():
        return " " if all(_inert(c) and c.isspace() for c in form) else None
    if unicodedata.category(char) in _DROPPED_CATEGORIES:
        return "" if form == char and _inert(char) else None
    if all(_inert(c) and not c.isspace() and unicodedata.category(c) not in _DROPPED_CATEGORIES for c in form):
        return form
    return None


def _inert(char: str) -> bool:
    """Whether NFKC leaves ``char`` as it is next to any other character: its own NFKC form, combining
    class 0, and neither a mark nor a conjoining jamo, the only characters NFC composes with the
    character before them (``tests/test_text_compiled.py`` checks this on the Unicode database)."""
    return (
        unicodedata.normalize("NFKC", char) == char
        and unicodedata.combining(char) == 0
        and not unicodedata.category(char).startswith("M")
        and not any(low <= ord(char) <= high for low, high in _CONJOINING_JAMO)
    )


def has_chinese(text: str) -> bool:
    """Whether ``text`` holds at least one CJK ideograph (simplified or traditional)."""
    return _CJK.search(text) is not None


def prepare(text: str) -> PreparedText:
    """Normalise, mask personal data and cut ``text`` to :data:`MAX_TEXT_CHARS`.

    The cleaning is idempotent: preparing an already prepared text changes nothing.
    """
    raw_truncated = len(text) > _RAW_SCAN_LIMIT
    cleaned = mask_normalized(normalize(text[:_RAW_SCAN_LIMIT]))
    if len(cleaned) > MAX_TEXT_CHARS:
        return PreparedText(cleaned[:MAX_TEXT_CHARS], truncated=True)
    return PreparedText(cleaned, truncated=raw_truncated)


def prepared_texts(raw_documents: Iterable[str]) -> list[str]:
    """The prepared text of each raw document, refusing input the way scikit-learn's vectorizers do:
    a bare ``str`` (not an iterable of documents) and items that are not ``str``."""
    if isinstance(raw_documents, str | bytes):
        raise ValueError("Iterable over raw text documents expected, string object received.")
    texts = []
    for index, document in enumerate(raw_documents):
        if not isinstance(document, str):
            raise TypeError(
                f"document {index} is {type(document).__name__}, not str; "
                "replace missing values with '' before calling triage"
            )
        texts.append(prepare(document).text)
    return texts


def display_text(text: str, limit: int | None = None) -> str:
    """``text`` as every report, example file and terminal line shows it: prepared (normalised,
    personal data masked, see :func:`prepare`) and cut to ``limit`` characters.

    Examples
    --------
    >>> display_text("我叫王建国，电话13988999988，小区路灯坏了", limit=18)
    '我叫[NAME],电话[PHONE]'
    >>> display_text("我叫王建国，电话13988999988，小区路灯坏了", limit=12)
    '我叫[NAME],电话'
    """
    shown = prepare(text).text
    if limit is None or len(shown) <= limit:
        return shown
    cut = shown[:limit]
    start = cut.rfind("[")  # never half a placeholder ("电话[PH")
    if start != -1 and "]" not in cut[start:] and any(shown.startswith(p, start) for p in PLACEHOLDERS.values()):
        cut = cut[:start]
    return cut
