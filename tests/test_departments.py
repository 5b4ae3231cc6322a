"""The department directory, unit-name matching, and handlers read from replies (invented text)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.departments import default_directory, load_directory, match_unit
from triage.exceptions import ConfigError
from triage.replies import handler_from_reply, handlers_by_reply_text

REQUIRED = {
    "housing_construction", "property_management", "public_security", "urban_management", "water_affairs",
    "transport", "education", "civil_affairs", "human_resources_social_security", "healthcare_security", "health",
    "ecology_environment", "market_regulation", "natural_resources", "agriculture_rural", "culture_tourism",
    "emergency_management", "street_community", "other",
}  # fmt: skip


def test_directory_has_every_required_department_with_remit_and_subcategories():
    directory = default_directory()
    assert set(directory) == REQUIRED
    for department in directory.values():
        assert department.name and department.short_name and department.english_name
        assert department.remit and department.not_remit
        assert len(department.subcategories) >= 4
        assert department.unit_aliases


@pytest.mark.parametrize(
    ("unit", "code"),
    [
        ("A3区住房和城乡建设局", "housing_construction"),
        ("住建局", "housing_construction"),
        ("房管局", "housing_construction"),
        ("市公安局交警支队", "public_security"),
        ("龙泉派出所", "public_security"),
        ("大营街道办", "street_community"),
        ("我镇", "street_community"),
        ("北山镇人民政府", "street_community"),
        ("县人社局劳动监察大队", "human_resources_social_security"),
        ("区卫健委", "health"),
        ("县环保局", "ecology_environment"),
        ("国土局", "natural_resources"),
        ("不动产登记中心", "natural_resources"),
        ("医保中心", "healthcare_security"),
        ("市场监管局", "market_regulation"),
        ("城管执法大队", "urban_management"),
        ("自来水公司", "water_affairs"),
        ("物业公司", "property_management"),
        ("省教育厅", "education"),
        ("县交通运输局", "transport"),
    ],
)
def test_match_unit(unit, code):
    assert match_unit(unit) == code


@pytest.mark.parametrize("text", ["", "今天天气不错", "请尽快处理"])
def test_match_unit_without_a_unit(text):
    assert match_unit(text) is None


def test_find_units_in_a_passing_mention():
    mentions = default_directory().find_units("我去了青石派出所，又去了区住建局，都说不归他们管")
    assert [m.department for m in mentions] == ["public_security", "housing_construction"]


@pytest.mark.parametrize(
    ("reply", "code", "cue"),
    [
        ("您好！您反映的问题已转交青石区住建局办理。", "housing_construction", "transfer"),
        (
            "您好，来信收悉。该路段路灯已于上周修复。感谢您的关注。\n柳湾县城市管理局 2025年3月2日",
            "urban_management",
            "signature",
        ),
        ("您好！经县人社局核实，该公司已补发工资。", "human_resources_social_security", "verified"),
        ("您好！接到留言后，南城派出所立即进行了调查。", "public_security", "verified"),
        ("经我镇调查，该路段已修复。", "street_community", "verified"),
        ("该路段已修复，我街道将加强巡查。", "street_community", "self_reference"),
        ("孩子已安排入学。感谢您对教育工作的关心和支持！", "education", "line_of_work"),
    ],
)
def test_handler_from_reply(reply, code, cue):
    evidence = handler_from_reply(reply)
    assert (evidence.department, evidence.cue) == (code, cue)


@pytest.mark.parametrize(
    "reply",
    ["网友：您好！留言已收悉", "根据规定，违建由城管部门查处。感谢您对家乡建设的关心。", "已转相关部门处理。"],
)
def test_handler_from_reply_abstains_when_unclear(reply):
    assert handler_from_reply(reply) is None


def test_deployment_directory_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        '[[department]]\ncode = "roads"\nname = "道路"\nshort_name = "道路"\nenglish_name = "Roads"\n'
        'unit_aliases = ["道路科"]\n',
        encoding="utf-8",
    )
    directory = load_directory(path)
    assert list(directory) == ["roads"] and directory.match_unit("青石县道路科") == "roads"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not toml [", "not valid TOML"),
        ("title = 1", "no \\[\\[department\\]\\] entries"),
        ('[[department]]\ncode = "x"\n', "lacks name, short_name, english_name"),
        ('[[department]]\ncode="a"\nname="a"\nshort_name="a"\nenglish_name="a"\n' * 2, "duplicate department codes: a"),
        ('[[department]]\ncode="a"\nname="a"\nshort_name="a"\nenglish_name="a"\nsubcategory="fees"\n', "subcategory"),
        (
            '[[department]]\ncode="a"\nname="a"\nshort_name="a"\nenglish_name="a"\n[[department.subcategory]]\ncode="x"\n',
            "with code and name",
        ),
    ],
)
def test_bad_directory_files(tmp_path, content, message):
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_directory(path)


# Replies in two offices' idioms that never name the office.
_SCHOOL_REPLIES = [
    "您反映的孩子入学学位问题，已按招生划片政策安排，请家长按时报名。",
    "关于学校课后服务收费，已要求该校规范收费并向家长公示。",
    "经核实，该校教师有偿补课问题属实，已责令整改并通报。",
    "今年秋季学位紧张，新建小学将于九月投入使用，招生计划已公布。",
]
_TRAFFIC_REPLIES = [
    "该路口违章停车问题，已安排警力加强巡逻并依法处罚违停车辆。",
    "关于渣土车闯红灯，已组织路面执勤民警开展专项整治，查处违法车辆。",
    "经查，该路段限速标志设置符合道路交通安全法规定，将加强测速执法。",
    "针对早高峰拥堵，已在路口增派交警疏导交通，并调整信号灯配时。",
]


def test_handlers_by_reply_text_fills_confident_gaps_and_keeps_known_handlers():
    unknown = ["新学期招生学位已安排，学校将公示收费。", "已依法处罚违停车辆，民警将加强巡逻。"]
    replies = [*_SCHOOL_REPLIES, *_TRAFFIC_REPLIES, *unknown]
    handlers = ["education"] * 4 + ["public_security"] * 4 + [None, float("nan")]  # NaN: a pandas column's gap
    filled = handlers_by_reply_text(replies, handlers, min_confidence=0.5)
    assert filled[:8] == handlers[:8]
    assert "nan" not in filled
    assert filled[8:] == ["education", "public_security"]


def test_handlers_by_reply_text_leaves_unsure_and_empty_replies_unlabelled():
    replies = [*_SCHOOL_REPLIES, *_TRAFFIC_REPLIES, "留言已收悉，谢谢。", "", "-", float("nan")]
    handlers = ["education"] * 4 + ["public_security"] * 4 + [None] * 4
    assert handlers_by_reply_text(replies, handlers) == handlers  # at the default confidence, 0.8
    # an unanswered message gets no handler however low the bar
    assert handlers_by_reply_text(replies, handlers, min_confidence=0.01)[-3:] == [None] * 3


def test_handlers_by_reply_text_takes_items_by_position():
    import pandas as pd

    replies = [*_SCHOOL_REPLIES, *_TRAFFIC_REPLIES, "新学期招生学位已安排，学校将公示收费。"]
    handlers = ["education"] * 4 + ["public_security"] * 4 + [None]
    order = list(reversed(range(len(replies))))  # a sorted export: index labels out of order
    frame = pd.DataFrame({"reply": replies, "handler": handlers}).iloc[order]
    filled = handlers_by_reply_text(frame["reply"], frame["handler"], min_confidence=0.5)
    assert filled[0] == "education" and filled[1:] == [handlers[i] for i in order[1:]]


def test_handlers_by_reply_text_skips_rare_handlers_and_checks_its_input():
    replies = [*_SCHOOL_REPLIES, *_TRAFFIC_REPLIES, "城管已拆除违章搭建。", "学校招生已公示。"]
    handlers = ["education"] * 4 + ["public_security"] * 4 + ["urban_management", None]
    filled = handlers_by_reply_text(replies, handlers, min_confidence=0.5, min_examples=2)
    assert filled[8] == "urban_management" and filled[9] in {"education", "public_security"}
    # nothing to learn from: one known department
    assert handlers_by_reply_text([*_SCHOOL_REPLIES, "学校"], ["education"] * 4 + [None]) == ["education"] * 4 + [None]
    with pytest.raises(ValueError, match="2 replies but 1 handlers"):
        handlers_by_reply_text(["a", "b"], ["education"])
    with pytest.raises(ValueError, match="min_confidence"):
        handlers_by_reply_text(replies, handlers, min_confidence=0.0)
    with pytest.raises(ValueError, match="min_examples must be at least 2"):
        handlers_by_reply_text(replies, handlers, min_examples=1)
    with pytest.raises(ValueError, match="one str"):
        handlers_by_reply_text("学校招生", ["education"])


_reply_text = st.one_of(
    st.none(),
    st.just(float("nan")),
    st.text(alphabet=st.sampled_from("学校招生学位民警违停依法处理物业收费已核实，。 -a1"), max_size=30),
)
_handler = st.one_of(st.none(), st.just(""), st.sampled_from(["education", "public_security", "property_management"]))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(_reply_text, _handler), max_size=12))
def test_handlers_by_reply_text_only_fills_gaps_with_known_departments(rows):
    replies = [*_SCHOOL_REPLIES, *_TRAFFIC_REPLIES, *(reply for reply, _ in rows)]
    handlers = ["education"] * 4 + ["public_security"] * 4 + [handler for _, handler in rows]
    filled = handlers_by_reply_text(replies, handlers, min_confidence=0.5)
    assert len(filled) == len(handlers)
    for reply, given_handler, result in zip(replies, handlers, filled, strict=True):
        if given_handler:
            assert result == given_handler
        elif not isinstance(reply, str) or not any("\u4e00" <= c <= "\u9fff" for c in reply):
            assert result is None  # nothing to read
        else:
            assert result is None or result in set(filter(None, handlers))
