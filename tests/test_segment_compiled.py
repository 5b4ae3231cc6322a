"""The compiled segmenter (``triage._segment``) gives rjieba's tokens, token for token.

``segment()`` runs on it by default, and models built on rjieba serve on it without a warning, so
any difference would be a silent change of features: every test here compares the two paths
(rjieba's cut plus the Python token rules of :func:`triage.segmentation.segment_with`).
"""

from __future__ import annotations

import json
import multiprocessing
import pickle
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import triage.segmentation as segmentation
from tests.conftest import SHARED_DATA, TEXTS, board_texts
from triage.text import PLACEHOLDERS, prepare

_segment = pytest.importorskip("triage._segment", reason="the compiled segmenter was not built (no C compiler)")
pytest.importorskip("rjieba", reason="the reference implementation, rjieba, is not installed")

# Words of the dictionary, the user dictionary and near misses, written for these tests
WORDS = ("物业", "物业费", "四点半课堂", "派出所", "网球拍卖会", "长江大桥", "南京市", "的", "了", "我们", "一个")
ALPHABET = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种"
    "物业费小区停车派出所户口学校路灯坏晚黑"
    "abcxyzABCXYZ0123456789+#&._%-"
    " \t\r\n\u3000\xa0\u2028"
    "，。！？、；：“”（）《》[]【】…—·"
    "０１２ＡＢｃ①²٣Ⅻ"  # full-width, circled, superscript, Arabic-Indic digits, Roman numerals: isalnum, not ASCII
    "é\u0301ñßαω日本カタカナ한국"
    "😀👪🇨🇳\u200b\ufeff"
    "\u3400\u4dbf\u4e00\u9fff\uf900\ufaff\U00020000\U0002a6df\U0002a700\U0002ebef\U0002f800\U0002fa1f"
    "\u33ff\u4dc0\ufb00\U0002a6e0\U0002ebf0\U0002fa20\U00030000"  # just outside the ideograph ranges
)
FRAGMENTS = (
    *PLACEHOLDERS.values(),
    "[PHONE",
    "PHONE]",
    "[[PHONE]]",
    "abc1234567",
    "1234567",
    "ab_12_cd_34",
    "A1B2C3D4",
    "abcdef",
    "123456",
    "3.1415926",
    "c++",
    "C#",
    "AT&T",
    "\r\n",
    *WORDS,
)
mixed_text = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS),
        st.text(alphabet=ALPHABET, max_size=12),
        st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=4),
    ),
    max_size=25,
).map("".join)


@pytest.fixture(scope="module")
def compiled():
    return segmentation._build_compiled()


@pytest.fixture(scope="module")
def reference():
    return partial(segmentation.segment_with, segmentation._build_cut("rjieba"))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "路灯坏了，晚上路很黑",
        "物业电话[PHONE]打不通，车牌[PLATE]",
        "abc网球拍卖会def",
        "QQ号12345678和车架号LSVAU2180N2183294都不该成为词",
        "订单ab_1234cd到了，版本v2.3.1、c++和C#、AT&T、50%",
        "[[PHONE]][PHON]E[EMAIL][URL]abc",
        "ＡＢＣ１２３ ① ² ٣ Ⅻ",
        "😀👪物业\u200b费\r\n\r\n\t\u3000上访",
        "𠀀𪛟䶿鿿豈﫿 𰀀",
    ],
)
def test_hand_written_texts(compiled, reference, text):
    assert compiled(text) == reference(text)


@settings(max_examples=600, deadline=None)
@given(mixed_text)
def test_random_mixes_give_rjiebas_tokens(compiled, reference, text):
    assert compiled(text) == reference(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=60))
def test_any_text_gives_rjiebas_tokens(compiled, reference, text):
    assert compiled(text) == reference(text)


def test_suggested_frequencies_match_rjieba():
    """suggest_freq reads the dictionary's frequencies and total: equal on the user words and on every
    97th word of jieba's dict.txt means the same dictionary, and the user words added the same way."""
    built = _segment.build(str(segmentation._jieba_dictionary()), segmentation._user_words(), [], ())
    rjieba = segmentation._build_rjieba()
    lines = segmentation._jieba_dictionary().read_text(encoding="utf-8").splitlines()
    words = [*segmentation._user_words(), *(line.split()[0] for line in lines[::97]), *WORDS, "不在词典里的话", "a+b"]
    assert [built.suggest_freq(word) for word in words] == [rjieba.suggest_freq(word) for word in words]


