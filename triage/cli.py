"""The ``triage`` command line: a thin layer over the library.

Library errors become one-line messages and exit status 1, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from functools import wraps
from pathlib import Path
from typing import Any

import click

from triage.exceptions import TriageError
from triage.io import FORMATS

__all__ = ["cli", "main"]

_model_option = click.option(
    "--model",
    "model_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Model directory (default: the model shipped with triage). 模型目录",
)


_config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Routing config TOML (rules, gazetteer, thresholds); tag adds urgency, local_office and "
    "co_handlers columns. 分拨规则配置",
)


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Turn library errors into one-line click errors and warnings into one-line notices."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except (TriageError, OSError, ValueError, TypeError) as error:
            raise click.ClickException(str(error)) from None
        finally:
            for warning in caught:
                click.echo(f"Warning: {warning.message}", err=True)


def _handles_user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _user_errors():
            return command(*args, **kwargs)

    return wrapper


def _load_model(model_path: Path | None):
    import triage

    return triage.load(model_path)


def _read_texts(texts: tuple[str, ...]) -> list[str]:
    if not texts:
        raise click.UsageError("give at least one TEXT, or - to read one message per line from stdin")
    collected: list[str] = []
    for text in texts:
        if text == "-":
            try:
                # split on newlines only: str.splitlines would also break at U+2028 and other separators
                lines = sys.stdin.buffer.read().decode("utf-8-sig").split("\n")
                collected.extend(line.rstrip("\r") for line in (lines[:-1] if lines[-1] == "" else lines))
            except UnicodeDecodeError as error:
                raise click.ClickException(
                    f"stdin is not UTF-8 text ({error.reason} at byte {error.start}); "
                    "convert it first, e.g. iconv -f gb18030 -t utf-8"
                ) from None
        else:
            collected.append(text)
    return collected


def _format_classification(result: Any) -> str:
    if result.department is None:
        return f"— 无法分类 not classified [needs review: {result.reason}]"
    head = f"{result.department_name} ({result.department})  置信度 confidence {result.confidence:.2f}"
    if result.needs_review:
        head += f"  [needs review: {result.reason}]"
    candidates = ", ".join(f"{code} {p:.2f}" for code, p in result.candidates)
    lines = [head]
    if result.sub_category is not None:
        lines.append(f"  子类 sub-category: {result.sub_category} ({result.sub_confidence:.2f})")
    lines.append(f"  候选 candidates: {candidates}")
    if result.explanation:
        lines.append("  依据 terms: " + ", ".join(term for term, _ in result.explanation))
    if result.truncated:
        lines.append("  (text truncated / 文本过长已截断)")
    return "\n".join(lines)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="triage")
def cli() -> None:
    """triage: route Chinese petitions and complaints to the department that owns them.

    诉求分拨：判断留言、工单、来信应由哪个部门办理。
    """


@cli.command()
@click.argument("texts", nargs=-1)
@click.option(
    "--top-k",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Number of candidate departments to show. 候选部门数",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per message (JSON lines).")
@_model_option
@_handles_user_errors
def classify(texts: tuple[str, ...], top_k: int, as_json: bool, model_path: Path | None) -> None:
    """Classify messages: which department owns each one. 判断诉求所属部门.

    TEXT is a message; '-' reads one message per line from standard input.
    """
    messages = _read_texts(texts)
    model = _load_model(model_path)
    results = model.classify(messages, top_k=top_k)
    for index, result in enumerate(results):
        if as_json:
            click.echo(json.dumps({"index": index, **result.to_dict()}, ensure_ascii=False))
        else:
            if len(results) > 1:
                click.echo(f"[{index}] {messages[index][:40]}")
            click.echo(_format_classification(result))


@cli.command()
@click.argument("texts", nargs=-1)
@_config_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per message (JSON lines).")
@_model_option
@_handles_user_errors
def route(texts: tuple[str, ...], config_path: Path | None, as_json: bool, model_path: Path | None) -> None:
    """Suggest where to send messages: department, local office, co-handlers, urgency. 分拨建议.

    TEXT is a message; '-' reads one message per line from standard input.
    """
    from triage.routing import load_config

    messages = _read_texts(texts)
    config = load_config(config_path) if config_path else None  # validated before any text is read
    suggestions = _load_model(model_path).route(messages, config=config)
    for index, suggestion in enumerate(suggestions):
        if as_json:
            click.echo(json.dumps({"index": index, **suggestion.to_dict()}, ensure_ascii=False))
            continue
        if len(suggestions) > 1:
            click.echo(f"[{index}] {messages[index][:40]}")
        if suggestion.department is None:
            click.echo(f"— 无法分拨 not routed [needs review: {', '.join(suggestion.review_reasons)}]")
            continue
        office = f" → {suggestion.local_office}" if suggestion.local_office else ""
        click.echo(
            f"{suggestion.department_name} ({suggestion.department}){office}  "
            f"置信度 confidence {suggestion.confidence:.2f}  紧急程度 urgency {suggestion.urgency.value}"
        )
        if suggestion.co_handlers:
            click.echo(f"  协办 co-handlers: {', '.join(suggestion.co_handlers)}")
        if suggestion.needs_review:
            click.echo(f"  需复核 needs review: {', '.join(suggestion.review_reasons)}")
        why = [term for term, _ in suggestion.terms] + [f"rule:{name}" for name in suggestion.rules_fired]
        why += [f"place:{place}" for place in suggestion.places]
        if why:
            click.echo(f"  依据 because: {', '.join(why)}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@_model_option
@_handles_user_errors
def info(as_json: bool, model_path: Path | None) -> None:
    """Show a model's manifest and its department table. 显示模型信息与部门表."""
    from triage.departments import default_directory
    from triage.model import default_model_path
    from triage.persistence import read_manifest
    from triage.scoring import FEATURIZER
    from triage.segmentation import segmenter

    path = model_path if model_path is not None else default_model_path()
    manifest = read_manifest(path)
    if as_json:
        click.echo(json.dumps(manifest, ensure_ascii=False, indent=2))
        return
    metrics = manifest.get("metrics", {})
    versions = manifest.get("versions", {})
    click.echo(f"model:      {path}")
    click.echo(f"format:     {manifest['format']} v{manifest['format_version']}, saved {manifest.get('created', '?')}")
    click.echo("versions:   " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    click.echo(f"serving:    segmenter {segmenter()}, featuriser {FEATURIZER} (this installation)")
    click.echo(f"trained on: {manifest.get('training_data', {}).get('description', 'not described')}")
    for name, result in metrics.items():
        scores = ", ".join(
            f"{key} {result[key]:.3f}"
            for key in ("accuracy", "top3_accuracy", "macro_f1", "topic_accuracy")
            if key in result
        )
        click.echo(f"{name} (n={result['n']}): {scores}")
        _echo_sub_labels(name, result)
    click.echo(f"review threshold: {manifest.get('review_threshold', 0):.3f}")
    click.echo("")
    directory = default_directory()
    click.echo(f"{'code':<34}{'名称':<10}english")
    for label in manifest.get("labels", []):
        department = directory.get(label["code"])
        english = department.english_name if department else ""
        click.echo(f"{label['code']:<34}{label['name']:<10}{english}")


_threshold_option = click.option(
    "--threshold",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.3,
    show_default=True,
    help="Estimated Jaccard similarity (character trigrams) from which two messages are one concern.",
)


_raw_cells_option = click.option(
    "--raw-cells",
    is_flag=True,
    help="Write CSV/XLSX text exactly as read, for programs (default: text starting with = + - @ gets a "
    "leading ' so Excel/WPS never runs it as a formula).",
)


def _table_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by commands that read an export: columns, format, encoding, sheet."""
    options = [
        click.option(
            "--text-column",
            "text_columns",
            multiple=True,
            help="Column holding the text; repeat to join subject and body (default: detected). 文本列",
        ),
        click.option(
            "--format",
            "file_format",
            type=click.Choice(["auto", *FORMATS]),
            default="auto",
            show_default=True,
            help="Input format (auto: by suffix).",
        ),
        click.option(
            "--encoding",
            default="auto",
            show_default=True,
            help="Text encoding of CSV/TSV/JSONL: auto (a BOM, else the majority of the first 8 MiB's lines), "
            "or force one: utf-8-sig, gb18030, utf-16, ... 编码",
        ),
        click.option("--sheet", default=None, help="XLSX sheet name (default: the first)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _read_labelled(
    data: Path, text_columns: tuple[str, ...], label_column: str, file_format: str, encoding: str, sheet: str | None
) -> tuple[Any, list[str], list[str]]:
    from triage.io import detect_text_columns, join_text_columns, read_table

    frame = read_table(data, format=file_format, encoding=encoding, sheet=sheet)
    if "encoding" in frame.attrs:
        click.echo(f"encoding: {frame.attrs['encoding']}", err=True)
    columns = list(text_columns) or detect_text_columns(frame.columns)
    if not text_columns:
        click.echo(f"text columns: {' + '.join(columns)} (detected)", err=True)
    _require_column(frame, label_column, "label")
    return frame, join_text_columns(frame, columns), list(frame[label_column])


def _echo_sub_labels(name: str, result: dict[str, Any]) -> None:
    """One line on the sub-label metrics of an evaluation, when it has them."""
    sub = result.get("sub_labels")
    if sub:
        click.echo(
            f"{name} sub-labels given the department (n={sub['n']}): accuracy {sub['accuracy']:.3f}, "
            f"majority baseline {sub['majority_baseline']:.3f}"
        )
        if "accuracy_with_predicted_department" in sub:
            click.echo(f"{name} department and sub-label both right: {sub['accuracy_with_predicted_department']:.3f}")


_REPLY_CONFIDENCE = 0.8


def _label_source_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options saying what the label column holds: department codes, unit names or official replies."""
    options = [
        click.option(
            "--departments",
            "departments_file",
            type=click.Path(path_type=Path),
            default=None,
            help="Department directory TOML (default: the one shipped with triage).",
        ),
        click.option(
            "--labels-are-units",
            is_flag=True,
            help="Labels are handling-unit names (A3区住建局, 龙泉派出所...): map them to departments.",
        ),
        click.option(
            "--labels-are-replies",
            is_flag=True,
            help="The label column holds each message's official reply (答复意见): the department that handled "
            "it is read from the reply (a transfer, the signature, 经…核实) or, where the reply names none, from "
            "its wording.",
        ),
        click.option(
            "--reply-confidence",
            type=click.FloatRange(0, 1, min_open=True),
            default=_REPLY_CONFIDENCE,
            show_default=True,
            help="With --labels-are-replies: confidence from which a reply's wording gives its handler; 1 keeps "
            "only the replies that name their handler.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _check_label_source(labels_are_units: bool, labels_are_replies: bool, reply_confidence: float) -> None:
    """Refuse label-source options that contradict each other or would do nothing."""
    if labels_are_units and labels_are_replies:
        raise click.UsageError("use --labels-are-units or --labels-are-replies, not both")
    if reply_confidence != _REPLY_CONFIDENCE and not labels_are_replies:
        raise click.UsageError("--reply-confidence applies to --labels-are-replies: add it or drop the option")


def _department_labels(
    labels: list[str], directory: Any, labels_are_units: bool, labels_are_replies: bool, reply_confidence: float
) -> list[str]:
    """The label column as departments ("" where a unit name or reply shows none); prints how many."""
    if labels_are_units:
        labels = [directory.match_unit(label) or "" for label in labels]
        unmatched = sum(1 for label in labels if not label)
        click.echo(f"unit names mapped to departments; {unmatched} rows with no recognised unit left out", err=True)
    if labels_are_replies:
        from triage.replies import handlers_from_replies

        evidence = handlers_from_replies(
            labels, directory=directory, min_confidence=None if reply_confidence >= 1 else reply_confidence
        )
        cues = Counter(e.cue for e in evidence if e)
        how = f" ({', '.join(f'{cue} {n}' for cue, n in cues.most_common())})" if cues else ""
        click.echo(
            f"handlers read from replies: {sum(cues.values())} of {len(labels)} rows{how}; "
            f"{len(labels) - sum(cues.values())} rows whose reply does not show its handler left out",
            err=True,
        )
        labels = [e.department if e else "" for e in evidence]
    return labels


def _too_few_departments(column: str, labels_are_replies: bool) -> click.ClickException:
    """The error for a label column in which (almost) no row shows a department, with what to try."""
    hint = "lower --reply-confidence, " if labels_are_replies else ""
    return click.ClickException(
        f"too few rows of column {column!r} show a department; check --label-column, {hint}"
        "or pass --departments with your units' names"
    )


def _require_column(frame: Any, column: str, role: str) -> None:
    from triage.io import DataError

    if column not in frame.columns:
        raise DataError(f"no {role} column {column!r}; the file has: {', '.join(map(str, frame.columns))}")


@cli.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Model directory to write.")
@click.option(
    "--label-column",
    required=True,
    help="Column holding the department label (or unit name, or official reply: see below). 标签列",
)
@click.option(
    "--sub-label-column",
    default=None,
    help="Column holding a second-level label under the department (empty: unknown); trains a "
    "sub-category model too. 子类标签列",
)
@_table_options
@_label_source_options
@click.option("--split-column", default=None, help="Column whose value 'test' marks rows held out for evaluation.")
@click.option(
    "--test-size",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=None,
    help="Hold out this share of rows (stratified, seed 0) for evaluation.",
)
@click.option("--search", is_flag=True, help="Pick hyperparameters by cross-validation first (a few minutes).")
@click.option(
    "--jobs",
    type=click.IntRange(1),
    default=2,
    show_default=True,
    help="Processes for the cross-validation folds, the vectorizers and --search, at most one per CPU "
    "(each holds a copy of the features; 1 for the least memory).",
)
@click.option(
    "--target-precision",
    type=click.FloatRange(0, 1),
    default=0.95,
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
@click.option("--overwrite", is_flag=True, help="Replace an existing model directory.")
@_handles_user_errors
def train(
    data: Path,
    output: Path,
    label_column: str,
    sub_label_column: str | None,
    text_columns: tuple[str, ...],
    file_format: str,
    encoding: str,
    sheet: str | None,
    departments_file: Path | None,
    labels_are_units: bool,
    labels_are_replies: bool,
    reply_confidence: float,
    split_column: str | None,
    test_size: float | None,
    search: bool,
    jobs: int,
    target_precision: float,
    report_dir: Path | None,
    overwrite: bool,
) -> None:
    """Train a model on a labelled export and save it with its card. 用标注数据训练模型."""
    import numpy as np

    import triage
    from triage.departments import load_directory
    from triage.evaluation import evaluate
    from triage.persistence import is_model_directory
    from triage.training import held_out_rows

    if split_column and test_size:
        raise click.UsageError("use --split-column or --test-size, not both")
    _check_label_source(labels_are_units, labels_are_replies, reply_confidence)
    if report_dir and not (split_column or test_size):
        raise click.UsageError("--report describes held-out rows: add --split-column or --test-size")
    if output.exists() and not overwrite:
        raise click.ClickException(f"{output} already exists; pass --overwrite to replace it")
    if output.exists() and not is_model_directory(output):
        raise click.ClickException(f"{output} exists and is not a triage model directory; choose another -o")
    frame, texts, labels = _read_labelled(data, text_columns, label_column, file_format, encoding, sheet)
    if sub_label_column:
        _require_column(frame, sub_label_column, "sub-label")
        sub_labels = list(frame[sub_label_column])
    directory = load_directory(departments_file)
    labels = _department_labels(labels, directory, labels_are_units, labels_are_replies, reply_confidence)
    if (labels_are_units or labels_are_replies) and len({label for label in labels if label}) < 2:
        raise _too_few_departments(label_column, labels_are_replies)
    keep = np.array([bool(label) for label in labels])
    if split_column:
        _require_column(frame, split_column, "split")
    test = held_out_rows(
        labels, keep, split=list(frame[split_column].astype(str)) if split_column else None, test_size=test_size
    )
    rows = np.flatnonzero(keep & ~test)
    model = triage.train(
        [texts[i] for i in rows],
        [labels[i] for i in rows],
        sub_labels=[sub_labels[i] for i in rows] if sub_label_column else None,
        target_precision=target_precision,
        search=search,
        n_jobs=min(jobs, os.cpu_count() or 1),
        label_names={code: directory.display_name(code) for code in set(labels)},
        training_data={
            "name": output.name,
            "description": f"Trained with `triage train` on {data.name}.",
            "sources": [f"{data.name}: {len(rows)} rows"],
        },
    )
    held_out = np.flatnonzero(keep & test)
    if held_out.size:
        result = evaluate(
            model,
            [texts[i] for i in held_out],
            [labels[i] for i in held_out],
            sub_labels=[sub_labels[i] for i in held_out] if sub_label_column else None,
            report_dir=report_dir,
        )
        result["description"] = f"Held-out rows of {data.name}."
        model.manifest["metrics"]["held_out"] = {k: v for k, v in result.items() if k != "precision_coverage"}
    model.save(output, overwrite=overwrite)
    for name, result in model.manifest["metrics"].items():
        click.echo(f"{name} (n={result['n']}): accuracy {result['accuracy']:.3f}, macro-F1 {result['macro_f1']:.3f}")
        _echo_sub_labels(name, result)
    click.echo(f"review threshold {model.review_threshold:.3f}; saved {output}")


@cli.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--label-column",
    required=True,
    help="Column holding the true department (or unit name, or official reply: see below). 标签列",
)
@click.option(
    "--sub-label-column",
    default=None,
    help="Column holding the true sub-category (empty: unknown); scores the model's sub-category model. 子类标签列",
)
@_table_options
@_label_source_options
@click.option("--json", "as_json", is_flag=True, help="Print all metrics as JSON.")
@click.option(
    "--report",
    "report_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Write figures (confusion matrix, reliability, precision-coverage) and tables here.",
)
@_handles_user_errors
def evaluate(
    model_path: Path,
    data: Path,
    label_column: str,
    sub_label_column: str | None,
    text_columns: tuple[str, ...],
    file_format: str,
    encoding: str,
    sheet: str | None,
    departments_file: Path | None,
    labels_are_units: bool,
    labels_are_replies: bool,
    reply_confidence: float,
    as_json: bool,
    report_dir: Path | None,
) -> None:
    """Measure a model on a labelled export. 评估模型."""
    import triage
    from triage.departments import load_directory
    from triage.evaluation import evaluate as evaluate_model

    _check_label_source(labels_are_units, labels_are_replies, reply_confidence)
    if departments_file and not (labels_are_units or labels_are_replies):
        raise click.UsageError(
            "--departments maps unit names or replies: add --labels-are-units or --labels-are-replies"
        )
    frame, texts, labels = _read_labelled(data, text_columns, label_column, file_format, encoding, sheet)
    if sub_label_column:
        _require_column(frame, sub_label_column, "sub-label")
    sub_labels = list(frame[sub_label_column]) if sub_label_column else None
    if labels_are_units or labels_are_replies:
        labels = _department_labels(
            labels, load_directory(departments_file), labels_are_units, labels_are_replies, reply_confidence
        )
        rows = [i for i, label in enumerate(labels) if label]
        if not rows:
            raise _too_few_departments(label_column, labels_are_replies)
        texts, labels = [texts[i] for i in rows], [labels[i] for i in rows]
        sub_labels = [sub_labels[i] for i in rows] if sub_labels is not None else None
    result = evaluate_model(triage.load(model_path), texts, labels, sub_labels=sub_labels, report_dir=report_dir)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"messages: {result['n']}")
    for key in (
        "accuracy",
        "macro_f1",
        "micro_f1",
        "weighted_f1",
        "top3_accuracy",
        "top5_accuracy",
        "expected_calibration_error",
        "automatic_share",
        "automatic_precision",
    ):
        if result.get(key) is not None:
            click.echo(f"{key:<28}{result[key]:.3f}")
    click.echo(f"\n{'department':<34}{'precision':>10}{'recall':>10}{'F1':>10}{'support':>10}")
    for code, row in result["per_class"].items():
        click.echo(f"{code:<34}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>10.3f}{row['support']:>10}")
    if result["most_confused"]:
        click.echo("\nmost confused (true -> predicted):")
        for pair in result["most_confused"]:
            click.echo(f"  {pair['true']} -> {pair['predicted']}: {pair['count']}")
    if result["unknown_labels"]:
        click.echo(f"labels the model does not know (counted as errors): {', '.join(result['unknown_labels'])}")
    _echo_sub_labels("evaluated", result)
    if report_dir:
        click.echo(f"report written to {report_dir}")


@cli.command("audit-labels")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--label-column", required=True, help="Column holding the label to audit. 标签列")
@_table_options
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Show at most this many.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per suspect row.")
@_handles_user_errors
def audit_labels(
    data: Path,
    label_column: str,
    text_columns: tuple[str, ...],
    file_format: str,
    encoding: str,
    sheet: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List rows whose label looks wrong, from cross-validated predictions. 找出疑似标错的行."""
    from triage.audit import audit_labels as find_suspects

    _, texts, labels = _read_labelled(data, text_columns, label_column, file_format, encoding, sheet)
    suspects = find_suspects(texts, labels)
    click.echo(f"{len(suspects)} of {len(labels)} rows look mislabelled", err=True)
    for suspect in suspects[:limit]:
        row = {
            "row": suspect.index,
            "given": suspect.given,
            "suggested": suspect.suggested,
            "given_probability": round(suspect.given_probability, 3),
            "suggested_probability": round(suspect.suggested_probability, 3),
            "text": texts[suspect.index][:80],
        }
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(
                f"row {row['row']}: {row['given']} -> {row['suggested']} "
                f"({row['given_probability']:.2f} vs {row['suggested_probability']:.2f})  {row['text']}"
            )


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="Output file (format by suffix: .csv .tsv .jsonl .parquet .xlsx). 输出文件",
)
@_table_options
@click.option("--id-column", default=None, help="Column identifying rows (kept as is; checked to exist).")
@click.option(
    "--output-format",
    type=click.Choice(["auto", *FORMATS]),
    default="auto",
    show_default=True,
    help="Output format (auto: by suffix).",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="Rows classified together; memory grows with it, not with the file.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes (each loads the model once). 并行进程数",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its checkpoint. 断点续跑")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--stop-after", type=click.IntRange(min=1), default=None, help="Tag only the first N rows (a trial).")
@click.option("--silent", is_flag=True, help="No progress bar and no summary on stderr.")
@click.option(
    "--summary",
    "summary_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the run summary as JSON here.",
)
@_config_option
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="dask: INPUT is a Parquet directory or a CSV glob, OUTPUT a Parquet directory.",
)
@click.option("--scheduler", default=None, help="Dask scheduler address (default: a local cluster of --jobs).")
@click.option(
    "--group",
    is_flag=True,
    help="Add group_id (row number of the group's first row) and group_size for near-duplicates; "
    "reads the texts in a first pass. 相似诉求归并",
)
@_threshold_option
@_raw_cells_option
@_model_option
@_handles_user_errors
def tag(
    input_path: Path,
    output: Path,
    text_columns: tuple[str, ...],
    file_format: str,
    encoding: str,
    sheet: str | None,
    id_column: str | None,
    output_format: str,
    chunk_size: int,
    jobs: int,
    resume: bool,
    overwrite: bool,
    stop_after: int | None,
    silent: bool,
    summary_path: Path | None,
    config_path: Path | None,
    engine: str,
    scheduler: str | None,
    group: bool,
    threshold: float,
    raw_cells: bool,
    model_path: Path | None,
) -> None:
    """Tag every row of an export (CSV/TSV incl. GBK, XLSX, JSONL, Parquet). 批量分拨.

    Every input row comes out, in order, with department, department_name, confidence,
    candidates, needs_review, review_reason and error columns added.
    """
    if engine == "dask":
        ignored = {
            "--sheet": sheet,
            "--id-column": id_column,
            "--resume": resume,
            "--stop-after": stop_after,
            "--summary": summary_path,
            "--config": config_path,
            "--format": file_format != "auto",
            "--output-format": output_format != "auto",
            "--chunk-size": chunk_size != 2000,
        }
        if any(ignored.values()):
            names = ", ".join(name for name, value in ignored.items() if value)
            raise click.UsageError(f"{names} cannot be used with --engine dask")
        _tag_with_dask(
            str(input_path),
            output,
            text_columns,
            encoding,
            scheduler,
            jobs,
            overwrite,
            model_path,
            threshold if group else None,
        )
        return
    from triage.batch import tag_file

    summary = tag_file(
        input_path,
        output,
        model_path=model_path,
        config=config_path,
        text_columns=text_columns,
        id_column=id_column,
        input_format=file_format,
        output_format=output_format,
        encoding=encoding,
        sheet=sheet,
        chunk_size=chunk_size,
        jobs=jobs,
        resume=resume,
        overwrite=overwrite,
        stop_after=stop_after,
        progress=not silent,
        summary_path=summary_path,
        group=group,
        group_threshold=threshold,
        spreadsheet_safe=not raw_cells,
    )
    if not silent:
        _report_tagging(summary)
    if summary.failure():
        raise click.ClickException(f"{summary.failure()}; output written to {output}")


def _report_tagging(summary: Any) -> None:
    click.echo(f"text columns: {' + '.join(summary.text_columns)}", err=True)
    if summary.encoding:
        click.echo(f"encoding: {summary.encoding}", err=True)
    resumed = f" (resumed after row {summary.resumed_after_rows})" if summary.resumed_after_rows else ""
    click.echo(
        f"rows in {summary.rows_in}, rows out {summary.rows_out}{resumed}; needs review {summary.needs_review}; "
        f"errors {summary.errors}; {summary.elapsed_seconds:.1f} s, {summary.rows_per_second:.0f} rows/s",
        err=True,
    )
    click.echo("departments: " + ", ".join(f"{code} {n}" for code, n in summary.departments.items()), err=True)
    if summary.suspect_rows:
        rows = ", ".join(map(str, summary.suspect_rows[:10]))
        click.echo(f"check rows {rows}: a cell holds what look like further rows (a stray quote?)", err=True)


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="Report file: .csv (one row per topic) or .html (a page to read). 报告文件",
)
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=None, help="Also write an HTML report.")
@_table_options
@click.option("--time-column", default=None, help="Column with the message time (recency). 时间列")
@click.option("--likes-column", default=None, help="Column with likes / supporters (adds to hotness). 点赞列")
@click.option("--id-column", default=None, help="Column naming members in the report (default: row number).")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True, help="Topics to report.")
@click.option("--min-size", type=click.IntRange(min=1), default=2, show_default=True, help="Smallest topic.")
@click.option(
    "--half-life",
    "half_life",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Days after which a message counts half in hotness (0: no recency decay).",
)
@_threshold_option
@click.option("--overwrite", is_flag=True, help="Replace existing report files.")
@click.option("--silent", is_flag=True, help="No progress bars on stderr.")
@_raw_cells_option
@_model_option
@_handles_user_errors
def hot(
    input_path: Path,
    output: Path,
    html_path: Path | None,
    text_columns: tuple[str, ...],
    file_format: str,
    encoding: str,
    sheet: str | None,
    time_column: str | None,
    likes_column: str | None,
    id_column: str | None,
    top: int,
    min_size: int,
    half_life: float,
    threshold: float,
    overwrite: bool,
    silent: bool,
    raw_cells: bool,
    model_path: Path | None,
) -> None:
    """Hot topics of an export: near-duplicate groups ranked by size, recency and likes. 热点问题.

    Reads the file twice, streaming: memory grows with the number of messages (about 150 bytes
    each, up to 400 where many are near-duplicates; their signatures wait in a temporary file in
    TMPDIR), not with their text. See triage.hot for the hotness score.
    """
    from triage.hot import hot_topics_from_file, write_csv, write_html

    outputs = [output, *([html_path] if html_path else [])]
    for path in outputs:
        if path.exists() and not overwrite:
            raise click.ClickException(f"{path} already exists; pass --overwrite to replace it")
    report = hot_topics_from_file(
        input_path,
        text_columns=text_columns,
        time_column=time_column,
        likes_column=likes_column,
        id_column=id_column,
        input_format=file_format,
        encoding=encoding,
        sheet=sheet,
        threshold=threshold,
        top=top,
        min_size=min_size,
        half_life_days=half_life,
        model=_load_model(model_path),
        progress=not silent,
    )
    topics = report.topics
    for path in outputs:
        if path.suffix.lower() in (".html", ".htm"):
            write_html(topics, path, report.texts, ids=report.ids, title=f"热点问题 Hot topics: {input_path.name}")
        else:
            write_csv(topics, path, ids=report.ids, spreadsheet_safe=not raw_cells)
    click.echo(
        f"{len(topics)} topics from {report.n_messages} messages; written to {', '.join(map(str, outputs))}", err=True
    )
    for topic in topics:
        click.echo(
            f"{topic.rank:>3}. {topic.size} msgs, hotness {topic.hotness:.2f}, {topic.last_time or '-'}, "
            f"{topic.department_name or '—'}; {' '.join(topic.places[:3])}; {' '.join(topic.key_terms[:5])}"
        )


def _tag_with_dask(
    source: str,
    output: Path,
    text_columns: tuple[str, ...],
    encoding: str,
    scheduler: str | None,
    jobs: int,
    overwrite: bool,
    model_path: Path | None,
    group_threshold: float | None,
) -> None:
    """``triage tag --engine dask``: tags (and with ``group_threshold``, group columns) into a Parquet dataset."""
    from triage._optional import import_optional
    from triage.dask import read_export, tag, with_groups

    distributed = import_optional("distributed", extra="dask", purpose="--engine dask")
    if output.exists() and not overwrite:
        raise click.ClickException(f"{output} already exists; pass --overwrite to replace it")
    model = str(model_path.resolve()) if model_path else None
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            scheduler = stack.enter_context(distributed.LocalCluster(n_workers=jobs, threads_per_worker=1))
        client = stack.enter_context(distributed.Client(scheduler))
        frame = read_export(source, encoding=encoding)
        tagged = tag(frame, text_columns, model_path=model)
        if group_threshold is not None:
            tagged = with_groups(tagged, frame, text_columns, threshold=group_threshold)
        tagged.to_parquet(str(output), write_index=False, overwrite=overwrite)
        click.echo(f"tagged into {output} on {client.scheduler.address}", err=True)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="triage")
