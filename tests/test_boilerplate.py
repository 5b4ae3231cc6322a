"""A batch's boilerplate (triage.boilerplate): what is learned, what is cut, and that grouping, Dask
grouping and hot topics' concerns compare templated messages by what they say."""

from __future__ import annotations

import csv
import itertools
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import triage
import triage.boilerplate
from tests.conftest import SHARED_DATA
from triage.boilerplate import KEEP, MAX_LENGTH, MIN_BRANCHES, MIN_TEXTS, Boilerplate, compared_text, sample_chunks
from triage.grouping import group, group_chunks

# Invented work orders typed into one template, written for these tests: four concerns, each in six
# wordings sent four times (twice with a note that it was raised before), among ten single orders.
OPENING, ENDING = "市民来电反映：", "请相关部门尽快核实处理并回复市民。"
CONCERNS = {
    "parking": ("阳光小区物业乱收停车费", "阳光小区停车费收得太高", "阳光小区物业停车费乱涨价",
                "阳光小区地下车库收费太贵", "阳光小区物业多收停车管理费", "阳光小区停车位月租乱收费"),
    "tutoring": ("实验二小老师有偿补课", "实验二小老师课后收费补课", "实验二小班主任办补习班收钱",
                 "实验二小老师私下有偿家教", "实验二小数学老师周末有偿补课", "实验二小老师暗示学生去补课"),
    "lamps": ("建设路路灯坏了很久", "建设路晚上路灯不亮", "建设路一段路灯全黑",
              "建设路路灯损坏没人修", "建设路夜间路灯不亮很危险", "建设路多盏路灯坏了"),
    "noise": ("东风工地夜间施工噪音扰民", "东风工地半夜施工太吵", "东风工地晚上打桩噪音大",
              "东风工地深夜施工影响休息", "东风工地凌晨还在施工", "东风工地夜里机器轰鸣"),
}  # fmt: skip
PLACES = ("幸福家园", "和平路菜市场", "第三中学", "人民公园", "滨江花园", "火车站广场", "新华书店门口",
          "城东派出所", "春风里小区", "市第一医院")  # fmt: skip
PROBLEMS = ("垃圾堆放好几天没人清运", "下水道堵塞污水横流", "有人占道经营", "自来水经常停水", "电梯经常故障",
            "有流浪狗咬人", "公交站牌被撞坏了", "健身器材损坏", "井盖丢失很危险", "广场舞音响太吵")  # fmt: skip


def _orders() -> tuple[list[str], list[str], list[str]]:
    """``(orders, their concerns, their cores)``, interleaved as a day's orders come in."""
    rows = [
        (concern, core + note)
        for note in ("。", "，已反映多次。") * 2
        for wording in range(6)
        for concern, cores in CONCERNS.items()
        for core in cores[wording : wording + 1]
    ]
    singles = [(problem, place + problem + "。") for place, problem in zip(PLACES, PROBLEMS, strict=True)]
    rows = [row for pair in itertools.zip_longest(rows, singles) for row in pair if row]
    return [OPENING + core + ENDING for _, core in rows], [c for c, _ in rows], [core for _, core in rows]


def _mixed_groups(ids: np.ndarray, concerns: list[str]) -> int:
    """Groups holding orders of more than one concern."""
    members: dict[int, set[str]] = {}
    for group_id, concern in zip(ids.tolist(), concerns, strict=True):
        members.setdefault(group_id, set()).add(concern)
    return sum(len(found) > 1 for found in members.values())


def test_a_template_most_of_whose_texts_go_on_alike_is_learned_whole():
    """A city's name after the template on two orders in three: the template is still cut from all of them."""
    orders = [
        OPENING + ("青石市" if number % 3 else "") + place + problem + ENDING
        for number, (place, problem) in enumerate(itertools.product(PLACES, PROBLEMS))
    ]
    boilerplate = Boilerplate.learn(compared_text(order) for order in orders)
    assert boilerplate.openings == {compared_text(OPENING)}