# A dictionary written for these tests: words sharing prefixes, a non-BMP word, ASCII words, a word
# of frequency 0 (ln 0 = -inf: taken only when nothing else starts there) and a repeated line.
TINY_DICTIONARY = (
    ("物业", 50),
    ("物业费", 20),
    ("费用", 40),
    ("业费", 70),
    ("小区", 30),
    ("区物", 0),
    ("𠀀𠀁", 9),
    ("c++", 3),
    ("b2", 2),
    ("物业", 60),
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The compiled segmenter and rjieba's Jieba.empty() on TINY_DICTIONARY plus one user word (rjieba's
    add_word with a frequency adds it to the total, as loading a file does)."""
    path = tmp_path_factory.mktemp("tiny") / "dict.txt"
    path.write_text("".join(f"{word} {freq} n\n" for word, freq in TINY_DICTIONARY), encoding="utf-8")
    rjieba = segmentation._rjieba_class().empty()
    for word, freq in dict(TINY_DICTIONARY).items():
        rjieba.add_word(word, freq, None)
    rjieba.add_word("业费用", None, None)
    return _segment.build(str(path), ["业费用"], [], ()), rjieba


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="物业费用小区𠀀𠁁𠀁c+b2a3 ，", max_size=30))
@example("2222222")  # seven digits: dropped as an identifier before cutting
def test_a_small_dictionary_cuts_as_jieba_rs(tiny, text):
    """Rules on a dictionary of a few words, where every route matters (runs that look like personal
    data are dropped before cutting, as segment() does)."""
    built, rjieba = tiny
    cut = rjieba.cut(segmentation._ALNUM_RUN.sub(segmentation._identifier, text), False)
    expected = [token for token in cut if any(char.isalnum() for char in token)]
    assert built.segment(text) == expected


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (b"\xe7\x89\xa9\xe4\xb8\x9a 5 n\nabc x n\n", ValueError, "line 2: the frequency is not a whole number"),
        (b"\xe7\x89 5 n\n", ValueError, "line 1: the word is not UTF-8"),
        (b"\n\n", ValueError, "no word with a frequency"),
    ],
)
def test_a_bad_dictionary_is_refused_with_its_line(tmp_path, content, error, message):
    path = tmp_path / "dict.txt"
    path.write_bytes(content)
    with pytest.raises(error, match=message):
        _segment.build(str(path), [], [], ())


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        # one word per character beyond the BMP: a character code more than the trie's 16 bits hold
        ((f"{chr(0x20000 + k)} 1 n\n" for k in range(0x10000)), "more than 65535 distinct characters"),
        # two-character words, each its own frequency: a frequency number more than 16 bits hold
        (
            (f"{chr(0x4E00 + k // 300)}{chr(0x4E00 + k % 300)} {k + 1} n\n" for k in range(0x10001)),
            "more than 65536 distinct frequencies",
        ),
    ],
)
def test_a_dictionary_beyond_the_tries_numbering_is_refused(tmp_path, lines, message):
    path = tmp_path / "dict.txt"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(ValueError, match=f"{message}.*TRIAGE_SEGMENTER=rjieba"):
        _segment.build(str(path), [], [], ())


def test_a_missing_dictionary_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.txt"):
        _segment.build(str(tmp_path / "missing.txt"), [], [], ())


def test_lone_surrogates_are_dropped_not_a_crash(compiled):
    """rjieba cannot take them (no UTF-8 form); prepare() removes them anyway."""
    assert compiled("物业\ud800费") == ["物业", "费"]


def test_non_str_is_a_type_error(compiled):
    with pytest.raises(TypeError, match="expects str, got bytes"):
        compiled("物业".encode())


def test_threads_share_one_segmenter(compiled, reference):
    texts = [text * 3 for text in TEXTS] * 4
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(compiled, texts))
    assert results == [reference(text) for text in texts]


def _segment_in_child(texts: list[str]) -> list[list[str]]:
    return [segmentation.segment(text) for text in texts]


def test_forked_workers_use_the_parents_segmenter():
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    expected = _segment_in_child(list(TEXTS))  # builds it in the parent
    with multiprocessing.get_context("fork").Pool(2) as pool:
        assert pool.map(_segment_in_child, [list(TEXTS[:10]), list(TEXTS[10:])]) == [expected[:10], expected[10:]]


def test_the_segmenter_is_never_pickled(compiled):
    with pytest.raises(TypeError):
        pickle.dumps(compiled.__self__)


def test_recorded_as_rjieba_so_the_default_model_serves_without_warning():
    """The shipped model was built with rjieba; serving it on the compiled path warns of nothing
    (pytest turns warnings into errors)."""
    code = (
        "import warnings; warnings.simplefilter('error')\n"
        "import triage, triage.segmentation as s\n"
        "print(s.segmenter(), s.recorded_segmenter(), triage.load().classify('小区物业乱收停车费').department)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split()[:2] == ["compiled", "rjieba"]


def test_an_install_without_the_extension_segments_with_rjieba():
    code = (
        "import json, sys\n"
        "sys.modules['triage._segment'] = None  # as if the extension had not been built\n"
        "import triage.segmentation as s\n"
        "print(json.dumps([s.segmenter(), [s.segment(t) for t in json.loads(sys.stdin.read())]]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(list(TEXTS)), capture_output=True, text=True, check=True
    )
    name, tokens = json.loads(result.stdout)
    assert name == "rjieba"
    assert tokens == [segmentation.segment(text) for text in TEXTS]


def test_forcing_compiled_without_the_extension_says_what_to_do():
    code = (
        "import os, sys\n"
        "sys.modules['triage._segment'] = None\n"
        "os.environ['TRIAGE_SEGMENTER'] = 'compiled'\n"
        "import triage.segmentation as s\n"
        "s.segmenter()"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0 and "triage._segment was not built" in result.stderr


@pytest.mark.realdata
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is absent (real data stays outside)")
def test_every_real_message_gives_rjiebas_tokens(compiled, reference):
    prepared = ((where, prepare(text).text) for where, text in board_texts())
    differing = [where for where, text in prepared if compiled(text) != reference(text)]
    assert not differing, f"{len(differing)} texts segment differently, first: {differing[:5]}"


def test_building_lets_other_threads_run():
    """build() reads the dictionary with the GIL released, so a model can load meanwhile: a Python
    thread keeps running while it builds (with the GIL held it could not run a line)."""
    dictionary = str(segmentation._jieba_dictionary())
    seen, stop = [], threading.Event()

    def tick():
        while not stop.is_set():
            seen.append(time.perf_counter())
            time.sleep(0.001)

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        time.sleep(0.01)
        started = time.perf_counter()
        _segment.build(dictionary, [], [], ())
        ended = time.perf_counter()
    finally:
        stop.set()
        ticker.join()
    margin = (ended - started) / 4
    assert any(started + margin < moment < ended - margin for moment in seen)
