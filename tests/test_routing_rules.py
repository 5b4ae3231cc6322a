"""Routing behaviour that mutation testing found unchecked: the sentence a rule's ``unless`` looks in,
sub-categories from the department's keywords, the routing threshold of a config, and the checks
of a routing TOML file. Written against routing.suggest / route / load_config; invented text."""

from __future__ import annotations

import pytest

from tests.conftest import classified
from triage import routing
from triage.exceptions import ConfigError
from triage.patterns import compile_user_pattern
from triage.results import Classification, Urgency
from triage.routing import RoutingConfig, Rule, load_config, suggest

GAS = "燃气泄漏了"


CLEAR = classified(("property_management", 0.80), ("public_security", 0.15), ("education", 0.05))


def only(*rules: Rule, **settings) -> RoutingConfig:
    """A config with just these rules (no built-in safety rules; short texts allowed unless said)."""
    return RoutingConfig(rules=rules, safety_rules=(), **{"min_chars": 0, **settings})


def urgency_of(text: str, rule: Rule) -> Urgency:
    return suggest(CLEAR, text, only(rule), review_threshold=0.5).urgency


GAS_UNLESS_MENDED = Rule(
    name="gas",
    pattern=compile_user_pattern("燃气泄漏", "gas"),
    action="urgency",
    urgency=Urgency.EMERGENCY,
    unless=compile_user_pattern("已修好", "gas: unless"),
)


# ---------------------------------------------------------------- the sentence ``unless`` looks in


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        (GAS, Urgency.EMERGENCY),
        ("已修好" + GAS, Urgency.NORMAL),  # same sentence
        ("已修好。" + GAS, Urgency.EMERGENCY),  # the sentence before
        ("前天停电。已修好。" + GAS, Urgency.EMERGENCY),  # two sentences before: the last mark counts
        (GAS + "。已修好。谢谢", Urgency.EMERGENCY),  # the sentence after: the first mark counts
        (GAS + "已修好。谢谢", Urgency.NORMAL),
        ("已修好" + "等" * 100 + GAS, Urgency.EMERGENCY),  # beyond the reach of one sentence
        (GAS + "等" * 100 + "已修好", Urgency.EMERGENCY),
        ("已修好" + "等" * 50 + GAS, Urgency.NORMAL),  # within it
        (GAS + "等" * 50 + "已修好", Urgency.NORMAL),
    ],
)
def test_unless_looks_only_within_the_sentence_of_the_match(text, urgency):
    assert urgency_of(text, GAS_UNLESS_MENDED) is urgency


def test_a_second_match_in_another_sentence_still_fires():
    assert urgency_of("已修好" + GAS + "。楼下又" + GAS, GAS_UNLESS_MENDED) is Urgency.EMERGENCY


# ---------------------------------------------------------------- sub-categories


def test_the_models_sub_category_is_kept_for_its_own_department():
    result = suggest(classified(*CLEAR.candidates, sub="security_access"), "物业费涨价", only(), review_threshold=0.5)
    assert result.subcategory == "security_access"


def test_without_the_models_sub_category_the_most_named_keywords_decide():
    text = "物业费又涨价了，车位也要另收钱"  # fees: 物业费, 涨价; parking: 车位
    assert suggest(CLEAR, text, only(), review_threshold=0.5).subcategory == "fees"


def test_no_keyword_named_means_no_sub_category():
    assert suggest(CLEAR, "这个事情一直没有人管", only(), review_threshold=0.5).subcategory is None


def test_a_forced_department_does_not_take_the_models_sub_category_of_another():
    force = Rule(name="to-parking", pattern=compile_user_pattern("车位", "p"), action="force", department="education")
    model_said = classified(*CLEAR.candidates, sub="fees")
    result = suggest(model_said, "车位被占了，孩子上学的校服费太贵", only(force), review_threshold=0.5)
    assert result.department == "education"
    assert result.subcategory == "fees_subsidies"  # education's keyword 校服, not the model's property "fees"


# ---------------------------------------------------------------- force, boost and co-handlers


def rule(name: str, pattern: str, action: str, department: str | None = None, **extra) -> Rule:
    return Rule(name=name, pattern=compile_user_pattern(pattern, name), action=action, department=department, **extra)


