"""Routing: rule actions and precedence, gazetteer offices, urgency, review reasons, config validation."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import triage
from triage import routing
from triage.cli import cli
from triage.exceptions import ConfigError
from triage.results import Urgency
from triage.routing import example_config_path, load_config

GAZETTEER = "place,jurisdiction,department,office\n青石小区,南城街道,public_security,南城派出所\n"


def write_config(tmp_path, rules: str, *, gazetteer: str = GAZETTEER, settings: str = "") -> object:
    (tmp_path / "places.csv").write_text(gazetteer, encoding="utf-8")
    path = tmp_path / "routing.toml"
    path.write_text(f'[routing]\ngazetteer = "places.csv"\n{settings}\n{rules}', encoding="utf-8")
    return load_config(path)


def rule(name, pattern, action, department=None, priority=0, **extra):
    lines = [f'[[rule]]\nname = "{name}"\npattern = "{pattern}"\naction = "{action}"\npriority = {priority}']
    if department:
        lines.append(f'department = "{department}"')
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def test_force_overrides_the_model(small_model, tmp_path):
    config = write_config(tmp_path, rule("gas", "煤气味", "force", "public_security", urgency="emergency"))
    suggestion = small_model.route("学校食堂有很大的煤气味", config=config)
    assert suggestion.model_department == "education"
    assert suggestion.department == "public_security" and suggestion.urgency is Urgency.EMERGENCY
    # the deployment's rule is named first; the built-in gas-leak rule fires too
    assert suggestion.urgency_reason == "rule gas" and suggestion.rules_fired == ("gas", "gas-leak")


def test_higher_priority_force_wins_and_equal_priorities_conflict(small_model, tmp_path):
    rules = rule("a", "物业", "force", "education", priority=10) + rule("b", "物业", "force", "public_security", 5)
    assert small_model.route("物业乱收费", config=write_config(tmp_path, rules)).department == "education"
    rules = rule("a", "物业", "force", "education", 5) + rule("b", "物业", "force", "public_security", 5)
    suggestion = small_model.route("物业乱收费", config=write_config(tmp_path, rules))
    assert "conflicting_rules" in suggestion.review_reasons and suggestion.needs_review


def test_boost_changes_the_ranking_only_where_it_fires(small_model, tmp_path):
    config = write_config(tmp_path, rule("hukou", "户口", "boost", "education", boost=2.0))
    assert small_model.route("孩子户口迁移手续", config=config).department == "education"
    assert small_model.route("派出所补办身份证", config=config).department == "public_security"


def test_co_handler_rule(small_model, tmp_path):
    config = write_config(tmp_path, rule("copy", "漏水", "co_handler", "education"))
    suggestion = small_model.route("物业不管地下车库漏水", config=config)
    assert suggestion.department == "property_management" and "education" in suggestion.co_handlers


def test_urgency_rule_takes_the_most_severe(small_model, tmp_path):
    rules = rule("u1", "停水", "urgency", urgency="urgent") + rule("u2", "三天", "urgency", urgency="emergency")
    suggestion = small_model.route("小区停水三天了物业不管", config=write_config(tmp_path, rules))
    assert suggestion.urgency is Urgency.EMERGENCY and suggestion.urgency_reason == "rule u2"


def test_review_rule_and_short_text(small_model, tmp_path):
    config = write_config(tmp_path, rule("sad", "不想活", "urgency", urgency="emergency", review=True))
    suggestion = small_model.route("物业欠我钱我不想活了", config=config)
    assert suggestion.needs_review and "rule sad asks for review" in suggestion.review_reasons
    assert "text_too_short" in small_model.route("物业", config=config).review_reasons


def test_gazetteer_selects_the_local_office(small_model, tmp_path):
    config = write_config(tmp_path, "")
    suggestion = small_model.route("青石小区门口派出所补办身份证", config=config)
    assert suggestion.local_office == "南城派出所" and suggestion.places == ("青石小区",)
    assert small_model.route("派出所补办身份证", config=config).local_office is None
    with_metadata = small_model.route("派出所补办身份证", config=config, metadata={"place": "青石小区"})
    assert with_metadata.local_office == "南城派出所"


def test_the_first_spelling_routing_route_is_model_route(small_model, tmp_path):
    config = write_config(tmp_path, "")
    texts = ("派出所补办身份证", "学校食堂饭菜太差")
    routed = routing.route(small_model, iter(texts), config, metadata=[{"place": "青石小区"}, None])
    assert routed == small_model.route(list(texts), config=config, metadata=[{"place": "青石小区"}, None])
    assert routed[0].local_office == "南城派出所" and routed[1].local_office is None


def test_empty_text_is_not_routed(small_model):
    suggestion = small_model.route("   ")
    assert suggestion.department is None and suggestion.review_reasons == ("empty_text",)


def test_suggestions_are_json_serialisable_and_lists_route_in_one_pass(small_model):
    suggestions = small_model.route(["物业乱收费", "派出所补办身份证"])
    data = json.loads(json.dumps([s.to_dict() for s in suggestions], ensure_ascii=False))
    assert [d["department"] for d in data] == ["property_management", "public_security"]
    assert set(data[0]["explanation"]) == {"terms", "rules", "places"} and data[0]["urgency"] == "normal"


def test_every_config_problem_is_reported_at_once_with_file_and_line(tmp_path):
    rules = rule("dup", "x", "force", "nowhere") + rule("dup", "(", "boost", "education") + rule("odd", "y", "teleport")
    bad_gazetteer = GAZETTEER + "某村,南城街道,,南城派出所\n某路,南城街道,moon,某所\n"
    with pytest.raises(ConfigError) as caught:
        write_config(tmp_path, rules, gazetteer=bad_gazetteer)
    message = str(caught.value)
    assert "routing.toml:4: rule 'dup': unknown department code 'nowhere'" in message
    assert "routing.toml:10: rule 'dup': bad regex '('" in message
    assert "action must be one of force, boost, co_handler, urgency, got 'teleport'" in message
    assert "duplicate rule name 'dup'" in message
    assert "places.csv:3: missing department" in message and "places.csv:4: unknown department code 'moon'" in message


def test_gazetteer_without_a_column(tmp_path):
    with pytest.raises(ConfigError, match=r"places.csv:1: gazetteer header lacks office"):
        write_config(tmp_path, "", gazetteer="place,jurisdiction,department\n")


BRIEF = [  # the five concerns of the station in our brief, in our own words
    ("柳湾村这边的下水道堵了快一个月，污水都漫到路上了，臭得没法走", "water_affairs", "青石区排水管理所"),
    ("孩子在龙泉社区上小学，学校的四点半课堂收费高还不辅导作业，家长意见很大", "education", "青石区教育局"),
    ("我在金桂社区住了十年，想把户口迁过来，身份证也到期要换，派出所说材料不够", "public_security", "龙泉派出所"),
    ("桂园小区物业费年年涨，楼道卫生没人打扫，停车位还乱收费", "property_management", "桂园小区物业服务中心"),
    ("金桂社区的老年食堂饭菜又涨价了，很多老人吃不起", "civil_affairs", "大营街道民政办"),
]


@pytest.mark.parametrize(("text", "department", "office"), BRIEF)
def test_the_station_example_routes_the_five_concerns(text, department, office):
    suggestion = triage.load().route(text, config=example_config_path())
    assert (suggestion.department, suggestion.local_office) == (department, office)


def test_route_command(saved_model_dir):
    config = str(example_config_path())
    result = CliRunner().invoke(
        cli, ["route", "--config", config, "--json", "--model", str(saved_model_dir), "桂园小区物业乱收停车费"]
    )
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert row["department"] == "property_management" and row["local_office"] == "桂园小区物业服务中心"
    result = CliRunner().invoke(cli, ["route", "--config", "missing.toml", "物业"])
    assert result.exit_code == 1 and "routing config not found" in result.output
