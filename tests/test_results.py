"""The result types share one vocabulary, keep their first names as aliases, and become rows of the
batch tagger's columns."""

from __future__ import annotations

import json

from triage.batch import output_columns
from triage.patterns import compile_user_pattern
from triage.results import Classification, ReviewReason, RoutingSuggestion, Urgency
from triage.routing import RoutingConfig, Rule, suggest

TEXT = "小区物业乱收停车费，垃圾也没人清理"
SHARED = ("department", "department_name", "unit", "confidence", "sub_category", "needs_review", "reasons", "terms")


def classified(*candidates, reason=None, sub=None, explanation=(("物业", 0.5),)) -> Classification:
    department = candidates[0][0] if candidates else None
    return Classification(
        department=department,
        department_name="物业" if department else None,
        confidence=candidates[0][1] if candidates else 0.0,
        candidates=candidates,
        needs_review=reason is not None,
        reason=reason,
        explanation=explanation,
        sub_category=sub,
    )


CLEAR = classified(("property_management", 0.81234), ("public_security", 0.15), ("education", 0.03766), sub="parking")


def review_rule(name: str, pattern: str) -> Rule:
    return Rule(name=name, pattern=compile_user_pattern(pattern, name), action="urgency", review=True)


def routed(classification: Classification = CLEAR, text: str = TEXT, *rules: Rule, **settings) -> RoutingSuggestion:
    config = RoutingConfig(rules=rules, safety_rules=(), **settings)
    return suggest(classification, text, config, review_threshold=0.5)


def test_both_types_answer_the_shared_names():
    suggestion = routed()
    for name in SHARED:
        assert getattr(CLEAR, name) == getattr(suggestion, name), name
    assert suggestion.sub_category == "parking" and suggestion.terms == (("物业", 0.5),)


def test_first_names_stay_as_aliases():
    shaky = classified(("property_management", 0.4), reason=ReviewReason.LOW_CONFIDENCE)
    assert shaky.reason is ReviewReason.LOW_CONFIDENCE and shaky.reasons == (ReviewReason.LOW_CONFIDENCE,)
    assert shaky.review_reasons == ("low_confidence",) and CLEAR.review_reasons == ()
    assert CLEAR.terms is CLEAR.explanation
    suggestion = routed()
    assert suggestion.subcategory == suggestion.sub_category == "parking"
    assert isinstance(RoutingSuggestion.subcategory, property) and RoutingSuggestion.subcategory.fset is None


def test_review_reasons_keep_their_written_values():
    """Output files hold these strings: renaming a value changes every file written."""
    assert {reason.value for reason in ReviewReason} == {
        "low_confidence",
        "no_known_terms",
        "empty_text",
        "no_chinese_text",
        "departments_too_close",
        "conflicting_rules",
        "text_too_short",
        "rule_requested",
    }


def test_a_rules_request_is_written_with_the_rules_name():
    suggestion = routed(CLEAR, "物业", review_rule("check", "物业"), review_rule("again", "物"), min_chars=6)
    assert suggestion.reasons == (ReviewReason.TEXT_TOO_SHORT, ReviewReason.RULE_REQUESTED)
    assert suggestion.review_rules == ("check", "again")
    assert suggestion.review_reasons == ("text_too_short", "rule check asks for review", "rule again asks for review")
    assert all(isinstance(reason, ReviewReason) for reason in suggestion.reasons)


def test_to_dict_keeps_its_keys_and_adds_the_shared_names():
    data = json.loads(json.dumps(CLEAR.to_dict(), ensure_ascii=False))
    assert list(data)[:11] == [
        "department",
        "department_name",
        "confidence",
        "candidates",
        "needs_review",
        "reason",
        "explanation",
        "truncated",
        "sub_category",
        "sub_confidence",
        "unit",
    ]
    assert data["review_reasons"] == [] and data["explanation"] == [["物业", 0.5]]
    route = json.loads(json.dumps(routed().to_dict(), ensure_ascii=False))
    assert list(route) == [
        "department",
        "department_name",
        "local_office",
        "co_handlers",
        "subcategory",
        "confidence",
        "urgency",
        "urgency_reason",
        "needs_review",
        "review_reasons",
        "model_department",
        "explanation",
        "sub_category",
        "unit",
    ]
    assert route["subcategory"] == route["sub_category"] == "parking"


def test_rows_have_the_tagger_columns():
    assert (*Classification.ROW_COLUMNS, "error") == output_columns(routing=False)
    assert (*RoutingSuggestion.ROW_COLUMNS, "error") == output_columns(routing=True)
    assert len(CLEAR.to_row()) == len(Classification.ROW_COLUMNS)
    assert len(routed().to_row()) == len(RoutingSuggestion.ROW_COLUMNS)


def test_classification_row_cells():
    shaky = classified(("education", 0.41234), ("public_security", 0.3), reason=ReviewReason.LOW_CONFIDENCE)
    assert shaky.to_row() == [
        "education",
        "物业",
        "",
        0.4123,
        '[["education", 0.4123], ["public_security", 0.3]]',
        True,
        "low_confidence",
    ]
    empty = classified(reason=ReviewReason.EMPTY_TEXT)
    assert empty.to_row() == ["", "", "", 0.0, "[]", True, "empty_text"]


def test_routing_row_cells():
    rule = Rule(
        name="fees",
        pattern=compile_user_pattern("停车费", "fees"),
        action="co_handler",
        department="education",
        urgency=Urgency.URGENT,
        review=True,
    )
    suggestion = routed(CLEAR, TEXT, rule)
    assert suggestion.to_row() == [
        "property_management",
        "物业",
        "parking",
        0.8123,
        '[["property_management", 0.8123]]',  # the suggested department alone
        True,
        "rule fees asks for review",
        "urgent",
        "",
        "education",
    ]
    unrouted = routed(classified(reason=ReviewReason.NO_CHINESE_TEXT), "hello")
    assert unrouted.to_row() == ["", "", "", 0.0, "[]", True, "no_chinese_text;text_too_short", "normal", "", ""]


def test_to_dict_writes_the_reason_and_the_grouped_explanation():
    reason = classified(("education", 0.4), reason=ReviewReason.LOW_CONFIDENCE).to_dict()["reason"]
    assert type(reason) is str and reason == "low_confidence"  # the plain string, not the enum member
    assert CLEAR.to_dict()["reason"] is None
    rule = Rule(name="fees", pattern=compile_user_pattern("停车费", "fees"), action="urgency", urgency=Urgency.URGENT)
    explanation = routed(CLEAR, TEXT, rule).to_dict()["explanation"]
    assert explanation == {"terms": [["物业", 0.5]], "rules": ["fees"], "places": []}


def test_routing_row_joins_co_handlers_with_semicolons():
    rules = [
        Rule(name=name, pattern=compile_user_pattern("停车费", name), action="co_handler", department=department)
        for name, department in (("fees", "education"), ("order", "public_security"))
    ]
    suggestion = routed(CLEAR, TEXT, *rules)
    assert suggestion.co_handlers == ("education", "public_security")
    assert suggestion.to_row()[-1] == "education;public_security"