def test_the_template_is_learned_and_cut_off():
    orders, _, cores = _orders()
    boilerplate = Boilerplate.learn(compared_text(order) for order in orders)
    assert boilerplate.openings == {compared_text(OPENING)}
    assert boilerplate.endings == {compared_text(ENDING)}
    assert [boilerplate.strip(compared_text(order), keep=3) for order in orders] == [compared_text(c) for c in cores]
    # classified without it, and without the punctuation and spaces that joined it to the order
    assert boilerplate.cut("市民来电反映： 路灯 坏了。 请相关部门尽快核实处理并回复市民。") == "路灯 坏了"
    assert boilerplate.cut("市民来电反映路灯坏了请相关部门尽快核实处理并回复市民") == "路灯坏了"
    assert boilerplate.cut("来电反映路灯坏了。") == "来电反映路灯坏了。"


def test_the_shared_start_of_one_frequent_concern_is_no_template():
    """The template's extension into a concern's place (阳光小区, a fifth of the orders, each wording
    different after it) is not learned: the place is what the concern's orders have in common."""
    orders, _, cores = _orders()
    openings = Boilerplate.learn(compared_text(order) for order in orders).openings
    assert not any(opening.startswith(compared_text(OPENING + "阳光")) for opening in openings)
    # nor without the template: a fifth of the batch, but followed by its six wordings only
    assert not Boilerplate.learn(compared_text(core) for core in cores).openings


def test_copies_of_one_letter_share_no_boilerplate():
    """A campaign's copies begin alike and go on alike: mostly the same character follows every phrase,
    also where a few copies were edited."""
    letter = "我们是阳光小区的业主，小区旁边的搅拌站每天夜里施工，粉尘和噪音严重影响生活"
    edited = [letter.replace("业主", "住户"), letter.replace("业主", "居民")]
    copies = [letter + ending for ending in ("", "！", "，请尽快处理")] * 30 + edited * 10 + ["学校门口交通拥堵"] * 5
    assert not Boilerplate.learn(compared_text(text) for text in copies)
    # a dozen residents changed who they are, most did not: the phrase before is still no template
    residents = ("住户", "居民", "租户", "老人", "家长", "店主", "群众", "村民", "职工", "学生", "司机", "病人")
    edited = [letter.replace("业主", resident) for resident in residents]
    others = [f"{place}门口交通拥堵" for place in ("学校", "医院", "商场", "车站")] * 25
    assert not Boilerplate.learn(compared_text(text) for text in [letter] * 60 + edited + others)


def test_a_small_batch_teaches_nothing():
    """In fewer than MIN_TEXTS texts one campaign's copies, alike up to their closing words, could pass for
    a template."""
    letter = "翠湖小区旁边的搅拌站噪音扰民"
    closings = ("希望尽快搬走", "请依法查处", "请政府管一管", "恳请领导重视", "还我们安静", "晚上睡不着",
                "孩子没法学习", "老人睡不好", "已经很多天了", "谁来管一管", "太过分了", "求求你们")  # fmt: skip
    assert not Boilerplate.learn([compared_text(letter + closing) for closing in closings] * 2)
    orders, _, _ = _orders()
    assert not Boilerplate.learn(compared_text(order) for order in orders[: MIN_TEXTS - 1])
    assert Boilerplate.learn(compared_text(order) for order in orders[:MIN_TEXTS])


def test_only_the_first_texts_are_learned_from(monkeypatch):
    orders, _, _ = _orders()
    monkeypatch.setattr(triage.boilerplate, "SAMPLE_SIZE", 100)
    others = [f"来电人称：{place}{problem}。" for place, problem in itertools.product(PLACES, PROBLEMS)] * 3
    learned = Boilerplate.learn(compared_text(text) for text in [*orders[:100], *others])
    assert learned == Boilerplate.learn(compared_text(order) for order in orders[:100])
    assert learned.openings == {compared_text(OPENING)}


