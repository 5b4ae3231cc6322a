"""Built-in safety rules: always on, measured on a written test set, switched off only by name.

The messages under tests/data/safety were written for these tests: emergencies.tsv and
ordinary.txt first, then six held-out rounds, each written after the rules last changed and
measured before they changed again (the figures are in the commit messages).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import triage
from triage.batch import tag_dataframe
from triage.exceptions import ConfigError
from triage.results import Urgency
from triage.routing import RoutingConfig, builtin_rules, fold_traditional, load_config

DATA = Path(__file__).parent / "data" / "safety"
RULE_NAMES = (
    "gas-leak",
    "fire",
    "smoke",
    "explosion",
    "trapped",
    "violence",
    "self-harm",
    "collapse",
    "flooding",
    "electrocution",
)


def _lines(pattern: str) -> list[str]:
    return [
        line
        for path in sorted(DATA.glob(pattern))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


EMERGENCIES = [tuple(line.split("\t")) for line in _lines("emergencies*.tsv")]
ORDINARY = _lines("ordinary*.txt")


def test_the_test_set_is_large_enough_and_names_known_rules():
    assert len(EMERGENCIES) >= 100 and len(ORDINARY) >= 300
    assert {rule for rule, _ in EMERGENCIES} == set(RULE_NAMES)
    assert len({text for _, text in EMERGENCIES}) == len(EMERGENCIES) and len(set(ORDINARY)) == len(ORDINARY)


def test_recall_and_false_alarms_on_the_written_set(small_model):
    """Recall >= 0.98 on emergencies, false alarms <= 2 % on ordinary messages, without any config."""
    urgencies = [s.urgency for s in small_model.route([text for _, text in EMERGENCIES + [("", t) for t in ORDINARY]])]
    found = urgencies[: len(EMERGENCIES)]
    alarms = urgencies[len(EMERGENCIES) :]
    missed = [text for (_, text), urgency in zip(EMERGENCIES, found, strict=True) if urgency is not Urgency.EMERGENCY]
    false = [text for text, urgency in zip(ORDINARY, alarms, strict=True) if urgency is Urgency.EMERGENCY]
    assert 1 - len(missed) / len(EMERGENCIES) >= 0.98, missed
    assert len(false) / len(ORDINARY) <= 0.02, false


@pytest.mark.parametrize("name", RULE_NAMES)
def test_every_rule_catches_its_own_emergencies(name):
    """Each built-in rule fires on at least 95 % of the emergencies written for it (so none is dead)."""
    texts = [text for rule, text in EMERGENCIES if rule == name]
    config = RoutingConfig()
    fired = [text for text in texts if name in {r.name for r in config.fired_rules(_prepared(text))}]
    assert len(fired) >= 0.95 * len(texts), sorted(set(texts) - set(fired))


def _prepared(text: str) -> str:
    from triage.text import prepare

    return prepare(text).text


def test_the_issue_reproducer_is_an_emergency_without_a_config():
    suggestion = triage.load().route("家里燃气泄漏，整个楼道都是煤气味，老人还在屋里")
    assert suggestion.urgency is Urgency.EMERGENCY and suggestion.urgency_reason == "rule gas-leak"
    assert suggestion.rules_fired == ("gas-leak",)


def test_traditional_characters_are_folded_for_the_rules_only(small_model):
    assert fold_traditional("家裡燃氣洩漏，煤氣味") == "家里燃气泄漏，煤气味"
    suggestion = small_model.route("家裡燃氣洩漏，整個樓道都是煤氣味")
    assert suggestion.urgency is Urgency.EMERGENCY and suggestion.rules_fired == ("gas-leak",)


def test_self_harm_wording_is_an_emergency_sent_to_review(small_model):
    suggestion = small_model.route("工资拖了半年，我不想活了")
    assert suggestion.urgency is Urgency.EMERGENCY and suggestion.needs_review
    assert "rule self-harm asks for review" in suggestion.review_reasons
    talk = small_model.route("学校开展预防学生自杀的心理健康讲座")  # talk about it, not a person at risk
    assert talk.urgency is Urgency.NORMAL and "rule self-harm asks for review" not in talk.review_reasons


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        ("家里燃气泄漏了，已经修好了", Urgency.NORMAL),  # resolved
        ("楼道堆满杂物，担心会着火", Urgency.NORMAL),  # a worry: a hazard, not a fire
        ("去年小区着过一次火，外墙还是黑的", Urgency.NORMAL),  # past
        ("万一电梯困人，物业多久能到", Urgency.NORMAL),  # hypothetical
        ("消防通道被占，私家车堵得满满的", Urgency.NORMAL),  # a hazard: urgent for a deployment, not an emergency
        ("上周着过火，现在又冒烟了", Urgency.EMERGENCY),  # past, but going on again
        ("燃气泄漏说是修好了，可是现在还在漏", Urgency.EMERGENCY),  # "resolved", but still going on
        ("担心的事发生了。楼下的电动车着火了", Urgency.EMERGENCY),  # the worry is another sentence
        ("家里没有煤气味，是隔壁在装修", Urgency.NORMAL),  # negated
        ("燃气公司来查过了，没有发现泄漏", Urgency.NORMAL),  # denied
        ("不是着火，是有人在放烟花", Urgency.NORMAL),  # negated
        ("老人没关燃气阀门，现在满屋子煤气味", Urgency.EMERGENCY),  # a negation of something else
    ],
)
def test_past_resolved_hypothetical_and_negated_events_are_not_in_progress(small_model, text, urgency):
    assert small_model.route(text).urgency is urgency


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "routing.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_deployment_switches_a_builtin_off_only_by_naming_it(small_model, tmp_path):
    config = load_config(write_config(tmp_path, '[routing]\ndisable_builtin = ["smoke"]\n'))
    assert [rule.name for rule in config.safety_rules] == [name for name in RULE_NAMES if name != "smoke"]
    assert small_model.route("楼道里全是浓烟", config=config).urgency is Urgency.NORMAL
    assert small_model.route("楼下的电动车着火了", config=config).urgency is Urgency.EMERGENCY
    assert small_model.route("楼道里全是浓烟").urgency is Urgency.EMERGENCY
    with pytest.raises(ConfigError, match=r"disable_builtin names no built-in rule 'gas' \(they are: gas-leak, fire"):
        load_config(write_config(tmp_path, '[routing]\ndisable_builtin = ["gas"]\n'))


def test_a_deployment_rule_cannot_shadow_a_builtin_by_its_name(tmp_path):
    rule = '[[rule]]\nname = "fire"\npattern = "火"\naction = "urgency"\nurgency = "normal"\n'
    with pytest.raises(ConfigError, match=r"duplicate rule name 'fire' \(a built-in safety rule's name: rename"):
        load_config(write_config(tmp_path, rule))
    assert load_config(write_config(tmp_path, '[routing]\ndisable_builtin = ["fire"]\n' + rule)).rules[0].name == "fire"


def test_a_deployment_extends_the_rules_with_its_own_exclusions(small_model, tmp_path):
    rule = (
        '[[rule]]\nname = "hazard"\npattern = "消防通道.{0,4}(被占|堵)"\naction = "urgency"\n'
        'urgency = "urgent"\nunless = "已经清理"\n'
    )
    config = load_config(write_config(tmp_path, rule))
    assert small_model.route("消防通道被占，私家车堵得满满的", config=config).urgency is Urgency.URGENT
    assert small_model.route("消防通道被占的车已经清理了", config=config).urgency is Urgency.NORMAL
    gas = small_model.route("消防通道被占，楼道里都是煤气味", config=config)
    assert gas.urgency is Urgency.EMERGENCY and gas.rules_fired == ("hazard", "gas-leak")


def test_the_batch_tagger_urgency_column_shows_the_builtin_rules(small_model):
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"text": ["物业乱收停车费", "家里燃气泄漏，整个楼道都是煤气味", "我真的活不下去了"]})
    out = tag_dataframe(frame, ["text"], model=small_model, config=RoutingConfig())
    assert out["urgency"].tolist() == ["normal", "emergency", "emergency"]
    assert "rule self-harm asks for review" in out["review_reason"][2]
    assert json.loads(out["candidates"][1])  # still classified


def test_builtin_rules_are_parsed_once_and_all_emergencies():
    assert builtin_rules() is builtin_rules()
    assert [rule.name for rule in builtin_rules()] == list(RULE_NAMES)
    assert {rule.urgency for rule in builtin_rules()} == {Urgency.EMERGENCY}
    assert [rule.name for rule in builtin_rules() if rule.review] == ["self-harm"]
