"""routing.suggest, the pure routing step: one test per rule kind and per review reason, on
classifications written by hand (no model), so deleting a behaviour fails a test."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from tests.conftest import classified
from triage import boilerplate, routing
from triage.patterns import compile_user_pattern
from triage.results import Classification, ReviewReason, Urgency
from triage.routing import Place, RoutingConfig, Rule, suggest

TEXT = "小区物业乱收停车费，垃圾也没人清理"


def make_rule(name: str, pattern: str, action: str, department: str | None = None, **extra) -> Rule:
    return Rule(name=name, pattern=compile_user_pattern(pattern, name), action=action, department=department, **extra)


def config(*rules: Rule, **settings) -> RoutingConfig:
    return RoutingConfig(rules=tuple(sorted(rules, key=lambda r: -r.priority)), safety_rules=(), **settings)


CLEAR = classified(("property_management", 0.80), ("public_security", 0.15), ("education", 0.05))


def test_a_clear_message_keeps_the_model_department_and_needs_no_review():
    result = suggest(CLEAR, TEXT, config(), review_threshold=0.5)
    assert result.department == "property_management" and result.confidence == 0.80
    assert not result.needs_review and result.review_reasons == () and result.co_handlers == ()
    assert result.terms == (("物业", 0.5),) and result.model_department == "property_management"


# ---------------------------------------------------------------- review reasons


def test_low_confidence_is_judged_against_the_routing_threshold():
    shaky = classified(("property_management", 0.55), ("public_security", 0.30), ("education", 0.15))
    assert "low_confidence" in suggest(shaky, TEXT, config(), review_threshold=0.6).review_reasons
    assert not suggest(shaky, TEXT, config(), review_threshold=0.5).needs_review


def test_the_models_low_confidence_is_rejudged_not_carried():
    """The model said low_confidence at its own threshold; the deployment's lower one clears it."""
    flagged = classified(("property_management", 0.55), ("public_security", 0.30), reason=ReviewReason.LOW_CONFIDENCE)
    assert suggest(flagged, TEXT, config(), review_threshold=0.5).review_reasons == ()


def test_departments_too_close():
    close = classified(("property_management", 0.46), ("public_security", 0.44), ("education", 0.10))
    result = suggest(close, TEXT, config(co_handling_margin=0.15), review_threshold=0.3)
    assert result.review_reasons == ("departments_too_close",)
    apart = classified(("property_management", 0.52), ("public_security", 0.44), ("education", 0.04))
    assert suggest(apart, TEXT, config(co_handling_margin=0.15), review_threshold=0.3).review_reasons == ()


def test_conflicting_force_rules_at_one_priority():
    rules = (
        make_rule("a", "物业", "force", "education", priority=5),
        make_rule("b", "垃圾", "force", "public_security", priority=5),
    )
    result = suggest(CLEAR, TEXT, config(*rules), review_threshold=0.5)
    assert result.review_reasons == ("conflicting_rules",)
    assert result.department == "public_security"  # the more probable of the two


def test_text_too_short():
    assert suggest(CLEAR, "物业", config(min_chars=6), review_threshold=0.5).review_reasons == ("text_too_short",)
    assert suggest(CLEAR, "物业", config(min_chars=2), review_threshold=0.5).review_reasons == ()


@pytest.mark.parametrize("reason", [ReviewReason.EMPTY_TEXT, ReviewReason.NO_CHINESE_TEXT])
def test_unclassified_text_carries_its_reason_and_gets_no_department(reason):
    text = "" if reason is ReviewReason.EMPTY_TEXT else "hello world"
    result = suggest(classified(reason=reason), text, config(), review_threshold=0.5)
    assert result.department is None and result.department_name is None and result.confidence == 0.0
    assert result.review_reasons == (reason.value,) and result.co_handlers == ()


def test_no_known_terms_is_carried():
    unknown = classified(("property_management", 0.80), ("education", 0.20), reason=ReviewReason.NO_KNOWN_TERMS)
    assert suggest(unknown, TEXT, config(), review_threshold=0.5).review_reasons == ("no_known_terms",)


def test_a_rule_asking_for_review():
    rule = make_rule("check", "停车费", "urgency", urgency=Urgency.URGENT, review=True)
    result = suggest(CLEAR, TEXT, config(rule), review_threshold=0.5)
    assert result.review_reasons == ("rule check asks for review",) and result.needs_review


# ---------------------------------------------------------------- rule kinds


def test_force_decides_the_department_and_skips_the_confidence_checks():
    rule = make_rule("to-school", "垃圾", "force", "education")
    result = suggest(CLEAR, TEXT, config(rule), review_threshold=0.5)
    assert result.department == "education" and result.confidence == 0.05
    assert result.review_reasons == () and result.rules_fired == ("to-school",)
    assert result.co_handlers == ("property_management", "public_security")  # every more probable candidate


def test_the_highest_priority_force_wins():
    rules = (
        make_rule("low", "物业", "force", "education", priority=1),
        make_rule("high", "物业", "force", "public_security", priority=9),
    )
    assert suggest(CLEAR, TEXT, config(*rules), review_threshold=0.5).department == "public_security"