phrase = st.text(alphabet="市民来电反映请处理谢谢", min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(
    st.frozensets(phrase, max_size=4),
    st.frozensets(phrase, max_size=4),
    st.text("市民来电反映请处理谢谢路灯", max_size=30),
)
def test_strip_cuts_one_known_opening_and_one_known_ending_and_keeps_enough(openings, endings, text):
    keep = 3
    stripped = Boilerplate(openings, endings).strip(text, keep=keep)
    start = text.find(stripped) if stripped else 0
    assert text[start : start + len(stripped)] == stripped
    cut_opening, cut_ending = text[:start], text[start + len(stripped) :]
    assert cut_opening in openings | {""} and cut_ending in endings | {""}
    assert len(stripped) >= min(len(text), keep)
    if len(text) >= keep and any(text.startswith(o) and len(text) - len(o) >= keep for o in openings):
        assert cut_opening  # a known opening that leaves enough is cut


def test_templated_orders_are_grouped_by_concern_not_by_template():
    orders, concerns, _ = _orders()
    assert _mixed_groups(group(orders, strip_boilerplate=False), concerns) == 1  # one group of everything
    ids = group(orders)
    assert _mixed_groups(ids, concerns) == 0
    assert len(set(ids.tolist())) < len(orders)  # the orders sent twice are still copies


def test_chunks_learn_from_the_same_first_texts_whatever_their_size(monkeypatch):
    orders, _, _ = _orders()
    others = [f"{place}的垃圾站很久没人清运，臭味很大" for place in ("东湖路", "西山村", "南门桥", "北岭镇")] * 5
    texts = [*orders, *others]
    monkeypatch.setattr(triage.boilerplate, "SAMPLE_SIZE", 104)
    expected = group(texts)
    for size in (1, 7, 103, 104, 105, 200):
        chunks = [texts[at : at + size] for at in range(0, len(texts), size)]
        np.testing.assert_array_equal(group_chunks(chunks), expected)


def test_dask_groups_templated_orders_as_locally(dask_client, monkeypatch):
    import dask.dataframe as dd
    import pandas as pd

    import triage.dask

    orders, concerns, _ = _orders()
    frame = pd.DataFrame({"内容": orders})
    expected = group(orders)
    assert _mixed_groups(expected, concerns) == 0
    for partitions in (1, 5):
        np.testing.assert_array_equal(triage.dask.group(dd.from_pandas(frame, npartitions=partitions)), expected)
    np.testing.assert_array_equal(
        triage.dask.group(dd.from_pandas(frame, npartitions=3), strip_boilerplate=False),
        group(orders, strip_boilerplate=False),
    )
    # the sample ends inside a later partition, and the first holds too few rows to learn the template from:
    # both sides learn from the same 110 rows
    monkeypatch.setattr(triage.boilerplate, "SAMPLE_SIZE", 110)
    monkeypatch.setattr(triage.dask, "SAMPLE_SIZE", 110)
    late = [f"{place}的垃圾站很久没人清运" for place in ("东湖路", "西山村", "南门桥", "北岭镇")] * 3 + orders
    expected = group(late)
    assert _mixed_groups(expected[12:], concerns) == 0
    frame = pd.DataFrame({"内容": late})
    np.testing.assert_array_equal(triage.dask.group(dd.from_pandas(frame, npartitions=4)), expected)


def test_template_words_are_no_key_words_of_concerns():
    from triage.concerns import ConcernTerms, _hash

    orders, _, _ = _orders()
    with ConcernTerms() as terms:
        terms.add(orders)
        ids, _ = terms.arrays()
    used = set(ids.ravel().tolist())
    assert not {_hash(word) for word in ("市民", "来电", "核实", "回复")} & used
    assert {_hash(word) for word in ("停车费", "路灯", "补课")} <= used


def test_hot_topics_of_templated_orders_keep_concerns_apart(small_model):
    from triage.hot import hot_topics

    orders, concerns, _ = _orders()
    topics = hot_topics(orders, model=small_model, top=len(orders), min_size=1)
    assert sum(topic.size for topic in topics) == len(orders)
    for topic in topics:  # a single order may join a topic by a rare word they share, as without the template
        assert len({concerns[i] for i in topic.members} & CONCERNS.keys()) <= 1, topic


@pytest.mark.skipif(not (SHARED_DATA.parent / "dalian" / "messages.csv").exists(), reason="shared data not found")
def test_real_replies_opened_by_one_greeting_no_longer_chain_into_one_group():
    """A real board's replies, most opened by one greeting: the largest group shrinks by more than a third;
    its messages, which share no template, keep their groups."""
    with (SHARED_DATA.parent / "dalian" / "messages.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    replies = [row["reply"] for row in rows]
    largest = {
        strip: Counter(group(replies, strip_boilerplate=strip).tolist()).most_common(1)[0][1] for strip in (False, True)
    }
    assert largest[True] < 2 / 3 * largest[False]
    bodies = [row["body"] for row in rows]
    np.testing.assert_array_equal(group(bodies), group(bodies, strip_boilerplate=False))


def test_stripping_is_the_identity_without_boilerplate():
    texts = ["".join(letters) for letters in itertools.permutations("物业费停车", 5)]
    empty = Boilerplate()
    assert not empty and [empty.strip(text, keep=3) for text in texts] == texts
    assert Boilerplate(openings=frozenset({"物业费停"})) and Boilerplate(endings=frozenset({"物业费停"}))


def _combinations(opening: str, places: tuple[str, ...] = PLACES) -> list[str]:
    """An order for every place and problem, typed after ``opening``."""
    return [opening + place + problem + "。" for place, problem in itertools.product(places, PROBLEMS)]


def test_a_phrase_needs_min_branches_continuations():
    """Ten places after the template: a template; nine: not yet (the ten other texts have none)."""
    assert Boilerplate.learn(compared_text(text) for text in _combinations(OPENING)).openings == {
        compared_text(OPENING)
    }
    nine = _combinations(OPENING, PLACES[: MIN_BRANCHES - 1]) + [f"{problem}已经很久了" for problem in PROBLEMS]
    assert not Boilerplate.learn(compared_text(text) for text in nine).openings


def test_the_texts_beyond_the_commonest_continuation_must_be_a_tenth():
    phrase = "市民来电反映"
    places = (
        "东湖路",
        "西山村",
        "南门桥",
        "北岭镇",
        "中心街",
        "学府路",
        "江边村",
        "新华街",
        "工业园",
        "高铁站",
        "老城区",
    )
    common = [phrase + "阳光小区停车费太贵"] * 50
    others = [f"{place}垃圾没人清运" for place in places] * 4
    assert Boilerplate.learn([*common, *(phrase + place for place in places[:10]), *others[:40]])
    assert not Boilerplate.learn([*common, *(phrase + place for place in places[:9]), *others[:41]])


@pytest.mark.parametrize("learn", [Boilerplate.learn, Boilerplate.from_texts])
def test_texts_that_stop_at_a_phrase_are_no_continuation_of_it(learn):
    """Nor, for :meth:`Boilerplate.from_texts`, is a short text read as its two ends (the phrase again after it)."""
    phrase = "市民来电反映"
    texts = [phrase] * 60 + [phrase + place for place in PLACES[: MIN_BRANCHES - 1]] * 4 + ["学校门口交通拥堵"] * 4
    assert not learn(texts)


def test_templates_of_different_lengths_are_all_learned():
    texts = [compared_text(text) for text in _combinations(OPENING) + _combinations("来电人称：")]
    assert Boilerplate.learn(texts).openings == {compared_text(OPENING), "来电人称"}


@pytest.mark.parametrize("extra", [0, 1])
def test_phrases_up_to_max_length_are_learned(extra):
    """A template of MAX_LENGTH characters is an opening (or an ending); a longer one is not."""
    template = ("市民来电反映请相关部门尽快核实处理并回复" * 2)[: MAX_LENGTH + extra]
    openings = Boilerplate.learn(template + place + problem for place, problem in itertools.product(PLACES, PROBLEMS))
    endings = Boilerplate.learn(place + problem + template for place, problem in itertools.product(PLACES, PROBLEMS))
    assert (openings.openings, endings.endings) == ((frozenset({template}),) * 2 if not extra else (frozenset(),) * 2)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["市民来电反映", "：", " ", "路灯", "坏了", "。", "请处理", "谢谢", "！"]), max_size=12)
)
def test_cut_takes_from_the_prepared_text_what_strip_takes_from_the_compared_one(parts):
    boilerplate = Boilerplate(frozenset({"市民来电反映"}), frozenset({"请处理谢谢"}))
    prepared = "".join(parts)
    cut = boilerplate.cut(prepared)
    assert cut in prepared
    if compared_text(prepared):
        assert compared_text(cut) == boilerplate.strip(compared_text(prepared), keep=KEEP)


