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


@pytest.fixture(scope="module")
def accuracies() -> dict[str, float]:
    return accuracy_by_set(triage.load(), load_sets())


@pytest.mark.parametrize("name", sorted(load_sets()))
def test_capability_set_is_routed_right_nine_times_in_ten(accuracies, name):
    assert accuracies[name] >= TARGET