def test_boost_reranks_only_where_it_fires():
    rule = make_rule("school", "停车费", "boost", "education", boost=0.9)
    assert suggest(CLEAR, TEXT, config(rule), review_threshold=0.5).department == "education"
    assert (
        suggest(CLEAR, "派出所补办身份证要排队", config(rule), review_threshold=0.5).department == "property_management"
    )


def test_co_handlers_from_the_margin():
    near = classified(("property_management", 0.50), ("public_security", 0.40), ("education", 0.10))
    assert suggest(near, TEXT, config(co_handling_margin=0.15), review_threshold=0.3).co_handlers == (
        "public_security",
    )
    assert suggest(near, TEXT, config(co_handling_margin=0.05), review_threshold=0.3).co_handlers == ()


def test_co_handler_rule():
    rule = make_rule("copy", "垃圾", "co_handler", "education")
    assert suggest(CLEAR, TEXT, config(rule), review_threshold=0.5).co_handlers == ("education",)


def test_urgency_rules_take_the_most_severe():
    rules = (
        make_rule("soon", "停车费", "urgency", urgency=Urgency.URGENT, priority=9),
        make_rule("now", "垃圾", "urgency", urgency=Urgency.EMERGENCY, priority=1),
    )
    result = suggest(CLEAR, TEXT, config(*rules), review_threshold=0.5)
    assert result.urgency is Urgency.EMERGENCY and result.urgency_reason == "rule now"


def test_unless_keeps_a_rule_from_firing_in_that_sentence():
    rule = make_rule(
        "fees", "停车费", "urgency", urgency=Urgency.URGENT, unless=compile_user_pattern("已经退", "unless")
    )
    assert suggest(CLEAR, "物业乱收停车费。已经退了一半", config(rule), review_threshold=0.5).urgency is Urgency.URGENT
    assert suggest(CLEAR, "物业乱收停车费已经退了一半", config(rule), review_threshold=0.5).urgency is Urgency.NORMAL


def test_builtin_safety_rules_apply_in_the_default_config():
    result = suggest(CLEAR, "楼道里都是煤气味", RoutingConfig(), review_threshold=0.5)
    assert result.urgency is Urgency.EMERGENCY and result.rules_fired == ("gas-leak",)


# ---------------------------------------------------------------- places, names, sub-categories


def test_places_select_the_local_office_from_the_text_or_the_given_place():
    place = Place("青石小区", "南城街道", "property_management", "青石物业中心")
    with_places = RoutingConfig(
        places=(place,), safety_rules=(), _place_pattern=compile_user_pattern("青石小区", "places")
    )
    assert suggest(CLEAR, "青石小区" + TEXT, with_places, review_threshold=0.5).local_office == "青石物业中心"
    assert suggest(CLEAR, TEXT, with_places, review_threshold=0.5).local_office is None
    assert suggest(CLEAR, TEXT, with_places, review_threshold=0.5, place="青石小区").places == ("青石小区",)


def test_department_names_and_sub_categories():
    result = suggest(
        classified(*CLEAR.candidates, sub="parking"), TEXT, config(), review_threshold=0.5, name_of=str.upper
    )
    assert result.department_name == "PROPERTY_MANAGEMENT" and result.subcategory == "parking"
    assert suggest(CLEAR, TEXT, config(), review_threshold=0.5).department_name == "物业"


def test_route_prepares_each_text_once(small_model, monkeypatch):
    calls = []
    original = boilerplate.prepare  # where a model prepares the texts it scores (Boilerplate.prepared)

    def counting(text):
        calls.append(text)
        return original(text)

    monkeypatch.setattr(boilerplate, "prepare", counting)
    small_model.route(["物业乱收停车费", "派出所补办身份证"])
    assert calls == ["物业乱收停车费", "派出所补办身份证"]
    assert not hasattr(routing, "prepare")  # routing takes prepared text; it never prepares


def triage_modules_on_the_stack(action) -> list[list[str]]:
    """For every call of a triage function during ``action()``, the triage modules on the stack
    (outermost first, repeats in a row merged)."""
    stacks = []

    def profile(frame, event, arg):
        if event != "call":
            return
        modules = []
        while frame is not None:
            name = frame.f_globals.get("__name__", "")
            if name.startswith("triage.") and (not modules or modules[-1] != name):
                modules.append(name)
            frame = frame.f_back
        stacks.append(modules[::-1])

    sys.setprofile(profile)
    try:
        action()
    finally:
        sys.setprofile(None)
    return stacks


def test_one_message_visits_each_module_once(small_model, tmp_path):
    """model.route prepares, classifies and calls routing.suggest; nothing calls back into a
    module further up the stack (as model.route -> routing.route -> model.classify did)."""
    config = RoutingConfig(rules=(make_rule("school-bus", "校车", "force", "education"),))
    small_model.route("校车超载，物业也不管", config=config)  # warm caches (directory, rules)
    stacks = triage_modules_on_the_stack(lambda: small_model.route("校车超载，物业也不管", config=config))
    revisits = [stack for stack in stacks if len(set(stack)) < len(stack)]
    assert revisits == []
    reached = {module for stack in stacks for module in stack}
    assert {"triage.model", "triage.text", "triage.scoring.scorer", "triage.routing"} <= reached


