"""The ``triage`` command line: a thin layer over the library.

Library errors become one-line messages and exit status 1, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn

import click
from click.core import ParameterSource

from triage._optional import DISTRIBUTION
from triage.defaults import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_GROUP_THRESHOLD,
    DEFAULT_HALF_LIFE_DAYS,
    DEFAULT_HOT_MIN_SIZE,
    DEFAULT_HOT_TOP,
    DEFAULT_REPLY_CONFIDENCE,
    DEFAULT_TARGET_PRECISION,
    DEFAULT_TOP_K,
)
from triage.exceptions import TriageError
from triage.io import FORMATS, require_columns
from triage.text import display_text

__all__ = ["cli", "main"]

#: What ``--model`` (and evaluate's MODEL) accepts for the model shipped with triage.
DEFAULT_MODEL = "default"
#: What ``train --base`` accepts for training without a base model.
NO_BASE = "none"


def _model_location(value: str | None) -> Path | None:
    """``None`` for the shipped model (no value, or ``default``), else a model directory checked before
    any data is read."""
    from triage.persistence import is_model_directory

    if value is None or value == DEFAULT_MODEL:
        return None
    path = Path(value)
    if not is_model_directory(path):
        what = f"no model directory at {path}" if not path.exists() else f"{path} is not a triage model directory"
        raise click.ClickException(
            f"{what}; name a directory written by triage train, or {DEFAULT_MODEL!r} for the shipped model"
        )
    return path


_model_option = click.option(
    "--model",
    "model_path",
    default=None,
    callback=lambda _ctx, _param, value: _model_location(value),
    help=f"Model directory, or {DEFAULT_MODEL!r} for the model shipped with triage (the default). 模型目录",
)


def _routing_config(value: str | None) -> Any:
    """The routing config read and validated before any text is, or ``None``."""
    from triage.routing import load_config

    if value is None:
        return None
    try:
        return load_config(value)
    except TriageError as error:
        raise click.ClickException(str(error)) from None


def _config_option(effect: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--config``: a routing config TOML, its ``effect`` on this command said in the help."""
    return click.option(
        "--config",
        "config",
        type=click.Path(dir_okay=False),
        default=None,
        callback=lambda _ctx, _param, value: _routing_config(value),
        help=f"Routing config TOML (rules, gazetteer, thresholds); {effect} 分拨规则配置",
    )


_FITTING_JOBS = click.option(
    "--jobs",
    "--n-jobs",
    "n_jobs",
    type=click.IntRange(1),
    default=2,
    show_default=True,
    help="Worker processes for the cross-validation folds, the vectorizers and --search (n_jobs), at most one "
    "per CPU (each holds a copy of the features; 1 for the least memory). 并行进程数",
)


_SILENT = click.option(
    "--silent", is_flag=True, help="No progress bar on stderr (there is none when stderr is not a terminal)."
)


#: An input file, checked to exist before anything is loaded; ``-`` is standard input.
_INPUT_FILE = click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path)


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Turn library errors into one-line click errors and warnings into one-line notices."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except (TriageError, OSError, ValueError, TypeError) as error:
            raise click.ClickException(str(error)) from None
        except KeyboardInterrupt:
            _interrupted("nothing was saved")
        finally:
            for warning in caught:
                click.echo(f"Warning: {warning.message}", err=True)


def _handles_user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _user_errors():
            return command(*args, **kwargs)

    return wrapper


def _interrupted(what_now: str) -> NoReturn:
    """Ctrl-C: say what became of the work, then exit 130 as shells expect (128 + SIGINT)."""
    click.echo(f"Interrupted: {what_now}.", err=True)
    raise click.exceptions.Exit(130)


STDIO = "-"