@pytest.mark.parametrize(
    ("prepared", "keep", "expected"),
    [
        ("您好，市民来电反映：路灯坏了，请处理！谢谢。", KEEP, "路灯坏了"),  # both cut across punctuation
        ("您好，市民来电反映：路灯坏了", KEEP, "路灯坏了"),  # the opening ends at the last run but one
        ("市民来电反映路灯坏了", KEEP, "路灯坏了"),  # the opening ends inside a run
        ("“路灯坏了”请处理，谢谢。", KEEP, "“路灯坏了"),  # only an ending: the start stays as written
        ("您好，市民来电反映：路灯", KEEP, "您好，市民来电反映：路灯"),  # cutting would leave too little
        ("您好，市民来电反映：", 0, "："),  # all template, keep=0: no letter left
        ("“请处理，谢谢", 0, "“"),
    ],
)
def test_cut_takes_the_template_and_the_punctuation_between_it_and_the_message(prepared, keep, expected):
    boilerplate = Boilerplate(frozenset({"您好市民来电反映", "市民来电反映"}), frozenset({"请处理谢谢"}))
    assert boilerplate.cut(prepared, keep=keep) == expected


def test_compared_text_is_letters_digits_and_cjk_only_and_nothing_without_chinese():
    assert compared_text("路灯 坏了，No.3 楼_门口！") == "路灯坏了No3楼门口"
    assert compared_text("Street lamp No.3 is broken!") == ""


