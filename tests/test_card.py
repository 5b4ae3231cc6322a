"""The model card keeps whatever a label, a name or a source holds on its line and in its table cell."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from triage.card import _INTENDED_USE, _LIMITS, render_card

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
@example(code="0", name="\u2028")  # Unicode's line and paragraph separators end a line for many tools
@example(code="\u2029", name="")
def test_any_label_is_one_row_of_two_cells(code: str, name: str) -> None:
    card = render_card(_manifest(code, name))
    departments = _table_rows(card, "| code | 名称 |")
    assert [len(row) for row in departments] == [2, 2]
    assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0 for c in card)
    assert card.splitlines() == card.split("\n")[:-1]  # no line ends but the card's own


def _section(card: str, heading: str) -> list[str]:
    """The lines of the card under ``heading`` up to the next heading of the same or a higher level."""
    lines = card.splitlines()
    level = heading.split(" ")[0]
    start = lines.index(heading) + 1
    end = next(
        (i for i in range(start, len(lines)) if lines[i].startswith("#") and lines[i].split(" ")[0] <= level),
        len(lines),
    )
    return lines[start:end]


_FULL = {
    "training_data": {
        "name": "12345 热线",
        "description": "Work orders of 2025.",
        "sources": ["a.csv: 3 rows", "b.xlsx: 1 row"],
        "n_documents": 4,
    },
    "labels": [{"code": "education", "name": "教育"}, {"code": "housing", "name": "住建"}],
    "template": {"openings": ["市民来电反映"], "endings": ["感谢您的反映", "请尽快处理"]},
    "sub_labels": [
        {"label": "education", "sub_label": "fees"},
        {"label": "education", "sub_label": "enrolment"},
        {"label": "housing", "sub_label": "repairs"},
    ],
    "metrics": {
        "held_out": {
            "description": "A fifth kept back.",
            "n": 40,
            "accuracy": 0.75,
            "macro_f1": 0.5,
            "department_level": {"n": 38, "accuracy": 0.8, "top3_accuracy": 0.9},
            "per_class": {
                "education": {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2},
                "other": {"precision": None, "recall": 0.0, "f1": 0.0, "support": 0},
            },
        },
        "cross_validated": {
            "top3_accuracy": 0.95,
            "sub_labels": {
                "accuracy": 0.8,
                "majority_baseline": 0.6,
                "per_label": {"education": {"sub_labels": {"fees": 5}, "accuracy": 0.7, "majority_baseline": 0.5}},
            },
        },
    },
    "figures": ["confusion_matrix.png"],
    "review_threshold": 0.4166,
    "target_precision": 0.9,
    "review_threshold_basis": "chosen on the held-out fifth",
    "created": "2026-12-07T18:00:00+00:00",
    "versions": {"triage": "1.2", "python": "3.11.9"},
    "segmenter": "pkuseg",
    "confidence_scaling": {"slope": 1.25, "intercept": -0.5},
}


def test_each_section_of_a_full_manifest_has_its_lines() -> None:
    card = render_card(_FULL)
    assert card.splitlines()[:2] == ["# triage model: 12345 热线", ""]
    assert _section(card, "## Intended use") == ["", *_INTENDED_USE.splitlines(), ""]
    assert _section(card, "## Limits") == ["", *_LIMITS.splitlines(), ""]
    assert _section(card, "## Departments") == [
        "",
        "| code | 名称 |",
        "|---|---|",
        "| education | 教育 |",
        "| housing | 住建 |",
        "",
    ]
    assert _section(card, "## Training data") == [
        "",
        "Work orders of 2025.",
        "",
        "- a.csv: 3 rows",
        "- b.xlsx: 1 row",
        "",
        "Documents: 4.",
        "",
        "Template: 「市民来电反映」… …「感谢您的反映」 …「请尽快处理」 (letters and digits only). "
        "The training messages were typed into it; it was cut from them before training, and the model cuts it "
        "from every message it classifies (`triage.boilerplate`).",
        "",
    ]
    assert _section(card, "### held_out") == [
        "",
        "A fifth kept back.",
        "",
        "Messages: 40.",
        "",
        "| metric | value |",
        "|---|---|",
        "| accuracy (top-1) | 75.0% |",
        "| macro F1 | 50.0% |",
        "| department of the unit predicted (n=38) | 80.0% |",
        "| department top-3 (unit probabilities summed) | 90.0% |",
        "",
        "| department | 名称 | precision | recall | F1 | support |",
        "|---|---|---|---|---|---|",
        "| education | 教育 | 100.0% | 50.0% | 66.7% | 2 |",
        "| other | other | — | 0.0% | 0.0% | 0 |",
        "",
    ]
    assert _section(card, "### cross_validated")[:8] == [
        "",
        "",
        "",
        "Messages: ?.",
        "",
        "| metric | value |",
        "|---|---|",
        "| top-3 accuracy | 95.0% |",
    ]
    assert _section(card, "## Sub-categories") == [
        "",
        "A second classifier names the sub-category within the predicted department. Accuracy is that of the "
        "sub-category given the true department, on out-of-fold predictions of the training messages "
        "(overall 80.0%; always guessing the department's most frequent sub-category: 60.0%).",
        "",
        "| department | 名称 | sub-categories (training messages) | accuracy | majority baseline |",
        "|---|---|---|---|---|",
        "| education | 教育 | fees (5), enrolment | 70.0% | 50.0% |",
        "| housing | 住建 | repairs | — | — |",
        "",
    ]
    assert "![confusion_matrix.png](confusion_matrix.png)" in _section(card, "## Evaluation")
    assert _section(card, "## Review threshold") == [
        "",
        "Messages whose calibrated confidence is below **0.417** are flagged `needs_review`: the lowest threshold "
        "at which automatically routed messages reached a precision of 90.0%, chosen on the held-out fifth.",
        "",
        "Confidence is the chance that the department is right: the softmax's top probability p, then "
        "sigmoid(1.250 · log(p / (1 − p)) -0.500), the other departments sharing the rest in their former ratios "
        "(`triage.confidence`).",
        "",
    ]
    assert _section(card, "## Versions") == [
        "",
        "Saved 2026-12-07T18:00:00+00:00 with triage 1.2, python 3.11.9. Words segmented by pkuseg (jieba's "
        "dictionary plus triage's petition user dictionary).",
    ]
    assert [line for line in card.splitlines() if line.startswith("## ")] == [
        "## Intended use",
        "## Departments",
        "## Sub-categories",
        "## Training data",
        "## Evaluation",
        "## Review threshold",
        "## Limits",
        "## Versions",
    ]
    assert card.endswith("user dictionary).\n")


def test_an_empty_manifest_says_what_is_not_known() -> None:
    card = render_card({})
    assert card.splitlines()[0] == "# triage model: unnamed"
    assert _section(card, "## Training data") == [
        "",
        "Not described.",
        "",
        "",
        "Documents: unknown.",
        "",
        "No template was cut: the model reads messages as they were written.",
        "",
    ]
    assert _section(card, "## Evaluation") == ["", "No evaluation was recorded.", "", ""]
    assert "Messages whose calibrated confidence is below **0.000** are flagged `needs_review`: the lowest " in card
    assert "a precision of —, chosen on out-of-fold predictions of the training messages." in card
    assert "## Sub-categories" not in card
    assert "Saved  with . Words segmented by jieba (" in card


def test_sub_categories_without_recorded_metrics_are_listed_without_figures() -> None:
    card = render_card(
        {"labels": [{"code": "housing", "name": "住建"}], "sub_labels": [{"label": "housing", "sub_label": "repairs"}]}
    )
    assert "| housing | 住建 | repairs | — | — |" in _section(card, "## Sub-categories")
    assert "(overall —; always guessing the department's most frequent sub-category: —)." in card