@contextlib.contextmanager
def _stdin_spooled(path: Path, file_format: str) -> Iterator[tuple[Path, str]]:
    """``(path, format)``; for ``-``, standard input in a temporary file, read as CSV unless --format says."""
    if str(path) != STDIO:
        yield path, file_format
        return
    kind = "csv" if file_format == "auto" else file_format
    with tempfile.TemporaryDirectory(prefix="triage-stdin-") as folder:
        spooled = Path(folder) / f"stdin.{kind}"
        with spooled.open("wb") as handle:
            shutil.copyfileobj(sys.stdin.buffer, handle)
        yield spooled, kind


@contextlib.contextmanager
def _stdout_spooled(path: Path, output_format: str) -> Iterator[tuple[Path, str]]:
    """``(path, format)``; for ``-``, a temporary file (CSV unless a format is given) copied to standard
    output once complete, so a failed run prints no half file."""
    if str(path) != STDIO:
        yield path, output_format
        return
    kind = "csv" if output_format == "auto" else output_format
    with tempfile.TemporaryDirectory(prefix="triage-stdout-") as folder:
        spooled = Path(folder) / f"stdout.{kind}"
        yield spooled, kind
        sys.stdout.flush()  # what click.echo wrote comes first
        with spooled.open("rb") as handle:
            shutil.copyfileobj(handle, sys.stdout.buffer)
        sys.stdout.buffer.flush()


def _not_stdio(**paths: Path | None) -> None:
    """Refuse ``-`` for options that name a directory or a file that must stay on disk."""
    for option, path in paths.items():
        if path is not None and str(path) == STDIO:
            raise click.UsageError(f"{option} names a directory or a file kept on disk; '-' (stdin/stdout) cannot")


def _check_folders(**paths: Path | None) -> None:
    """Refuse outputs whose folder does not exist, before any data is read (``-`` is standard output)."""
    for option, path in paths.items():
        if path is not None and str(path) != STDIO and not path.absolute().parent.is_dir():
            raise click.BadParameter(
                f"folder {path.absolute().parent} does not exist; create it first", param_hint=option
            )


def _load_model(model_path: Path | None):
    import triage

    return triage.load(model_path)


def _stdin_texts(jsonl: bool, null: bool) -> list[str]:
    """Messages on standard input: one per line, or with ``jsonl`` one JSON string (or object with a
    ``text``) per line, or with ``null`` separated by NUL bytes (both keep line breaks inside a message)."""
    try:
        data = sys.stdin.buffer.read().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise click.ClickException(
            f"stdin is not UTF-8 text ({error.reason} at byte {error.start}); "
            "convert it first, e.g. iconv -f gb18030 -t utf-8"
        ) from None
    if null:
        items = data.split("\0")
        return items[:-1] if items[-1] in ("", "\n") else items
    # split on newlines only: str.splitlines would also break at U+2028 and other separators
    lines = [line.rstrip("\r") for line in data.split("\n")]
    lines = lines[:-1] if lines[-1] == "" else lines
    if not jsonl:
        return lines
    texts = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise click.ClickException(
                f"stdin line {number} is not JSON ({error.msg}); --jsonl reads one per line"
            ) from None
        text = item.get("text") if isinstance(item, dict) else item
        if not isinstance(text, str):
            raise click.ClickException(
                f'stdin line {number} is neither a JSON string nor an object with a "text" string'
            )
        texts.append(text)
    return texts


def _read_texts(texts: tuple[str, ...], *, jsonl: bool = False, null: bool = False) -> list[str]:
    if not texts:
        raise click.UsageError("give at least one TEXT, or - to read one message per line from stdin")
    if jsonl and null:
        raise click.UsageError("use --jsonl or --null, not both")
    if (jsonl or null) and STDIO not in texts:
        raise click.UsageError("--jsonl and --null say how standard input is split: add - to read it")
    collected: list[str] = []
    for text in texts:
        collected.extend(_stdin_texts(jsonl, null) if text == STDIO else [text])
    return collected


