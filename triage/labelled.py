"""Reading a labelled export for training, evaluation and label audits.

One place decides what a labelled export gives: each row's text (the named or detected text
columns), its label (department codes as they are, or handling-unit names and official replies
mapped to departments), its sub-label and any further column a caller names. ``triage train``,
``evaluate`` and ``audit-labels`` all read through :func:`read_labelled`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from triage.defaults import DEFAULT_REPLY_CONFIDENCE
from triage.exceptions import TrainingDataError
from triage.io import detect_text_columns, join_text_columns, read_table, require_columns, require_saved_values

__all__ = ["LabelOptions", "LabelSource", "LabelledRows", "Notify", "given_labels", "is_missing", "read_labelled"]

#: What the label column holds: department codes, handling-unit names, or each message's official reply.
LabelSource = Literal["departments", "units", "replies"]
#: Receives one line for the user about what was read and decided (encoding, columns, label mapping).
Notify = Callable[[str], None]


@dataclass(frozen=True)
class LabelOptions:
    """How a labelled export is read: its columns, its format, and what its label column holds.

    ``labels_are="units"`` maps handling-unit names (A3区住建局, 龙泉派出所...) to departments;
    ``"replies"`` reads the department that handled each message from its official reply (a
    transfer, the signature, 经…核实, or, where ``reply_confidence`` allows, its wording).
    ``departments`` is a department directory TOML (default: the one shipped with triage).
    """

    label_column: str
    sub_label_column: str | None = None
    text_columns: tuple[str, ...] = ()
    format: str = "auto"
    encoding: str = "auto"
    sheet: str | None = None
    labels_are: LabelSource = "departments"
    departments: Path | None = None
    reply_confidence: float = DEFAULT_REPLY_CONFIDENCE


@dataclass(frozen=True)
class LabelledRows:
    """A labelled export as read: one text and one label per row, in file order.

    ``labels`` are the column's values, or with mapped labels each row's department (``""`` where
    the unit name or reply shows none). ``other`` holds the further columns asked for, by role.
    """

    texts: list[str]
    labels: list[str]
    sub_labels: list[str] | None
    other: dict[str, list[str]] = field(default_factory=dict)

    def labelled(self) -> list[int]:
        """The rows with a label, the only ones trained on, measured or audited: a blank label cell (or a unit
        name or reply showing no department) says nothing of the row's department."""
        return np.flatnonzero(given_labels(self.labels)).tolist()


def given_labels(labels: Sequence[Any] | np.ndarray) -> np.ndarray:
    """A boolean mask of the labels given: ``""``, None, NaN and pandas' NA are missing (their rows are left
    out of training and evaluation); a label that is neither text nor missing raises ``TypeError``."""
    given = np.zeros(len(labels), dtype=bool)
    for index, label in enumerate(labels):
        if isinstance(label, str):
            given[index] = label != ""
        elif not is_missing(label):
            raise TypeError(
                f"label at index {index} is {type(label).__name__}, not str; labels are department codes (or "
                "units): convert them to text, missing ones to ''"
            )
    return given


def is_missing(value: Any) -> bool:
    """None, NaN and pandas' NA (whose truth value raises) all mean "no sub-label"."""
    if value is None or type(value).__name__ == "NAType":
        return True
    return isinstance(value, float) and value != value


def read_labelled(
    path: str | Path,
    options: LabelOptions,
    *,
    other_columns: Mapping[str, str | None] | None = None,
    min_departments: int = 1,
    notify: Notify | None = None,
) -> LabelledRows:
    """Read the labelled export at ``path`` as ``options`` say.

    ``other_columns`` names further columns by role (``{"split": "part"}``; ``None``: not wanted);
    a missing one raises :class:`~triage.io.DataError` naming the role. Mapped labels (units,
    replies) must show at least ``min_departments`` departments, else
    :class:`~triage.exceptions.TrainingDataError` says what to try. ``notify`` receives a line
    on the encoding and text columns chosen and on how many labels were mapped.
    """
    say = notify or (lambda _line: None)
    frame = read_table(path, format=options.format, encoding=options.encoding, sheet=options.sheet)
    if "encoding" in frame.attrs:
        say(f"encoding: {frame.attrs['encoding']}")
    columns = list(options.text_columns) or detect_text_columns(frame.columns)
    if not options.text_columns:
        say(f"text columns: {' + '.join(columns)} (detected)")
    require_columns(frame.columns, [options.label_column], role="label")
    texts = join_text_columns(frame, columns)
    wanted = {"sub-label": options.sub_label_column, **(other_columns or {})}
    for role, column in wanted.items():
        if column is not None:
            require_columns(frame.columns, [column], role=role)
    read = [*columns, options.label_column, *(column for column in wanted.values() if column is not None)]
    # error values (#N/A) too: a label read as blank would leave its row out as one never labelled
    require_saved_values({**frame.attrs.get("error_values", {}), **frame.attrs.get("unsaved_formulas", {})}, read, path)
    labels = _department_labels(list(frame[options.label_column]), options, say)
    if options.labels_are == "departments" and not any(labels):
        fix = "the file has no rows under its header" if frame.empty else "check --label-column"
        raise TrainingDataError(f"no row of {path} has a label in column {options.label_column!r}: {fix}")
    if options.labels_are != "departments" and len({label for label in labels if label}) < min_departments:
        hint = "lower --reply-confidence, " if options.labels_are == "replies" else ""
        raise TrainingDataError(
            f"too few rows of column {options.label_column!r} show a department; check --label-column, {hint}"
            "or pass --departments with your units' names"
        )
    return LabelledRows(
        texts,
        labels,
        list(frame[options.sub_label_column]) if options.sub_label_column else None,
        {role: [str(value) for value in frame[column]] for role, column in (other_columns or {}).items() if column},
    )


def _department_labels(labels: list[Any], options: LabelOptions, say: Notify) -> list[str]:
    """The label column as ``options.labels_are`` reads it: as it is, or each row's department."""
    from triage.departments import load_directory

    if options.labels_are == "departments":
        labels = [label.strip() for label in labels]  # as sub-labels: "education " is education
        if blank := labels.count(""):
            say(f"{blank} rows without a label left out")
        return labels
    directory = load_directory(options.departments)
    if options.labels_are == "units":
        departments = [directory.match_unit(label) or "" for label in labels]
        unmatched = sum(1 for department in departments if not department)
        say(f"unit names mapped to departments; {unmatched} rows with no recognised unit left out")
        return departments
    from triage.replies import handlers_from_replies

    confidence = options.reply_confidence
    evidence = handlers_from_replies(
        labels, directory=directory, min_confidence=None if confidence >= 1 else confidence
    )
    cues = Counter(e.cue for e in evidence if e)
    how = f" ({', '.join(f'{cue} {n}' for cue, n in cues.most_common())})" if cues else ""
    say(
        f"handlers read from replies: {sum(cues.values())} of {len(labels)} rows{how}; "
        f"{len(labels) - sum(cues.values())} rows whose reply does not show its handler left out"
    )
    return [e.department if e else "" for e in evidence]
