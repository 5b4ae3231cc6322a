"""Commands that make, measure and describe models: ``train``, ``evaluate``, ``audit-labels`` and ``info``.

Each reads a labelled export through :func:`triage.labelled.read_labelled` inside one library call
(:func:`triage.training.train_from_file`, :func:`triage.evaluation.evaluate_file`,
:func:`triage.audit.audit_file`) and prints what it returns.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from triage.boilerplate import Boilerplate
from triage.cli._errors import handles_user_errors
from triage.cli._options import (
    DEFAULT_MODEL,
    INPUT_FILE,
    NO_BASE,
    base_location,
    fitting_jobs_option,
    label_options,
    model_location,
    model_option,
    silent_option,
)
from triage.cli._stdio import (
    check_folders,
    echo,
    not_stdio,
    notify,
    stdin_spooled,
    template_line,
    visible,
)
from triage.defaults import DEFAULT_TARGET_PRECISION
from triage.labelled import LabelOptions
from triage.text import display_text

__all__ = ["audit_labels", "evaluate", "info", "train"]

#: The headline metrics ``evaluate`` prints, in order, where the result has them.
_HEADLINE_METRICS = (
    "accuracy",
    "macro_f1",
    "micro_f1",
    "weighted_f1",
    "top3_accuracy",
    "top5_accuracy",
    "expected_calibration_error",
    "automatic_share",
    "automatic_precision",
)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _echo_sub_labels(name: str, result: dict[str, Any]) -> None:
    """One line on the sub-label metrics of an evaluation, when it has them (a model's manifest holds its
    metrics as free-form JSON: figures that are not numbers are not shown)."""
    sub = result.get("sub_labels")
    if isinstance(sub, dict) and all(_is_number(sub.get(key)) for key in ("n", "accuracy", "majority_baseline")):
        echo(
            f"{name} sub-labels given the department (n={sub['n']}): accuracy {sub['accuracy']:.3f}, "
            f"majority baseline {sub['majority_baseline']:.3f}"
        )
        if _is_number(sub.get("accuracy_with_predicted_department")):
            echo(f"{name} department and sub-label both right: {sub['accuracy_with_predicted_department']:.3f}")


@click.command(short_help="Show a model's manifest and its department table.")
@click.argument("model", required=False, metavar="[MODEL]")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@model_option
@handles_user_errors
def info(model: str | None, as_json: bool, model_path: Path | None) -> None:
    """Show a model's manifest and its department table. 显示模型信息与部门表.

    MODEL is a model directory or 'default' (the shipped model, also used when MODEL is left out;
    --model names it too).
    """
    from triage.departments import default_directory
    from triage.model import default_model_path
    from triage.persistence import read_manifest
    from triage.scoring import FEATURIZER
    from triage.segmentation import segmenter

    if model is not None:
        _named_once()
        model_path = model_location(model)
    path = model_path if model_path is not None else default_model_path()
    manifest = read_manifest(path)
    if as_json:
        click.echo(json.dumps(manifest, ensure_ascii=False, indent=2))
        return
    versions = manifest.get("versions", {})
    echo(f"model:      {path}")
    echo(f"format:     {manifest['format']} v{manifest['format_version']}, saved {manifest.get('created', '?')}")
    echo("versions:   " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    echo(f"serving:    segmenter {segmenter()}, featuriser {FEATURIZER} (this installation)")
    echo(f"trained on: {manifest.get('training_data', {}).get('description', 'not described')}")
    for name, result in manifest.get("metrics", {}).items():
        if not isinstance(result, dict):  # metrics are free-form JSON (see triage.manifest)
            continue
        scores = ", ".join(
            f"{key} {result[key]:.3f}"
            for key in ("accuracy", "top3_accuracy", "macro_f1", "topic_accuracy")
            if _is_number(result.get(key))
        )
        echo(f"{name} (n={result.get('n', '?')}): {scores}")
        _echo_sub_labels(name, result)
    echo(f"review threshold: {manifest.get('review_threshold', 0):.3f}")
    if phrases := Boilerplate.from_record(manifest.get("template")).shown():
        echo(f"template:   {phrases} (cut from every message: its training export was typed into it) 模板")
    echo("")
    directory = default_directory()
    rows = [("code", "名称", "english")]
    for label in manifest.get("labels", []):
        department = directory.get(label["code"])
        rows.append((label["code"], label.get("name", ""), department.english_name if department else ""))
    for line in _aligned(rows):
        echo(line)


def _aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """``rows`` as lines whose columns line up on a terminal, where a Chinese character takes two columns
    (padding by characters put 农业农村 two columns right of 民政), control characters shown as escapes."""
    shown = [[visible(cell) for cell in row] for row in rows]
    widths = [max(map(_terminal_width, column)) + 2 for column in zip(*shown, strict=True)]
    return [
        (
            "".join(cell + " " * (width - _terminal_width(cell)) for cell, width in zip(row[:-1], widths, strict=False))
            + row[-1]
        ).rstrip()
        for row in shown
    ]


def _terminal_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(character) in "WF" else 1 for character in text)


@click.command(short_help="Train a model on a labelled export. 训练模型")
@click.argument("data", type=INPUT_FILE)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), required=True, help="Model directory to write. 模型目录"
)
@label_options(
    label_help="Column holding the department label (or unit name, or official reply: see below). 标签列",
    sub_label_help="Column holding a second-level label under the department (empty: unknown); trains a "
    "sub-category model too. 子类标签列",
)
@click.option("--split-column", default=None, help="Column whose value 'test' marks rows held out for evaluation.")
@click.option(
    "--test-size",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=None,
    help="Hold out this share of rows (stratified, seed 0) for evaluation.",
)
@click.option("--search", is_flag=True, help="Pick hyperparameters by cross-validation first (a few minutes).")
@fitting_jobs_option
@click.option(
    "--target-precision",
    type=click.FloatRange(0, 1),
    default=DEFAULT_TARGET_PRECISION,
    show_default=True,
    help="Precision the review threshold must reach on held-out predictions.",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Write an evaluation report of the held-out rows here.",
)
@click.option(
    "--base",
    "base_model",
    default=NO_BASE,
    show_default=True,
    help=f"Start from a trained model: {DEFAULT_MODEL!r} (the shipped one), a model directory, or {NO_BASE!r}. "
    "The labels are then the deployment's own units, whatever they are called; the model answers the unit and "
    "its department (units.csv beside it, editable). 从已有模型出发",
)
@click.option(
    "--unit-departments",
    "unit_map",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="CSV unit,department giving each label's department (default with --base: read from the unit "
    "names, else from the base model); makes a unit-level model also with --base none.",
)
@click.option(
    "--date-column",
    default=None,
    help="Column with each message's date (2018-09-03, 2018/9/3 or 2018年9月3日; a time may follow), for "
    "--half-life and --since.",
)
@click.option(
    "--half-life",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Weigh messages by age: one this many days older than the newest counts half (units are renamed "
    "and merged; 180 helped a city board's history). 时效权重",
)
@click.option(
    "--since",
    default=None,
    metavar="DATE",
    help="Train only on messages dated on or after DATE (YYYY-MM-DD): history from before a reorganisation "
    "left out; --half-life usually does better. 只用此日期之后的数据",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing model directory.")
@silent_option
@click.option(
    "--with-estimator",
    is_flag=True,
    help="Also save the scikit-learn estimator (model.skops), for analysis with scikit-learn; "
    "classifying and routing do not need it, and it is most of a model's size.",
)
@click.option(
    "--keep-template",
    is_flag=True,
    help="Train on messages as written: by default the template the first 5,000 were typed into (a hotline's "
    "市民来电反映：… template) is cut first and kept in the model, which then cuts it from every message. 保留模板",
)
@handles_user_errors
def train(
    data: Path,
    output: Path,
    labels: LabelOptions,
    split_column: str | None,
    test_size: float | None,
    search: bool,
    n_jobs: int,
    target_precision: float,
    report_dir: Path | None,
    base_model: str,
    unit_map: Path | None,
    date_column: str | None,
    half_life: float | None,
    since: str | None,
    overwrite: bool,
    silent: bool,
    with_estimator: bool,
    keep_template: bool,
) -> None:
    """Train a model on a labelled export and save it with its card. 用标注数据训练模型.

    DATA is a CSV/TSV/XLSX/JSONL/Parquet export; '-' reads it from standard input (CSV unless
    --format says otherwise). With --base, the labels are the deployment's own units.
    """
    not_stdio(**{"-o": output, "--report": report_dir})
    check_folders(**{"-o": output, "--report": report_dir})
    if split_column and test_size:
        raise click.UsageError("use --split-column or --test-size, not both")
    if report_dir and not (split_column or test_size):
        raise click.UsageError("--report describes held-out rows: add --split-column or --test-size")
    if (half_life or since) and not date_column:
        raise click.UsageError("--half-life and --since read the messages' dates: add --date-column")
    if date_column and not (half_life or since):
        raise click.UsageError("--date-column is read for --half-life or --since: add one of them")
    if (base_model != NO_BASE or unit_map) and labels.labels_are != "departments":
        raise click.UsageError("--base and --unit-departments train on the labels as they are: drop --labels-are-*")
    base = base_location(base_model)
    from triage.training import train_from_file  # the checks above answer at once; scikit-learn takes seconds

    with stdin_spooled(data, labels.format) as (source, kind):
        model = train_from_file(
            source,
            output,
            replace(labels, format=kind),
            held_out=split_column or test_size,
            report_dir=report_dir,
            date_column=date_column,
            half_life_days=half_life,
            since=since,
            base=base,
            unit_departments=unit_map,
            name=data.name,
            description=f"Trained with `triage train` on {data.name}.",
            overwrite=overwrite,
            include_estimator=with_estimator,
            cut_template=not keep_template,
            progress=False if silent else None,
            notify=notify,
            search=search,
            n_jobs=n_jobs,
            target_precision=target_precision,
        )
    for name, result in model.manifest["metrics"].items():
        echo(f"{name} (n={result['n']}): accuracy {result['accuracy']:.3f}, macro-F1 {result['macro_f1']:.3f}")
        _echo_sub_labels(name, result)
        if "department_level" in result:
            level = result["department_level"]
            echo(f"{name} at department level (n={level['n']}): accuracy {level['accuracy']:.3f}")
    if line := template_line(model.template.record(), "training"):
        echo(line)
    echo(f"review threshold {model.review_threshold:.3f}; saved {output}")


def _named_once() -> None:
    """Refuse a model given both as the MODEL argument and with ``--model``."""
    if click.get_current_context().get_parameter_source("model_path") is ParameterSource.COMMANDLINE:
        raise click.UsageError("name the model once: as MODEL or with --model")


def _model_and_data(arguments: tuple[str, ...], model_option: Path | None) -> tuple[Path | None, Path]:
    """evaluate's ``[MODEL] DATA``: the model (``None``: the shipped one) and the checked data file."""
    if len(arguments) not in (1, 2):
        raise click.UsageError(f"give DATA, or MODEL and DATA (got {len(arguments)} arguments)")
    if len(arguments) == 2:
        _named_once()
    model = model_location(arguments[0]) if len(arguments) == 2 else model_option
    try:
        return model, INPUT_FILE.convert(arguments[-1], None, None)
    except click.BadParameter as error:
        error.param_hint = "'DATA'"
        raise