def test_the_sample_chunks_are_those_up_to_the_sample_size_and_the_stream_goes_on_after_them(monkeypatch):
    monkeypatch.setattr(triage.boilerplate, "SAMPLE_SIZE", 10)
    chunks = iter([["a"] * 4, ["b"] * 5, ["c"], ["d"] * 3, ["e"]])
    assert [chunk[0] for chunk in sample_chunks(chunks)] == ["a", "b", "c"]
    assert [chunk[0] for chunk in chunks] == ["d", "e"]
    assert [chunk[0] for chunk in sample_chunks(iter([["a"] * 4, ["b"] * 5]))] == ["a", "b"]  # a short stream, whole


@pytest.fixture(scope="module")
def default_model():
    return triage.load()


def _orders_file(tmp_path, name="orders.csv"):
    orders, _, _ = _orders()
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([("编号", "内容"), *enumerate(orders)])
    return path, orders


def _departments(path) -> list[str]:
    with path.open(encoding="utf-8-sig") as handle:
        return [row["department"] for row in csv.DictReader(handle)]


def test_tag_classifies_orders_without_their_template(tmp_path, default_model):
    from triage.batch import tag_file
    from triage.text import prepare

    source, orders = _orders_file(tmp_path)
    template = Boilerplate.from_texts(orders)
    as_cut = [result.department for result in default_model.classify([template.cut(prepare(o).text) for o in orders])]
    as_written = [result.department for result in default_model.classify(orders)]
    assert as_cut != as_written  # the template moves some orders to another department
    for jobs in (1, 2):
        summary = tag_file(source, tmp_path / f"cut{jobs}.csv", model=default_model, n_jobs=jobs, progress=False)
        assert _departments(tmp_path / f"cut{jobs}.csv") == as_cut
        assert summary.template == {"openings": [compared_text(OPENING)], "endings": [compared_text(ENDING)]}
    summary = tag_file(source, tmp_path / "kept.csv", model=default_model, cut_template=False, progress=False)
    assert _departments(tmp_path / "kept.csv") == as_written and summary.template == {}


def test_the_cli_says_which_template_it_cut_and_keeps_it_when_asked(tmp_path):
    from click.testing import CliRunner

    from triage.cli import cli

    source, _ = _orders_file(tmp_path)
    cut = CliRunner().invoke(cli, ["tag", str(source), "-o", str(tmp_path / "cut.csv"), "--jobs", "1"])
    assert cut.exit_code == 0, cut.output
    assert f"模板: 「{compared_text(OPENING)}」… …「{compared_text(ENDING)}」" in cut.output
    kept = CliRunner().invoke(cli, ["tag", str(source), "-o", str(tmp_path / "kept.csv"), "--keep-template"])
    assert kept.exit_code == 0 and "模板" not in kept.output
    assert _departments(tmp_path / "cut.csv") != _departments(tmp_path / "kept.csv")


