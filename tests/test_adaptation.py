"""Adapting a base model to a deployment's own units: training, hierarchy, save/load, units.csv, CLI."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import triage
from tests.conftest import SUB_DEPARTMENTS, SUB_TEXTS, classification_rows, rehash
from triage.adaptation import (
    AREA_BOOST,
    UNIT_MAP_FILE,
    UnitAreas,
    infer_unit_departments,
    read_unit_map,
    recency_weights,
    rows_since,
    train_on_history,
    write_unit_map,
)
from triage.cli import cli
from triage.evaluation import evaluate
from triage.exceptions import ModelIntegrityError
from triage.model import UNCLASSIFIED, TriageModel

# Invented messages handled by invented units of an invented city.
HEATING = ("暖气不热家里只有十度", "供暖温度一直不达标", "暖气片冰凉没人来修", "供热公司不按时供暖")
SCHOOLS = ("孩子入学报名太难", "学校乱收补课费", "幼儿园学位不够", "学校食堂饭菜太差")
DISTRICT = ("我们村的路坏了没人修", "街道办不管小区门口的垃圾", "社区活动室一直锁着", "村里路灯坏了很久")
TEXTS = (HEATING + SCHOOLS + DISTRICT) * 2
UNITS = ("供热办",) * 4 + ("教育局",) * 4 + ("红星区",) * 4
LABELS = UNITS * 2
QUERIES = ["暖气片不热", "补课收费太贵", "村口的路没人修", "路灯"]


@pytest.fixture(scope="module")
def base() -> triage.TriageModel:
    return triage.load()


@pytest.fixture(scope="module")
def adapted(base: triage.TriageModel) -> triage.TriageModel:
    return triage.train(TEXTS, LABELS, base=base, min_df=1, calibration_folds=2)


def test_adapted_model_answers_units_and_their_departments(adapted: triage.TriageModel) -> None:
    assert sorted(adapted.classes) == ["供热办", "教育局", "红星区"]
    heating, school, _, _ = adapted.classify(QUERIES)
    assert (heating.unit, heating.department) == ("供热办", adapted.unit_departments["供热办"])
    assert school.unit == "教育局" and school.department == "education"
    assert heating.candidates[0][0] == "供热办"  # candidates are over the model's classes: units
    assert adapted.manifest["params"]["base"]["scale"] > 0
    np.testing.assert_allclose(adapted.predict_proba(QUERIES).sum(axis=1), 1.0, rtol=1e-6)


def test_base_scores_change_the_answer(adapted: triage.TriageModel) -> None:
    """The stacked base scores are part of every answer, not only of training."""
    prepared = [triage.text.prepare(q).text for q in QUERIES]
    own_only = adapted.scorer.predict_proba(prepared)
    assert np.abs(adapted.predict_proba(QUERIES) - own_only).max() > 1e-3


def test_department_model_has_no_unit(base: triage.TriageModel) -> None:
    result = base.classify("楼上漏水没人管")
    assert result.unit is None
    assert result.department == result.candidates[0][0]


def test_saved_and_loaded_model_answers_the_same(adapted: triage.TriageModel, tmp_path: Path) -> None:
    adapted.save(tmp_path / "m")
    loaded = triage.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(QUERIES), adapted.predict_proba(QUERIES))
    assert [r.to_dict() for r in loaded.classify(QUERIES)] == [r.to_dict() for r in adapted.classify(QUERIES)]
    files = json.loads((tmp_path / "m" / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert {"base_scorer.npz", "base_weights.npy"} <= files.keys()
    assert UNIT_MAP_FILE not in files  # editable, so not hashed


def test_units_csv_is_editable_and_checked(adapted: triage.TriageModel, tmp_path: Path) -> None:
    adapted.save(tmp_path / "m")
    path = tmp_path / "m" / UNIT_MAP_FILE
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0] == ["unit", "department", "source"]
    edited = [
        rows[0],
        *[[unit, "health" if unit == "供热办" else department, source] for unit, department, source in rows[1:]],
    ]
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(edited)
    assert triage.load(tmp_path / "m").classify(QUERIES[0]).department == "health"
    with path.open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerow(["消防队", "emergency_management"])
    with pytest.raises(ModelIntegrityError, match="not a unit of the model: 消防队"):
        triage.load(tmp_path / "m")


def test_tampered_base_weights_are_refused(adapted: triage.TriageModel, tmp_path: Path) -> None:
    adapted.save(tmp_path / "m")
    weights = tmp_path / "m" / "base_weights.npy"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(ModelIntegrityError, match="modified after the model was saved"):
        triage.load(tmp_path / "m")


def test_unit_model_without_base_and_a_given_map() -> None:
    mapping = {"供热办": "housing_construction", "教育局": "education", "红星区": "street_community"}
    model = triage.train(TEXTS, LABELS, unit_departments=mapping, min_df=1, calibration_folds=2)
    assert model.base_scores is None and model.unit_areas is None  # --base none: no area boost
    assert model.unit_departments == mapping
    result = evaluate(model, TEXTS, LABELS)
    assert result["department_level"]["n"] == len(TEXTS)
    assert result["department_level"]["accuracy"] >= result["accuracy"]
    with pytest.raises(ValueError, match="lacks the units 红星区"):
        triage.train(TEXTS, LABELS, unit_departments={"供热办": None, "教育局": None}, min_df=1, calibration_folds=2)


def test_unit_without_department_answers_the_likeliest_department() -> None:
    mapping = {"供热办": "housing_construction", "教育局": "education", "红星区": None}
    model = triage.train(TEXTS, LABELS, unit_departments=mapping, min_df=1, calibration_folds=2)
    result = model.classify(QUERIES[2])
    assert result.unit == "红星区"
    assert result.department in {"housing_construction", "education"}


def test_inferred_unit_map_sources() -> None:
    found = infer_unit_departments(["佳木斯市教育局", "大连市公共行政服务中心", "某某办"])
    assert found["佳木斯市教育局"] == ("education", "name")
    assert found["大连市公共行政服务中心"] == (None, "unassigned")
    assert found["某某办"] == (None, "unknown")
    proba = np.array([[0.9, 0.1], [0.7, 0.3]])
    guessed = infer_unit_departments(
        ["某某办"], base_proba=proba, base_classes=["water_affairs", "health"], message_units=["某某办", "某某办"]
    )
    assert guessed["某某办"] == ("water_affairs", "base_model")


def test_unit_map_round_trip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / UNIT_MAP_FILE
    mapping = {"甲局": ("education", "name"), "乙中心": (None, "unassigned")}
    write_unit_map(path, mapping)
    assert read_unit_map(path, ["甲局", "乙中心"]) == mapping
    with pytest.raises(ModelIntegrityError, match="missing: 丙办"):
        read_unit_map(path, ["甲局", "乙中心", "丙办"])
    path.write_text("unit,department\n甲局,education\n甲局,health\n", encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match="row 3: unit '甲局' is listed twice"):
        read_unit_map(path, ["甲局"])
    path.write_text("name,dept\n", encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match="header unit,department"):
        read_unit_map(path, ["甲局"])


def test_cli_train_with_base_default(tmp_path: Path) -> None:
    data = tmp_path / "history.csv"
    with data.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "handler"])
        writer.writerows(zip(TEXTS * 2, LABELS * 2, strict=True))
    result = CliRunner().invoke(
        cli,
        [
            "train",
            str(data),
            "-o",
            str(tmp_path / "m"),
            "--label-column",
            "handler",
            "--base",
            "default",
            "--text-column",
            "text",
            "--jobs",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m" / UNIT_MAP_FILE).is_file()
    assert triage.load(tmp_path / "m").classify(QUERIES[0]).unit == "供热办"
    evaluated = CliRunner().invoke(
        cli, ["evaluate", str(tmp_path / "m"), str(data), "--label-column", "handler", "--text-column", "text"]
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert re.search(r"at department level \(n=48\): accuracy \d\.\d{3}, top-3", evaluated.output)
    refused = CliRunner().invoke(
        cli,
        [
            "train",
            str(data),
            "-o",
            str(tmp_path / "n"),
            "--label-column",
            "handler",
            "--base",
            "default",
            "--labels-are-units",
        ],
    )
    assert refused.exit_code == 2 and "drop --labels-are-*" in refused.output


def test_card_and_manifest_report_both_levels(adapted: triage.TriageModel, tmp_path: Path) -> None:
    level = adapted.manifest["metrics"]["cross_validated"]["department_level"]
    assert level["n"] == len(TEXTS) and 0 <= level["accuracy"] <= 1
    adapted.save(tmp_path / "m")
    card = (tmp_path / "m" / "README.md").read_text(encoding="utf-8")
    assert re.search(r"\| department of the unit predicted \(n=24\) \| \d+\.\d% \|", card)


def test_recency_weights_halve_every_half_life() -> None:
    weights = recency_weights(["2018-01-01", "2018-1-11 9", "2017/12/22"], 10)
    np.testing.assert_allclose(weights, [0.5, 1.0, 0.25])
    with pytest.raises(ValueError, match="row 1: '昨天' is not a date"):
        recency_weights(["2018-01-01", "昨天"], 10)
    with pytest.raises(ValueError, match="positive number of days"):
        recency_weights(["2018-01-01"], 0)


def test_rows_since_keeps_the_messages_of_that_day_and_later() -> None:
    np.testing.assert_array_equal(rows_since(["2017-12-31", "2018-1-1 8:00", "2018/03/02"], "2018-01-01"), [0, 1, 1])
    chinese = ["2017年12月31日", "2018年1月1日8时", "2018年03月02号"]  # how most Chinese exports write dates
    np.testing.assert_array_equal(rows_since(chinese, "2018-01-01"), [0, 1, 1])
    with pytest.raises(ValueError, match="since='last year' is not a date; write it as YYYY-MM-DD"):
        rows_since(["2018-01-01"], "last year")
    with pytest.raises(ValueError, match="since=2018 is not a date"):
        rows_since(["2018-01-01"], 2018)
    np.testing.assert_array_equal(rows_since(["2017-12-31", "2018-01-01"], datetime.date(2018, 1, 1)), [0, 1])


# Two eras of the invented city: before its reorganisation the schools' messages went to 教育局,
# after it to 教育和体育局 (a renamed unit).
ERA_TEXTS = TEXTS * 2
ERA_DATES = ["2016-05-01"] * len(TEXTS) + ["2018-05-01"] * len(TEXTS)
ERA_UNITS = [*LABELS, *("教育和体育局" if unit == "教育局" else unit for unit in LABELS)]


def test_train_on_history_since_drops_the_retired_unit() -> None:
    everything = train_on_history(ERA_TEXTS, ERA_UNITS, ERA_DATES, min_df=1, calibration_folds=2)
    recent = train_on_history(ERA_TEXTS, ERA_UNITS, ERA_DATES, since="2018-01-01", min_df=1, calibration_folds=2)
    assert "教育局" in everything.classes and "教育局" not in recent.classes
    assert recent.predict([QUERIES[1]])[0] == "教育和体育局"
    assert recent.manifest["training_data"]["since"] == "2018-01-01"
    assert recent.manifest["training_data"]["rows_before_since"] == 24
    assert recent.manifest["training_data"]["n_documents"] == 24


def test_train_on_history_half_life_weighs_recent_messages_more() -> None:
    plain = train_on_history(ERA_TEXTS, ERA_UNITS, ERA_DATES, min_df=1, calibration_folds=2)
    weighted = train_on_history(ERA_TEXTS, ERA_UNITS, ERA_DATES, half_life_days=30, min_df=1, calibration_folds=2)
    assert weighted.manifest["training_data"]["half_life_days"] == 30
    renamed = list(weighted.classes).index("教育和体育局")
    query = weighted.predict_proba([QUERIES[1]])[0, renamed]
    assert query > plain.predict_proba([QUERIES[1]])[0, renamed]


def test_train_on_history_refuses_what_it_cannot_use() -> None:
    with pytest.raises(ValueError, match="no message is dated on or after since='2030-01-01'"):
        train_on_history(ERA_TEXTS, ERA_UNITS, ERA_DATES, since="2030-01-01")
    with pytest.raises(ValueError, match="48 texts, 48 labels and 1 dates"):
        train_on_history(ERA_TEXTS, ERA_UNITS, ["2018-01-01"])
    with pytest.raises(TypeError, match="pass half_life_days, not sample_weight"):
        train_on_history(ERA_TEXTS, ERA_UNITS, ERA_DATES, sample_weight=[1.0] * 48)


def test_adaptation_works_on_a_base_trained_with_sub_labels(sub_model: triage.TriageModel, tmp_path: Path) -> None:
    """A base with a sub-label model: the adapted model stacks its department scores only, answers
    units with their departments, and saves and loads like any adapted model."""
    base = triage.load(sub_model.save(tmp_path / "base"))
    assert base.sub_scorer is not None
    units = {"property_management": "物业科", "public_security": "派出所", "education": "教育局"}
    adapted = triage.train(SUB_TEXTS, [units[d] for d in SUB_DEPARTMENTS], base=base, min_df=1, calibration_folds=2)
    assert adapted.base_scores is not None and adapted.sub_scorer is None
    assert adapted.base_scores.weights.shape == (3, len(base.classes))
    result = adapted.classify("物业费又涨了")
    assert (result.unit, result.department) == ("物业科", "property_management")
    assert result.sub_category is None
    loaded = triage.load(adapted.save(tmp_path / "adapted"))
    np.testing.assert_array_equal(loaded.predict_proba(QUERIES), adapted.predict_proba(QUERIES))


def test_sample_weight_changes_the_fit() -> None:
    plain = triage.train(TEXTS, LABELS, min_df=1, calibration_folds=2)
    weighted = triage.train(TEXTS, LABELS, min_df=1, calibration_folds=2, sample_weight=[1.0] * 12 + [0.01] * 12)
    assert np.abs(plain.predict_proba(QUERIES) - weighted.predict_proba(QUERIES)).max() > 1e-3
    with pytest.raises(ValueError, match="one positive number per text"):
        triage.train(TEXTS, LABELS, sample_weight=[1.0])


def test_cli_half_life_needs_a_date_column(tmp_path: Path) -> None:
    data = tmp_path / "history.csv"
    with data.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "handler", "date"])
        writer.writerows((t, u, f"2018-1-{i % 28 + 1}") for i, (t, u) in enumerate(zip(TEXTS, LABELS, strict=True)))
    args = ["train", str(data), "-o", str(tmp_path / "m"), "--label-column", "handler", "--text-column", "text"]
    refused = CliRunner().invoke(cli, [*args, "--half-life", "30"])
    assert refused.exit_code == 2 and "add --date-column" in refused.output
    refused = CliRunner().invoke(cli, [*args, "--date-column", "date"])
    assert refused.exit_code == 2 and "add one of them" in refused.output
    result = CliRunner().invoke(cli, [*args, "--half-life", "30", "--date-column", "date", "--jobs", "1"])
    assert result.exit_code == 0, result.output


def test_cli_since_trains_only_on_later_messages(tmp_path: Path) -> None:
    data = tmp_path / "history.csv"
    with data.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "handler", "date"])
        pairs = enumerate(zip(TEXTS, LABELS, strict=True))
        writer.writerows((t, u, f"201{7 + i % 2}-03-0{i % 9 + 1}") for i, (t, u) in pairs)
    args = ["train", str(data), "--label-column", "handler", "--text-column", "text", "--date-column", "date"]
    later = sum(i % 2 for i in range(len(TEXTS)))
    result = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "m"), "--since", "2018-01-01", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    recorded = triage.load(tmp_path / "m").manifest["training_data"]
    assert (recorded["since"], recorded["rows_before_since"]) == ("2018-01-01", len(TEXTS) - later)
    refused = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "n"), "--since", "2018"])
    assert refused.exit_code != 0 and "is not a date" in refused.output


# --- the merge with model format 2: base files read like every model file --------------------------


def _npy(dtype: str, shape: tuple[int, ...], payload: bytes) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape})
    return header.getvalue() + payload


@pytest.fixture
def saved_adapted(adapted: triage.TriageModel, tmp_path: Path) -> Path:
    return adapted.save(tmp_path / "m")


def test_base_scorer_is_saved_in_the_compact_layout(adapted: triage.TriageModel, saved_adapted: Path) -> None:
    with np.load(saved_adapted / "base_scorer.npz") as arrays:
        assert int(arrays["layout"]) == 2 and arrays["weights"].dtype == np.int8
    assert sorted(p.name for p in saved_adapted.iterdir()) == [
        "README.md",
        "base_scorer.npz",
        "base_weights.npy",
        "manifest.json",
        "scorer.npz",
        UNIT_MAP_FILE,
    ]
    assert triage.load(saved_adapted).base_scores.scorer.weight_scales is not None


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (_npy("<f4", (3, 40_000_000), bytes(64)), r"declares an array of 480,000,\d+ bytes in content of \d+ bytes"),
        (_npy("|O", (3, 1), bytes(24)), "holds Python objects"),
        (_npy("<f8", (3, 1), bytes(24)), r"holds float64 \(3, 1\), expected float32 with 3 rows"),
        (b"not an array", "is not a readable .npy array"),
    ],
)
def test_hostile_base_weights_are_refused_when_rehashed(saved_adapted: Path, content: bytes, expected: str) -> None:
    (saved_adapted / "base_weights.npy").write_bytes(content)
    rehash(saved_adapted, "base_weights.npy")
    with pytest.raises(ModelIntegrityError, match=expected):
        triage.load(saved_adapted)


def test_a_base_file_missing_from_the_manifest_is_refused(saved_adapted: Path) -> None:
    path = saved_adapted / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    del manifest["files"]["base_weights.npy"]
    path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match="needs both its base files hashed"):
        triage.load(saved_adapted)


@pytest.mark.parametrize("name", ["base_scorer.npz", "base_weights.npy", UNIT_MAP_FILE])
def test_no_adaptation_file_is_read_through_a_symlink(saved_adapted: Path, tmp_path: Path, name: str) -> None:
    elsewhere = tmp_path / f"elsewhere-{name}"
    shutil.move(saved_adapted / name, elsewhere)
    (saved_adapted / name).symlink_to(elsewhere)
    with pytest.raises(ModelIntegrityError, match=rf"{re.escape(name)} is a symbolic link"):
        triage.load(saved_adapted)


def test_predict_answers_the_classes_of_a_unit_level_model(adapted: triage.TriageModel) -> None:
    """predict gives classes_ (units, as the labels were), so scikit-learn metrics compare like with like."""
    predicted = adapted.predict([*QUERIES, ""])
    assert set(predicted[:-1]) <= set(adapted.classes_) and predicted[-1] == UNCLASSIFIED
    assert list(predicted[:-1]) == [r.unit for r in adapted.classify(QUERIES)]


def test_cli_base_is_checked_before_the_data_is_read(tmp_path: Path) -> None:
    data = tmp_path / "history.csv"
    data.write_text("text,handler\n", encoding="utf-8")  # no rows: training would fail if it were read
    args = ["train", str(data), "-o", str(tmp_path / "m"), "--label-column", "handler"]
    (tmp_path / "not-a-model").mkdir()
    refused = CliRunner().invoke(cli, [*args, "--base", str(tmp_path / "not-a-model")])
    assert refused.exit_code == 1 and "is not a triage model directory" in refused.output
    missing = CliRunner().invoke(cli, [*args, "--unit-departments", str(tmp_path / "absent.csv")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


# The invented city's units: two local governments (a district, a county), a district bureau, a city office.
AREA_UNITS = {
    "红星区": ("street_community", "name"),
    "红星区城建局": ("housing_construction", "name"),
    "青山县人民政府": ("street_community", "name"),
    "供热办": ("housing_construction", "name"),
}
AREA_CLASSES = sorted(AREA_UNITS)


def test_unit_areas_are_read_off_the_local_governments_names() -> None:
    areas = UnitAreas.from_units(AREA_CLASSES, AREA_UNITS, boost=2.0)
    assert areas is not None and areas.names == ("红星区", "青山县")
    added = areas.logits(["红星区幸福路的暖气不热", "青山县的路灯坏了", "暖气不热", "红星区和青山县交界的桥"])
    by_unit = {unit: added[:, AREA_CLASSES.index(unit)].tolist() for unit in AREA_CLASSES}
    assert by_unit == {
        "供热办": [0, 0, 0, 0],  # a city office has no area
        "红星区": [2, 0, 0, 2],
        "红星区城建局": [2, 0, 0, 2],  # the district's bureaus lie in the district too
        "青山县人民政府": [0, 2, 0, 2],
    }
    assert UnitAreas.from_units(AREA_CLASSES, AREA_UNITS, boost=0) is None
    city_only = {"供热办": ("housing_construction", "name"), "红星区城建局": ("housing_construction", "name")}
    assert UnitAreas.from_units(sorted(city_only), city_only) is None  # no local government: no area


@given(st.lists(st.text(max_size=30), max_size=5))
def test_unit_areas_add_zero_or_the_boost_to_any_text(texts: list[str]) -> None:
    areas = UnitAreas.from_units(AREA_CLASSES, AREA_UNITS, boost=1.5)
    assert areas is not None
    added = areas.logits(texts)
    assert added.shape == (len(texts), len(AREA_CLASSES))
    assert set(np.unique(added)) <= {0.0, 1.5}


# The same invented messages, a few of them naming the district of the unit that answered them.
NAMED_TEXTS = tuple(
    f"红星区{text}" if unit == "红星区" and row % 2 else text
    for row, (text, unit) in enumerate(zip(TEXTS, LABELS, strict=True))
)
AREA_QUERIES = ["红星区的暖气片不热", "暖气片不热"]


def test_naming_a_units_area_multiplies_its_odds(base: triage.TriageModel, tmp_path: Path) -> None:
    """What the area adds is the same in answers and after saving, and only for texts naming it:
    the SVM is fitted as without it, so the answers are the plain model's times e^boost, renormalised."""
    adapted = triage.train(NAMED_TEXTS, LABELS, base=base, min_df=1, calibration_folds=2)
    plain = triage.train(NAMED_TEXTS, LABELS, base=base, min_df=1, calibration_folds=2, area_boost=0)
    assert adapted.manifest["params"]["base"]["area_boost"] == AREA_BOOST and plain.unit_areas is None
    assert adapted.unit_areas is not None and adapted.unit_areas.names == ("红星区",)
    district = list(adapted.classes).index("红星区")
    expected = plain.predict_proba(AREA_QUERIES)
    expected[0, district] *= np.exp(AREA_BOOST)
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(adapted.predict_proba(AREA_QUERIES), expected, rtol=1e-5)
    loaded = triage.load(adapted.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict_proba(AREA_QUERIES), adapted.predict_proba(AREA_QUERIES))
    # the out-of-fold probabilities (threshold, metrics) see the areas as answers do
    assert not np.allclose(adapted.estimator.oof_proba_, plain.estimator.oof_proba_)