def _stdin_split_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--jsonl`` and ``--null``: how ``-`` splits standard input into messages that may span lines."""
    command = click.option(
        "--null",
        "-0",
        is_flag=True,
        help="With -: messages are separated by NUL bytes (find -print0, xargs -0), so they may span lines.",
    )(command)
    return click.option(
        "--jsonl",
        is_flag=True,
        help='With -: one JSON string, or object with a "text" string, per line, so messages may span lines.',
    )(command)


def _preview(text: str) -> str:
    """The first 40 characters of a message on one line, personal data masked, for headings of human output."""
    return " ".join(display_text(text, 40).split())


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
@click.version_option(package_name=DISTRIBUTION)
def cli() -> None:
    """triage: route Chinese petitions and complaints to the department that owns them.

    诉求分拨：判断留言、工单、来信应由哪个部门办理。
    """


@cli.command(short_help="Which department owns each message. 判断诉求所属部门")
@click.argument("texts", nargs=-1)
@click.option(
    "--top-k",
    type=click.IntRange(min=1),
    default=DEFAULT_TOP_K,
    show_default=True,
    help="Number of candidate departments to show. 候选部门数",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per message (JSON lines).")
@_stdin_split_options
@_model_option
@_handles_user_errors
def classify(
    texts: tuple[str, ...], top_k: int, as_json: bool, jsonl: bool, null: bool, model_path: Path | None
) -> None:
    """Classify messages: which department owns each one. 判断诉求所属部门.

    TEXT is a message; '-' reads messages from standard input, one per line (--jsonl or --null
    for messages that span lines).
    """
    messages = _read_texts(texts, jsonl=jsonl, null=null)
    model = _load_model(model_path)
    results = model.classify(messages, top_k=top_k)
    for index, result in enumerate(results):
        if as_json:
            click.echo(json.dumps({"index": index, **result.to_dict()}, ensure_ascii=False))
        else:
            if len(results) > 1:
                click.echo(f"[{index}] {_preview(messages[index])}")
            click.echo(_format_classification(result))


@cli.command(short_help="Suggest where to send each message. 分拨建议")
@click.argument("texts", nargs=-1)
@_config_option("it adds local office, co-handlers and urgency to each suggestion.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per message (JSON lines).")
@_stdin_split_options
@_model_option
@_handles_user_errors
def route(texts: tuple[str, ...], config: Any, as_json: bool, jsonl: bool, null: bool, model_path: Path | None) -> None:
    """Suggest where to send messages: department, local office, co-handlers, urgency. 分拨建议.

    TEXT is a message; '-' reads messages from standard input, one per line (--jsonl or --null
    for messages that span lines).
    """
    messages = _read_texts(texts, jsonl=jsonl, null=null)
    suggestions = _load_model(model_path).route(messages, config=config)
    for index, suggestion in enumerate(suggestions):
        if as_json:
            click.echo(json.dumps({"index": index, **suggestion.to_dict()}, ensure_ascii=False))
            continue
        if len(suggestions) > 1:
            click.echo(f"[{index}] {_preview(messages[index])}")
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


_SIMILARITY = click.FloatRange(0, 1, min_open=True)


def _group_threshold_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--group-threshold`` (near-duplicate grouping; not the review threshold) and its old name ``--threshold``."""
    command = click.option(
        "--threshold", "old_threshold", type=_SIMILARITY, default=None, hidden=True, help="Old --group-threshold."
    )(command)
    return click.option(
        "--group-threshold",
        type=_SIMILARITY,
        default=DEFAULT_GROUP_THRESHOLD,
        show_default=True,
        help="Grouping of near-duplicates: estimated Jaccard similarity (character trigrams) from which two "
        "messages are one concern. 归并相似度",
    )(command)