# ---------------------------------------------------------------- every review reason, as an enum member

REASON_CASES = {
    ReviewReason.LOW_CONFIDENCE: lambda: suggest(
        classified(("property_management", 0.55), ("public_security", 0.30), ("education", 0.15)),
        TEXT,
        config(),
        review_threshold=0.6,
    ),
    ReviewReason.NO_KNOWN_TERMS: lambda: suggest(
        classified(*CLEAR.candidates, reason=ReviewReason.NO_KNOWN_TERMS), TEXT, config(), review_threshold=0.5
    ),
    ReviewReason.EMPTY_TEXT: lambda: suggest(
        classified(reason=ReviewReason.EMPTY_TEXT), "", config(), review_threshold=0.5
    ),
    ReviewReason.NO_CHINESE_TEXT: lambda: suggest(
        classified(reason=ReviewReason.NO_CHINESE_TEXT), "hello world", config(), review_threshold=0.5
    ),
    ReviewReason.DEPARTMENTS_TOO_CLOSE: lambda: suggest(
        classified(("property_management", 0.46), ("public_security", 0.44), ("education", 0.10)),
        TEXT,
        config(),
        review_threshold=0.3,
    ),
    ReviewReason.CONFLICTING_RULES: lambda: suggest(
        CLEAR,
        TEXT,
        config(make_rule("a", "物业", "force", "education"), make_rule("b", "垃圾", "force", "public_security")),
        review_threshold=0.5,
    ),
    ReviewReason.TEXT_TOO_SHORT: lambda: suggest(CLEAR, "物业", config(), review_threshold=0.5),
    ReviewReason.RULE_REQUESTED: lambda: suggest(
        CLEAR,
        TEXT,
        config(make_rule("check", "物业", "urgency", urgency=Urgency.URGENT, review=True)),
        review_threshold=0.5,
    ),
}


@pytest.mark.parametrize("reason", list(ReviewReason))
def test_every_review_reason_is_given_as_its_enum_member(reason):
    result = REASON_CASES[reason]()
    assert result.reasons == (reason,) and result.needs_review
    assert type(result.reasons[0]) is ReviewReason


# ---------------------------------------------------------------- a unit-level model's classification

# Units 供热办 and 住建局 belong to housing_construction, 教育局 to education; the model named 供热办.
HEATING = Classification(
    department="housing_construction",
    department_name="住建",
    confidence=0.40,
    candidates=(("供热办", 0.40), ("教育局", 0.35), ("住建局", 0.25)),
    needs_review=False,
    reason=None,
    explanation=(("暖气", 0.7),),
    unit="供热办",
    department_candidates=(("housing_construction", 0.65), ("education", 0.35)),
)


def test_a_unit_level_route_names_the_unit_and_ranks_departments():
    result = suggest(HEATING, "暖气片不热已经一周了", config(), review_threshold=0.3)
    assert (result.department, result.unit, result.confidence) == ("housing_construction", "供热办", 0.40)
    assert result.department_name == "住建" and result.to_dict()["unit"] == "供热办"
    assert result.co_handlers == () and result.reasons == ()  # 0.65 against 0.35: departments, not units
    assert suggest(HEATING, "暖气片不热已经一周了", config(), review_threshold=0.5).reasons == (
        ReviewReason.LOW_CONFIDENCE,  # judged on the unit named
    )


def test_the_models_unit_department_stands_without_a_rule():
    """Even where another department sums more probability over its units."""
    split = dataclasses.replace(HEATING, department_candidates=(("education", 0.6), ("housing_construction", 0.4)))
    result = suggest(split, "暖气片不热已经一周了", config(), review_threshold=0.3)
    assert (result.department, result.unit) == ("housing_construction", "供热办")
    assert result.co_handlers == ("education",)


def test_a_rule_choosing_another_department_drops_the_unit():
    forced = suggest(HEATING, "暖气片不热", config(make_rule("s", "暖气", "force", "education")), review_threshold=0.3)
    assert (forced.department, forced.unit, forced.confidence) == ("education", None, 0.35)
    boost = make_rule("b", "暖气", "boost", "education", boost=0.4)
    boosted = suggest(HEATING, "暖气片不热", config(boost), review_threshold=0.3)
    assert (boosted.department, boosted.unit, boosted.confidence) == ("education", None, 0.35)
    weak = make_rule("b", "暖气", "boost", "education", boost=0.2)
    assert suggest(HEATING, "暖气片不热", config(weak), review_threshold=0.3).unit == "供热办"


def test_explain_zero_routes_the_same_without_terms(small_model):
    texts = ["小区物业乱收停车费，业主意见很大", "楼下饭店油烟太大"]
    explained = small_model.route(texts)
    bare = small_model.route(texts, explain=0)
    assert all(s.terms for s in explained) and not any(s.terms for s in bare)
    assert [dataclasses.replace(s, terms=()) for s in explained] == bare
    assert small_model.route(texts[0], explain=2).terms == explained[0].terms[:2]
