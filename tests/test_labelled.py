"""Reading a labelled export, and training, evaluating and auditing from one: the library behind
``triage train``, ``evaluate`` and ``audit-labels``."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import triage
from tests.conftest import LABELS, TEXTS
from triage.audit import audit_file
from triage.evaluation import evaluate_file
from triage.exceptions import ConfigError, ModelNotFoundError, TrainingDataError
from triage.io import DataError
from triage.labelled import LabelOptions, read_labelled
from triage.training import train_from_file

# Invented handling units: three the shipped directory recognises, one it does not.
UNITS = {"property_management": "阳光物业公司", "public_security": "龙泉派出所", "education": "城关区教育局"}
UNKNOWN_UNIT = "某某办公室"


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


@pytest.fixture
def units_export(tmp_path) -> Path:
    """The invented corpus labelled by unit name, the last row by a unit no directory knows."""
    rows = [[text, UNITS[label]] for text, label in zip(TEXTS, LABELS, strict=True)]
    rows[-1][1] = UNKNOWN_UNIT
    return _write_csv(tmp_path / "units.csv", ["内容", "承办单位"], rows)


def test_read_labelled_joins_detected_columns_and_says_what_it_chose(tmp_path):
    path = _write_csv(tmp_path / "in.csv", ["标题", "内容", "部门"], [["路灯", "小区路灯坏了", "urban_management"]])
    said: list[str] = []
    rows = read_labelled(path, LabelOptions("部门"), notify=said.append)
    assert rows.texts == ["路灯\n小区路灯坏了"] and rows.labels == ["urban_management"] and rows.sub_labels is None
    assert said[0].startswith("encoding: utf-8-sig") and said[1] == "text columns: 标题 + 内容 (detected)"


def test_read_labelled_maps_unit_names_and_counts_those_left_out(units_export):
    said: list[str] = []
    rows = read_labelled(units_export, LabelOptions("承办单位", labels_are="units"), notify=said.append)
    assert rows.labels[:-1] == list(LABELS[:-1]) and rows.labels[-1] == ""
    assert "unit names mapped to departments; 1 rows with no recognised unit left out" in said


def test_labels_that_map_to_too_few_departments_say_what_to_try(tmp_path):
    path = _write_csv(tmp_path / "in.csv", ["内容", "承办单位"], [[text, UNKNOWN_UNIT] for text in TEXTS])
    with pytest.raises(TrainingDataError, match=r"too few rows of column '承办单位' show a department"):
        read_labelled(path, LabelOptions("承办单位", labels_are="units"))
    rows = read_labelled(path, LabelOptions("承办单位"))  # taken as they are, nothing is refused
    assert set(rows.labels) == {UNKNOWN_UNIT}


def test_mapped_labels_say_what_to_try_when_too_few_show_a_department_and_one_is_enough(tmp_path):
    nothing = _write_csv(tmp_path / "in.csv", ["内容", "承办单位"], [[text, UNKNOWN_UNIT] for text in TEXTS])
    said = "too few rows of column '承办单位' show a department; check --label-column, {}or pass --departments"
    for labels_are, hint in (("units", ""), ("replies", "lower --reply-confidence, ")):
        with pytest.raises(TrainingDataError) as refused:
            read_labelled(nothing, LabelOptions("承办单位", labels_are=labels_are))
        assert str(refused.value) == said.format(hint) + " with your units' names"
    one = _write_csv(tmp_path / "one.csv", ["内容", "承办单位"], [[text, UNITS["education"]] for text in TEXTS])
    assert set(read_labelled(one, LabelOptions("承办单位", labels_are="units")).labels) == {"education"}


def test_read_labelled_reads_the_file_as_its_options_say(tmp_path):
    """The format, encoding, sheet and sub-label column given (Big5 text reads as other text under "auto")."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("openpyxl")
    rows = [["社區物業亂收停車費", "property_management", "收費"], ["學校食堂有煤氣味", "education", ""]]
    with (tmp_path / "in.txt").open("w", encoding="big5", newline="") as handle:
        csv.writer(handle, delimiter="\t").writerows([["text", "department", "sub"], *rows])
    options = LabelOptions("department", sub_label_column="sub", format="tsv", encoding="big5")
    read = read_labelled(tmp_path / "in.txt", options)
    assert (read.texts, read.labels, read.sub_labels) == (
        [row[0] for row in rows],
        [row[1] for row in rows],
        ["收費", ""],
    )
    with pd.ExcelWriter(tmp_path / "in.xlsx") as workbook:
        pd.DataFrame({"内容": ["其他"], "部门": ["transport"]}).to_excel(workbook, sheet_name="旧", index=False)
        pd.DataFrame(rows, columns=["内容", "部门", "子类"]).to_excel(workbook, sheet_name="新", index=False)
    read = read_labelled(tmp_path / "in.xlsx", LabelOptions("部门", sheet="新"))
    assert read.labels == [row[1] for row in rows]