def _group_threshold(value: float, old_value: float | None) -> float:
    """``--group-threshold``, or the value given under its old name ``--threshold`` (with a notice)."""
    if old_value is None:
        return value
    click.echo("Warning: --threshold is now called --group-threshold (the review threshold is another)", err=True)
    return old_value


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

    with _stdin_spooled(data, file_format) as (source, kind):
        frame = read_table(source, format=kind, encoding=encoding, sheet=sheet)
    if "encoding" in frame.attrs:
        click.echo(f"encoding: {frame.attrs['encoding']}", err=True)
    columns = list(text_columns) or detect_text_columns(frame.columns)
    if not text_columns:
        click.echo(f"text columns: {' + '.join(columns)} (detected)", err=True)
    require_columns(frame.columns, [label_column], role="label")
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
            default=DEFAULT_REPLY_CONFIDENCE,
            show_default=True,
            help="With --labels-are-replies: confidence from which a reply's wording gives its handler; 1 keeps "
            "only the replies that name their handler.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _check_label_source(
    labels_are_units: bool, labels_are_replies: bool, reply_confidence: float, departments_file: Path | None
) -> None:
    """Refuse label-source options that contradict each other or would do nothing, and a missing --departments."""
    if labels_are_units and labels_are_replies:
        raise click.UsageError("use --labels-are-units or --labels-are-replies, not both")
    if reply_confidence != DEFAULT_REPLY_CONFIDENCE and not labels_are_replies:
        raise click.UsageError("--reply-confidence applies to --labels-are-replies: add it or drop the option")
    if departments_file is not None and not departments_file.is_file():
        raise click.BadParameter(f"no such file: {departments_file}", param_hint="--departments")


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


