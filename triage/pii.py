"""Personal data in a message, replaced by placeholder tokens before anything learns from it or shows it.

:func:`mask_pii` is the one masking pass: :func:`triage.text.prepare` applies it (as
:func:`mask_normalized`) to every message that is trained on, classified, grouped or written to a
report, so no path shows or learns a phone number, ID number, bank card, QQ or WeChat id, name after
a self-introduction, room number, e-mail address, URL or licence plate.

Every pattern is a rule a person can read, and each one is linear in the text: a
100 kB adversarial string costs milliseconds (``tests/test_pii.py``). Numbers are recognised by
their structure (mobile prefixes, area codes, the GB 11643 checksum of resident IDs, the Luhn
check of bank cards, valid birth dates), and the ambiguous ones (landlines without an area code,
QQ numbers, WeChat ids) only after a cue word, so stock codes, order numbers, amounts, dates,
article numbers and postcodes are left alone. Measured on a labelled synthetic set and on real
messages by ``benchmarks/pii.py``.

Masking runs on every message, so it is kept cheap: two scans (the rules' trigger words, and runs of
digits) decide which rules can match at all, and most messages need none; a rule that runs finds its
matches with a class-led pattern ``re`` scans in C (``python benchmarks/pii.py speed``), compiled the
first time a message needs the rule.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

import numpy as np
import re2

from triage.patterns import first_characters, matched_characters

try:  # the text the trigger scan reads, built in C (triage/_text.c) where pip install could compile it
    from triage import _text
except ImportError:
    _text = None  # type: ignore[assignment]

__all__ = ["PLACEHOLDERS", "mask_normalized", "mask_pii"]

#: Placeholder tokens that replace personal data; :func:`triage.segmentation.segment` keeps them whole.
PLACEHOLDERS = {
    "url": "[URL]",
    "email": "[EMAIL]",
    "id_number": "[ID]",
    "bank_card": "[CARD]",
    "phone": "[PHONE]",
    "qq": "[QQ]",
    "wechat": "[WECHAT]",
    "name": "[NAME]",
    "address": "[ADDRESS]",
    "plate": "[PLATE]",
}

# Full-width digits, letters and the punctuation numbers are written with, as ASCII: a message
# typed on a Chinese keyboard writes 电话：１３９８８９９９９８８ (normalize() does this too).
_FULLWIDTH_CHARS = "０-９Ａ-Ｚａ-ｚ＋－．＠（）"
_FULLWIDTH_NUMBERS = re.compile(f"[{_FULLWIDTH_CHARS}]")
_TO_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F) if _FULLWIDTH_NUMBERS.fullmatch(chr(code))}


class _Source(NamedTuple):
    """A rule's regex, compiled when a message first needs the rule (:func:`_compiled`)."""

    pattern: str
    flags: int


def _starting_with(first: str, pattern: str, flags: int = 0) -> _Source:
    """``pattern`` behind a lookahead for the characters a match can start with: the regex engine
    then skips every other position in C, 3 to 13 times faster on text without a match."""
    return _Source(f"(?=[{first}])(?:{pattern})", flags)


