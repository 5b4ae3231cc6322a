"""The shipped default model: it loads, routes the README example, and its card tells the truth."""

from __future__ import annotations

import json

import pytest

import triage
import triage.departments
from tests.conftest import REPO, SHARED_DATA
from triage.datasets import teddy2020c

DEFAULT = REPO / "models" / "default"


@pytest.fixture(scope="module")
def default_model():
    return triage.load()


def test_readme_example(default_model):
    result = default_model.classify("小区物业乱收停车费，垃圾也没人清理")
    assert result.department == "property_management" and result.department_name == "物业"


@pytest.mark.parametrize(
    ("text", "department"),
    [
        ("城中村的下水道堵了一个多月，污水漫到路上", "water_affairs"),
        ("学校的四点半课堂收费太高，孩子放学没人接", "education"),
        ("户口迁移和身份证换领要跑好几趟派出所", "public_security"),
        ("社区的老年食堂饭菜又涨价了，老人吃不起", "civil_affairs"),
        ("物业费年年涨，楼道卫生没人打扫，停车位还乱收费", "property_management"),
    ],
)
def test_routes_the_five_concerns_of_the_brief(default_model, text, department):
    assert default_model.classify(text).department == department


def test_every_department_is_trained_and_carded():
    manifest = json.loads((DEFAULT / "manifest.json").read_text(encoding="utf-8"))
    card = (DEFAULT / "README.md").read_text(encoding="utf-8")
    codes = {label["code"] for label in manifest["labels"]}
    assert codes == set(triage.departments.default_directory())
    for code in codes:
        assert manifest["training_data"]["per_department"][code] > 0
        assert f"| {code} |" in card


@pytest.mark.realdata
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data/teddy2020c is absent (real data stays outside)")
def test_card_figures_match_a_fresh_measurement(default_model):
    manifest = json.loads((DEFAULT / "manifest.json").read_text(encoding="utf-8"))
    for name, measured in teddy2020c.evaluate(default_model, SHARED_DATA).items():
        recorded = manifest["metrics"][f"teddy2020c_{name}"]
        for key in ("accuracy", "top3_accuracy", "topic_accuracy", "automatic_share"):
            if key in measured:
                assert measured[key] == pytest.approx(recorded[key], abs=1e-6), (name, key)


@pytest.mark.parametrize("board", ["teddy2020c", "jiamusi", "dalian"])
def test_card_reports_each_left_out_board(board):
    manifest = json.loads((DEFAULT / "manifest.json").read_text(encoding="utf-8"))
    card = (DEFAULT / "README.md").read_text(encoding="utf-8")
    figures = manifest["metrics"][f"cross_city_{board}"]
    for key in ("functional_top1", "functional_top3", "local_top1", "macro_f1", "expected_calibration_error"):
        assert 0.0 <= figures[key] <= 1.0, key
    assert figures["functional_top1"] <= figures["functional_top3"]
    assert figures["n"] == figures["functional_n"] + figures["local_n"] > 0
    assert f"### cross_city_{board}" in card
    assert "top-1, messages a local government handled" in card
