"""Place names in a message: the estate, road, village or street a concern is about.

A heuristic over the text, no gazetteer needed: coded divisions (``A市``, ``A5区``) and names that
end in a place word (…小区, …村, …路, …街道, …镇, …花园). What goes wrong with such a pattern is
the front of the match: a digit (``1滨湖路`` from a house number), a verb or adverb run into the
name (``严重影响小区``, ``导致小区``), or a stem that is a common word, not a name (``安置小区``,
``十字路``, ``高速公路``). Leading digits and such words are cut off, and a name whose stem is
generic is dropped.
"""

from __future__ import annotations

import re

__all__ = ["CODED_PLACE", "extract_places", "is_coded"]

# Anonymised or coded divisions ("A市", "A5区", "B3县").
_ADMIN = r"[A-Z]\d{0,2}[市区县]"
#: A coded division alone: too broad to be the place of a concern.
CODED_PLACE = re.compile(rf"^{_ADMIN}$")
# Characters that never belong to a name: function words, pronouns, verbs that stand before one
_STOP_CHARS = "的了是在我们你他她它和与及或到从对向把被为于将要请问该这那个有没不也都就还很又再给让由因所而但吗呢吧啊"
_STOP_CHARS += "住处旁边近市区县省至经年"
# Words run into the front of a name ("严重影响小区", "位于幸福花园"): cut, repeatedly
_LEADING_WORDS = re.compile(
    r"^(?:反映|投诉|咨询|关于|位于|希望|建议|举报|地处|包括|周围|督办|严重|影响|导致|造成|目前|现在|整个|附近|周边"
    r"|所在|居住|进入|进出|通往|前往|经过|穿过|沿着|沿线|紧邻|靠近|临近|其中|以及|同时|本来|原来|属于|就是|还是|作为"
    r"|开展|距离|距|商品房|房|一个|一条|这条|那条|多个|各个|每个|许多|很多|部分|全体|整条|修建|施工|拆除|维修|解决|要求)+"
)
_SUFFIXES = "小区|社区|街道|新村|村|路|街|巷|镇|乡|大道|花园|家园|苑|公寓|广场|新城|大厦"
_PLACE = re.compile(rf"{_ADMIN}|[^\W\d{_STOP_CHARS}A-Za-z_]{{2,6}}?(?:{_SUFFIXES})")
_SUFFIX_AT_END = re.compile(rf"(?:{_SUFFIXES})$")
# Stems that make a common noun with the place word, not a name ("安置小区", "十字路", "公交线路")
_GENERIC_STEMS = frozenset(
    "安置 居民 老旧 商品房 周边 附近 小区 社区 街道 城市 农村 全体 各 本 该 新 老 大 小 十字 丁字 公交线 马 过马 快速 水泥"
    " 断头 高速公 城际铁 铁 公 道 线 环 主干 支 次干 乡村 乡间 村级 农村公 机动车 非机动车 人行 步行 单行 双向 这个 那个"
    " 整个 我们 你们 他们 本村 全村 各村 邻村 本小区 我小区 该小区 旧 拆迁 回迁 保障房 廉租房 公租房 安置房 高档 普通"
    " 街道社 街道办 所在 周围 一 二 三 四 五 六 七 八 九 十 上 下 中 东 西 南 北 前 后 里 外 内 道 城中 城镇".split()
)
# a stem ending so that the name is a kind of road, not a road ("铁路", "公路", "线路")
_GENERIC_ENDINGS = re.compile(r"(?:铁|公|线|马|道)路$|城镇$"
)


def is_coded(place: str) -> bool:
    """Whether ``place`` is a coded division (``A市``, ``A5区``) rather than a named place."""
    return CODED_PLACE.match(place) is not None


def _clean(match: str) -> str | None:
    """The name in one pattern match, or ``None`` when it is a fragment or a common noun."""
    if CODED_PLACE.match(match):
        return match
    name = _LEADING_WORDS.sub("", match)
    suffix = _SUFFIX_AT_END.search(name)
    if suffix is None or not _PLACE.fullmatch(name):
        return None
    stem = name[: suffix.start()]
    if len(stem) < 2 or stem in _GENERIC_STEMS or _GENERIC_ENDINGS.search(name):
        return None
    return name


def extract_places(text: str) -> list[str]:
    """Place names in ``text``, in order of first appearance: coded divisions (A市, A5区) and names
    ending in a place word (…小区, …村, …路, …街道, …镇, …花园). A heuristic: counted over a group,
    the true places rise to the top.

    >>> extract_places("A市A1区马王堆街道新桥新村同鑫家园排水堵塞")
    ['A市', 'A1区', '马王堆街道', '新桥新村', '同鑫家园']
    >>> extract_places("住在1滨湖路的居民说，施工严重影响小区，安置小区也一样")
    ['滨湖路']
    """
    names = (_clean(match.group()) for match in _PLACE.finditer(text))
    return list(dict.fromkeys(name for name in names if name))