_URL = _starting_with("hHwW", r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", re.IGNORECASE)
# The local part starts only where a run of its characters starts, so a 20,000-character run
# before an '@' is scanned once, not once per position (which took a second per message).
_EMAIL = _starting_with(
    r"A-Za-z0-9._%+\-", r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
)

# --- long numbers: resident IDs (18 with checksum, 15 with a valid birth date) and bank cards (Luhn)
# A run of 15 to 19 digits, single spaces or dashes allowed between them ("6222 0212 3456 7890 123",
# "110105 19491231 002X"); never the middle of a longer run.
_LONG_NUMBER = _starting_with(
    "0-9",
    r"(?<![0-9A-Za-z])(?<![0-9][ \-])\d(?:[ \-]?\d){13,17}(?:[ \-]?[\dXx])"
    # not followed by more of the number: a dash, or a space and a short last group ("... 7890 123");
    # a space and a year is the next sentence ("... 002X 2019年")
    r"(?!-?[0-9A-Za-z])(?! \d{1,4}(?![\d年月日号]))",
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
# GB/T 2260 province codes: the first two digits of every resident ID.
_PROVINCE_CODES = frozenset(
    str(code)
    for code in (
        *range(11, 16),
        *range(21, 24),
        *range(31, 38),
        *range(41, 47),
        *range(50, 55),
        *range(61, 66),
        71,
        81,
        82,
    )
)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _valid_date(year: int, month: int, day: int) -> bool:
    return 1900 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]


def _valid_resident_id(digits: str) -> bool:
    """An 18-character ID with a province code, a birth date and the GB 11643 checksum, or a
    15-digit (pre-1999) one with a province code and a birth date."""
    if digits[:2] not in _PROVINCE_CODES:
        return False
    if len(digits) == 15:
        return digits.isdigit() and _valid_date(1900 + int(digits[6:8]), int(digits[8:10]), int(digits[10:12]))
    if len(digits) != 18 or not digits[:17].isdigit():
        return False
    if not _valid_date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14])):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(digits[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11] == digits[17].upper()


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _long_number_placeholder(candidate: str) -> str | None:
    digits = candidate.replace(" ", "").replace("-", "")
    if _valid_resident_id(digits):
        return PLACEHOLDERS["id_number"]
    # bank cards: UnionPay 62, Visa 4, Mastercard 5, Amex/JCB 3, old domestic 9; order numbers start with a year
    if len(digits) >= 16 and digits.isdigit() and digits[0] in "34569" and _luhn_valid(digits):
        return PLACEHOLDERS["bank_card"]
    return None


def _mask_long_number(match: re.Match[str]) -> str:
    """The run as an ID or a card; else its start before a space (an ID, then " 2019年…")."""
    run = match.group()
    cut = len(run)
    while cut > 0:
        placeholder = _long_number_placeholder(run[:cut])
        if placeholder:
            return placeholder + run[cut:]
        cut = run.rfind(" ", 0, cut)
    return run


# --- phones
# One separator between digit groups: a space, dash, dot, or a dash-like character (em-dash …).
_S = r"(?: ?[\-.\u2010-\u2015\u2212\u00b7] ?| )?"
# How people group the 11 digits of a mobile: 3-4-4, 3-3-5, 4-4-3, 4-3-4, 3-8, 7-4, 4-7, 5-6, none.
_MOBILE_GROUPINGS = ((3, 4, 4), (3, 3, 5), (4, 4, 3), (4, 3, 4), (3, 8), (7, 4), (4, 7), (5, 6), (11,))


def _mobile_body() -> str:
    """The alternatives of :data:`_MOBILE_GROUPINGS`, after the leading ``1[3-9]``."""
    branches = []
    for groups in _MOBILE_GROUPINGS:
        parts = [rf"\d{{{groups[0] - 2}}}" if groups[0] > 2 else ""]
        parts += [rf"{_S}\d{{{size}}}" for size in groups[1:]]
        branches.append("".join(parts))
    return "(?:" + "|".join(branches) + ")"


_COUNTRY = r"(?:\(?(?:\+ ?|(?<!\d)00)86\)?[ \-]?)"
_PHONE_PATTERNS = (
    # mainland mobiles in any common grouping, with or without +86 / 0086
    _starting_with("0-9(+", rf"(?<![\d.])(?:{_COUNTRY})?1[3-9]{_mobile_body()}(?![\d])"),
    # +86 / 0086 followed by any digit groups: "+86-123-4567", "+86 10 8888 6666"
    _starting_with("0+", r"(?:\+|(?<!\d)00)86[ \-]?\(?\d[\d \-()]{4,16}\d(?!\d)"),
    # 400/800 service numbers: "400-123-4567", "8008201234"
    _starting_with("48", rf"(?<!\d)[48]00{_S}\d{{3}}{_S}\d{{4}}(?!\d)"),
    # landlines with an area code (0 + 2-3 digits) and a 7-8 digit local number, which starts with
    # 2-9 unless the area code is in brackets: "0731-88886666", "(010)12345678", "0731-8888-6666",
    # "021 6666 8888-123"; not a stock code (000651) or a dotted decimal
    _starting_with(
        "0(",
        rf"(?<![\d.])(?:\(0[1-9]\d{{1,2}}\) ?[1-9]|\(?0[1-9]\d{{1,2}}{_S}[2-9])\d{{2,3}}{_S}\d{{4}}"
        r"(?:(?:-|转|ext\.?)\d{1,5})?(?![\d.]?\d)",
    ),
)
# --- numbers that only a cue word makes personal
_PHONE_CUE = r"(?:电话|座机|固话|联系方式|手机|热线|办公室|tel|Tel|TEL|☎)"
# a local number without area code: 7-8 digits starting 2-9, masked only after a cue and at most 8
# other characters (电话:向阳区教育局8607210); numbers are rarer than cue words, so they are found first
_LOCAL_NUMBER = _starting_with("2-9", rf"(?<![\d.])[2-9]\d{{2,3}}{_S}\d{{4}}(?![\d.]?\d)")
_CUE_BEFORE = re.compile(rf"{_PHONE_CUE}[^\dA-Za-z\[\]。!?！？]{{0,8}}$")
_CUE_WINDOW = len("联系方式") + 8
# between a QQ / WeChat cue and the id: 号, 号码, 账号, 群, 是, 为, a colon and spaces, nothing else
_ACCOUNT_GAP = r"(?:号码|账号|号|群号?|ID|id)?(?:是|为)?[:：]? ?"
_QQ = _starting_with(
    "Qq扣企", rf"(?P<cue>(?<![A-Za-z])(?:QQ|qq|Qq|扣扣|企鹅号){_ACCOUNT_GAP})(?P<number>[1-9]\d{{4,11}})(?!\d)"
)
_WECHAT = _starting_with(
    "微威薇VvwW",
    rf"(?P<cue>(?:微信|威信|薇信|V信|v信|(?<![A-Za-z])(?:VX|vx|Vx|wx|WX|weixin)(?![A-Za-z])){_ACCOUNT_GAP})"
    r"(?P<number>[A-Za-z][A-Za-z0-9_\-]{5,19}|[1-9]\d{4,11})(?![A-Za-z0-9_\-])",
)


def _is_date(digits: str) -> bool:
    """An 8-digit yyyymmdd date (20200315), which a landline after 电话 never is."""
    return len(digits) == 8 and _valid_date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))