NEAR = classified(("property_management", 0.5), ("public_security", 0.4))


def test_a_forced_department_outside_the_candidates_has_confidence_zero_and_loses_a_tie_of_priority():
    to_school = rule("school", "物业", "force", "education")  # education is not among NEAR's candidates
    to_police = rule("police", "物业", "force", "public_security")
    assert suggest(NEAR, "物业不管", only(to_school), review_threshold=0.5).confidence == 0.0
    both = suggest(NEAR, "物业不管", only(to_school, to_police), review_threshold=0.5)
    assert (both.department, both.confidence) == ("public_security", 0.4)
    assert both.review_reasons == ("conflicting_rules",)


def test_boost_adds_to_the_departments_own_probability():
    assert (
        suggest(
            NEAR, "派出所", only(rule("b", "派出所", "boost", "public_security", boost=0.3)), review_threshold=0.1
        ).department
        == "public_security"
    )
    # a department outside the candidates starts from zero
    small = only(rule("b", "派出所", "boost", "education", boost=0.45))
    assert suggest(NEAR, "派出所", small, review_threshold=0.1).department == "property_management"
    large = only(rule("b", "派出所", "boost", "education", boost=0.55))
    assert suggest(NEAR, "派出所", large, review_threshold=0.1).department == "education"


def test_only_boost_rules_rerank_and_only_co_handler_rules_add_co_handlers():
    copy = rule("copy", "派出所", "co_handler", "public_security")
    result = suggest(NEAR, "派出所", only(copy, co_handling_margin=0.0), review_threshold=0.1)
    assert result.department == "property_management" and result.co_handlers == ("public_security",)
    nudge = rule("nudge", "派出所", "boost", "education", boost=0.1)
    assert suggest(NEAR, "派出所", only(nudge, co_handling_margin=0.0), review_threshold=0.1).co_handlers == ()


def test_a_classification_without_candidates_is_judged_by_the_threshold():
    bare = Classification(
        department="education",
        department_name="教育",
        confidence=0.9,
        candidates=(),
        needs_review=False,
        reason=None,
        explanation=(),
    )
    result = suggest(bare, "孩子上学太远了", only(), review_threshold=0.5)
    assert result.department == "education" and result.review_reasons == ("low_confidence",)


# ---------------------------------------------------------------- thresholds, at their boundaries


def test_co_handlers_are_the_close_ones_among_the_top_three_margin_inclusive():
    four = classified(
        ("property_management", 0.75), ("public_security", 0.5), ("education", 0.5), ("civil_affairs", 0.5)
    )
    result = suggest(four, "物业不管", only(co_handling_margin=0.25), review_threshold=0.1)
    assert result.co_handlers == ("public_security", "education")


def test_confidence_equal_to_the_threshold_is_not_low():
    assert suggest(NEAR, "物业不管", only(co_handling_margin=0.0), review_threshold=0.5).review_reasons == ()
    assert suggest(NEAR, "物业不管", only(co_handling_margin=0.0), review_threshold=0.51).review_reasons == (
        "low_confidence",
    )


@pytest.mark.parametrize(
    ("candidates", "too_close"),
    [
        ((("property_management", 0.625), ("public_security", 0.375)), False),  # exactly margin / 3 apart
        ((("property_management", 0.6), ("public_security", 0.4)), True),  # under margin / 3, over margin / 4
        ((("property_management", 0.6),), False),  # nothing to be close to
    ],
)
def test_departments_too_close_is_a_third_of_the_margin(candidates, too_close):
    result = suggest(classified(*candidates), "物业不管", only(co_handling_margin=0.75), review_threshold=0.1)
    assert ("departments_too_close" in result.review_reasons) is too_close


# ---------------------------------------------------------------- a config file's rules, as loaded