def test_tag_dataframe_learns_the_template_from_its_frame(default_model):
    import pandas as pd

    from triage.batch import tag_dataframe
    from triage.text import prepare

    orders, _, _ = _orders()
    frame = pd.DataFrame({"内容": orders})
    template = Boilerplate.from_texts(orders)
    as_cut = [result.department for result in default_model.classify([template.cut(prepare(o).text) for o in orders])]
    assert tag_dataframe(frame, model=default_model)["department"].tolist() == as_cut
    kept = tag_dataframe(frame, model=default_model, template=Boilerplate())["department"].tolist()
    assert kept == [result.department for result in default_model.classify(orders)]


def test_a_run_resumed_with_the_template_kept_is_refused_and_resumed_as_it_was_run(tmp_path, small_model):
    from tests.test_batch_checkpoints import interrupt
    from triage.batch import tag_file
    from triage.io import DataError

    source, _ = _orders_file(tmp_path)
    whole, output = tmp_path / "whole.csv", tmp_path / "tagged.csv"
    tag_file(source, whole, model=small_model, chunk_size=2, progress=False)
    state = interrupt(source, output, small_model, chunks=3)
    assert state["template"] == [[compared_text(OPENING)], [compared_text(ENDING)]]
    with pytest.raises(DataError, match="the template cut before classifying"):
        tag_file(source, output, model=small_model, chunk_size=2, progress=False, resume=True, cut_template=False)
    tag_file(source, output, model=small_model, chunk_size=2, progress=False, resume=True)
    assert output.read_bytes() == whole.read_bytes()


def test_dask_tags_templated_orders_as_the_local_tagger(dask_client, saved_model_dir, small_model, tmp_path):
    import pyarrow.parquet as pq

    import triage.dask
    from triage.batch import tag_file

    source, orders = _orders_file(tmp_path)
    written = [result.department for result in small_model.classify(orders)]
    tag_file(source, tmp_path / "local.parquet", model=small_model, progress=False)
    local = pq.read_table(tmp_path / "local.parquet")
    assert local.column("department").to_pylist() != written  # the template was cut
    address = dask_client.scheduler.address
    triage.dask.tag_dataset(source, tmp_path / "out", scheduler=address, model_path=saved_model_dir)
    assert pq.read_table(tmp_path / "out").equals(local.replace_schema_metadata(None))


def test_a_templated_workbook_is_read_once_and_tagged_as_its_csv(tmp_path, small_model, monkeypatch):
    """calamine parses a sheet whole: the template is learned from the rows the tagging reads."""
    import pandas as pd

    import triage.io
    from triage.batch import tag_file

    source, orders = _orders_file(tmp_path)
    workbook = tmp_path / "orders.xlsx"
    pd.DataFrame({"编号": range(len(orders)), "内容": orders}).to_excel(workbook, index=False)
    tag_file(source, tmp_path / "from_csv.csv", model=small_model, progress=False)
    opened = []
    real = triage.io._read_xlsx
    monkeypatch.setattr(triage.io, "_read_xlsx", lambda *args: opened.append(args) or real(*args))
    for chunk_size in (7, 5_000):
        output = tmp_path / f"from_xlsx{chunk_size}.csv"
        tag_file(workbook, output, model=small_model, chunk_size=chunk_size, progress=False)
        assert _departments(output) == _departments(tmp_path / "from_csv.csv")
    assert len(opened) == 2


TEMPLATE_WORDS = {"市民", "来电", "相关", "部门", "尽快", "核实", "处理", "回复"}  # 反映 is also in the notes


@pytest.mark.parametrize("source", ["memory", "file"])
def test_hot_topics_are_described_without_the_template(tmp_path, default_model, source):
    """Key terms without the template's words, and members classified without it: the tutoring orders'
    topic goes to education (with the template, most of them read as urban management)."""
    from triage.hot import hot_topics, hot_topics_from_file

    orders, concerns, _ = _orders()
    if source == "memory":
        topics = hot_topics(orders, model=default_model, top=len(orders), min_size=1)
    else:
        path, _ = _orders_file(tmp_path)
        topics = hot_topics_from_file(path, model=default_model, top=len(orders), min_size=1, progress=False).topics
    assert not any(TEMPLATE_WORDS & set(topic.key_terms) for topic in topics)
    tutoring = [topic for topic in topics if {concerns[i] for i in topic.members} == {"tutoring"}]
    assert tutoring and all(topic.department == "education" for topic in tutoring)