def _mask_local_landline(match: re.Match[str]) -> str:
    """A local number right after a phone cue, unless it is a date."""
    before = match.string[max(0, match.start() - _CUE_WINDOW) : match.start()]
    if _CUE_BEFORE.search(before) is None or _is_date(re.sub(r"\D", "", match.group())):
        return match.group()
    return PLACEHOLDERS["phone"]


def _keep_cue(placeholder: str) -> Callable[[re.Match[str]], str]:
    """Replacement keeping the cue and masking the account number or id."""
    return lambda match: match.group("cue") + placeholder


# --- names after a self-introduction or a contact field
# About 300 common surnames, compound ones first.
_COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "长孙",
    "宇文",
    "司徒",
    "夏侯",
)
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武"
    "戴莫孔汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮"
    "柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳穆农司卓古吉"
    "缪简车项芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑"
    "郎甄丛仲虞敖巩佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥班储栗燕楚鄢劳谌奚皮粟冼蔺楼闻厉伊仝阚权帅"
    "屠朴盖练廉禹井祖漆巴丰支卿狄计索宣晋芮扈晁邸雍辜裘亓修邰赫况宿鲜逯茹慕嵇湛戎茅揭尉檀衡尧"
)
# Characters a given name does not hold but the words after 本人 / 我是 often start with
# (本人于去年, 本人在此, 我是高三的学生): they end a name candidate.
_NOT_NAME_CHARS = (
    "年月日去今昨前后上下里的了在是有和与及对从到把被让给为因所这那个们我你他她它不没也都就还又很已要会能可说"
    "住家区市县省镇村路街号楼部局门位司业反映投诉咨询关于此本该近每多两名姓叫称男女老系同等人员工作学校院请"
    "用费款税证件卡城苑府湾厦场店馆处所站厂队原"
)
# ... and second characters of words that start with a surname (周围, 车辆, 房子, 农民, 金地, 连续)
_NOT_FIRST_GIVEN = "围末边辆牌主子屋产民地续您阳"
_GIVEN = (
    rf"(?![{_NOT_NAME_CHARS}{_NOT_FIRST_GIVEN}])[\u4e00-\u9fff]"
    rf"(?:(?![{_NOT_NAME_CHARS}])[\u4e00-\u9fff])?"
)
# After a name comes punctuation, a number, a placeholder, or one of these words.
_NAME_END_PUNCTUATION = r"[，,。.、；;：:！!？?（(\s\[]"
_NAME_END_WORDS = "男|女|系|是|在|于|因|现|家住|住|来自|今年|身份|电话|手机|联系|年龄|同志"
_AFTER_NAME = rf"(?={_NAME_END_PUNCTUATION}|\d|$|{_NAME_END_WORDS})"
# After 本人 / 我是 (本人连续24个月, 我是向阳9号楼) a number ends a name only when it is a year.
_AFTER_NAME_STRICT = rf"(?={_NAME_END_PUNCTUATION}|(?:19|20)\d\d|$|{_NAME_END_WORDS})"
_HONORIFIC = (
    r"(?!先生|女士|小姐|师傅|阿姨|老师|经理|大爷|大妈|大姐|大哥|同志|主任|书记|某|总|家|哥|姐|叔|伯|"
    r"局长|科长|处长|所长|队长|院长|工|医生|律师|警官|记者|老板|姓|氏)"
)
_SURNAME = "(?:" + "|".join(_COMPOUND_SURNAMES) + f"|[{_SURNAMES}])"
_FULL_NAME = rf"{_SURNAME}{_HONORIFIC}{_GIVEN}"
_NAME_CUE = r"(?:我叫|名叫|姓名|联系人|户主|署名|落款|申请人|反映人|投诉人|举报人)"
_NAME = _starting_with(
    "我名姓联户署落申反投举本",
    rf"(?P<cue>{_NAME_CUE}[:：]? ?)(?P<name>{_FULL_NAME}){_AFTER_NAME}"
    # 本人 and 我是 start many sentences that are not introductions: a stricter end
    rf"|(?P<self_cue>(?:本人|我是)[:：]? ?)(?P<self_name>{_FULL_NAME}){_AFTER_NAME_STRICT}"
    # 姓王名小明, 姓王，名叫小明: the surname and the given name together
    rf"|(?P<surname_cue>姓)(?P<surname_name>{_SURNAME}[，, ]?(?:名叫|名字叫|叫|名)[:：]?{_GIVEN}){_AFTER_NAME}",
)