def _echo_evaluation(result: dict[str, Any]) -> None:
    """An evaluation's metrics for people: headline figures, per department, the most confused pairs."""
    echo(f"messages: {result['n']}")
    if line := template_line(result.get("template", {}), "scoring"):
        echo(line)
    for key in _HEADLINE_METRICS:
        if result.get(key) is not None:
            echo(f"{key:<28}{result[key]:.3f}")
    echo("")
    table = [("department", *(f"{name:>9}" for name in ("precision", "recall", "F1", "support")))]
    for code, row in result["per_class"].items():
        table.append((code, *(f"{row[key]:>9.3f}" for key in ("precision", "recall", "f1")), f"{row['support']:>9}"))
    for line in _aligned(table):
        echo(line)
    if result["most_confused"]:
        echo("\nmost confused (true -> predicted):")
        for pair in result["most_confused"]:
            echo(f"  {pair['true']} -> {pair['predicted']}: {pair['count']}")
    if result["labels_by_name"]:
        named = ", ".join(f"{label} -> {code}" for label, code in result["labels_by_name"].items())
        echo(f"labels read as the departments they name: {named}")
    if result["unknown_labels"]:
        echo(f"labels the model does not know (counted as errors): {', '.join(result['unknown_labels'])}")
        from triage.departments import match_unit

        if units := [label for label in result["unknown_labels"] if match_unit(label) is not None]:
            echo(f"  {', '.join(units)} name units: with --labels-are-units they count as their departments")
    _echo_sub_labels("evaluated", result)
    if "department_level" in result:
        level = result["department_level"]
        echo(f"at department level (n={level['n']}): accuracy {level['accuracy']:.3f}, ", nl=False)
        echo(f"top-3 {level['top3_accuracy']:.3f}")