def test_an_edited_units_csv_moves_the_areas(base: triage.TriageModel, tmp_path: Path) -> None:
    adapted = triage.train(NAMED_TEXTS, LABELS, base=base, min_df=1, calibration_folds=2)
    adapted.save(tmp_path / "m")
    path = tmp_path / "m" / UNIT_MAP_FILE
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([rows[0], *[[u, "other" if u == "红星区" else d, s] for u, d, s in rows[1:]]])
    assert triage.load(tmp_path / "m").unit_areas is None  # no local government left: no area


def test_area_boost_is_checked(base: triage.TriageModel, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="area_boost must be a number of 0 or more, got -1"):
        triage.train(NAMED_TEXTS, LABELS, base=base, min_df=1, calibration_folds=2, area_boost=-1)
    adapted = triage.train(NAMED_TEXTS, LABELS, base=base, min_df=1, calibration_folds=2)
    manifest = json.loads(json.dumps(adapted.manifest))
    manifest["params"]["base"]["area_boost"] = "much"
    with pytest.raises(ModelIntegrityError, match="area_boost is 'much', not a positive number"):
        triage.TriageModel(adapted.scorer, manifest, base_scores=adapted.base_scores, units=adapted.units)


def _with_manifest(adapted: triage.TriageModel, edit) -> TriageModel:
    """The adapted model again, from a copy of its manifest changed by ``edit``."""
    manifest = json.loads(json.dumps(adapted.manifest))
    edit(manifest)
    return TriageModel(adapted.scorer, manifest, base_scores=adapted.base_scores, units=adapted.units)