def write_config(tmp_path, text: str):
    path = tmp_path / "routing.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_priority_boost_and_review_are_read_from_the_file_with_their_defaults(tmp_path):
    path = write_config(
        tmp_path,
        '[[rule]]\nname = "low"\npattern = "派出所"\naction = "force"\ndepartment = "education"\n'
        '[[rule]]\nname = "high"\npattern = "派出所"\naction = "force"\ndepartment = "civil_affairs"\npriority = 2\n'
        '[[rule]]\nname = "lift"\npattern = "派出所"\naction = "boost"\ndepartment = "education"\n'
        '[[rule]]\nname = "lift-more"\npattern = "派出所"\naction = "boost"\ndepartment = "education"\nboost = 0.9\n'
        '[[rule]]\nname = "check"\npattern = "派出所"\naction = "urgency"\nurgency = "urgent"\nreview = true\n'
        '[[rule]]\nname = "quiet"\npattern = "派出所"\naction = "urgency"\nurgency = "urgent"\n',
    )
    rules = {r.name: r for r in load_config(path).rules}
    assert (rules["low"].priority, rules["high"].priority) == (0, 2)
    assert (rules["lift"].boost, rules["lift-more"].boost) == (0.3, 0.9)
    assert (rules["check"].review, rules["quiet"].review) == (True, False)
    assert load_config(path).rules[0].name == "high"  # by priority, highest first


@pytest.mark.parametrize("action", ["force", "boost", "co_handler"])
def test_each_department_action_needs_a_department(tmp_path, action):
    path = write_config(tmp_path, f'[[rule]]\nname = "r"\npattern = "物业"\naction = "{action}"\n')
    with pytest.raises(ConfigError, match=f"routing.toml:1: rule 'r': action '{action}' needs a department"):
        load_config(path)


def test_urgency_problems_are_named(tmp_path):
    path = write_config(
        tmp_path,
        '[[rule]]\nname = "a"\npattern = "物业"\naction = "urgency"\n\n'
        '[[rule]]\nname = "b"\npattern = "物业"\naction = "urgency"\nurgency = "soon"\n\n'
        '[[rule]]\nname = "c"\npattern = "物业"\naction = "urgency"\nurgency = "at once"\n',
    )
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert message.startswith("3 problem(s) in the routing config:\n  ")
    assert "routing.toml:1: rule 'a': action 'urgency' needs an urgency" in message
    assert "routing.toml:6: rule 'b': urgency must be normal, urgent or emergency, got 'soon'" in message
    assert "routing.toml:12: rule 'c': urgency must be normal, urgent or emergency, got 'at once'" in message


def test_a_bad_unless_pattern_is_named_as_the_unless(tmp_path):
    path = write_config(
        tmp_path, '[[rule]]\nname = "r"\npattern = "物业"\naction = "urgency"\nurgency = "urgent"\nunless = "("\n'
    )
    with pytest.raises(ConfigError, match=r"routing.toml:1: rule 'r': unless"):
        load_config(path)
    path = write_config(tmp_path, '[[rule]]\nname = "r"\npattern = "("\naction = "urgency"\nurgency = "urgent"\n')
    with pytest.raises(ConfigError, match=r"routing.toml:1: rule 'r': bad regex '\('"):
        load_config(path)


def test_a_rule_without_a_name_is_named_by_its_line_only(tmp_path):
    path = write_config(tmp_path, '[[rule]]\npattern = "物业"\naction = "urgency"\npriority = "high"\n')
    with pytest.raises(ConfigError, match=r"routing.toml:1: priority must be a whole number, got 'high'"):
        load_config(path)


