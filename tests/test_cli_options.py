"""The options several commands share (``triage.cli._options``), each on a small command of its own: what they
accept, what they give the command and how they refuse."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from triage.cli._options import (
    base_location,
    config_option,
    fitting_jobs_option,
    group_threshold_options,
    group_threshold_value,
    label_options,
    model_location,
    model_option,
    table_options,
)
from triage.labelled import LabelOptions
from triage.persistence import FORMAT_NAME, MANIFEST_FILE

SHIPPED = "'default' for the shipped model"


def _run(command, *args):
    return CliRunner().invoke(command, [str(a) for a in args])


def _command(options):
    """A command with ``options`` that shows what it was given, one line of JSON (paths and tuples as text and
    lists)."""

    def shown(**values):
        click.echo(json.dumps(values, default=str, ensure_ascii=False))

    return click.command()(options(shown))


def _model_directory(path: Path) -> Path:
    path.mkdir()
    (path / MANIFEST_FILE).write_text(json.dumps({"format": FORMAT_NAME}), encoding="utf-8")
    return path


def test_a_model_is_the_shipped_one_by_default_or_a_checked_directory(tmp_path):
    assert model_location(None) is None and model_location("default") is None
    model = _model_directory(tmp_path / "model")
    assert model_location(str(model)) == model
    with pytest.raises(click.ClickException) as absent:
        model_location(str(tmp_path / "nothing"))
    assert absent.value.message == f"no model directory at {tmp_path / 'nothing'}; name a directory written by " + (
        f"triage train, or {SHIPPED}"
    )
    with pytest.raises(click.ClickException) as other:
        model_location(str(tmp_path))
    assert other.value.message == f"{tmp_path} is not a triage model directory; name a directory written by " + (
        f"triage train, or {SHIPPED}"
    )


def test_the_model_option_gives_the_checked_directory(tmp_path):
    command = _command(model_option)
    model = _model_directory(tmp_path / "model")
    assert json.loads(_run(command, "--model", model).output) == {"model_path": str(model)}
    assert json.loads(_run(command).output) == {"model_path": None}
    refused = _run(command, "--model", tmp_path / "nothing")
    assert refused.exit_code == 1 and "Error: no model directory at" in refused.output


def test_a_base_model_is_none_the_shipped_one_or_a_checked_directory(tmp_path, monkeypatch):
    monkeypatch.setattr("triage.model.default_model_path", lambda: tmp_path / "shipped")
    assert base_location("none") is None
    assert base_location("default") == tmp_path / "shipped"
    model = _model_directory(tmp_path / "model")
    assert base_location(str(model)) == model
    with pytest.raises(click.ClickException, match=r"^no model directory at "):
        base_location(str(tmp_path / "nothing"))


def test_the_config_option_reads_the_routing_config_and_says_its_effect(tmp_path):
    command = _command(config_option("it adds the local office."))
    assert "Routing config TOML (rules, gazetteer, thresholds); it adds the local office. 分拨规则配置" in " ".join(
        _run(command, "--help").output.split()
    )
    assert json.loads(_run(command).output) == {"config": None}
    good = tmp_path / "routing.toml"
    good.write_text("[routing]\n", encoding="utf-8")
    assert json.loads(_run(command, "--config", good).output)["config"].startswith("RoutingConfig(")
    directory = _run(command, "--config", tmp_path)
    assert directory.exit_code == 2 and f"Invalid value for '--config': File '{tmp_path}' is a directory." in (
        directory.output
    )
    bad = tmp_path / "bad.toml"
    bad.write_text("[routing\n", encoding="utf-8")
    refused = _run(command, "--config", bad)
    assert refused.exit_code == 1 and refused.output.startswith(f"Error: {bad}: not valid TOML: ")


@pytest.mark.parametrize(("cores", "asked", "jobs"), [(4, None, 2), (4, 3, 3), (2, 8, 2), (None, 3, 1)])
def test_fitting_jobs_are_two_by_default_and_at_most_one_per_core(monkeypatch, cores, asked, jobs):
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    command = _command(fitting_jobs_option)
    arguments = [] if asked is None else ["--jobs", asked]
    assert json.loads(_run(command, *arguments).output) == {"n_jobs": jobs}
    assert json.loads(_run(command, "--n-jobs", 1).output) == {"n_jobs": 1}
    assert _run(command, "--jobs", 0).exit_code == 2


def test_the_group_threshold_has_an_old_name_that_still_works_with_a_notice(capsys):
    command = _command(group_threshold_options)
    assert json.loads(_run(command).output) == {"group_threshold": 0.3, "old_threshold": None}
    assert json.loads(_run(command, "--threshold", 0.5).output) == {"group_threshold": 0.3, "old_threshold": 0.5}
    assert json.loads(_run(command, "--group-threshold", 0.5).output)["group_threshold"] == 0.5
    assert _run(command, "--group-threshold", 0).exit_code == 2  # a similarity above 0
    shown = " ".join(_run(command, "--help").output.split())
    assert (
        "--group-threshold FLOAT RANGE Grouping of near-duplicates" in shown
        and "归并相似度 [default: 0.3; 0<x<=1]" in shown
    )
    assert "--threshold" not in shown.replace("--group-threshold", "")  # the old name is hidden
    assert group_threshold_value(0.4, None) == 0.4
    assert capsys.readouterr().err == ""
    assert group_threshold_value(0.4, 0.5) == 0.5
    assert capsys.readouterr().err == (
        "Warning: --threshold is now called --group-threshold (the review threshold is another)\n"
    )


def test_table_options_say_how_an_export_is_read():
    command = _command(table_options)
    defaults = {"text_columns": [], "file_format": "auto", "encoding": "auto", "sheet": None}
    assert json.loads(_run(command).output) == defaults
    given = ["--text-column", "主题", "--text-column", "内容", "--format", "csv", "--encoding", "gb18030"]
    assert json.loads(_run(command, *given, "--sheet", "表2").output) == {
        "text_columns": ["主题", "内容"],
        "file_format": "csv",
        "encoding": "gb18030",
        "sheet": "表2",
    }
    assert [p.name for p in command.params] == ["text_columns", "file_format", "encoding", "sheet"]  # as listed
    assert all(len(p.help) > 10 for p in command.params)
    refused = _run(command, "--format", "docx")
    assert (
        refused.exit_code == 2 and "Invalid value for '--format': 'docx' is not one of 'auto', 'csv'," in refused.output
    )
    shown = " ".join(_run(command, "--help").output.split())
    assert "Input format (auto: by suffix). [default: auto]" in shown and "编码 [default: auto]" in shown


def _labelled(**options):
    return _command(label_options(label_help="Column of the label.", **options))


def test_label_options_are_given_as_one_label_options(tmp_path):
    departments = tmp_path / "departments.toml"
    departments.write_text("", encoding="utf-8")
    command = _labelled(sub_label_help="Column of the sub-label.", departments_map=True)
    given = ["--label-column", "部门", "--sub-label-column", "科室", "--text-column", "内容", "--format", "csv"]
    given += ["--encoding", "gb18030", "--sheet", "表1", "--labels-are-replies", "--reply-confidence", 0.5]
    shown = json.loads(_run(command, *given, "--departments", departments).output)
    assert shown == {
        "labels": str(
            LabelOptions(
                label_column="部门",
                sub_label_column="科室",
                text_columns=("内容",),
                format="csv",
                encoding="gb18030",
                sheet="表1",
                labels_are="replies",
                departments=departments,
                reply_confidence=0.5,
            )
        )
    }
    assert "--sub-label-column TEXT Column of the sub-label." in " ".join(_run(command, "--help").output.split())
    units = json.loads(_run(command, "--label-column", "承办单位", "--labels-are-units").output)
    assert units == {"labels": str(LabelOptions(label_column="承办单位", labels_are="units"))}


def test_label_options_without_a_sub_label_or_a_label_source():
    command = _labelled(label_source=False)
    assert json.loads(_run(command, "--label-column", "部门").output) == {"labels": str(LabelOptions("部门"))}
    options = [p.name for p in command.params]
    assert options == ["label_column", "text_columns", "file_format", "encoding", "sheet"]
    assert _run(command).exit_code == 2  # the label column is required
    assert "Column of the label." in _run(command, "--help").output


@pytest.mark.parametrize(
    ("arguments", "refusal"),
    [
        (["--labels-are-units", "--labels-are-replies"], "use --labels-are-units or --labels-are-replies, not both"),
        (
            ["--reply-confidence", "0.5"],
            "--reply-confidence applies to --labels-are-replies: add it or drop the option",
        ),
        (
            ["--labels-are-units", "--reply-confidence", "0.5"],
            "--reply-confidence applies to --labels-are-replies: add it or drop the option",
        ),
        (
            ["--departments", "absent.toml", "--labels-are-units"],
            "Invalid value for --departments: no such file: absent.toml",
        ),
    ],
)
def test_contradicting_label_options_are_usage_errors(arguments, refusal):
    result = _run(_labelled(), "--label-column", "部门", *arguments)
    assert result.exit_code == 2 and result.output.endswith(f"\nError: {refusal}\n")


def test_departments_without_a_label_mapping_are_refused_where_they_serve_only_that(tmp_path):
    departments = tmp_path / "departments.toml"
    departments.write_text("", encoding="utf-8")
    refusal = "--departments maps unit names or replies: add --labels-are-units or --labels-are-replies"
    mapped_only = _run(_labelled(departments_map=True), "--label-column", "部门", "--departments", departments)
    assert mapped_only.exit_code == 2 and mapped_only.output.endswith(f"\nError: {refusal}\n")
    for mapping in ("--labels-are-units", "--labels-are-replies"):
        result = _run(_labelled(departments_map=True), "--label-column", "部门", "--departments", departments, mapping)
        assert result.exit_code == 0, result.output
    anywhere = _run(_labelled(), "--label-column", "部门", "--departments", departments)
    assert json.loads(anywhere.output) == {"labels": str(LabelOptions("部门", departments=departments))}


def test_the_wrapped_command_keeps_its_name_and_help():
    def learn(**values):
        """Learn from labels."""

    command = click.command()(label_options(label_help="Column of the label.")(learn))
    assert command.name == "learn" and command.help == "Learn from labels."