@pytest.mark.parametrize("boost", [0.5, 3.0])
def test_the_manifests_area_boost_is_the_one_answers_use(adapted: triage.TriageModel, boost: float) -> None:
    assert adapted.unit_areas is not None and adapted.unit_areas.boost == AREA_BOOST
    model = _with_manifest(adapted, lambda m: m["params"]["base"].update(area_boost=boost))
    assert model.unit_areas is not None and model.unit_areas.boost == boost  # below 1 too


@pytest.mark.parametrize("boost", [float("inf"), float("nan"), -1.0])
def test_an_area_boost_that_is_not_a_positive_number_is_refused(adapted: triage.TriageModel, boost: float) -> None:
    with pytest.raises(ModelIntegrityError, match=r"area_boost is .*, not a positive number"):
        _with_manifest(adapted, lambda m: m["params"]["base"].update(area_boost=boost))


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m["params"]["base"].pop("area_boost"),  # trained before areas existed
        lambda m: m["params"].pop("base"),
        lambda m: m.pop("params"),
    ],
)
def test_a_manifest_without_an_area_boost_gives_no_areas(adapted: triage.TriageModel, edit) -> None:
    model = _with_manifest(adapted, edit)
    assert model.unit_areas is None
    assert model.classify(QUERIES[0]).unit == adapted.classify(QUERIES[0]).unit