@cli.command(short_help="Train a model on a labelled export. 训练模型")
@click.argument("data", type=_INPUT_FILE)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), required=True, help="Model directory to write. 模型目录"
)
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
@_FITTING_JOBS
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
@click.option("--date-column", default=None, help="Column with each message's date (YYYY-MM-DD), for --half-life.")
@click.option(
    "--half-life",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Weigh messages by age: one this many days older than the newest counts half (units are renamed "
    "and merged; 180 helped a city board's history). 时效权重",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing model directory.")
@_SILENT
@click.option(
    "--with-estimator",
    is_flag=True,
    help="Also save the scikit-learn estimator (model.skops), for analysis with scikit-learn; "
    "classifying and routing do not need it, and it is most of a model's size.",
)
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
    n_jobs: int,
    target_precision: float,
    report_dir: Path | None,
    base_model: str,
    unit_map: Path | None,
    date_column: str | None,
    half_life: float | None,
    overwrite: bool,
    silent: bool,
    with_estimator: bool,
) -> None:
    """Train a model on a labelled export and save it with its card. 用标注数据训练模型.

    DATA is a CSV/TSV/XLSX/JSONL/Parquet export; '-' reads it from standard input (CSV unless
    --format says otherwise). With --base, the labels are the deployment's own units.
    """
    from triage.adaptation import read_unit_csv, recency_weights
    from triage.persistence import is_model_directory

    _not_stdio(**{"-o": output, "--report": report_dir})
    _check_folders(**{"-o": output, "--report": report_dir})
    if split_column and test_size:
        raise click.UsageError("use --split-column or --test-size, not both")
    _check_label_source(labels_are_units, labels_are_replies, reply_confidence, departments_file)
    if report_dir and not (split_column or test_size):
        raise click.UsageError("--report describes held-out rows: add --split-column or --test-size")
    if output.exists() and not overwrite:
        raise click.ClickException(f"{output} already exists; pass --overwrite to replace it")
    if output.exists() and not is_model_directory(output):
        raise click.ClickException(f"{output} exists and is not a triage model directory; choose another -o")
    if bool(half_life) != bool(date_column):
        raise click.UsageError("--half-life and --date-column go together")
    if (base_model != NO_BASE or unit_map) and (labels_are_units or labels_are_replies):
        raise click.UsageError("--base and --unit-departments train on the labels as they are: drop --labels-are-*")
    base_location = _model_location(base_model) if base_model != NO_BASE else None
    unit_departments = {unit: d for unit, (d, _) in read_unit_csv(unit_map).items()} if unit_map else None
    import numpy as np  # the checks above answer at once; scikit-learn takes seconds to import

    import triage
    from triage.departments import load_directory
    from triage.evaluation import evaluate
    from triage.training import held_out_rows

    base = triage.load(base_location) if base_model != NO_BASE else None
    frame, texts, labels = _read_labelled(data, text_columns, label_column, file_format, encoding, sheet)
    if sub_label_column:
        require_columns(frame.columns, [sub_label_column], role="sub-label")
        sub_labels = list(frame[sub_label_column])
    directory = load_directory(departments_file)
    labels = _department_labels(labels, directory, labels_are_units, labels_are_replies, reply_confidence)
    if (labels_are_units or labels_are_replies) and len({label for label in labels if label}) < 2:
        raise _too_few_departments(label_column, labels_are_replies)
    keep = np.array([bool(label) for label in labels])
    if split_column:
        require_columns(frame.columns, [split_column], role="split")
    test = held_out_rows(
        labels, keep, split=list(frame[split_column].astype(str)) if split_column else None, test_size=test_size
    )
    rows = np.flatnonzero(keep & ~test)
    weights = None
    if half_life and date_column:
        require_columns(frame.columns, [date_column], role="date")
        weights = recency_weights([str(frame[date_column].iloc[i]) for i in rows], half_life)
    model = triage.train(
        [texts[i] for i in rows],
        [labels[i] for i in rows],
        sub_labels=[sub_labels[i] for i in rows] if sub_label_column else None,
        target_precision=target_precision,
        search=search,
        base=base,
        sample_weight=weights,
        unit_departments=unit_departments,
        progress=False if silent else None,
        n_jobs=min(n_jobs, os.cpu_count() or 1),
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
            progress=False if silent else None,
        )
        result["description"] = f"Held-out rows of {data.name}."
        model.manifest["metrics"]["held_out"] = {k: v for k, v in result.items() if k != "precision_coverage"}
    model.save(output, overwrite=overwrite, include_estimator=with_estimator)
    for name, result in model.manifest["metrics"].items():
        click.echo(f"{name} (n={result['n']}): accuracy {result['accuracy']:.3f}, macro-F1 {result['macro_f1']:.3f}")
        _echo_sub_labels(name, result)
        if "department_level" in result:
            level = result["department_level"]
            click.echo(f"{name} at department level (n={level['n']}): accuracy {level['accuracy']:.3f}")
    click.echo(f"review threshold {model.review_threshold:.3f}; saved {output}")


def _model_and_data(arguments: tuple[str, ...], model_option: Path | None) -> tuple[Path | None, Path]:
    """evaluate's ``[MODEL] DATA``: the model (``None``: the shipped one) and the checked data file."""
    if len(arguments) not in (1, 2):
        raise click.UsageError(f"give DATA, or MODEL and DATA (got {len(arguments)} arguments)")
    named = click.get_current_context().get_parameter_source("model_path") is ParameterSource.COMMANDLINE
    if len(arguments) == 2 and named:
        raise click.UsageError("name the model once: as MODEL or with --model")
    model = _model_location(arguments[0]) if len(arguments) == 2 else model_option
    try:
        return model, _INPUT_FILE.convert(arguments[-1], None, None)
    except click.BadParameter as error:
        error.param_hint = "'DATA'"
        raise


@cli.command(short_help="Measure a model on a labelled export. 评估模型")
@click.argument("arguments", nargs=-1, required=True, metavar="[MODEL] DATA")
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
@_model_option
@_SILENT
@_handles_user_errors
def evaluate(
    arguments: tuple[str, ...],
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
    model_path: Path | None,
    silent: bool,
) -> None:
    """Measure a model on a labelled export. 评估模型.

    MODEL is a model directory or 'default' (the shipped model, also used when MODEL is left out;
    --model names it too). DATA is a labelled export; '-' reads it from standard input (CSV unless
    --format says otherwise).
    """
    _not_stdio(**{"--report": report_dir})
    _check_folders(**{"--report": report_dir})
    if departments_file and not (labels_are_units or labels_are_replies):
        raise click.UsageError(
            "--departments maps unit names or replies: add --labels-are-units or --labels-are-replies"
        )
    _check_label_source(labels_are_units, labels_are_replies, reply_confidence, departments_file)
    model_path, data = _model_and_data(arguments, model_path)
    import triage
    from triage.departments import load_directory
    from triage.evaluation import evaluate as evaluate_model

    frame, texts, labels = _read_labelled(data, text_columns, label_column, file_format, encoding, sheet)
    if sub_label_column:
        require_columns(frame.columns, [sub_label_column], role="sub-label")
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
    model = triage.load(model_path)
    progress = False if silent else None
    result = evaluate_model(model, texts, labels, sub_labels=sub_labels, report_dir=report_dir, progress=progress)
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
    if "department_level" in result:
        level = result["department_level"]
        click.echo(f"at department level (n={level['n']}): accuracy {level['accuracy']:.3f}, ", nl=False)
        click.echo(f"top-3 {level['top3_accuracy']:.3f}")
    if report_dir:
        click.echo(f"report written to {report_dir}")


@cli.command("audit-labels", short_help="List rows whose label looks wrong. 找出疑似标错的行")
@click.argument("data", type=_INPUT_FILE)
@click.option("--label-column", required=True, help="Column holding the label to audit. 标签列")
@_table_options
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Show at most this many suspect rows."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per suspect row (JSON lines).")
@_FITTING_JOBS
@_SILENT
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
    n_jobs: int,
    silent: bool,
) -> None:
    """List rows whose label looks wrong, from cross-validated predictions. 找出疑似标错的行.

    DATA is a labelled export; '-' reads it from standard input (CSV unless --format says otherwise).
    """
    from triage.audit import audit_labels as find_suspects

    _, texts, labels = _read_labelled(data, text_columns, label_column, file_format, encoding, sheet)
    suspects = find_suspects(texts, labels, progress=False if silent else None, n_jobs=min(n_jobs, os.cpu_count() or 1))
    click.echo(f"{len(suspects)} of {len(labels)} rows look mislabelled", err=True)
    for suspect in suspects[:limit]:
        row = {
            "row": suspect.index,
            "given": suspect.given,
            "suggested": suspect.suggested,
            "given_probability": round(suspect.given_probability, 3),
            "suggested_probability": round(suspect.suggested_probability, 3),
            "text": display_text(texts[suspect.index], 80),
        }
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(
                f"row {row['row']}: {row['given']} -> {row['suggested']} "
                f"({row['given_probability']:.2f} vs {row['suggested_probability']:.2f})  {row['text']}"
            )