def _mask_name(match: re.Match[str]) -> str:
    return (match.group("cue") or match.group("self_cue") or match.group("surname_cue")) + PLACEHOLDERS["name"]


# --- room-level addresses: the building/unit/room part goes, the estate name before it stays
_NUM = r"(?:\d{1,4}|[一二三四五六七八九十]{1,3})"
_BUILDING = rf"(?:{_NUM}|[A-Za-z]\d?)(?:[栋幢座楼]|#楼?|号[楼院])"
_UNIT = rf"{_NUM}单元"
_FLOOR = rf"{_NUM}[楼层]"
_ROOM = r"\d{3,4}(?:室|房间|号|房(?![补产价租贷屋改源型]))?"
# what follows a number that is not a room: an area, an amount, a count (3号楼1100平方米)
_NOT_AFTER_ROOM = r"(?![\d.]|平|㎡|m|米|元|万|个|人|辆|套|间|层|年|余|多|户|栋|次|名)"
_ADDRESS = _starting_with(
    "0-9A-Za-z一二三四五六七八九十",
    # every address has one of these words right after its first number or letter(s)
    rf"(?<![\dA-Za-z])(?=[0-9A-Za-z一二三四五六七八九十]{{1,4}}[栋幢座楼#号单室房\-])(?:"
    # a building and/or a unit, then a room, or a floor and a room or door number: 5栋2单元301室,
    # 3号楼502, B座1502, 2单元301, 一栋2单元9楼3号
    # (atomic: a room never starts inside the building or unit just read, so never look there again)
    rf"(?>{_BUILDING} ?(?:{_UNIT} ?)?|{_UNIT} ?)(?:{_FLOOR} ?(?:{_ROOM}|\d{{1,2}}[室号])|{_ROOM})"
    r"|\d{1,3}-\d{1,2}-\d{3,4}(?:室|号)?"  # 5-2-301
    r"|\d{3,4}(?:室|房间|房(?![补产价租贷屋改源型]))"  # 1502室
    r"|(?<=[巷弄组])\d{1,4}号(?![楼院])"  # 胜利巷12号, 三组15号: one household
    rf"){_NOT_AFTER_ROOM}",
)
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE = _starting_with(
    _PROVINCES,
    rf"(?<![A-Za-z0-9])[{_PROVINCES}][A-HJ-NP-Z][ ·.]?[A-HJ-NP-Z0-9]{{4,5}}[A-HJ-NP-Z0-9挂学警]"
    r"(?![A-Za-z0-9])",
)


