"""evaluate(), the report directory, label audit, and the train/evaluate/audit-labels commands."""

from __future__ import annotations

import json
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.conftest import LABELS, POLICE_DOCS, TEXTS
from triage.audit import audit_labels, suspects_from_proba
from triage.cli import cli
from triage.evaluation import evaluate, precision_coverage
from triage.replies import handlers_from_replies


def test_evaluate_metrics_and_report(small_model, tmp_path):
    texts = ["物业乱收停车费", "派出所补办身份证", "学校补课收费", "物业不修电梯"]
    labels = ["property_management", "public_security", "education", "transport"]
    result = evaluate(small_model, texts, labels, report_dir=tmp_path / "report")
    assert result["n"] == 4 and result["unknown_labels"] == ["transport"]
    assert result["accuracy"] == pytest.approx(0.75)
    assert result["top5_accuracy"] >= result["top3_accuracy"] >= result["top1_accuracy"] == result["accuracy"]
    assert result["most_confused"] == [{"true": "transport", "predicted": "property_management", "count": 1}]
    files = {p.name for p in (tmp_path / "report").iterdir()}
    assert files == {
        "confusion_matrix.csv",
        "confusion_matrix.png",
        "reliability.png",
        "precision_coverage.png",
        "precision_coverage.csv",
        "most_confused_examples.csv",
        "metrics.json",
    }
    examples = pd.read_csv(tmp_path / "report" / "most_confused_examples.csv", encoding="utf-8-sig")
    assert list(examples["text"]) == ["物业不修电梯"]


def test_precision_coverage_is_monotone_in_coverage():
    curve = precision_coverage(np.array([0.9, 0.6, 0.3]), np.array([True, True, False]), steps=10)
    coverage = [row["coverage"] for row in curve]
    assert coverage == sorted(coverage, reverse=True) and coverage[0] == 1.0


def test_suspects_from_proba():
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.95, 0.05]])
    suspects = suspects_from_proba(proba, ["a", "a", "b", "b"], ["a", "b"])
    assert [(s.index, s.given, s.suggested) for s in suspects] == [(3, "b", "a")]


def test_audit_finds_a_planted_label_error():
    texts = [*TEXTS, "派出所补办身份证排长队，户口迁移也办不了"]
    labels = [*LABELS, "education"]
    suspects = audit_labels(texts, labels, min_df=1, calibration_folds=3)
    assert len(texts) - 1 in {s.index for s in suspects}
    planted = next(s for s in suspects if s.index == len(texts) - 1)
    assert planted.suggested == "public_security"


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "export.csv"
    rows = [
        {"内容": t, "部门": label, "split": "test" if i % 5 == 0 else "train"}
        for i, (t, label) in enumerate(zip(TEXTS * 2, LABELS * 2, strict=True))
    ]
    pd.DataFrame(rows).to_csv(path, index=False, encoding="gb18030")
    return path