def test_a_missing_column_is_named_by_its_role(tmp_path):
    path = _write_csv(tmp_path / "in.csv", ["内容", "部门"], [["物业费太贵", "property_management"]])
    with pytest.raises(DataError, match=r"no label column '处室'; the file has: 内容, 部门"):
        read_labelled(path, LabelOptions("处室"))
    with pytest.raises(DataError, match=r"no split column 'part'"):
        read_labelled(path, LabelOptions("部门"), other_columns={"split": "part", "date": None})
    with pytest.raises(DataError, match=r"no sub-label column '子类'"):
        read_labelled(path, LabelOptions("部门", sub_label_column="子类"))


def test_train_from_file_holds_out_the_split_rows_and_records_their_metrics(tmp_path):
    parts = ["test" if index % 5 == 0 else "train" for index in range(len(TEXTS))]
    rows = [[text, label, part] for text, label, part in zip(TEXTS, LABELS, parts, strict=True)]
    path = _write_csv(tmp_path / "export.csv", ["内容", "部门", "part"], rows)
    model = train_from_file(
        path, tmp_path / "model", LabelOptions("部门"), held_out="part", min_df=1, calibration_folds=3
    )
    held_out = model.manifest["metrics"]["held_out"]
    assert held_out["n"] == parts.count("test") and held_out["description"] == "Held-out rows of export.csv."
    assert model.manifest["training_data"]["sources"] == [f"export.csv: {parts.count('train')} rows"]
    saved = triage.load(tmp_path / "model")
    assert saved.manifest["metrics"]["held_out"]["n"] == parts.count("test")


def test_train_from_file_refuses_an_existing_output_before_reading_anything(tmp_path):
    (tmp_path / "model").mkdir()
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        train_from_file(tmp_path / "absent.csv", tmp_path / "model", LabelOptions("部门"))


def test_train_from_file_refuses_options_that_contradict(tmp_path):
    with pytest.raises(ValueError, match="report_dir describes held-out rows"):
        train_from_file(tmp_path / "absent.csv", tmp_path / "m", LabelOptions("部门"), report_dir=tmp_path / "r")
    with pytest.raises(ValueError, match="train on the labels as they are"):
        train_from_file(tmp_path / "absent.csv", tmp_path / "m", LabelOptions("部门", labels_are="units"), base="x")


def test_a_stratified_hold_out_of_a_class_seen_once_is_a_training_data_error(tmp_path):
    rows = [[text, label] for text, label in zip(TEXTS, LABELS, strict=True)] + [
        ["市场卖过期食品", "market_regulation"]
    ]
    path = _write_csv(tmp_path / "export.csv", ["内容", "部门"], rows)
    with pytest.raises(TrainingDataError, match=r"cannot hold out 0\.2 of the rows label by label"):
        train_from_file(path, tmp_path / "model", LabelOptions("部门"), held_out=0.2, min_df=1)
    assert not (tmp_path / "model").exists()