# --- which rules can match: two scans of the message decide which rules run at all
# Every rule needs one of these words (or, for numbers, a run of digits and separators), and most
# messages hold none: scanning once for all of them is cheaper than trying each rule.
_TRIGGER_WORDS = {
    "url": r"://|[wW]{3}\.",
    "email": "@",
    "phone_cue": r"电话|座机|固话|联系方式|手机|热线|办公室|[tT][eE][lL]|☎",
    "qq_cue": r"[qQ]{2}|扣扣|企鹅",
    "wechat_cue": r"[微威薇vV]信|[vVwW][xX]|weixin",
    "name": rf"(?:{_NAME_CUE}|本人|我是)[:：]? ?{_SURNAME}|姓{_SURNAME}",
    # a 3-4 digit room after a building, unit or floor word, a space or a dash, or before 室/房; a door
    # number after a floor; a house number after 巷/弄/组
    "address": r"[栋幢座#元院楼层\-] ?\d{3}|(?<=\d\d\d)[室房]|[楼层] ?\d\d?[室号]|[巷弄组]\d",
    # a province and a letter; anonymised codes (A市, B3区) make a bare letter common
    "plate": f"[{_PROVINCES}][A-HJ-NP-Z]",
}


@cache
def _trigger_scan() -> tuple[re.Pattern[str], tuple[str, ...]]:
    """One pattern finding every trigger word, and the trigger each of its groups stands for.

    A match is one character that can start a trigger, then the first trigger (in order) which that
    character starts, found by a lookbehind over it: the character is one of the trigger's first
    characters, and (looking back from after it) the whole trigger (``电话``) matches from there.
    The pattern starts with a class of every first character, so ``re`` jumps between them in C and
    reads only those; each trigger is written once (a copy per first character took 25 ms to compile
    at import). A match consumes that one character only, so a trigger never hides another that
    starts after it; triggers starting with the same character never match at the same place
    (座机 / 座 301, 联系方式 / 联系人, www. / wx), so none hides another there. Built on first use (6 ms):
    :func:`_trigger_scan_re2` scans texts, and needs this only for those UTF-8 cannot encode.
    """
    alternatives, found_by_group, starts = [], [""], set[str]()
    for name, pattern in _TRIGGER_WORDS.items():
        characters = first_characters(pattern)
        if characters is None:
            raise ValueError(f"trigger {name!r}: the characters {pattern!r} starts with cannot be listed")
        first = _character_class(characters)
        alternatives.append(f"(?<={first})(?<=(?=(?:{pattern})){first})()")
        found_by_group.append(name)
        starts.update(characters)
    return re.compile(f"{_character_class(starts)}(?:{'|'.join(alternatives)})"), tuple(found_by_group)


def _character_class(characters: Iterable[str]) -> str:
    return "[" + "".join(re.escape(character) for character in sorted(characters)) + "]"


# Every digit group of an ID, card or phone pattern (separators included) lies in one such run; a
# run's length bounds what it can hold.
_RUN_SEPARATORS = " \\-()." + "\u2010-\u2015\u2212\u00b7"
_NUMBER_RUN = re.compile(rf"\d[\d{_RUN_SEPARATORS}]{{3,}}\d")
_SHORTEST_RUN = 5