@cli.command(short_help="Tag every row of an export file. 批量分拨")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path, allow_dash=True))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, allow_dash=True),
    required=True,
    help="Output file (format by suffix: .csv .tsv .jsonl .parquet .xlsx; - for standard output, CSV unless "
    "--output-format says otherwise). 输出文件",
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
    default=DEFAULT_CHUNK_SIZE,
    show_default=True,
    help="Rows classified together; memory grows with it, not with the file.",
)
@click.option(
    "--jobs",
    "--n-jobs",
    "n_jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes that classify chunks (n_jobs; each loads the model once). 并行进程数",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its checkpoint. 断点续跑")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--stop-after", type=click.IntRange(min=1), default=None, help="Tag only the first N rows (a trial).")
@click.option("--silent", is_flag=True, help="No progress bar and no run summary on stderr.")
@click.option(
    "--summary",
    "summary_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the run summary as JSON here.",
)
@_config_option("adds urgency, local_office and co_handlers columns.")
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="dask: INPUT is a Parquet directory or a CSV glob, OUTPUT a Parquet directory.",
)
@click.option("--scheduler", default=None, help="Dask scheduler address (default: a local cluster of --jobs workers).")
@click.option(
    "--group",
    is_flag=True,
    help="Add group_id (row number of the group's first row) and group_size for near-duplicates; "
    "reads the texts in a first pass. 相似诉求归并",
)
@_group_threshold_options
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
    n_jobs: int,
    resume: bool,
    overwrite: bool,
    stop_after: int | None,
    silent: bool,
    summary_path: Path | None,
    config: Any,
    engine: str,
    scheduler: str | None,
    group: bool,
    group_threshold: float,
    old_threshold: float | None,
    raw_cells: bool,
    model_path: Path | None,
) -> None:
    """Tag every row of an export (CSV/TSV incl. GBK, XLSX, JSONL, Parquet). 批量分拨.

    Every input row comes out, in order, with department, department_name, confidence,
    candidates, needs_review, review_reason and error columns added. INPUT '-' reads standard
    input (CSV unless --format says otherwise).
    """
    group_threshold = _group_threshold(group_threshold, old_threshold)
    if engine == "dask":
        _not_stdio(**{"INPUT (with --engine dask)": input_path, "-o (with --engine dask)": output})
        ignored = {
            "--sheet": sheet,
            "--id-column": id_column,
            "--resume": resume,
            "--stop-after": stop_after,
            "--summary": summary_path,
            "--config": config,
            "--format": file_format != "auto",
            "--output-format": output_format != "auto",
            "--chunk-size": chunk_size != DEFAULT_CHUNK_SIZE,
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
            n_jobs,
            overwrite,
            model_path,
            group_threshold if group else None,
        )
        return
    if str(input_path) != STDIO and not input_path.is_file():
        raise click.BadParameter(f"no such file: {input_path}", param_hint="INPUT")
    if resume and STDIO in (str(input_path), str(output)):
        raise click.UsageError("--resume continues a run from file to file; '-' (stdin/stdout) cannot be resumed")
    _check_folders(**{"-o": output, "--summary": summary_path})
    from triage.batch import tag_file

    try:
        with (
            _stdin_spooled(input_path, file_format) as (source, input_kind),
            _stdout_spooled(output, output_format) as (target, output_kind),
        ):
            summary = tag_file(
                source,
                target,
                model_path=model_path,
                config=config,
                text_columns=text_columns,
                id_column=id_column,
                input_format=input_kind,
                output_format=output_kind,
                encoding=encoding,
                sheet=sheet,
                chunk_size=chunk_size,
                n_jobs=n_jobs,
                resume=resume,
                overwrite=overwrite,
                stop_after=stop_after,
                progress=not silent,
                summary_path=summary_path,
                group=group,
                group_threshold=group_threshold,
                spreadsheet_safe=not raw_cells,
            )
    except KeyboardInterrupt:
        _interrupted(_resume_advice(output, output_format))
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


