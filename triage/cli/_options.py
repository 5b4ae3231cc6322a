"""Options shared by several commands, each written once: the model, the routing config, how an export is
read, how its labels are read, jobs, progress, grouping and cell safety.

Values are checked as they are parsed (a model directory, a config file, contradicting label options),
so that a wrong option is reported before any data is read or any heavy library is imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from triage.defaults import DEFAULT_GROUP_THRESHOLD, DEFAULT_REPLY_CONFIDENCE
from triage.exceptions import TriageError
from triage.io import FORMATS
from triage.labelled import LabelOptions

__all__ = [
    "DEFAULT_MODEL",
    "INPUT_FILE",
    "NO_BASE",
    "SIMILARITY",
    "base_location",
    "config_option",
    "fitting_jobs_option",
    "group_threshold_options",
    "group_threshold_value",
    "label_options",
    "model_location",
    "model_option",
    "raw_cells_option",
    "silent_option",
    "table_options",
]

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

#: What ``--model`` (and evaluate's MODEL) accepts for the model shipped with triage.
DEFAULT_MODEL = "default"
#: What ``train --base`` accepts for training without a base model.
NO_BASE = "none"
#: An input file, checked to exist before anything is loaded; ``-`` is standard input.
INPUT_FILE = click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path)
#: A similarity from which two messages are one group or concern.
SIMILARITY = click.FloatRange(0, 1, min_open=True)


def model_location(value: str | None) -> Path | None:
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


def base_location(value: str) -> Path | None:
    """``train --base``: ``None`` for no base model, else the checked model directory (the shipped one's
    for ``default``)."""
    from triage.model import default_model_path

    if value == NO_BASE:
        return None
    return model_location(value) or default_model_path()


model_option = click.option(
    "--model",
    "model_path",
    default=None,
    callback=lambda _ctx, _param, value: model_location(value),
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


def config_option(effect: str) -> Decorator:
    """``--config``: a routing config TOML, its ``effect`` on this command said in the help."""
    return click.option(
        "--config",
        "config",
        type=click.Path(dir_okay=False),
        default=None,
        callback=lambda _ctx, _param, value: _routing_config(value),
        help=f"Routing config TOML (rules, gazetteer, thresholds); {effect} 分拨规则配置",
    )


fitting_jobs_option = click.option(
    "--jobs",
    "--n-jobs",
    "n_jobs",
    type=click.IntRange(1),
    default=2,
    show_default=True,
    callback=lambda _ctx, _param, value: min(value, os.cpu_count() or 1),
    help="Worker processes for the cross-validation folds, the vectorizers and --search (n_jobs), at most one "
    "per CPU (each holds a copy of the features; 1 for the least memory). 并行进程数",
)

silent_option = click.option(
    "--silent", is_flag=True, help="No progress bar on stderr (there is none when stderr is not a terminal)."
)

raw_cells_option = click.option(
    "--raw-cells",
    is_flag=True,
    help="Write CSV/XLSX text exactly as read, for programs (default: text starting with = + - @ gets a "
    "leading ' so Excel/WPS never runs it as a formula).",
)


def _stacked(options: list[Decorator], command: Callable[..., Any]) -> Callable[..., Any]:
    """``command`` with ``options`` in the order listed (as if written one above the other)."""
    for option in reversed(options):
        command = option(command)
    return command


def group_threshold_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--group-threshold`` (near-duplicate grouping; not the review threshold) and its old name ``--threshold``."""
    return _stacked(
        [
            click.option(
                "--group-threshold",
                type=SIMILARITY,
                default=DEFAULT_GROUP_THRESHOLD,
                show_default=True,
                help="Grouping of near-duplicates: estimated Jaccard similarity (character trigrams) from which two "
                "messages are one concern. 归并相似度",
            ),
            click.option(
                "--threshold",
                "old_threshold",
                type=SIMILARITY,
                default=None,
                hidden=True,
                help="Old --group-threshold.",
            ),
        ],
        command,
    )


def group_threshold_value(value: float, old_value: float | None) -> float:
    """``--group-threshold``, or the value given under its old name ``--threshold`` (with a notice)."""
    if old_value is None:
        return value
    click.echo("Warning: --threshold is now called --group-threshold (the review threshold is another)", err=True)
    return old_value


def table_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by commands that read an export: columns, format, encoding, sheet."""
    return _stacked(
        [
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
        ],
        command,
    )


_LABEL_SOURCE_OPTIONS: list[Decorator] = [
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


def label_options(
    *, label_help: str, sub_label_help: str | None = None, label_source: bool = True, departments_map: bool = False
) -> Decorator:
    """``--label-column`` (``label_help``), ``--sub-label-column`` (with ``sub_label_help``), the
    :func:`table_options` and (with ``label_source``) what the label column holds, given to the command
    as one ``labels`` :class:`~triage.labelled.LabelOptions`; contradicting options are usage errors, as
    is ``--departments`` without a label mapping where it serves only that (``departments_map``)."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(command)
        def with_label_options(*args: Any, **kwargs: Any) -> Any:
            if departments_map and kwargs.get("departments_file") and not _mapped(kwargs):
                raise click.UsageError(
                    "--departments maps unit names or replies: add --labels-are-units or --labels-are-replies"
                )
            labels = _label_options_of(kwargs)
            return command(*args, labels=labels, **kwargs)

        options: list[Decorator] = [click.option("--label-column", required=True, help=label_help)]
        if sub_label_help is not None:
            options.append(click.option("--sub-label-column", default=None, help=sub_label_help))
        options.append(table_options)
        return _stacked(options + (_LABEL_SOURCE_OPTIONS if label_source else []), with_label_options)

    return decorate


def _mapped(kwargs: dict[str, Any]) -> bool:
    """Whether the options in ``kwargs`` map the label column to departments (units or replies)."""
    return bool(kwargs.get("labels_are_units") or kwargs.get("labels_are_replies"))


def _label_options_of(kwargs: dict[str, Any]) -> LabelOptions:
    """The :class:`~triage.labelled.LabelOptions` of the label options in ``kwargs`` (taken out of it)."""
    units, replies = kwargs.pop("labels_are_units", False), kwargs.pop("labels_are_replies", False)
    reply_confidence = kwargs.pop("reply_confidence", DEFAULT_REPLY_CONFIDENCE)
    departments = kwargs.pop("departments_file", None)
    if units and replies:
        raise click.UsageError("use --labels-are-units or --labels-are-replies, not both")
    if reply_confidence != DEFAULT_REPLY_CONFIDENCE and not replies:
        raise click.UsageError("--reply-confidence applies to --labels-are-replies: add it or drop the option")
    if departments is not None and not departments.is_file():
        raise click.BadParameter(f"no such file: {departments}", param_hint="--departments")
    return LabelOptions(
        label_column=kwargs.pop("label_column"),
        sub_label_column=kwargs.pop("sub_label_column", None),
        text_columns=kwargs.pop("text_columns"),
        format=kwargs.pop("file_format"),
        encoding=kwargs.pop("encoding"),
        sheet=kwargs.pop("sheet"),
        labels_are="units" if units else "replies" if replies else "departments",
        departments=departments,
        reply_confidence=reply_confidence,
    )