_Replacement = str | Callable[[re.Match[str]], str]
# The class of the lookahead _starting_with puts first.
_LEADING_CLASS = re.compile(r"\(\?=(\[(?:\\.|[^\]\\])*\])")


def _finder(source: _Source) -> re.Pattern[str]:
    """Where ``source`` (made by :func:`_starting_with`) matches: one character of its leading class,
    behind which (looking back from after it) ``source`` matches.

    ``re`` tries a pattern led by a lookahead at every position, but jumps in C between the characters
    of a pattern led by a class: 1.5 to 2 times faster on real messages.
    """
    leading = _LEADING_CLASS.match(source.pattern)
    if leading is None:
        raise ValueError(f"{source.pattern[:40]!r} does not start with a lookahead for its first characters")
    first = leading.group(1)
    return re.compile(f"{first}(?<=(?={source.pattern}){first})", source.flags)


@cache
def _compiled(source: _Source) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A rule's pattern and its :func:`_finder`, compiled when a message first needs the rule: most
    messages need none, and compiling all of them at import took 30 ms (the name rule alone 17 ms)."""
    return re.compile(source.pattern, source.flags), _finder(source)


@dataclass(frozen=True, slots=True)
class _Step:
    """One masking rule, run only on messages holding its trigger words and a long enough number run."""

    source: _Source
    replacement: _Replacement
    needs: frozenset[str]
    #: characters in the longest run of digits and separators a match holds (0: no digits needed)
    min_run: int
    #: a string every match holds
    needle: str

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compiled(self.source)[0]

    @property
    def finder(self) -> re.Pattern[str]:
        return _compiled(self.source)[1]

    def substitute(self, text: str) -> str:
        """``pattern.sub(replacement, text)``, with the places it matches found by :func:`_finder`.

        Each search starts where the last match ended, as ``re.sub`` reads on; a match is never empty.
        """
        pattern, finder = _compiled(self.source)
        pieces: list[str] = []
        end = 0
        while (found := finder.search(text, end)) and (match := pattern.match(text, found.start())):
            replacement = self.replacement if isinstance(self.replacement, str) else self.replacement(match)
            pieces += (text[end : match.start()], replacement)
            end = match.end()
        if not pieces:
            return text
        pieces.append(text[end:])
        return "".join(pieces)


def _step(source: _Source, replacement: _Replacement, *needs: str, min_run: int = 0, needle: str = "") -> _Step:
    return _Step(source, replacement, frozenset(needs), min_run, needle)


_STEPS = (
    _step(_URL, PLACEHOLDERS["url"], "url"),
    _step(_EMAIL, PLACEHOLDERS["email"], "email"),
    _step(_LONG_NUMBER, _mask_long_number, min_run=14),
    # before phones: a QQ number can look like a mobile or a 400 number
    _step(_QQ, _keep_cue(PLACEHOLDERS["qq"]), "qq_cue", min_run=5),
    # a mobile's 11 digits; "86" and six digits; a 400 number's 10 digits; an area code and 7 digits
    _step(_PHONE_PATTERNS[0], PLACEHOLDERS["phone"], min_run=11),
    _step(_PHONE_PATTERNS[1], PLACEHOLDERS["phone"], min_run=8, needle="86"),
    _step(_PHONE_PATTERNS[2], PLACEHOLDERS["phone"], min_run=10, needle="00"),
    _step(_PHONE_PATTERNS[3], PLACEHOLDERS["phone"], min_run=10, needle="0"),
    _step(_LOCAL_NUMBER, _mask_local_landline, "phone_cue", min_run=7),
    _step(_WECHAT, _keep_cue(PLACEHOLDERS["wechat"]), "wechat_cue"),
    _step(_NAME, _mask_name, "name"),
    _step(_ADDRESS, PLACEHOLDERS["address"], "address"),
    _step(_PLATE, PLACEHOLDERS["plate"], "plate"),
)


def _triggers(text: str) -> tuple[set[str], int]:
    """The trigger words ``text`` holds (by name) and the length of its longest number run."""
    trigger, trigger_of_group = _trigger_scan()
    found = {trigger_of_group[match.lastindex or 0] for match in trigger.finditer(text)}
    return found, max(map(len, _NUMBER_RUN.findall(text)), default=0)


@cache
def _decimal_digits() -> tuple[tuple[int, int], ...]:
    """The code point ranges ``\\d`` matches in ``re`` (Unicode decimal digits, ``str.isdecimal``), as
    ``(first, last)``. Unicode encodes decimal digits only in runs of ten, 0 to 9 (a stability
    guarantee), so testing every tenth code point finds every run, and a digit's value where its run
    starts: ~1 ms, where testing every code point took ~10 ms of every batch run's start."""
    sampled = np.arange(0, sys.maxunicode + 1, 10, dtype=np.uint32)
    found = sampled[np.char.isdecimal(sampled.view("<U1"))].tolist()
    ranges: list[tuple[int, int]] = []
    for first in sorted({code - unicodedata.decimal(chr(code)) for code in found}):
        if ranges and ranges[-1][1] + 1 == first:  # runs side by side (mathematical digits) make one range
            ranges[-1] = (ranges[-1][0], first + 9)
        else:
            ranges.append((first, first + 9))
    return tuple(ranges)