def test_department_candidates_are_cut_at_top_k(adapted: triage.TriageModel) -> None:
    assert len(set(adapted.unit_departments.values())) == 3
    three = adapted.classify(QUERIES, top_k=3)
    one = adapted.classify(QUERIES, top_k=1)
    assert [len(r.department_candidates) for r in three] == [3] * len(QUERIES)
    assert [r.department_candidates for r in one] == [r.department_candidates[:1] for r in three]
    for result in three:  # most probable first, each the sum of its units' probabilities
        probabilities = [p for _, p in result.department_candidates]
        assert probabilities == sorted(probabilities, reverse=True)
        assert sum(probabilities) == pytest.approx(1.0)


def test_the_answered_units_own_department_wins_over_the_likeliest_department(adapted: triage.TriageModel) -> None:
    """A unit that has a department answers it, even when its sibling units together hold more
    probability for another department."""
    query = "你好"  # no term the model knows: its answer is far from sure
    result = adapted.classify(query)
    assert result.confidence < 0.5  # the other units together are likelier
    units = {
        unit: ("housing_construction" if unit == result.unit else "education", "given") for unit in adapted.classes
    }
    model = TriageModel(adapted.scorer, adapted.manifest, base_scores=adapted.base_scores, units=units)
    again = model.classify(query)
    assert again.unit == result.unit and again.department == "housing_construction"
    assert again.department_candidates[0][0] == "education"