def test_learning_from_the_ends_of_long_texts_learns_what_whole_texts_teach():
    from triage.text import prepare

    orders, _, cores = _orders()
    # long messages, the template still at their ends
    long = [order.replace("。请", "，" + core * 100 + "请") for order, core in zip(orders, cores, strict=True)]
    assert all(len(text) > 1_000 for text in long)
    for texts in (orders, long):
        assert Boilerplate.from_texts(texts) == Boilerplate.learn(compared_text(prepare(t).text) for t in texts)
    assert Boilerplate.from_texts(long).endings == {compared_text(ENDING)}


def test_a_text_longer_than_two_ends_is_prepared_as_its_two_ends_only_and_none_after_the_sample(monkeypatch):
    """The point of reading ends: a long message is not prepared whole (what they teach is tested above); nor is
    a text after the sample."""
    from triage.text import prepare

    prepared: list[str] = []

    def recorded(text):
        prepared.append(text)
        return prepare(text)

    monkeypatch.setattr(triage.boilerplate, "prepare", recorded)
    end = triage.boilerplate._END
    whole, longer = (OPENING + ("路灯坏了" * end)[: length - len(OPENING)] for length in (2 * end, 2 * end + 1))
    monkeypatch.setattr(triage.boilerplate, "SAMPLE_SIZE", 2)
    Boilerplate.from_texts([whole, longer, "第三条不在样本里"])
    assert prepared == [whole, f"{longer[:end]}\n{longer[-end:]}"]


@pytest.mark.skipif(not (SHARED_DATA.parent / "dalian" / "messages.csv").exists(), reason="shared data not found")
def test_learning_from_the_ends_of_real_replies_learns_what_whole_replies_teach():
    from triage.text import prepare

    for city in ("dalian", "jiamusi"):
        with (SHARED_DATA.parent / city / "messages.csv").open(encoding="utf-8") as handle:
            replies = [row["reply"] for row in csv.DictReader(handle)]
        whole = Boilerplate.learn(compared_text(prepare(text).text) for text in replies)
        assert Boilerplate.from_texts(replies) == whole


def test_evaluate_scores_templated_orders_as_tag_classifies_them(tmp_path, default_model):
    from click.testing import CliRunner

    from triage.cli import cli
    from triage.evaluation import evaluate

    orders, concerns, _ = _orders()
    department = {"parking": "property_management", "tutoring": "education", "noise": "ecology_environment"}
    texts = orders * 2  # 212 orders: the template is learned
    labels = [department.get(concern, "urban_management") for concern in concerns] * 2
    cut = evaluate(default_model, texts, labels)
    kept = evaluate(default_model, texts, labels, cut_template=False)
    assert cut["template"] == {"openings": [compared_text(OPENING)], "endings": [compared_text(ENDING)]}
    assert kept["template"] == {"openings": [], "endings": []}
    assert cut["accuracy"] > kept["accuracy"]  # the template pulled tutoring orders to urban management
    path = tmp_path / "labelled.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([("内容", "部门"), *zip(texts, labels, strict=True)])
    shown = CliRunner().invoke(cli, ["evaluate", str(path), "--label-column", "部门"])
    assert shown.exit_code == 0, shown.output
    assert f"模板: 「{compared_text(OPENING)}」… …「{compared_text(ENDING)}」" in shown.output
    assert f"accuracy                    {cut['accuracy']:.3f}" in shown.output
    kept_shown = CliRunner().invoke(cli, ["evaluate", str(path), "--label-column", "部门", "--keep-template"])
    assert "模板" not in kept_shown.output and f"{kept['accuracy']:.3f}" in kept_shown.output


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_trial_run_tags_its_rows_as_the_whole_run_does(tmp_path, default_model, suffix):
    """--stop-after 20: the template is still learned from the export's first 5,000 rows."""
    import pandas as pd

    from triage.batch import tag_file

    source, orders = _orders_file(tmp_path)
    if suffix == ".xlsx":
        source = tmp_path / "orders.xlsx"
        pd.DataFrame({"编号": range(len(orders)), "内容": orders}).to_excel(source, index=False)
    whole = tag_file(source, tmp_path / "whole.csv", model=default_model, progress=False)
    trial = tag_file(source, tmp_path / "trial.csv", model=default_model, stop_after=20, progress=False)
    assert trial.template == whole.template != {}
    assert _departments(tmp_path / "trial.csv") == _departments(tmp_path / "whole.csv")[:20]
