"""Find likely mislabelled rows in labelled data (the confident-learning idea, scikit-learn only).

Each row is predicted by a model that never saw it (out-of-fold probabilities). For every class
the *self-confidence threshold* is the mean probability of that class over the rows labelled
with it. A row is suspect when its own label's probability is below that label's threshold and
another class's probability reaches that class's threshold: the model is confident, in the way
the data itself calibrates, that the row belongs elsewhere (Northcutt et al., "Confident
Learning", 2021).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from triage.boilerplate import Boilerplate
from triage.estimator import TriageClassifier
from triage.labelled import LabelOptions, Notify, read_labelled
from triage.progress import steps
from triage.training import usable_rows

__all__ = ["LabelAudit", "SuspectLabel", "audit_file", "audit_labels", "suspects_from_proba"]


@dataclass(frozen=True, slots=True)
class SuspectLabel:
    """A row whose label looks wrong, with the label the model believes instead."""

    index: int
    given: str
    suggested: str
    given_probability: float
    suggested_probability: float

    @property
    def margin(self) -> float:
        """How much more probable the suggestion is than the given label."""
        return self.suggested_probability - self.given_probability


def suspects_from_proba(
    proba: np.ndarray, labels: Sequence[str] | np.ndarray, classes: Sequence[str] | np.ndarray
) -> list[SuspectLabel]:
    """Suspect rows from out-of-fold ``proba`` (columns in ``classes`` order), largest margin first."""
    classes = np.asarray(classes, dtype=object)
    labels = np.asarray(labels, dtype=object)
    given_index = np.searchsorted(classes, labels)
    thresholds = np.array([proba[labels == c, k].mean() if np.any(labels == c) else 1.0 for k, c in enumerate(classes)])
    rows = np.arange(len(labels))
    given_probability = proba[rows, given_index]
    above = proba >= thresholds
    above[rows, given_index] = False
    suspects = []
    for i in np.flatnonzero((given_probability < thresholds[given_index]) & above.any(axis=1)):
        candidates = np.flatnonzero(above[i])
        best = candidates[np.argmax(proba[i, candidates])]
        suspects.append(
            SuspectLabel(int(i), str(labels[i]), str(classes[best]), float(given_probability[i]), float(proba[i, best]))
        )
    return sorted(suspects, key=lambda s: -s.margin)


def audit_labels(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    progress: bool | None = None,
    template: Boilerplate | None = None,
    **params: Any,
) -> list[SuspectLabel]:
    """Fit a :class:`TriageClassifier` (``params``) and return the rows whose labels look wrong.

    Rows that cannot be cross-validated (no Chinese text, a class seen once) are not audited;
    ``index`` always counts rows of the input. The messages are read as :func:`~triage.training.train`
    learns from them: without the ``template`` they were typed into (:mod:`triage.boilerplate`; ``None``:
    learned from the first of them; ``Boilerplate()``: as written). ``progress`` shows the step under way
    on stderr (``None``: when stderr is a terminal).
    """
    return _audit(texts, labels, progress, template, params)[0]


def _audit(
    texts: Sequence[str],
    labels: Sequence[str],
    progress: bool | None,
    template: Boilerplate | None,
    params: dict[str, Any],
) -> tuple[list[SuspectLabel], Boilerplate]:
    """:func:`audit_labels`' suspects, and the template it cut: learned, when ``template`` is None, from the
    rows audited, as :func:`~triage.training.train` learns it from the rows it trains on."""
    labels_array = np.asarray(labels, dtype=object)
    keep, _ = usable_rows(texts, labels_array, stacklevel=4)  # on the line that called audit_labels or audit_file
    rows = np.flatnonzero(keep)
    audited = [texts[i] for i in rows.tolist()]
    if template is None:
        template = Boilerplate.from_texts(audited)
    with steps("auditing labels", ["fitting cross-validated predictions"], progress=progress) as bar:
        bar.start("fitting cross-validated predictions")
        estimator = TriageClassifier(**params).fit(
            [item.text for item in template.prepared(audited)], labels_array[rows]
        )
    suspects = suspects_from_proba(estimator.oof_proba_, labels_array[rows], estimator.classes_)
    return [replace(s, index=int(rows[s.index])) for s in suspects], template


@dataclass(frozen=True)
class LabelAudit:
    """The suspect rows of a labelled export (:func:`audit_labels`), and the texts they index."""

    suspects: list[SuspectLabel]
    texts: list[str]
    #: The template cut from the messages before auditing them (empty: none was).
    template: Boilerplate


def audit_file(
    path: str | Path,
    labels: LabelOptions,
    *,
    progress: bool | None = None,
    notify: Notify | None = None,
    cut_template: bool = True,
    **params: Any,
) -> LabelAudit:
    """:func:`audit_labels` of the labelled export at ``path``, read as ``labels`` say, on the rows with a
    label (:meth:`~triage.labelled.LabelledRows.labelled`). ``index`` counts the file's rows. ``cut_template``
    as for :func:`~triage.training.train_from_file`."""
    data = read_labelled(path, labels, notify=notify)
    rows = data.labelled()
    texts, given = [data.texts[i] for i in rows], [data.labels[i] for i in rows]
    suspects, template = _audit(texts, given, progress, None if cut_template else Boilerplate(), params)
    return LabelAudit([replace(s, index=rows[s.index]) for s in suspects], data.texts, template)
