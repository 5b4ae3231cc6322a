"""Evaluate a model on labelled texts: the numbers, and a report directory with figures and tables.

The report shows where the model goes wrong: confusion matrix (PNG and CSV), reliability
diagram, precision against coverage over confidence thresholds, and the most-confused pairs
with example rows. Example rows are written only into the report directory the user names.
"""

from __future__ import annotations

import csv
import json
import unicodedata
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from triage.adaptation import department_level
from triage.boilerplate import Boilerplate
from triage.exceptions import TrainingDataError, TrainingDataOverlapError, TrainingDataWarning
from triage.labelled import LabelOptions, Notify, given_labels, read_labelled
from triage.metrics import evaluate_predictions, evaluate_sub_labels
from triage.model import TriageModel, load
from triage.progress import steps
from triage.text import PreparedText, display_text
from triage.training import sub_label_array

__all__ = ["check_report_dir", "evaluate", "evaluate_file", "precision_coverage"]

_EXAMPLES_PER_PAIR = 5


def precision_coverage(confidence: np.ndarray, correct: np.ndarray, steps: int = 20) -> list[dict[str, float]]:
    """For thresholds 0, 1/steps, …, 1: the share routed automatically and its precision."""
    rows = []
    for threshold in np.linspace(0.0, 1.0, steps + 1):
        automatic = confidence >= threshold
        rows.append(
            {
                "threshold": float(threshold),
                "coverage": float(automatic.mean()),
                "precision": float(correct[automatic].mean()) if automatic.any() else float("nan"),
            }
        )
    return rows