def test_evaluate_file_scores_only_the_rows_whose_unit_shows_a_department(saved_model_dir, units_export):
    result = evaluate_file(saved_model_dir, units_export, LabelOptions("承办单位", labels_are="units"))
    assert result["n"] == len(TEXTS) - 1 and result["unknown_labels"] == []
    as_they_are = evaluate_file(saved_model_dir, units_export, LabelOptions("承办单位"))
    assert as_they_are["n"] == len(TEXTS) and UNKNOWN_UNIT in as_they_are["unknown_labels"]


def test_audit_file_indexes_the_rows_of_the_file(units_export):
    audit = audit_file(units_export, LabelOptions("承办单位", labels_are="units"), min_df=1, calibration_folds=3)
    assert len(audit.texts) == len(TEXTS)
    assert all(suspect.index < len(TEXTS) - 1 for suspect in audit.suspects)  # the unmapped last row is not audited
    assert all(LABELS[suspect.index] == suspect.given for suspect in audit.suspects)


@pytest.fixture
def blank_labels_export(tmp_path) -> Path:
    """The invented corpus with every fifth label blank and one label written with spaces around it."""
    rows = [[text, "" if i % 5 == 0 else label] for i, (text, label) in enumerate(zip(TEXTS, LABELS, strict=True))]
    rows[1][1] = f" {rows[1][1]}\n"
    return _write_csv(tmp_path / "blank.csv", ["内容", "部门"], rows)


def test_rows_without_a_label_are_left_out_of_evaluation_and_audit_as_of_training(saved_model_dir, blank_labels_export):
    """A blank label says nothing of the row's department: evaluate counted it as a wrong prediction of a label
    '' (accuracy 0.8 for a model right on every labelled row) and audit-labels learned '' as a class and
    suggested it; both now leave those rows out, as training does, and say so. Labels are stripped, as
    sub-labels are."""
    said: list[str] = []
    result = evaluate_file(saved_model_dir, blank_labels_export, LabelOptions("部门"), notify=said.append)
    assert result["n"] == len(TEXTS) - 6 and result["unknown_labels"] == [] and result["accuracy"] == 1.0
    assert "6 rows without a label left out" in said
    said.clear()
    audit = audit_file(blank_labels_export, LabelOptions("部门"), notify=said.append, min_df=1, calibration_folds=3)
    assert audit.suspects and all(suspect.index % 5 and suspect.suggested for suspect in audit.suspects)
    assert all(LABELS[suspect.index] == suspect.given for suspect in audit.suspects)  # indexes of the file's rows
    assert "6 rows without a label left out" in said


def test_audit_file_passes_its_progress_and_classifier_settings_on(capsys, blank_labels_export):
    audit_file(blank_labels_export, LabelOptions("部门"), progress=True, min_df=1, calibration_folds=3)
    assert "auditing labels" in capsys.readouterr().err  # shown when asked, though stderr is no terminal
    with pytest.raises(ValueError, match="calibration_folds must be at least 2, got 1"):
        audit_file(blank_labels_export, LabelOptions("部门"), min_df=1, calibration_folds=1)


def test_the_departments_file_given_is_the_one_units_and_replies_are_mapped_by(tmp_path):
    path = _write_csv(tmp_path / "in.csv", ["内容", "承办单位"], [["物业费太贵", "区住建局"]])
    for labels_are in ("units", "replies"):
        options = LabelOptions("承办单位", labels_are=labels_are, departments=tmp_path / "mine.toml")
        with pytest.raises(ConfigError, match=r"department file not found: .*mine.toml$"):
            read_labelled(path, options)