@click.command(short_help="Measure a model on a labelled export. 评估模型")
@click.argument("arguments", nargs=-1, required=True, metavar="[MODEL] DATA")
@label_options(
    label_help="Column holding the true department (or unit name, or official reply: see below). 标签列",
    sub_label_help="Column holding the true sub-category (empty: unknown); scores the model's sub-category "
    "model. 子类标签列",
    departments_map=True,
)
@click.option("--json", "as_json", is_flag=True, help="Print all metrics as JSON.")
@click.option(
    "--report",
    "report_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Write figures (confusion matrix, reliability, precision-coverage) and tables here.",
)
@click.option(
    "--keep-template",
    is_flag=True,
    help="Score messages as written: by default the template the first 5,000 were typed into (else the model's "
    "own) is cut first, as triage tag cuts it. 保留模板",
)
@model_option
@silent_option
@handles_user_errors
def evaluate(
    arguments: tuple[str, ...],
    labels: LabelOptions,
    as_json: bool,
    report_dir: Path | None,
    keep_template: bool,
    model_path: Path | None,
    silent: bool,
) -> None:
    """Measure a model on a labelled export. 评估模型.

    MODEL is a model directory or 'default' (the shipped model, also used when MODEL is left out;
    --model names it too). DATA is a labelled export; '-' reads it from standard input (CSV unless
    --format says otherwise).
    """
    not_stdio(**{"--report": report_dir})
    check_folders(**{"--report": report_dir})
    model_path, data = _model_and_data(arguments, model_path)
    from triage.evaluation import evaluate_file

    with stdin_spooled(data, labels.format) as (source, kind):
        result = evaluate_file(
            model_path,
            source,
            replace(labels, format=kind),
            report_dir=report_dir,
            progress=False if silent else None,
            notify=notify,
            cut_template=not keep_template,
        )
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    _echo_evaluation(result)
    if report_dir:
        echo(f"report written to {report_dir}")