def _top_k_accuracy(proba: np.ndarray, classes: np.ndarray, labels: np.ndarray, k: int) -> float:
    top = classes[np.argsort(-proba, axis=1)[:, :k]]
    return float(np.mean([label in row for label, row in zip(labels, top, strict=True)]))


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A report table; spreadsheet-safe (:func:`~triage.io.spreadsheet_row`): it is read in Excel/WPS."""
    from triage.io import spreadsheet_row

    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(map(spreadsheet_row, rows))


def _write_report(
    directory: Path,
    result: dict[str, Any],
    texts: Sequence[str],
    labels: np.ndarray,
    predicted: np.ndarray,
    confidence: np.ndarray,
    classes: np.ndarray,
) -> None:
    from sklearn.metrics import confusion_matrix

    from triage.plots import confusion_matrix_png, precision_coverage_png, reliability_png

    directory.mkdir(parents=True, exist_ok=True)
    correct = predicted == labels
    present = [c for c in classes if c in set(labels) | set(predicted)]
    matrix = confusion_matrix(labels, predicted, labels=present)
    _write_csv(
        directory / "confusion_matrix.csv",
        ["true \\ predicted", *present],
        [[c, *map(int, row)] for c, row in zip(present, matrix, strict=True)],
    )
    (directory / "confusion_matrix.png").write_bytes(
        confusion_matrix_png(labels, predicted, present, title="confusion")
    )
    (directory / "reliability.png").write_bytes(reliability_png(confidence, correct, title="calibration"))
    curve = result["precision_coverage"]
    (directory / "precision_coverage.png").write_bytes(precision_coverage_png(curve, title="precision vs coverage"))
    _write_csv(
        directory / "precision_coverage.csv",
        ["threshold", "coverage", "precision"],
        [[row["threshold"], row["coverage"], row["precision"]] for row in curve],
    )
    examples = []
    for pair in result["most_confused"]:
        rows = np.flatnonzero((labels == pair["true"]) & (predicted == pair["predicted"]))
        examples += [
            [pair["true"], pair["predicted"], f"{confidence[i]:.3f}", display_text(texts[i])]
            for i in rows[:_EXAMPLES_PER_PAIR]
        ]
    _write_csv(directory / "most_confused_examples.csv", ["true", "predicted", "confidence", "text"], examples)
    (directory / "metrics.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _sub_label_scores(
    model: TriageModel, prepared: list[PreparedText], labels: np.ndarray, subs: np.ndarray
) -> dict[str, Any]:
    """The sub-category model on the rows with a known sub-label: given the true department (beside
    the majority baseline, per department too), and end to end (department and sub-category right); ``prepared``
    the texts as the model scores them (:meth:`~triage.model.TriageModel._prepared`), ``subs`` as
    :func:`~triage.training.sub_label_array` gives them."""
    if model.sub_scorer is None:
        raise TrainingDataError("this model has no sub-category model; train it with sub-labels (--sub-label-column)")
    known = np.flatnonzero(subs != "")
    if not known.size:
        raise TrainingDataError("no row has a sub-label to evaluate")
    known_texts = [prepared[i] for i in known]
    proba = model.sub_scorer.predict_proba([item.text for item in known_texts])
    result = evaluate_sub_labels(
        labels[known],
        subs[known],
        proba,
        model.sub_label_pairs,
        description="Sub-label given the true label, on these messages.",
    )
    found = model._classify_prepared(known_texts, top_k=1, explain=0)
    result["accuracy_with_predicted_department"] = float(
        np.mean([c.department == labels[i] and c.sub_category == subs[i] for c, i in zip(found, known, strict=True)])
    )
    return result


def _refuse_training_texts(model: TriageModel, texts: Sequence[str]) -> None:
    """Raise when ``texts`` include authored-corpus messages and the model was trained on that corpus:
    a score there measures memory, not how the model does on new messages."""
    from triage.datasets import authored_texts, trained_on_authored_corpus

    if not trained_on_authored_corpus(model.manifest):
        return
    seen = sum(1 for text in texts if text in authored_texts())
    if seen:
        raise TrainingDataOverlapError(
            f"{seen} of {len(texts)} texts are messages of the authored petition corpus, which this model "
            "was trained on, so a score on them says nothing about new messages; evaluate on held-out data "
            "(e.g. the teddy2020c test split, triage.datasets.teddy2020c) or on a model trained without them"
        )


def check_report_dir(report_dir: str | Path | None) -> None:
    """Refuse a report folder that is a file, before the scoring (or training) it would be written after."""
    if report_dir is not None and Path(report_dir).exists() and not Path(report_dir).is_dir():
        raise NotADirectoryError(f"{report_dir} is a file; the report is a folder: name a new one")


def evaluate(
    model: TriageModel,
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    sub_labels: Sequence[str | None] | None = None,
    report_dir: str | Path | None = None,
    most_confused: int = 10,
    progress: bool | None = None,
    cut_template: bool = True,
) -> dict[str, Any]:
    """Score ``model`` on labelled ``texts``; with ``report_dir``, also write figures and tables there.

    Returns accuracy, macro/micro/weighted F1, per-class precision/recall/F1, top-1/3/5
    accuracy, expected calibration error, the share routed automatically at the model's
    review threshold and its precision, precision against coverage over thresholds, and the
    most-confused (true, predicted) pairs. A label that names one of the model's departments instead of
    giving its code (公安, 物业管理, ``Public security``) is read as that code (``result["labels_by_name"]``
    lists them); other labels the model does not know count as errors (``result["unknown_labels"]``); rows
    without a label (``""``, None, NaN) are left out with a :class:`~triage.exceptions.TrainingDataWarning`.
    Refuses (:class:`~triage.exceptions.TrainingDataOverlapError`) to score a model on
    authored-corpus messages when it was trained on that corpus, as the shipped model was.

    With ``sub_labels`` (one per text, ``""``/``None`` where unknown) and a model trained with
    sub-labels, ``result["sub_labels"]`` scores the sub-category on the rows that have one: given
    the true department (``accuracy``, against ``majority_baseline``, and ``per_label``) and end
    to end (``accuracy_with_predicted_department``: department and sub-category both right).
    A unit-level model (trained on a deployment's units) is scored on units, and
    ``result["department_level"]`` on the units' departments.
    ``progress`` shows the step under way on stderr (``None``: when stderr is a terminal).
    Messages are scored without the template their first ones were typed into, as ``triage tag`` classifies
    them (:mod:`triage.boilerplate`; ``result["template"]`` names it): when they teach none, without the
    model's own (:attr:`~triage.model.TriageModel.template`); ``cut_template=False`` scores them as written.
    """
    from sklearn.metrics import f1_score

    texts = list(texts)
    labels_array = np.asarray(labels, dtype=object)
    if len(texts) != len(labels_array):
        raise ValueError(f"{len(texts)} texts but {len(labels_array)} labels")
    subs = sub_label_array(sub_labels, len(texts)) if sub_labels is not None else None  # checked as training does
    check_report_dir(report_dir)
    given = given_labels(labels_array)
    if not given.all():  # no label says nothing of the row's department: left out, as training leaves it
        warnings.warn(f"{int((~given).sum())} rows without a label left out", TrainingDataWarning, stacklevel=2)
        texts, labels_array = [text for text, kept in zip(texts, given, strict=True) if kept], labels_array[given]
        subs = subs[given] if subs is not None else None
    if not texts:
        raise TrainingDataError("no labelled texts to evaluate the model on")
    _refuse_training_texts(model, texts)
    # the batch's own template, else the one the model was trained without (triage.boilerplate)
    template = (Boilerplate.from_texts(texts) or model.template) if cut_template else Boilerplate()
    prepared = model._prepared(texts, template)
    read = [item.text for item in prepared]
    by_name = _codes_named(model, labels_array)
    labels_array = np.array([by_name.get(label, label) for label in labels_array], dtype=object)
    step_names = ["scoring", *["scoring sub-labels"] * (subs is not None)]
    step_names += ["writing the report"] * (report_dir is not None)
    with steps(f"evaluating {len(texts)} messages", step_names, progress=progress) as bar:
        bar.start("scoring")
        proba = model._proba(read)
        classes = np.asarray(model.classes_)
        predicted = classes[proba.argmax(axis=1)]
        confidence = proba.max(axis=1)
        result = evaluate_predictions(labels_array, proba, classes, model.review_threshold)
        result["micro_f1"] = float(f1_score(labels_array, predicted, average="micro"))
        for k in (1, 3, 5):
            result[f"top{k}_accuracy"] = _top_k_accuracy(proba, classes, labels_array, k)
        result["unknown_labels"] = sorted(set(map(str, labels_array)) - set(map(str, classes)))
        result["labels_by_name"] = by_name
        result["template"] = template.record()
        result["precision_coverage"] = precision_coverage(confidence, predicted == labels_array)
        pairs = Counter((str(t), str(p)) for t, p in zip(labels_array, predicted, strict=True) if t != p)
        result["most_confused"] = [
            {"true": t, "predicted": p, "count": n} for (t, p), n in pairs.most_common(most_confused)
        ]
        if model.units is not None:
            result["department_level"] = department_level(model, proba, labels_array)
        if subs is not None:
            bar.start("scoring sub-labels")
            result["sub_labels"] = _sub_label_scores(model, prepared, labels_array, subs)
        if report_dir is not None:
            bar.start("writing the report")
            _write_report(Path(report_dir), result, texts, labels_array, predicted, confidence, classes)
    return result


def _codes_named(model: TriageModel, labels: np.ndarray) -> dict[str, str]:
    """Labels that are no class of ``model`` but name exactly one of its departments, with that department's
    code: an analyst's export says 公安 or 物业管理 where the model says public_security (names as the model
    records them, and the directory's full, short and English names; case and width do not matter)."""
    from triage.departments import default_directory

    directory = default_directory()
    codes_of: dict[str, set[str]] = {}
    for code in map(str, model.classes_):
        department = directory.get(code)
        names = [model.department_name(code)]
        names += [department.name, department.short_name, department.english_name] if department else []
        for name in names:
            codes_of.setdefault(_name_key(name), set()).add(code)
    classes = set(map(str, model.classes_))
    found = {}
    for label in set(map(str, labels)) - classes:
        codes = codes_of.get(_name_key(label), set())
        if len(codes) == 1:
            found[label] = codes.pop()
    return dict(sorted(found.items()))


def _name_key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().casefold()


def evaluate_file(
    model: TriageModel | str | Path | None,
    path: str | Path,
    labels: LabelOptions,
    *,
    report_dir: str | Path | None = None,
    progress: bool | None = None,
    notify: Notify | None = None,
    cut_template: bool = True,
) -> dict[str, Any]:
    """:func:`evaluate` ``model`` (a model, a model directory, or ``None`` for the shipped one) on the
    labelled export at ``path``, read as ``labels`` say. The rows without a label (a blank cell, or with
    mapped labels a unit name or reply showing no department) are left out, as training leaves them out."""
    check_report_dir(report_dir)
    data = read_labelled(path, labels, notify=notify)
    rows = data.labelled()
    texts, true_labels = [data.texts[i] for i in rows], [data.labels[i] for i in rows]
    sub_labels = [data.sub_labels[i] for i in rows] if data.sub_labels is not None else None
    if not isinstance(model, TriageModel):
        model = load(model)
    return evaluate(
        model,
        texts,
        true_labels,
        sub_labels=sub_labels,
        report_dir=report_dir,
        progress=progress,
        cut_template=cut_template,
    )