def _python_digits() -> str:
    """What ``\\d`` matches in ``re`` as the body of an RE2 class: RE2's ``\\d`` is ASCII only, and its
    Unicode tables need not be Python's."""
    return "".join(f"\\x{{{low:x}}}-\\x{{{high:x}}}" for low, high in _decimal_digits())


def _for_re2(pattern: str, digits: str) -> str:
    """A trigger pattern in RE2's syntax, matching somewhere in a text exactly where it does in ``re``:
    ``\\d`` spelled out, and the one lookbehind (a digit run before 室/房) read as part of the match."""
    pattern = pattern.replace(r"(?<=\d\d\d)", r"\d\d\d")
    pieces, inside = [], False
    for piece in re.split(r"(\\.|\[|\])", pattern):  # escapes, and brackets opening or closing a class
        if piece == r"\d":
            piece = digits if inside else f"[{digits}]"
        elif piece == ("]" if inside else "["):
            inside = not inside
        pieces.append(piece)
    return "".join(pieces)


#: The number-run lengths the rules need (``min_run``), and the shortest that makes any rule run.
_RUN_LENGTHS = tuple(sorted({step.min_run for step in _STEPS if step.min_run} | {_SHORTEST_RUN}))


@cache
def _trigger_set() -> tuple[Any, tuple[str | int, ...], Any]:
    """One RE2 set of every trigger word and, for each of :data:`_RUN_LENGTHS`, a number run at least
    that long, what each of its patterns stands for (a trigger's name, or a run length), and the
    ``triage._text.Keeper`` of the characters their matches hold (:func:`_characters_read`; None where
    triage._text was not built). Built on first use (RE2 compiles the set in tens of milliseconds): RE2 reads a
    text once, in linear time, for all."""
    digits = _python_digits()
    patterns: dict[str, str | int] = {
        **{pattern: name for name, pattern in _TRIGGER_WORDS.items()},
        **{rf"\d[\d{_RUN_SEPARATORS}]{{{length - 2},}}\d": length for length in _RUN_LENGTHS},
    }
    found_by = re2.Set.SearchSet()
    for pattern in patterns:
        found_by.Add(_for_re2(pattern, digits))
    found_by.Compile()
    keeper = _text.Keeper(_characters_read(patterns)) if _text is not None else None
    return found_by, tuple(patterns.values()), keeper


