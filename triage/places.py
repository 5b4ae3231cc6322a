"""Place names in a message: the estate, road, village or street a concern is about.

A heuristic over the text, no gazetteer needed: coded divisions (``A市``, ``A5区``) and names that
end in a place word (…小区, …村, …路, …街道, …镇, …花园). What goes wrong with such a pattern is
the front of the match: a digit (``1滨湖路`` from a house number), a verb or adverb run into the
name (``严重影响小区``, ``导致小区``), or a stem that is a common word, not a name (``安置小区``,
``十字路``, ``高速公路``, ``人走上绝路``). Leading digits and such words are cut off — a name starts
after the last verb, adverb, pronoun, preposition, conjunction, particle or idiom jieba's
dictionary knows in the match (``恢复南山路`` → ``南山路``, ``想买套公寓`` → nothing) — and a name
whose stem is generic or shorter than two characters is dropped. The text around a match counts
too: a name does not begin inside a word that starts before it (``或者梅溪湖路``, ``年度银华园小区``),
and a road that the text names alone elsewhere is that road when directions run into it
(``左转红旗路`` → ``红旗路``). Read by hand, 0.90 of the names found on a real board are whole
(``benchmarks/hot_places.py``).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

__all__ = ["CODED_PLACE", "extract_places", "is_coded"]


def _word_set(words: str) -> frozenset[str]:
    """The space-separated words of ``words``."""
    return frozenset(words.split())


# Anonymised or coded divisions ("A市", "A5区", "B3县").
_ADMIN = r"[A-Z]\d{0,2}[市区县]"
#: A coded division alone: too broad to be the place of a concern.
CODED_PLACE = re.compile(rf"^{_ADMIN}$")
# Characters that never belong to a name: function words, pronouns, verbs that stand before one
_STOP_CHARS = "的了是在我们你他她它和与及或到从对向把被为于将要请问该这那个有没不也都就还很又再给让由因所而但吗呢吧啊"
_STOP_CHARS += "住处旁边近市区县省至经年此号条已却"
# Words run into the front of a name ("严重影响小区", "位于幸福花园"): cut, repeatedly
_LEADING_WORDS = re.compile(
    r"^(?:反映|投诉|咨询|关于|位于|希望|建议|举报|地处|包括|周围|督办|严重|影响|导致|造成|目前|现在|整个|附近|周边"
    r"|原名|名称|案名|所在|居住|进入|进出|通往|前往|经过|穿过|沿着|沿线|紧邻|靠近|临近|其中|以及|同时|本来|原来|属于|就是|还是|作为"
    r"|开展|距离|距|商品房|房|一个|一条|这条|那条|多个|各个|每个|许多|很多|部分|全体|整条|修建|施工|拆除|维修|解决|要求"
    r"|中共|项目|相关|未来|左转|右转|掉头)+"
)
_SUFFIXES = "小区|社区|街道|新村|村|路|街|巷|镇|乡|大道|花园|家园|苑|公寓|广场|新城|大厦"
# a name: two to six characters (no digits, no ①, no stop characters) and a place word
_PLACE = re.compile(rf"{_ADMIN}|[^\W\d\u2460-\u24ff{_STOP_CHARS}A-Za-z_]{{2,6}}?(?:{_SUFFIXES})")
# A stem that counts or orders: 第五条街道, 二期小区, 几百米路
_ORDINAL_STEM = re.compile(r"^(?:第|几|[一二三四五六七八九十百\d]+[期栋号条个]$)")
_SUFFIX_AT_END = re.compile(rf"(?:{_SUFFIXES})$")
# Stems that make a common noun with the place word, not a name ("安置小区", "十字路", "公交线路")
_GENERIC_STEMS = _word_set(
    "安置 居民 老旧 商品房 周边 附近 小区 社区 街道 城市 农村 全体 各 本 该 新 老 大 小"
    " 十字 丁字 公交线 马 过马 快速 水泥 断头 高速公 城际铁 铁 公 道 线 环 主干 支 次干"
    " 乡村 乡间 村级 农村公 机动车 非机动车 人行 步行 单行 双向 这个 那个 整个 我们 你们"
    " 他们 本村 全村 各村 邻村 本小区 我小区 该小区 旧 拆迁 回迁 保障房 廉租房 公租房 安置房"
    " 高档 普通 文明 全国文明 通透式 整治 林荫 洋房 精品洋房 同一 开放式 老旧开放式"
    " 开放式老旧 多次老旧 街道社 街道办 所在 周围 一 二 三"
    " 四 五 六 七 八 九 十 上 下 中 东 西 南 北 前 后 里 外 内 道 城中 城镇"
    " 新建 繁华 商业步行 产权 泥巴 泥土 交叉 三岔 岔 示范 属地 美丽 立交 匝道"
)
# A stem ending so that the name is a kind of road or a phrase, not a name (铁路, 公路, 绝路, 农村, 之路)
_GENERIC_ENDINGS = re.compile(
    r"(?:铁|公|线|马|道|跑|绝|出|退|走|修|让|带|上|问|过|活|思|套|网|电|老|旧|孩|数|定|钟|车|命|门|叉|停|泥|烂|速|字|绕|行|堵|权)路$|性大道$"
    r"|(?:家|回|下|老|城|返)乡$|农村$|(?:副|正)镇$|[城集]镇$|之路$|(?:当|过|上|满|逛|沿)街$"
)
# jieba dictionary tags of words that do not begin or sit inside a place name: verbs, adverbs,
# prepositions, conjunctions, particles, pronouns, idioms, time and position words …
_NOT_NAME_TAGS = _word_set("v vd vg d p c u r q f y e o l i t ad s mq uj ul uz ug uv ud")
_LEADING_CHAR_TAGS = frozenset({"v", "q", "r"})  # … of one character: verbs, classifiers, pronouns
_PRONOUNS = frozenset("本该此其这那我你他她它")
# Prepositions before a name (沿东四路, 下东四路), cut where two characters of name are left
_LEADING_CHARS = frozenset("沿下小连上往向经从到离靠距临进出城述现前原之村岭好线")
# Words after which no name can follow at once: prepositions (多次跟村), what refers back (上述小区)
# and inside or outside (范围内小区)
_BEFORE_NO_NAME = _word_set("跟 和 与 同 对 向 给 被 把 上述 所述 听闻 该 内 外 距离 距")
# The end of another place, an office, a company or a phase of an estate inside a match: the name
# starts after the last one (税务局望仙路, 南路桐梓坡路, 建设集团福满新城, 金茂悦二期悦棠街)
_INNER_END = re.compile(
    r"街道|社区|小区|路|主干道|大道|局|所|院|厅|站|处|上述|听闻|所述|公司|集团|[一二三四五六七八九十\d]期"
)
_COMMON_FREQUENCY = 1500  # jieba dictionary frequency from which a word is everyday vocabulary (时候, 报告)
_NAME_TAGS = frozenset({"ns", "nz", "nr", "nrt", "nt", "nrfg"})
# Everyday words that are also the classic names of roads and estates
_CLASSIC_NAMES = _word_set(
    "人民 解放 胜利 幸福 和平 建设 团结 友谊 光明 新华 中山 文化 工农 劳动 民主 建国 复兴"
    " 振兴 长安 青年 东风 跃进 前进 向阳 朝阳 曙光 红星 育才 学院 体育 车站 公园 花园 东方"
    " 阳光 时代 世纪 和谐 新城 中心 国际 金色 未来"
)


@cache
def _dictionary_words() -> tuple[frozenset[str], frozenset[str]]:
    """From jieba's dictionary (read once): words that are not names — of two characters or more
    with a :data:`_NOT_NAME_TAGS` tag or a verbal noun (检查, 监督) that is not a classic name (建设),
    of one a :data:`_LEADING_CHAR_TAGS` one — and everyday words
    (frequent, not tagged as names, not classic names): a stem made only of them is no name (时候路)."""
    not_names, everyday = set(), set()
    with (resources.files("jieba") / "dict.txt").open(encoding="utf-8") as lines:  # line by line: 350,000 of them
        for parts in map(str.split, lines):
            if len(parts) != 3:
                continue
            word, frequency, tag = parts
            if word not in _CLASSIC_NAMES and (
                tag in (_NOT_NAME_TAGS if len(word) >= 2 else _LEADING_CHAR_TAGS) or (tag == "vn" and len(word) >= 2)
            ):
                not_names.add(word)
            if int(frequency) >= _COMMON_FREQUENCY and tag not in _NAME_TAGS and word not in _CLASSIC_NAMES:
                everyday.add(word)
    return frozenset(not_names), frozenset(everyday)


def _everyday_stem(stem: str) -> bool:
    from triage.segmentation import segment

    tokens = segment(stem)
    everyday = _dictionary_words()[1]
    return "".join(tokens) == stem and all(len(token) >= 2 and token in everyday for token in tokens)


def _name_start(match: str, suffix_at: int) -> int:
    """Where the name in ``match`` starts: after the last non-name word before the place word at
    ``suffix_at`` (a one-character one only where two characters of name are left after it, so
    the 发 of 丽发新城 stays), after any stop word segment() dropped (except 之: 魅力之城), and
    after a leading preposition such as 沿 or 下 where two characters of name are left."""
    from triage.segmentation import segment

    words, at, start = _dictionary_words()[0], 0, 0
    single_run, last = 0, ""  # one-character non-name words in a row just before the place word (跑去小区)
    for token in segment(match):
        found = match.find(token, at)
        if found < 0:
            break
        if found > at and match[at:found] != "之":  # stop words the name cannot run across
            start = found
        if found >= suffix_at:
            break
        end = found + len(token)
        if token in words and (len(token) >= 2 or found == start or suffix_at - end >= 2 or token in _PRONOUNS):
            start = end
        single_run = single_run + 1 if len(token) == 1 and token in words and found == at else 0
        at, last = end, token
    if at == suffix_at and (single_run >= 2 or last in _BEFORE_NO_NAME):
        return suffix_at
    # the last inner road or office before the suffix (found left to right: a greedy ".*" before the
    # words backtracked over the whole text at every position)
    inner_end = max((inner.end() for inner in _INNER_END.finditer(match, start, suffix_at)), default=None)
    if inner_end is not None and suffix_at - inner_end >= 2:
        start = inner_end
    if match[start : start + 1] in _LEADING_CHARS and suffix_at - start - 1 >= 2:
        start += 1
    return start


def is_coded(place: str) -> bool:
    """Whether ``place`` is a coded division (``A市``, ``A5区``) rather than a named place."""
    return CODED_PLACE.match(place) is not None


# A place word that is the start of another word: 村民, 村委, 路线, 路况, 路段 …
_WORD_AFTER = {"村": "民委支干长部务级组里容貌", "路": "线况费人面径途灯由标基政段网之", "镇": "长上", "乡": "长村镇亲"}


def _starts_a_word(text: str, match: re.Match[str]) -> bool:
    """Whether the place word ending ``match`` begins a longer word (村民, 路线)."""
    after = text[match.end() : match.end() + 1]
    return bool(after) and after in _WORD_AFTER.get(match.group()[-1], "")


def _clean(match: str) -> str | None:
    """The name in one pattern match, or ``None`` when it is a fragment or a common noun."""
    if CODED_PLACE.match(match):
        return match
    name = _LEADING_WORDS.sub("", match)
    suffix = _SUFFIX_AT_END.search(name)
    if suffix is None or not _PLACE.fullmatch(name):
        return None
    name = _LEADING_WORDS.sub("", name[_name_start(name, suffix.start()) :])
    stem = name[: -len(suffix.group())]
    if len(stem) < 2 or stem in _GENERIC_STEMS or _ORDINAL_STEM.match(stem) or _GENERIC_ENDINGS.search(name):
        return None
    if _everyday_stem(stem):
        return None
    return name


_WINDOW = 4  # characters before a match segmented with it, to see whether a word runs into it
_AFTER_NUMBER = frozenset("点时分秒月日天周栋楼层期元个岁次")  # a unit after a number (10点居民小区)
_PLACE_ENDS = frozenset("市区县镇乡村路街巷道苑园城")  # last characters of a place name before another


def _glued(text: str, start: int, end: int) -> int:
    """How many characters at the front of the match ``text[start:end]`` end a word that begins
    before it (者 of 或者梅溪湖路, 度 of 年度银华园小区; segmented with a few characters before
    it), or are the unit of a number before it (点 of 10点居民小区)."""
    from triage.segmentation import segment

    left = max(0, start - _WINDOW)
    if left == start:
        return 0
    if text[start - 1].isdigit() and text[start] in _AFTER_NUMBER:
        return 1
    window, offset, at = text[left:end], start - left, 0
    for token in segment(window):
        found = window.find(token, at)
        if found < 0 or found >= offset:
            return 0
        at = found + len(token)
        if at > offset:
            # after a place word only an everyday word (区域) runs on: 区星 and 镇星 are words to
            # jieba, A3区星蓝湾小区 two names
            after_place = text[start - 1] in _PLACE_ENDS
            return 0 if after_place and token not in _dictionary_words()[1] else at - offset
    return 0


def extract_places(text: str) -> list[str]:
    """Place names in ``text``, in order of first appearance: coded divisions (A市, A5区) and names
    ending in a place word (…小区, …村, …路, …街道, …镇, …花园). A heuristic: counted over a group,
    the true places rise to the top.

    >>> extract_places("A市A1区马王堆街道新桥新村同鑫家园排水堵塞")
    ['A市', 'A1区', '马王堆街道', '新桥新村', '同鑫家园']
    >>> extract_places("住在1滨湖路的居民说，施工严重影响小区，安置小区也一样")
    ['滨湖路']
    """
    names = (
        _clean(match.group()[_glued(text, match.start(), match.end()) :])
        for match in _PLACE.finditer(text)
        if not _starts_a_word(text, match)
    )
    found = list(dict.fromkeys(name for name in names if name))
    return list(dict.fromkeys(_shortest_road(name, found) for name in found))


_ROAD = re.compile(r"(?:路|街|巷|大道)$")


def _shortest_road(name: str, found: list[str]) -> str:
    """A road ``name`` that ends in another road the text names alone is that road: directions
    run into it (左转红旗路, 利用川河路 where 红旗路 and 川河路 stand alone elsewhere)."""
    if not _ROAD.search(name):
        return name
    inner = [other for other in found if len(other) >= 3 and other != name and name.endswith(other)]
    return min(inner, key=len) if inner else name