def test_train_evaluate_audit_commands(export, tmp_path):
    runner = CliRunner()
    model = tmp_path / "model"
    result = runner.invoke(
        cli,
        [
            "train",
            str(export),
            "-o",
            str(model),
            "--label-column",
            "部门",
            "--encoding",
            "auto",
            "--split-column",
            "split",
            "--report",
            str(tmp_path / "report"),
            "--jobs",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "text columns: 内容 (detected)" in result.output and "held_out (n=12)" in result.output
    manifest = json.loads((model / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["metrics"]["held_out"]["n"] == 12 and (tmp_path / "report" / "confusion_matrix.png").is_file()

    result = runner.invoke(
        cli, ["evaluate", str(model), str(export), "--label-column", "部门", "--encoding", "auto", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n"] == 60

    result = runner.invoke(cli, ["audit-labels", str(export), "--label-column", "部门", "--encoding", "auto"])
    assert result.exit_code == 0, result.output
    assert "look mislabelled" in result.output


def test_train_refuses_to_overwrite_and_checks_columns(export, tmp_path):
    runner = CliRunner()
    existing = tmp_path / "m"
    existing.mkdir()
    result = runner.invoke(cli, ["train", str(export), "-o", str(existing), "--label-column", "部门"])
    assert result.exit_code == 1 and "--overwrite" in result.output
    result = runner.invoke(
        cli, ["train", str(export), "-o", str(tmp_path / "n"), "--label-column", "nope", "--encoding", "auto"]
    )
    assert result.exit_code == 1 and "no label column 'nope'" in result.output


def test_labels_are_units(tmp_path):
    path = tmp_path / "units.csv"
    units = {"property_management": "青石物业公司", "public_security": "龙泉派出所", "education": "柳湾县教育局"}
    pd.DataFrame({"text": TEXTS * 2, "承办单位": [units[label] for label in LABELS * 2]}).to_csv(path, index=False)
    result = CliRunner().invoke(
        cli, ["train", str(path), "-o", str(tmp_path / "m"), "--label-column", "承办单位", "--labels-are-units"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text(encoding="utf-8"))
    assert {label["code"] for label in manifest["labels"]} == set(units)


def test_rare_and_single_classes_are_reported_not_fatal():
    import triage
    from triage.exceptions import TrainingDataWarning

    texts = [*TEXTS, *POLICE_DOCS[:3], "孤零零的一条", "", "hello"]
    labels = [*LABELS, *["rare"] * 3, "single", "education", "education"]
    with pytest.warns(TrainingDataWarning, match=r"2 rows without Chinese text.*\['single'\].*'rare': 3"):
        model = triage.train(texts, labels, min_df=1, calibration_folds=2)
    data = model.manifest["training_data"]
    assert data["classes_left_out"] == ["single"] and data["rare_classes"] == {"rare": 3}
    assert "single" not in model.classes


def test_training_warning_names_only_what_it_found():
    from triage.exceptions import TrainingDataWarning
    from triage.training import usable_rows

    with pytest.warns(TrainingDataWarning) as caught:
        usable_rows([*TEXTS, *POLICE_DOCS[:3]], np.array([*LABELS, *["rare"] * 3], dtype=object))
    assert str(caught[0].message) == "classes with fewer than 5 examples (kept, weakly learned): {'rare': 3}"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["物业费太高", "fees", ""]), st.sampled_from(["a", "b", "c", "", None]))))
@example([])
@example([("物业费太高", "a"), ("fees", "a")])  # a class once with Chinese text, once without
@example([("物业费太高", "a")] * 5 + [("物业费太高", "b")] * 4)  # RARE_CLASS_SIZE (5) rows are not rare
def test_the_rows_kept_have_chinese_text_and_a_label_given_twice_so(rows):
    """A row is kept when its text has Chinese and its label is given and held by two such rows at least; the
    report counts the rest."""
    from triage.exceptions import TrainingDataWarning
    from triage.training import usable_rows

    texts, labels = [text for text, _ in rows], np.array([label for _, label in rows], dtype=object)
    usable = [text == "物业费太高" and label not in ("", None) for text, label in rows]
    counts = Counter(label for (_, label), ok in zip(rows, usable, strict=True) if ok)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrainingDataWarning)
        keep, report = usable_rows(texts, labels)
    assert keep.dtype == bool
    assert keep.tolist() == [ok and counts[label] >= 2 for (_, label), ok in zip(rows, usable, strict=True)]
    assert report["classes_left_out"] == sorted(label for label, n in counts.items() if n == 1)
    assert report["rare_classes"] == {label: n for label, n in sorted(counts.items()) if 2 <= n < 5}
    assert report["rows_without_label"] == sum(label in ("", None) for _, label in rows)
    assert report["rows_without_chinese_text"] == sum(
        text != "物业费太高" and label not in ("", None) for text, label in rows
    )


def test_what_audit_labels_leaves_out_is_one_warning_on_its_callers_line(not_under_mutmut):
    from triage.exceptions import TrainingDataWarning

    said = r"^1 rows without Chinese text left out; classes seen once left out: \['single'\]$"
    with pytest.warns(TrainingDataWarning, match=said) as caught:
        audit_labels(
            [*TEXTS, "派出所补办身份证", "fees"], [*LABELS, "single", "education"], min_df=1, calibration_folds=3
        )
    assert [warning.filename for warning in caught] == [__file__]


@pytest.mark.parametrize("missing", ["", None, float("nan")], ids=["empty", "None", "NaN"])
def test_training_leaves_out_rows_without_a_label_and_names_a_label_that_is_not_text(missing):
    """train() learned '' as a class, and None or NaN among the labels ended in "'<' not supported between
    instances of 'str' and 'NoneType'"; integer labels in scikit-learn's "target types ... Got 'unknown'"."""
    import triage
    from triage.exceptions import TrainingDataWarning

    labels = [missing if i % 7 == 0 else label for i, label in enumerate(LABELS)]
    with pytest.warns(TrainingDataWarning, match=r"^5 rows without a label left out$"):
        model = triage.train(TEXTS, labels, min_df=1, calibration_folds=3)
    assert sorted(model.classes_) == sorted(set(LABELS)) and model.manifest["training_data"]["rows_without_label"] == 5
    said = r"^label at index 1 is int, not str; labels are department codes \(or units\): convert them to text, "
    with pytest.raises(TypeError, match=said + "missing ones to ''$"):
        triage.train(TEXTS, [i % 3 if i else "" for i in range(len(TEXTS))], min_df=1)
    with pytest.raises(TypeError, match=r"^document 3 is NoneType, not str"):
        triage.train([*TEXTS[:3], None], LABELS[:4], min_df=1)


# Four messages, the first labelled with a department the model ranks below its first choice
RANKED_LOWER = (
    ["物业乱收停车费", "派出所补办身份证", "学校补课收费", "物业不修电梯"],
    ["education", "public_security", "education", "property_management"],
)


def test_a_label_naming_a_department_is_read_as_its_code(small_model):
    """An export labelled 公安 / 物业管理 scored every row as an error: the model says public_security."""
    texts = ["物业乱收停车费", "派出所补办身份证", "学校补课收费", "物业不修电梯", "公交车改线", "派出所不给办户口"]
    labels = ["物业", "公安", "教育", "ＰＲＯＰＥＲＴＹ management ", "交通", "公安局"]
    result = evaluate(small_model, texts, labels)
    assert result["labels_by_name"] == {
        "ＰＲＯＰＥＲＴＹ management ": "property_management",
        "公安": "public_security",
        "教育": "education",
        "物业": "property_management",
    }
    assert result["unknown_labels"] == ["交通", "公安局"]  # transport is no class of this model; 公安局 is a unit
    codes = ["property_management", "public_security", "education", "property_management", "交通", "公安局"]
    by_codes = evaluate(small_model, texts, codes)
    assert by_codes["labels_by_name"] == {}
    same = json.dumps({**result, "labels_by_name": {}}, sort_keys=True)  # NaN precisions compare as text
    assert same == json.dumps(by_codes, sort_keys=True)


def test_evaluate_scores_a_label_ranked_below_the_first_in_every_figure(small_model):
    result = evaluate(small_model, *RANKED_LOWER)
    assert set(result) == {
        *("n", "accuracy", "macro_f1", "micro_f1", "weighted_f1", "per_class", "expected_calibration_error"),
        *("top1_accuracy", "top3_accuracy", "top5_accuracy", "automatic_share", "automatic_precision"),
        *("precision_coverage", "most_confused", "unknown_labels", "labels_by_name", "template"),
    }
    assert result["accuracy"] == result["micro_f1"] == result["top1_accuracy"] == 0.75  # one label of three ranks 2nd
    assert result["top3_accuracy"] == result["top5_accuracy"] == 1.0
    assert result["precision_coverage"][0] == {"threshold": 0.0, "coverage": 1.0, "precision": 0.75}


def test_evaluate_shows_its_steps_when_asked(small_model, tmp_path, capsys):
    evaluate(small_model, *RANKED_LOWER, report_dir=tmp_path / "report", progress=True)
    shown = capsys.readouterr().err
    assert "evaluating 4 messages: scoring (0/2 steps done" in shown
    assert "evaluating 4 messages: writing the report (1/2 steps done" in shown
    evaluate(small_model, *RANKED_LOWER, progress=True)
    assert "evaluating 4 messages: scoring (0/1 steps done" in capsys.readouterr().err


def test_evaluate_refuses_labels_that_are_all_missing(small_model):
    from triage.exceptions import TrainingDataError, TrainingDataWarning

    with pytest.warns(TrainingDataWarning), pytest.raises(TrainingDataError) as refused:
        evaluate(small_model, RANKED_LOWER[0], ["", None, "", float("nan")])
    assert str(refused.value) == "no labelled texts to evaluate the model on"


def test_evaluate_names_what_it_refuses_before_scoring(small_model, tmp_path):
    with pytest.raises(ValueError, match=r"^2 texts but 1 labels$"):
        evaluate(small_model, TEXTS[:2], LABELS[:1])
    (tmp_path / "report").write_text("mine", encoding="utf-8")
    with pytest.raises(NotADirectoryError, match=r"report is a file; the report is a folder: name a new one$"):
        evaluate(small_model, TEXTS, LABELS, report_dir=tmp_path / "report")
    assert (tmp_path / "report").read_text(encoding="utf-8") == "mine"


def test_evaluate_lists_the_ten_most_confused_pairs_by_default(small_model):
    labels = [f"unknown_{i}" for i in range(11)]  # labels the model does not know: 11 pairs, each once
    result = evaluate(small_model, TEXTS[:11], labels)
    assert len(result["unknown_labels"]) == 11 and len(result["most_confused"]) == 10
    assert len(evaluate(small_model, TEXTS[:11], labels, most_confused=11)["most_confused"]) == 11


def test_the_warning_of_rows_evaluate_leaves_out_is_on_its_callers_line(small_model, not_under_mutmut):
    from triage.exceptions import TrainingDataWarning

    with pytest.warns(TrainingDataWarning, match=r"^1 rows without a label left out$") as caught:
        evaluate(small_model, RANKED_LOWER[0], ["", *RANKED_LOWER[1][1:]])
    assert [warning.filename for warning in caught] == [__file__]


def test_evaluate_leaves_out_rows_without_a_label_as_training_does(small_model):
    """evaluate() counted '' as a label the model does not know, and None ended in a TypeError from sorting."""
    from triage.exceptions import TrainingDataWarning

    for missing in ("", None, float("nan")):
        labels = [missing if i % 7 == 0 else label for i, label in enumerate(LABELS)]
        with pytest.warns(TrainingDataWarning, match=r"^5 rows without a label left out$"):
            result = evaluate(small_model, TEXTS, labels)
        assert result["n"] == len(TEXTS) - 5 and result["unknown_labels"] == [] and result["accuracy"] == 1.0
    with pytest.raises(TypeError, match=r"^label at index 0 is int, not str"):
        evaluate(small_model, TEXTS, [1] * len(TEXTS))


# Invented official replies: even rows name their handler (a transfer, 经…核实, a signature), odd rows
# only speak in its idiom.
_NAMED_REPLIES = {
    "property_management": "物业服务问题已收悉，已转交青石物业公司处理，督促整改收费和保洁。",
    "public_security": "经龙泉派出所核实，民警已到场调查，依法处理违法行为。",
    "education": "学校招生和收费已规范，教育部门将加强监管。感谢您的关注。柳湾县教育局",
}
_WORDING_REPLIES = {
    "property_management": "已督促物业服务企业整改，清理垃圾并公示收费明细。",
    "public_security": "已安排民警调查，依法查处违法行为。",
    "education": "已责令学校规范招生和收费，教育部门将加强监管。",
}


def test_labels_are_replies(tmp_path):
    path = tmp_path / "history.csv"
    replies = [(_NAMED_REPLIES if i % 2 == 0 else _WORDING_REPLIES)[label] for i, label in enumerate(LABELS * 2)]
    evidence = handlers_from_replies(replies, min_confidence=0.5)
    assert [e.department for e in evidence] == list(LABELS * 2)
    assert {e.cue for e in evidence[1::2]} == {"wording"} and "wording" not in {e.cue for e in evidence[::2]}
    assert handlers_from_replies(replies, min_confidence=None)[1::2] == [None] * 30
    pd.DataFrame({"text": TEXTS * 2, "答复意见": replies}).to_csv(path, index=False)
    command = ["train", str(path), "--label-column", "答复意见", "--labels-are-replies"]
    result = CliRunner().invoke(cli, [*command, "-o", str(tmp_path / "m"), "--reply-confidence", "0.5"])
    assert result.exit_code == 0, result.output
    assert "handlers read from replies: 60 of 60 rows" in result.output and "wording 30" in result.output
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text(encoding="utf-8"))
    assert {label["code"] for label in manifest["labels"]} == set(LABELS)
    assert manifest["training_data"]["n_documents"] == 60

    result = CliRunner().invoke(cli, [*command, "-o", str(tmp_path / "n"), "--reply-confidence", "1"])
    assert result.exit_code == 0, result.output
    assert "handlers read from replies: 30 of 60 rows" in result.output and "wording" not in result.output
    assert "30 rows whose reply does not show its handler left out" in result.output

    result = CliRunner().invoke(cli, [*command, "-o", str(tmp_path / "o"), "--labels-are-units"])
    assert result.exit_code == 2 and "not both" in result.output


def test_evaluate_reads_departments_from_replies_or_units(small_model, tmp_path):
    path = tmp_path / "history.csv"
    replies = [(_NAMED_REPLIES if i % 2 == 0 else _WORDING_REPLIES)[label] for i, label in enumerate(LABELS)]
    units = {"property_management": "青石物业公司", "public_security": "龙泉派出所", "education": "柳湾县教育局"}
    pd.DataFrame({"text": TEXTS, "答复意见": replies, "承办单位": [units[label] for label in LABELS]}).to_csv(
        path, index=False
    )
    small_model.save(tmp_path / "model")
    command = ["evaluate", str(tmp_path / "model"), str(path), "--text-column", "text", "--json"]
    result = CliRunner().invoke(
        cli, [*command, "--label-column", "答复意见", "--labels-are-replies", "--reply-confidence", "1"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n"] == 15  # only the replies that name their handler
    assert "15 rows whose reply does not show its handler left out" in result.stderr
    result = CliRunner().invoke(cli, [*command, "--label-column", "答复意见", "--labels-are-replies"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n"] == 30  # the others' handlers from their wording
    result = CliRunner().invoke(cli, [*command, "--label-column", "承办单位", "--labels-are-units"])
    assert result.exit_code == 0, result.output
    scored = json.loads(result.stdout)
    assert scored["n"] == 30 and scored["unknown_labels"] == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--labels-are-units", "--labels-are-replies"], "not both"),
        (["--reply-confidence", "0.5"], "--reply-confidence applies to --labels-are-replies"),
        (["--departments", "my.toml"], "--departments maps unit names or replies"),
    ],
)
def test_evaluate_refuses_label_options_that_contradict_or_do_nothing(options, message, tmp_path):
    result = CliRunner().invoke(cli, ["evaluate", str(tmp_path), "x.csv", "--label-column", "部门", *options])
    assert result.exit_code == 2 and message in result.output


def test_label_column_that_shows_no_department_is_a_clear_error(small_model, tmp_path):
    path = tmp_path / "history.csv"
    pd.DataFrame({"text": TEXTS, "答复意见": ["留言已收悉。"] * len(TEXTS)}).to_csv(path, index=False)
    small_model.save(tmp_path / "model")
    for command in (
        ["train", str(path), "-o", str(tmp_path / "m")],
        ["evaluate", str(tmp_path / "model"), str(path)],
    ):
        result = CliRunner().invoke(
            cli, [*command, "--text-column", "text", "--label-column", "答复意见", "--labels-are-replies"]
        )
        assert result.exit_code == 1, result.output
        assert "handlers read from replies: 0 of 30 rows; 30 rows" in result.output
        assert "too few rows of column '答复意见' show a department" in result.output


def test_the_evaluate_command_says_which_labels_it_read_as_names_and_which_name_units(saved_model_dir, tmp_path):
    data = tmp_path / "labelled.csv"
    rows = [("小区物业乱收停车费", "物业"), ("派出所补办身份证要排队", "公安局"), ("学校乱收补课费", "教育")]
    data.write_text("内容,部门\n" + "".join(f"{text},{label}\n" for text, label in rows), encoding="utf-8")
    result = CliRunner().invoke(cli, ["evaluate", str(saved_model_dir), str(data), "--label-column", "部门"])
    assert result.exit_code == 0, result.output
    assert "labels read as the departments they name: 教育 -> education, 物业 -> property_management\n" in result.output
    assert "labels the model does not know (counted as errors): 公安局\n" in result.output
    assert "  公安局 name units: with --labels-are-units they count as their departments\n" in result.output


def test_a_label_naming_a_department_by_the_models_own_name_is_read_as_its_code(small_model, monkeypatch):
    """A model records its own names for its codes (a deployment's taxonomy), and may have codes the shipped
    directory does not list: both are names a label can give."""
    from triage import departments

    shipped = departments.default_directory()
    without_education = departments.DepartmentDirectory(
        [department for code, department in shipped.items() if code != "education"], source="a test's directory"
    )
    monkeypatch.setattr(departments, "default_directory", lambda: without_education)
    monkeypatch.setitem(small_model._names, "education", "教育科")
    monkeypatch.setitem(small_model._names, "property_management", "小区物业办")
    texts = ["学校补课收费", "物业不修电梯", "学校乱收费", "物业乱收停车费"]
    result = evaluate(small_model, texts, ["教育科", "小区物业办", "教育", "物业管理"])
    assert result["labels_by_name"] == {
        "小区物业办": "property_management",
        "教育科": "education",
        "物业管理": "property_management",
    }
    assert result["unknown_labels"] == ["教育"]  # the directory's name of a code it no longer lists