def _characters_read(patterns: Iterable[str]) -> bytes:
    """A bitmap (bit ``c & 7`` of byte ``c >> 3``) of the characters a match of any of ``patterns`` can hold.

    The trigger scan reads a text with every run of other characters replaced by one NUL
    (``triage._text.Keeper.utf8``): a match holds no NUL, and none of the characters it holds is
    replaced, so every pattern matches there exactly where it matches in the text, and RE2 reads a
    quarter of the bytes (Chinese characters that no trigger word holds are most of a message).
    """
    kept = bytearray((sys.maxunicode + 1) // 8)
    for pattern in patterns:
        listed = matched_characters(pattern)
        if listed is None:
            raise ValueError(f"trigger {pattern!r}: the characters its matches hold cannot be listed")
        ranges, digits = listed
        for low, high in (*ranges, *(_decimal_digits() if digits else ())):
            for code in range(low, high + 1):
                kept[code >> 3] |= 1 << (code & 7)
    if kept[0] & 1:
        raise ValueError("a trigger holds NUL, which stands for the characters no trigger holds")
    return bytes(kept)


def _trigger_scan_re2(text: str) -> tuple[set[str], int]:
    """:func:`_triggers` in one RE2 pass, its run length given as the longest of :data:`_RUN_LENGTHS` that
    ``text`` holds a run of (all that :func:`_steps_that_can_match` asks of it). Without the compiled
    ``triage._text``, RE2 reads the whole text, and :func:`_triggers` scans a text UTF-8 cannot encode
    (a lone surrogate)."""
    found_by, meanings, keeper = _trigger_set()
    if keeper is not None:
        encoded = keeper.utf8(text)
    else:
        try:
            encoded = text.encode("utf-8")
        except UnicodeEncodeError:
            return _triggers(text)
    found, longest = set(), 0
    for index in found_by.Match(encoded) or ():  # None when nothing matched
        meaning = meanings[index]
        if isinstance(meaning, str):
            found.add(meaning)
        elif meaning > longest:
            longest = meaning
    return found, longest


def _steps_that_can_match(text: str) -> list[_Step]:
    """The rules whose trigger words, number run and needle ``text`` holds, in order.

    Decided once, before any masking: masking only puts placeholders in, and no trigger word or
    number run holds a bracket, so one in the masked text was there before or lies inside a
    placeholder; the only placeholder holding one is ``[QQ]`` (a QQ cue), put in where one was found.
    """
    found, longest = _trigger_scan_re2(text)
    if not found and longest < _SHORTEST_RUN:
        return []
    return [step for step in _STEPS if step.min_run <= longest and step.needs <= found and step.needle in text]


def _ascii_forms(text: str) -> str:
    return text.translate(_TO_ASCII) if _FULLWIDTH_NUMBERS.search(text) else text


def _mask_with_every_rule(text: str) -> str:
    """Every rule applied by ``re.sub`` in turn, no prefilter: what :func:`mask_pii` must equal (tests)."""
    text = _ascii_forms(text)
    for step in _STEPS:
        text = step.pattern.sub(step.replacement, text)
    return text


def mask_pii(text: str) -> str:
    """Replace personal data in ``text`` with placeholder tokens (:data:`PLACEHOLDERS`).

    Masks URLs; e-mail addresses; resident ID numbers (18 characters with a valid checksum, or
    15 digits, with a valid province and birth date; spaces and dashes allowed); bank cards
    (16-19 digits passing the Luhn check); mainland mobiles in any common grouping (spaces,
    dashes, dots, em-dashes; ``+86``/``0086``), 400/800 numbers and landlines with an area
    code; after a cue word (电话, 座机, 联系方式, QQ, 微信, VX …) landlines without area code,
    QQ numbers and WeChat ids; full names after 我叫 / 本人 / 姓名 / 联系人 / 姓X名Y (a surname
    with an honorific such as 王先生 is kept); room-level addresses (5栋2单元301室, 5-2-301,
    keeping the estate name before them) and licence plates. Full-width digits and letters
    are read as ASCII.

    Examples
    --------
    >>> mask_pii("手 机:13988999988，邮箱 xx@xx.com，热线400-123-4567")
    '手 机:[PHONE]，邮箱 [EMAIL]，热线[PHONE]'
    >>> mask_pii("我叫王建国，住阳光小区5栋2单元301室，微信wang_jg1990")
    '我叫[NAME]，住阳光小区[ADDRESS]，微信[WECHAT]'
    >>> mask_pii("车牌湘A12345堵了消防通道，王先生已报警")
    '车牌[PLATE]堵了消防通道，王先生已报警'
    """
    return mask_normalized(_ascii_forms(text))


def mask_normalized(text: str) -> str:
    """:func:`mask_pii` for text that :func:`triage.text.normalize` returned: it holds no full-width
    forms, so the pass looking for them is left out (:func:`triage.text.prepare` masks this way)."""
    for step in _steps_that_can_match(text):
        text = step.substitute(text)
    return text