@cli.command(short_help="Hot topics: near-duplicate groups ranked. 热点问题")
@click.argument("input_path", metavar="INPUT", type=_INPUT_FILE)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, allow_dash=True),
    required=True,
    help="Report file: .csv (one row per topic) or .html (a page to read); - for CSV on standard output. 报告文件",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, allow_dash=True),
    default=None,
    help="Also write an HTML report here (- for standard output).",
)
@_table_options
@click.option("--time-column", default=None, help="Column with the message time (recency). 时间列")
@click.option("--likes-column", default=None, help="Column with likes / supporters (adds to hotness). 点赞列")
@click.option("--id-column", default=None, help="Column naming members in the report (default: row number).")
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=DEFAULT_HOT_TOP,
    show_default=True,
    help="Number of topics to report, hottest first.",
)
@click.option(
    "--min-size",
    type=click.IntRange(min=1),
    default=DEFAULT_HOT_MIN_SIZE,
    show_default=True,
    help="Fewest messages a topic can have.",
)
@click.option(
    "--half-life",
    "half_life",
    type=click.FloatRange(min=0),
    default=DEFAULT_HALF_LIFE_DAYS,
    show_default=True,
    help="Days after which a message counts half in hotness (0: no recency decay).",
)
@_group_threshold_options
@click.option(
    "--concern-threshold",
    type=_SIMILARITY,
    default=None,
    help="Similarity of two messages' key words (and places) from which they are one concern "
    "[default: 0.25; see triage.concerns].",
)
@click.option("--copies-only", is_flag=True, help="Topics are near-duplicate groups only, not concerns.")
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
    group_threshold: float,
    old_threshold: float | None,
    concern_threshold: float | None,
    copies_only: bool,
    overwrite: bool,
    silent: bool,
    raw_cells: bool,
    model_path: Path | None,
) -> None:
    """Hot topics of an export: concerns (one issue at one place or policy, however worded)
    ranked by distinct voices, recency and likes. 热点问题.

    Reads the file twice, streaming: memory grows with the number of messages (about 150 bytes
    each, up to 400 where many are near-duplicates; their signatures wait in a temporary file in
    TMPDIR), not with their text. See triage.hot for the hotness score. INPUT '-' reads standard
    input (CSV unless --format says otherwise).
    """
    group_threshold = _group_threshold(group_threshold, old_threshold)
    from triage.concerns import DEFAULT_CONCERN_THRESHOLD
    from triage.hot import hot_topics_from_file, write_csv, write_html

    if copies_only and concern_threshold is not None:
        raise click.UsageError("--copies-only and --concern-threshold exclude each other")
    concern_threshold = None if copies_only else (concern_threshold or DEFAULT_CONCERN_THRESHOLD)

    outputs = [output, *([html_path] if html_path else [])]
    to_stdout = [str(path) for path in outputs].count(STDIO)
    if to_stdout > 1:
        raise click.UsageError("-o and --html cannot both be '-' (standard output)")
    for path in outputs:
        if str(path) != STDIO and path.exists() and not overwrite:
            raise click.ClickException(f"{path} already exists; pass --overwrite to replace it")
    _check_folders(**{"-o": output, "--html": html_path})
    model = _load_model(model_path)
    with _stdin_spooled(input_path, file_format) as (source, input_kind):
        report = hot_topics_from_file(
            source,
            text_columns=text_columns,
            time_column=time_column,
            likes_column=likes_column,
            id_column=id_column,
            input_format=input_kind,
            encoding=encoding,
            sheet=sheet,
            threshold=group_threshold,
            concern_threshold=concern_threshold,
            top=top,
            min_size=min_size,
            half_life_days=half_life,
            model=model,
            progress=not silent,
        )
    topics = report.topics
    name = "stdin" if str(input_path) == STDIO else input_path.name
    for path in outputs:
        as_html = path.suffix.lower() in (".html", ".htm") or (str(path) == STDIO and path is html_path)
        with _stdout_spooled(path, "html" if as_html else "csv") as (target, _):
            if as_html:
                write_html(topics, target, report.texts, ids=report.ids, title=f"热点问题 Hot topics: {name}")
            else:
                write_csv(topics, target, ids=report.ids, spreadsheet_safe=not raw_cells)
    click.echo(
        f"{len(topics)} topics from {report.n_messages} messages; written to {', '.join(map(str, outputs))}", err=True
    )
    for topic in topics:  # on stderr when the report itself goes to standard output
        click.echo(
            f"{topic.rank:>3}. {topic.size} msgs ({topic.voices} voices), hotness {topic.hotness:.2f}, "
            f"{topic.last_time or '-'}, {topic.department_name or '—'}; {topic.place or '—'}: {topic.issue}",
            err=bool(to_stdout),
        )


def _resume_advice(output: Path, output_format: str) -> str:
    """What an interrupted ``triage tag`` leaves behind, and how to continue it."""
    from triage.batch import _RESUMABLE
    from triage.io import resolve_format

    if str(output) == STDIO:
        return "nothing was written to standard output; to be able to continue, tag into a CSV, TSV or JSONL file"
    if resolve_format(output, output_format) in _RESUMABLE:
        return f"the rows tagged so far are kept in {output}.partial; run the same command with --resume to continue"
    return f"{output} was not written; --resume can continue CSV, TSV and JSONL outputs only"


def _tag_with_dask(
    source: str,
    output: Path,
    text_columns: tuple[str, ...],
    encoding: str,
    scheduler: str | None,
    n_jobs: int,
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
            scheduler = stack.enter_context(distributed.LocalCluster(n_workers=n_jobs, threads_per_worker=1))
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
