"""The model card keeps whatever a label, a name or a source holds on its line and in its table cell."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from triage.card import render_card

_CELL_BORDER = re.compile(r"(?<!\\)\|")  # GFM splits a table row at every pipe not escaped by a backslash


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in _CELL_BORDER.split(line)[1:-1]]


def _manifest(code: str, name: str, sub_label: str = "路灯", source: str = "export.csv: 2 rows") -> dict:
    return {
        "training_data": {"name": name, "sources": [source], "n_documents": 2},
        "labels": [{"code": code, "name": name}, {"code": "education", "name": "教育"}],
        "sub_labels": [{"label": code, "sub_label": sub_label}],
        "metrics": {
            "held_out": {
                "n": 2,
                "accuracy": 0.5,
                "per_class": {code: {"precision": 1.0, "recall": 0.5, "f1": 0.667, "support": 2}},
            }
        },
    }


def _table_rows(card: str, head: str) -> list[list[str]]:
    """The cells of each row of the table whose head line starts with ``head`` (head and rule left out)."""
    lines = card.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(head)) + 2
    rows = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        rows.append(_cells(line))
    return rows


def test_a_hostile_label_stays_in_its_cells_and_on_its_line() -> None:
    code = "city|works\n## Injected heading\x1b[2J<img src=x onerror=alert(1)>"
    card = render_card(_manifest(code, "城管\r\n| fake | row |", sub_label="a|b\nc", source="x\n# y"))
    assert "\x1b" not in card and "\r" not in card and "<img" not in card
    assert "## Injected heading" not in card.splitlines()
    assert "# y" not in card.splitlines()
    departments = _table_rows(card, "| code | 名称 |")
    assert len(departments) == 2 and all(len(row) == 2 for row in departments)
    assert departments[0][0] == ("city\\|works\\x0a## Injected heading\\x1b[2J&lt;img src=x onerror=alert(1)&gt;")
    assert departments[0][1] == "城管\\x0d\\x0a\\| fake \\| row \\|"
    (per_class,) = _table_rows(card, "| department | 名称 | precision")
    assert len(per_class) == 6 and per_class[:2] == departments[0]
    (sub_row,) = _table_rows(card, "| department | 名称 | sub-categories")
    assert len(sub_row) == 5 and sub_row[2] == "a\\|b\\x0ac"
    assert card.splitlines()[0] == "# triage model: 城管\\x0d\\x0a\\| fake \\| row \\|"
    assert "- x\\x0a# y" in card.splitlines()


def test_plain_labels_are_written_as_they_are() -> None:
    card = render_card(_manifest("public_security", "公安"))
    assert "| public_security | 公安 |" in card.splitlines()


@given(code=st.text(min_size=1), name=st.text())
def test_any_label_is_one_row_of_two_cells(code: str, name: str) -> None:
    card = render_card(_manifest(code, name))
    departments = _table_rows(card, "| code | 名称 |")
    assert [len(row) for row in departments] == [2, 2]
    assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0 for c in card)
