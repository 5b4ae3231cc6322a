"""Routing a unit-level model: the suggestion names the department of the unit, and the unit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import triage
from tests.test_adaptation import LABELS, QUERIES, TEXTS
from triage.departments import default_directory
from triage.routing import RoutingConfig

UNIT_DEPARTMENTS = {"供热办": "housing_construction", "教育局": "education", "红星区": "street_community"}


@pytest.fixture(scope="module")
def unit_model() -> triage.TriageModel:
    return triage.train(TEXTS, LABELS, unit_departments=UNIT_DEPARTMENTS, min_df=1, calibration_folds=2)


def test_route_without_rules_agrees_with_classify(unit_model):
    for classified, routed in zip(unit_model.classify(QUERIES), unit_model.route(QUERIES), strict=True):
        assert routed.unit == classified.unit and routed.unit in UNIT_DEPARTMENTS
        assert routed.department == classified.department == UNIT_DEPARTMENTS[routed.unit]
        assert routed.department_name == default_directory().display_name(routed.department)
        assert routed.confidence == classified.confidence
        assert set(routed.co_handlers) <= set(UNIT_DEPARTMENTS.values())  # departments, never units


def test_department_candidates_sum_the_units(unit_model, small_model):
    result = unit_model.classify(QUERIES[0], top_k=3)
    assert {code for code, _ in result.candidates} == set(UNIT_DEPARTMENTS)
    summed = {UNIT_DEPARTMENTS[unit]: p for unit, p in result.candidates}
    assert dict(result.department_candidates) == pytest.approx(summed)
    assert small_model.classify(QUERIES[0]).department_candidates == ()


def test_a_forcing_rule_drops_the_unit(unit_model, tmp_path):
    path = tmp_path / "routing.toml"
    path.write_text(
        '[[rule]]\nname = "heat"\npattern = "暖气"\naction = "force"\ndepartment = "education"\n', encoding="utf-8"
    )
    routed = unit_model.route(QUERIES[0], config=path)
    assert (routed.department, routed.unit, routed.model_department) == ("education", None, "housing_construction")
    assert unit_model.route(QUERIES[1], config=RoutingConfig()).unit == "教育局"


@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("物业停车费派出所身份证学校补课暖气供热村路 ，。a1"), max_size=30))
def test_without_rules_a_route_names_what_the_model_said(small_model, unit_model, text):
    """Rules are the only thing that moves a message: with none, route and classify agree, for a
    department model and a unit-level one."""
    no_rules = RoutingConfig(safety_rules=())
    for model in (small_model, unit_model):
        classified, routed = model.classify(text), model.route(text, config=no_rules)
        assert (routed.department, routed.department_name, routed.unit) == (
            classified.department,
            classified.department_name,
            classified.unit,
        )
        assert routed.confidence == classified.confidence and routed.terms == classified.terms
        assert routed.sub_category == classified.sub_category or classified.sub_category is None


@pytest.mark.parametrize("command", ["classify", "route"])
def test_the_cli_names_the_unit_of_a_unit_level_model(unit_model, tmp_path, command):
    from click.testing import CliRunner

    from triage.cli import cli

    unit_model.save(tmp_path / "units")
    result = CliRunner().invoke(cli, [command, "--model", str(tmp_path / "units"), QUERIES[0]])
    assert result.exit_code == 0, result.output
    assert f"单位 unit: {unit_model.classify(QUERIES[0]).unit}" in result.output