def test_units_without_any_department_answer_no_department(adapted: triage.TriageModel) -> None:
    units = {unit: (None, "given") for unit in adapted.classes}
    model = TriageModel(adapted.scorer, adapted.manifest, base_scores=adapted.base_scores, units=units)
    results = model.classify(QUERIES)
    assert [r.unit for r in results] == [r.unit for r in adapted.classify(QUERIES)]
    assert {(r.department, r.department_name) for r in results} == {(None, None)}
    assert classification_rows(model, QUERIES) == [r.to_row() for r in model.classify(QUERIES, explain=0)]


def test_a_model_without_base_scores_has_no_areas(adapted: triage.TriageModel) -> None:
    """Areas belong to an adapted model's base: without one the manifest's boost is not used."""
    assert TriageModel(adapted.scorer, adapted.manifest, units=adapted.units).unit_areas is None


def test_a_date_with_a_time_of_day_counts_as_its_day_and_a_missing_date_is_named() -> None:
    """``since`` given as a datetime (a pandas Timestamp is one) is its day: messages of that day are kept."""
    since = datetime.datetime(2018, 1, 1, 12, 30)
    np.testing.assert_array_equal(rows_since(["2017-12-31", "2018-01-01", "2018-01-02"], since), [0, 1, 1])
    with pytest.raises(ValueError, match=r"^row 1 has no date; fill it or drop the row$"):
        recency_weights(["2018-01-01", None], 10)


@given(st.dates(min_value=datetime.date(1000, 1, 1), max_value=datetime.date(9998, 12, 30)), st.integers(0, 3))
def test_a_date_written_in_any_of_the_usual_ways_is_that_day(day: datetime.date, form: int) -> None:
    written = [
        f"{day.year}-{day.month}-{day.day}",
        f"{day.year}/{day.month:02d}/{day.day:02d} 10:00",
        f"{day.year}年{day.month}月{day.day}日",
        f" {day.year} 年 {day.month:02d} 月 {day.day} 号8时",
    ][form]
    next_day = day + datetime.timedelta(days=1)
    np.testing.assert_array_equal(rows_since([written], day), [True])
    np.testing.assert_array_equal(rows_since([written], next_day), [False])