def test_units_and_replies_are_mapped_to_the_departments_of_the_file_given(tmp_path):
    """A deployment's own directory names departments and units the shipped one lacks (or files elsewhere)."""
    mine = tmp_path / "mine.toml"
    mine.write_text(
        "".join(
            f'[[department]]\ncode = "{code}"\nname = "{name}"\nshort_name = "{name}"\nenglish_name = "{code}"\n'
            f'unit_aliases = ["{unit}"]\n'
            for code, name, unit in (("roads", "道路", "道路科"), ("water", "供水", "供水站"))
        ),
        encoding="utf-8",
    )
    rows = [
        ["路面坑洼", "青石县道路科", "经青石县道路科核实，路面已修补。"],
        ["自来水停了", "青石县供水站", "您反映的问题已转青石县供水站处理。"],
    ]
    path = _write_csv(tmp_path / "in.csv", ["内容", "承办单位", "答复"], rows)
    units = read_labelled(path, LabelOptions("承办单位", labels_are="units", departments=mine))
    replies = read_labelled(path, LabelOptions("答复", text_columns=("内容",), labels_are="replies", departments=mine))
    assert units.labels == replies.labels == ["roads", "water"]


def test_a_share_held_out_is_a_share_of_the_labelled_rows(tmp_path, blank_labels_export):
    """24 of the 30 rows have a label: a quarter of them (6) is held out, the other 18 trained on."""
    model = train_from_file(
        blank_labels_export, tmp_path / "model", LabelOptions("部门"), held_out=0.25, min_df=1, calibration_folds=3
    )
    assert model.manifest["metrics"]["held_out"]["n"] == 6 and model.manifest["training_data"]["n_documents"] == 18


@pytest.mark.parametrize("rows", [[], [["物业费太贵", ""]]], ids=["header-only", "no-label"])
def test_an_export_with_no_label_says_so_before_training_evaluating_or_auditing(saved_model_dir, tmp_path, rows):
    """A header-only export ended train in a TypeError and evaluate in scikit-learn's 'Found empty input array'."""
    path = _write_csv(tmp_path / "in.csv", ["内容", "部门"], rows)
    said = r"no row of .*in.csv has a label in column '部门': " + ("the file has no rows" if not rows else "check")
    with pytest.raises(TrainingDataError, match=said):
        train_from_file(path, tmp_path / "model", LabelOptions("部门"), min_df=1)
    with pytest.raises(TrainingDataError, match=said):
        evaluate_file(saved_model_dir, path, LabelOptions("部门"))
    with pytest.raises(TrainingDataError, match=said):
        audit_file(path, LabelOptions("部门"), min_df=1)


def test_evaluate_file_loads_the_model_named_and_passes_its_report_and_progress_on(saved_model_dir, tmp_path, capsys):
    path = _write_csv(
        tmp_path / "in.csv", ["内容", "部门"], [[t, label] for t, label in zip(TEXTS, LABELS, strict=True)]
    )
    with pytest.raises(ModelNotFoundError):  # not the shipped model in its place
        evaluate_file(tmp_path / "no-model", path, LabelOptions("部门"))
    result = evaluate_file(saved_model_dir, path, LabelOptions("部门"), report_dir=tmp_path / "report", progress=True)
    assert result["n"] == len(TEXTS) and (tmp_path / "report").is_dir() and any((tmp_path / "report").iterdir())
    assert f"evaluating {len(TEXTS)} messages" in capsys.readouterr().err


def test_a_report_folder_that_is_a_file_is_refused_before_training_or_scoring(saved_model_dir, tmp_path):
    """The report is written last: a file there failed evaluate after scoring, and train after training."""
    path = _write_csv(
        tmp_path / "in.csv", ["内容", "部门"], [[t, label] for t, label in zip(TEXTS, LABELS, strict=True)]
    )
    (report := tmp_path / "report").write_text("mine", "utf-8")
    with pytest.raises(NotADirectoryError, match=r"report is a file; the report is a folder: name a new one"):
        evaluate_file(saved_model_dir, path, LabelOptions("部门"), report_dir=report)
    with pytest.raises(NotADirectoryError, match=r"report is a file"):  # before the export is read
        evaluate_file(saved_model_dir, tmp_path / "missing.csv", LabelOptions("部门"), report_dir=report)
    with pytest.raises(NotADirectoryError, match=r"report is a file"):
        train_from_file(path, tmp_path / "model", LabelOptions("部门"), held_out=0.3, report_dir=report, min_df=1)
    assert not (tmp_path / "model").exists() and report.read_text("utf-8") == "mine"
