"""The shipped default model on the hand-written capability sets (benchmarks/capabilities/): what real
boards showed it got wrong (issue 15, item 4), each set to be routed right at least 9 times in 10."""

from __future__ import annotations

import sys

import pytest

import triage
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from capabilities import accuracy_by_set, load_sets

TARGET = 0.90
#: Sets the shipped model does not reach yet, with the figure measured (python benchmarks/capabilities.py).
BELOW_TARGET = {
    "C_issue_over_setting": "0.863: some labour disputes in a school or hospital still go to the setting's department",
}


@pytest.fixture(scope="module")
def accuracies() -> dict[str, float]:
    return accuracy_by_set(triage.load(), load_sets())


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=BELOW_TARGET[name]))
        if name in BELOW_TARGET
        else name
        for name in sorted(load_sets())
    ],
)
def test_capability_set_is_routed_right_nine_times_in_ten(accuracies, name):
    assert accuracies[name] >= TARGET
