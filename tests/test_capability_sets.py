"""The hand-written capability sets (benchmarks/capabilities): well-formed and kept apart from the training corpus."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from triage.datasets import load_petitions
from triage.departments import load_directory

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
FIELDS = {"id", "text", "department", "acceptable", "note"}
NEAR_DUPLICATE = 0.5  # character-trigram Jaccard from which a set row is a copy of a corpus row


def _module(name: str, monkeypatch: pytest.MonkeyPatch):
    """A script of benchmarks/ imported as a module (the scripts import each other by plain name)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def sets() -> dict[str, list[dict]]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        return _module("capabilities", monkeypatch).load_sets()


def test_there_is_one_set_per_capability(sets):
    assert sorted(name[0] for name in sets) == list("ABCDEFG")


def test_rows_are_well_formed(sets):
    codes = set(load_directory())
    for name, rows in sets.items():
        assert len(rows) >= 50, f"{name}: {len(rows)} rows, at least 50 wanted"
        ids = [row["id"] for row in rows]
        assert len(set(ids)) == len(ids), f"{name}: repeated ids"
        for row in rows:
            where = f"{name} {row.get('id')}"
            assert set(row) == FIELDS, where
            assert row["text"].strip() and row["note"].strip(), where
            assert row["department"] in codes, where
            assert set(row["acceptable"]) <= codes, where
            assert row["department"] in row["acceptable"], where
            assert len(set(row["acceptable"])) == len(row["acceptable"]), where


def test_ids_are_unique_across_sets(sets):
    ids = [row["id"] for rows in sets.values() for row in rows]
    assert len(set(ids)) == len(ids)


def test_no_set_row_is_a_near_duplicate_of_a_corpus_message(sets, monkeypatch):
    similarity = _module("capabilities", monkeypatch).closest_corpus_similarity(sets)
    assert len(similarity) == sum(len(rows) for rows in sets.values())
    copies = {key: round(score, 3) for key, score in similarity.items() if score >= NEAR_DUPLICATE}
    assert not copies, f"set rows too close to a corpus message (trigram Jaccard >= {NEAR_DUPLICATE}): {copies}"


def test_the_near_duplicate_check_sees_a_copied_corpus_message(monkeypatch):
    capabilities = _module("capabilities", monkeypatch)
    copied = load_petitions().texts[7]
    rows = [{"id": "x-1", "text": copied + "。", "department": "other", "acceptable": ["other"], "note": "copy"}]
    assert capabilities.closest_corpus_similarity({"x": rows})["x-1"] >= NEAR_DUPLICATE


def test_accuracy_counts_only_acceptable_departments(monkeypatch):
    """accuracy_by_set scores a prediction against `acceptable`, not only the expected department."""
    capabilities = _module("capabilities", monkeypatch)

    class Fixed:
        def classify(self, texts):
            return [type("R", (), {"department": "education"})() for _ in texts]

    rows = [
        {"id": "x-1", "text": "a", "department": "market_regulation", "acceptable": ["market_regulation", "education"]},
        {"id": "x-2", "text": "b", "department": "market_regulation", "acceptable": ["market_regulation"]},
    ]
    assert capabilities.accuracy_by_set(Fixed(), {"x": rows}) == {"x": 0.5}
    (miss,) = capabilities.misses_by_set(Fixed(), {"x": rows})["x"]
    assert (miss.id, miss.predicted, miss.expected) == ("x-2", "education", "market_regulation")