def test_gazetteer_problems_list_every_column(tmp_path):
    (tmp_path / "places.csv").write_text("place,office\n", encoding="utf-8")
    path = write_config(tmp_path, '[routing]\ngazetteer = "places.csv"\n')
    with pytest.raises(
        ConfigError,
        match=r"gazetteer header lacks jurisdiction, department \(needs place, jurisdiction, department, office\)",
    ):
        load_config(path)
    (tmp_path / "places.csv").write_text(
        "place,jurisdiction,department,office\n青石小区,,,青石物业\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"places.csv:2: missing jurisdiction, department"):
        load_config(path)


def test_the_routing_threshold_of_a_config_replaces_the_models(small_model):
    text = "小区物业乱收停车费"
    strict, lenient = RoutingConfig(review_threshold=1.0), RoutingConfig(review_threshold=0.0)
    assert "low_confidence" in small_model.route(text, config=strict).review_reasons
    assert "low_confidence" not in small_model.route(text, config=lenient).review_reasons


# ---------------------------------------------------------------- a config file's settings


def test_settings_are_read_from_the_file_with_their_defaults(tmp_path):
    defaults = load_config(write_config(tmp_path, ""))
    assert (defaults.review_threshold, defaults.co_handling_margin, defaults.min_chars) == (None, 0.15, 6)
    assert defaults.source == str(tmp_path / "routing.toml")
    path = write_config(tmp_path, "[routing]\nreview_threshold = 0.7\nco_handling_margin = 0.2\nmin_chars = 3\n")
    given = load_config(path)
    assert (given.review_threshold, given.co_handling_margin, given.min_chars) == (0.7, 0.2, 3)


@pytest.mark.parametrize("value", [0, 1, 0.0, 1.0])
@pytest.mark.parametrize("key", ["review_threshold", "co_handling_margin"])
def test_thresholds_may_be_zero_or_one(tmp_path, key, value):
    assert getattr(load_config(write_config(tmp_path, f"[routing]\n{key} = {value}\n")), key) == value


def test_every_out_of_range_setting_is_reported_together(tmp_path):
    path = write_config(tmp_path, "[routing]\nreview_threshold = 1.5\nco_handling_margin = -0.1\nmin_chars = -1\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == (
        "3 problem(s) in the routing config:\n"
        f"  {path}: [routing]: review_threshold must be a number from 0 to 1, got 1.5\n"
        f"  {path}: [routing]: co_handling_margin must be a number from 0 to 1, got -0.1\n"
        f"  {path}: [routing]: min_chars must be a whole number, 0 or more, got -1"
    )


def test_a_file_that_is_not_toml_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"routing.toml: not valid TOML: "):
        load_config(write_config(tmp_path, "[routing\n"))


def test_duplicate_names_hint_at_disable_builtin_only_for_builtin_names(tmp_path):
    twice = '[[rule]]\nname = "mine"\npattern = "物业"\naction = "urgency"\nurgency = "urgent"\n' * 2
    with pytest.raises(ConfigError) as raised:
        load_config(write_config(tmp_path, twice))
    assert str(raised.value).endswith("routing.toml: duplicate rule name 'mine'")
    shadow = '[[rule]]\nname = "gas-leak"\npattern = "物业"\naction = "urgency"\nurgency = "urgent"\n'
    with pytest.raises(ConfigError, match=r"duplicate rule name 'gas-leak' \(a built-in safety rule's name"):
        load_config(write_config(tmp_path, shadow))


def test_an_unknown_builtin_to_disable_is_named_with_the_table(tmp_path):
    path = write_config(tmp_path, '[routing]\ndisable_builtin = ["no-such-rule"]\n')
    with pytest.raises(
        ConfigError, match=r"routing.toml: \[routing\]: disable_builtin names no built-in rule 'no-such-rule'"
    ):
        load_config(path)


def test_a_config_of_exactly_the_size_limit_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(routing, "MAX_CONFIG_BYTES", 64)
    assert load_config(write_config(tmp_path, "#" * 63 + "\n")).rules == ()
    with pytest.raises(ConfigError, match="larger than 0 KiB"):
        load_config(write_config(tmp_path, "#" * 64 + "\n"))


def test_a_big_endian_utf16_config_is_refused(tmp_path):
    path = tmp_path / "routing.toml"
    path.write_bytes("[routing]\n".encode("utf-16-be").join([b"\xfe\xff", b""]))
    with pytest.raises(ConfigError, match=r"routing.toml: the routing config is UTF-16 text; save it as UTF-8"):
        load_config(path)


def test_the_longest_place_name_wins_where_two_start(tmp_path):
    (tmp_path / "places.csv").write_text(
        "place,jurisdiction,department,office\n金桂,大营街道,public_security,金桂派出所\n"
        "金桂小区,大营街道,property_management,金桂物业\n",
        encoding="utf-8",
    )
    config = load_config(write_config(tmp_path, '[routing]\ngazetteer = "places.csv"\n'))
    result = suggest(CLEAR, "金桂小区物业乱收停车费", config, review_threshold=0.5)
    assert result.places == ("金桂小区",) and result.local_office == "金桂物业"