@click.command("audit-labels", short_help="List rows whose label looks wrong. 找出疑似标错的行")
@click.argument("data", type=INPUT_FILE)
@label_options(label_help="Column holding the label to audit. 标签列", label_source=False)
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Show at most this many suspect rows."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per suspect row (JSON lines).")
@click.option(
    "--keep-template",
    is_flag=True,
    help="Audit messages as written: by default the template the first 5,000 were typed into is cut first, as "
    "triage train cuts it. 保留模板",
)
@fitting_jobs_option
@silent_option
@handles_user_errors
def audit_labels(
    data: Path, labels: LabelOptions, limit: int, as_json: bool, keep_template: bool, n_jobs: int, silent: bool
) -> None:
    """List rows whose label looks wrong, from cross-validated predictions. 找出疑似标错的行.

    DATA is a labelled export; '-' reads it from standard input (CSV unless --format says otherwise).
    """
    from triage.audit import audit_file

    with stdin_spooled(data, labels.format) as (source, kind):
        audit = audit_file(
            source,
            replace(labels, format=kind),
            progress=False if silent else None,
            notify=notify,
            cut_template=not keep_template,
            n_jobs=n_jobs,
        )
    if line := template_line(audit.template.record(), "auditing"):
        echo(line, err=True)
    echo(f"{len(audit.suspects)} of {len(audit.texts)} rows look mislabelled", err=True)
    for suspect in audit.suspects[:limit]:
        row = {
            "row": suspect.index,
            "given": suspect.given,
            "suggested": suspect.suggested,
            "given_probability": round(suspect.given_probability, 3),
            "suggested_probability": round(suspect.suggested_probability, 3),
            "text": display_text(audit.texts[suspect.index], 80),
        }
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            echo(
                f"row {row['row']}: {row['given']} -> {row['suggested']} "
                f"({row['given_probability']:.2f} vs {row['suggested_probability']:.2f})  {row['text']}"
            )
