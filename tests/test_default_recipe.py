"""The default model's recipe (models/train_default.py): which weight each training row gets."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import pytest

from tests.conftest import REPO
from triage.exceptions import TrainingDataWarning

sys.path.insert(0, str(REPO / "models"))
pytest.importorskip("matplotlib", reason="train_default draws the card's figures (plots extra)")
from train_default import LOCAL_OFFICE, ROW_WEIGHTS, RealRows, labelled_training_set

SCHOOL = ("孩子上小学报名要什么材料", "学校乱收补课费谁来管", "幼儿园学位不够怎么办", "老师体罚学生请教育局调查")
BUS = ("公交车总是晚点很久", "地铁站附近没有公交线路", "出租车拒载乘客", "长途客车票价太贵")
LOCAL = ("我们小区门口的路灯坏了", "村里的小路下雨全是泥", "社区活动室一直锁着门", "楼下空地堆满杂物没人清")


@dataclass
class Corpus:
    texts: list[str]
    departments: list[str]

    def __len__(self) -> int:
        return len(self.texts)


def _corpus() -> Corpus:
    return Corpus(
        list(SCHOOL + BUS + LOCAL), ["education"] * len(SCHOOL) + ["transport"] * len(BUS) + [LOCAL_OFFICE] * len(LOCAL)
    )


def _real() -> RealRows:
    real = RealRows()
    real.add(["学校门口的补课班收费太高", "12345 67890"], [("education",), ("education",)], "school rows")
    real.add(["公交站台被拆了等车淋雨"], [("transport", "urban_management")], "a unit owning two departments")
    real.add(["街道旁的垃圾桶满了", "小区里的路灯晚上不亮"], [(LOCAL_OFFICE,), (LOCAL_OFFICE,)], "local office rows")
    return real


def test_rows_are_weighted_by_where_they_come_from_and_stay_aligned():
    with pytest.warns(TrainingDataWarning, match="1 rows without Chinese text"):
        texts, labels, weights = labelled_training_set(_corpus(), _real(), n_jobs=None)
    assert len(texts) == len(labels) == len(weights) == len(_corpus()) + 4  # the row without Chinese is left out
    expected = [ROW_WEIGHTS["authored"]] * len(_corpus()) + [1.0, 1.0] + [ROW_WEIGHTS[LOCAL_OFFICE]] * 2
    np.testing.assert_allclose(weights, expected)
    assert labels[len(_corpus()) :] == ["education", "transport", LOCAL_OFFICE, LOCAL_OFFICE]


def test_row_weights_can_be_overridden_per_source():
    with pytest.warns(TrainingDataWarning, match="without Chinese"):
        _, _, weights = labelled_training_set(_corpus(), _real(), n_jobs=None, row_weights={LOCAL_OFFICE: 0.1})
    np.testing.assert_allclose(weights, [1.0] * len(_corpus()) + [1.0, 1.0, 0.1, 0.1])
