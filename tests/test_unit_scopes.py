"""Handling units of real exports: local governments, era differences, units knowingly left out (invented names)."""

from __future__ import annotations

import pytest

from triage.datasets.cities import handler_departments
from triage.departments import default_directory, load_directory, match_unit, unit_departments
from triage.exceptions import ConfigError


@pytest.mark.parametrize(
    ("unit", "code"),
    [
        ("青石区人民政府", "street_community"),
        ("柳湾县政府", "street_community"),
        ("青石新区管理委员会", "street_community"),
        ("青石区", "street_community"),
        ("柳湾县", "street_community"),
        ("青石区桂园街道", "street_community"),
        ("供热办", "housing_construction"),
        ("青石热力有限公司", "housing_construction"),
        ("住房公积金管理中心", "housing_construction"),
        ("城乡建设委员会", "housing_construction"),
        ("房屋交易与产权管理中心", "natural_resources"),
        ("国土资源和房屋局", "natural_resources"),
        ("物价局", "market_regulation"),
        ("物价监督管理局", "market_regulation"),
        ("工商局", "market_regulation"),
        ("出入境管理局", "public_security"),
        ("青石分局", "public_security"),
        ("公交办", "transport"),
        ("青石地铁集团有限公司", "transport"),
        ("青石区行政执法局", "urban_management"),
        ("地税局", "other"),
        ("文化广播影视局", "culture_tourism"),
    ],
)
def test_match_unit_of_real_export_names(unit, code):
    assert match_unit(unit) == code


@pytest.mark.parametrize(
    ("unit", "reason"),
    [
        ("青石市公共行政服务中心", "hub"),
        ("青石市信访局", "letters"),
        ("青石市人民政府办公室", "general office"),
        ("发展和改革委员会", "projects"),
        ("青石市财政局", "pays"),
    ],
)
def test_hubs_and_letters_offices_map_to_no_department_with_a_reason(unit, reason):
    assert match_unit(unit) is None
    assert unit_departments(unit) == ()
    assert reason in default_directory().unassigned_reason(unit)


def test_a_tax_branch_is_not_read_as_a_police_branch():
    assert match_unit("税务分局") == "other"


@pytest.mark.parametrize(
    ("unit", "departments"),
    [
        ("人力资源和社会保障局", ("human_resources_social_security", "healthcare_security")),
        ("卫生和计划生育委员会", ("health", "healthcare_security")),
        ("房屋交易与产权管理中心", ("natural_resources", "housing_construction")),
        ("供热办", ("housing_construction", "urban_management")),
        ("教育局", ("education",)),
        ("不认识的单位", ()),
    ],
)
def test_unit_departments_add_era_differences_after_the_units_own(unit, departments):
    assert unit_departments(unit) == departments


def test_a_county_level_city_is_local_on_its_citys_board_but_the_citys_own_office_is_a_hub():
    assert handler_departments("瓦房店市人民政府", "dalian") == (("street_community",), None)
    departments, reason = handler_departments("大连市人民政府办公室", "dalian")
    assert departments == () and "general office" in reason
    assert handler_departments("不认识的单位", "jiamusi") == ((), "unit not in the department directory")


def test_unknown_board_is_refused():
    with pytest.raises(ValueError, match="unknown board"):
        handler_departments("教育局", "atlantis")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[[unit_scope]]\npattern = "x"\nalso = ["nowhere"]\nreason = "r"\n', "unknown departments: nowhere"),
        ('[[unit_scope]]\npattern = "x"\nreason = "r"\n', "lacks also"),
        ('[[unit_scope]]\npattern = "x"\nalso = "other"\nreason = "r"\n', "also must be a list"),
        ('[[unassigned_unit]]\npattern = "("\nreason = "r"\n', "bad regex"),
        ('unassigned_unit = "hub"\n', "must be a list of tables"),
    ],
)
def test_bad_unit_tables_are_refused_naming_the_problem(tmp_path, extra, message):
    path = tmp_path / "departments.toml"
    path.write_text(
        extra + '\n[[department]]\ncode = "other"\nname = "其他"\nshort_name = "其他"\nenglish_name = "Other"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=message):
        load_directory(path)
