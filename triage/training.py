"""Train a model from labelled texts, measure it on held-out predictions, pick the review threshold."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np

from triage.adaptation import (
    AREA_BOOST,
    BASE_SCALE,
    BaseScores,
    UnitAreas,
    department_level,
    fit_with_base,
    infer_unit_departments,
)
from triage.boilerplate import Boilerplate
from triage.defaults import DEFAULT_TARGET_PRECISION
from triage.departments import default_directory
from triage.estimator import TriageClassifier
from triage.exceptions import TrainingDataError, TrainingDataWarning
from triage.labelled import LabelledRows, LabelOptions, Notify, given_labels, is_missing, read_labelled

# the metrics moved to triage.metrics; importable from here as before
from triage.metrics import (
    choose_review_threshold,
    evaluate_predictions,
    evaluate_sub_labels,
    expected_calibration_error,  # noqa: F401
)
from triage.model import TriageModel
from triage.progress import steps
from triage.text import has_chinese, prepare, prepared_texts

__all__ = [
    "held_out_rows",
    "refine_labels",
    "search_params",
    "train",
    "train_from_file",
]

#: Classes with fewer examples are trained but reported: their metrics mean little.
RARE_CLASS_SIZE = 5
#: The grid ``search_params`` explores; small enough for a laptop (about 3 minutes for 6,000 messages).
SEARCH_GRID = {"C": [0.25, 0.5, 1.0], "char_ngram_range": [(1, 3), (2, 4)]}


def refine_labels(
    estimator: TriageClassifier,
    texts: Sequence[str],
    coarse_labels: Sequence[str],
    allowed: Mapping[str, Collection[str]],
) -> np.ndarray:
    """Turn coarse labels into fine ones: for each text, the most probable fine label its coarse label allows.

    Analysts' exports often carry a coarser taxonomy than the departments (a topic such as
    城乡建设 spans housing, property, urban management, water, ...). A model trained on fine
    labels picks the department within the topic; the topic itself is never overridden.

    Raises ``ValueError`` when a coarse label allows no label the estimator knows.
    """
    classes = estimator.classes_
    known = {coarse: np.isin(classes, list(fine)) for coarse, fine in allowed.items()}
    missing = sorted({c for c in coarse_labels if not known.get(c, np.zeros(1, bool)).any()})
    if missing:
        raise ValueError(f"no known fine label is allowed for: {', '.join(map(str, missing))}")
    mask = np.array([known[c] for c in coarse_labels])
    proba = estimator.predict_proba(texts)
    return classes[np.where(mask, proba, -1.0).argmax(axis=1)]


def held_out_rows(
    labels: Sequence[str],
    usable: np.ndarray,
    *,
    split: Sequence[str] | None = None,
    test_size: float | None = None,
    random_state: int = 0,
) -> np.ndarray:
    """A boolean mask of the rows to hold out for testing.

    ``split`` names each row's part (``"test"``, any case and spacing, is held out: an export's
    own split column); else ``test_size`` holds out that share of the ``usable`` rows, stratified
    by label; else nothing is held out.
    """
    if split is not None:
        return np.array([str(part).strip().lower() == "test" for part in split], dtype=bool)
    if not test_size:
        return np.zeros(len(labels), dtype=bool)
    from sklearn.model_selection import train_test_split

    candidates = np.flatnonzero(usable)
    _, held = train_test_split(
        candidates,
        test_size=test_size,
        random_state=random_state,
        stratify=np.asarray(labels, dtype=object)[candidates],
    )
    return np.isin(np.arange(len(labels)), held)


def search_params(
    texts: Sequence[str], labels: Sequence[str] | np.ndarray, *, n_jobs: int | None = 2, **params: Any
) -> dict[str, Any]:
    """Pick :data:`SEARCH_GRID` parameters by cross-validated macro-F1 (3 folds, fewer for tiny classes).

    ``params`` fix the other :class:`TriageClassifier` parameters during the search.
    """
    from sklearn.model_selection import GridSearchCV

    labels_array = np.asarray(labels, dtype=object)
    folds = min(3, min(Counter(labels_array).values()))
    if folds < 2:
        raise TrainingDataError("a hyperparameter search needs at least 2 examples of every class")
    base = TriageClassifier(**{**params, "calibration_folds": 2})
    grid = {key: values for key, values in SEARCH_GRID.items() if key not in params}
    search = GridSearchCV(base, grid, cv=folds, scoring="f1_macro", n_jobs=n_jobs, refit=False, error_score="raise")
    search.fit(list(texts), labels_array)
    return dict(search.best_params_)


def usable_rows(
    texts: Sequence[str], labels: np.ndarray, *, kind: str = "classes", stacklevel: int = 3
) -> tuple[np.ndarray, dict[str, Any]]:
    """Rows worth training on, and what was left out: rows without a label (``""``, None, NaN), texts with no
    Chinese, classes seen once. A text or a label that is neither text nor missing raises ``TypeError``.

    ``kind`` names the classes in the warning (e.g. "(department/sub-label) classes");
    ``stacklevel`` points it at the caller's caller by default, as ``warnings.warn`` counts.
    """
    has_text = np.array([has_chinese(text) for text in prepared_texts(texts)], dtype=bool)
    labelled = given_labels(labels)
    counts = Counter(labels[has_text & labelled])
    single = sorted(str(label) for label, n in counts.items() if n < 2)
    usable = has_text & labelled
    keep = np.array([ok and counts[label] >= 2 for label, ok in zip(labels, usable, strict=True)], dtype=bool)
    rare = {str(label): n for label, n in sorted(Counter(labels[keep]).items()) if n < RARE_CLASS_SIZE}
    report = {
        "rows_without_label": int((~labelled).sum()),
        "rows_without_chinese_text": int((labelled & ~has_text).sum()),
        "classes_left_out": single,
        "rare_classes": rare,
    }
    findings = [
        f"{report['rows_without_label']} rows without a label left out" if report["rows_without_label"] else "",
        f"{report['rows_without_chinese_text']} rows without Chinese text left out"
        if report["rows_without_chinese_text"]
        else "",
        f"{kind} seen once left out: {single}" if single else "",
        f"{kind} with fewer than {RARE_CLASS_SIZE} examples (kept, weakly learned): {rare}" if rare else "",
    ]
    if any(findings):
        warnings.warn(
            "; ".join(finding for finding in findings if finding),
            TrainingDataWarning,
            stacklevel=stacklevel,
        )
    return keep, report


def sub_label_array(sub_labels: Sequence[Any], n: int) -> np.ndarray:
    """Sub-labels as stripped strings, ``""`` where unknown (None, NaN, empty)."""
    subs = np.array(["" if is_missing(s) else str(s).strip() for s in sub_labels], dtype=object)
    if len(subs) != n:
        raise ValueError(f"{n} texts but {len(subs)} sub-labels")
    return subs


def _train_sub_labels(
    texts: list[str], labels: np.ndarray, sub_labels: np.ndarray, params: Mapping[str, Any]
) -> tuple[TriageClassifier, dict[str, Any]]:
    """Fit the second-level classifier over (label, sub-label) pairs; return it and its manifest entries."""
    known = np.flatnonzero(sub_labels != "")
    classes = np.array(
        [f"{label}/{sub}" for label, sub in zip(labels[known], sub_labels[known], strict=True)], dtype=object
    )
    pair_of: dict[str, tuple[str, str]] = {}
    for name, label, sub in set(zip(classes, labels[known], sub_labels[known], strict=True)):
        if pair_of.setdefault(str(name), (str(label), str(sub))) != (str(label), str(sub)):
            raise TrainingDataError(f"two (label, sub-label) pairs are both written {name!r}; rename one")
    keep, left_out = usable_rows([texts[i] for i in known], classes, kind="(label/sub-label) classes")
    rows = known[keep]
    if len(set(classes[keep])) < 2:
        raise TrainingDataError("sub-labels need at least 2 (label, sub-label) pairs with 2 or more examples each")
    estimator = TriageClassifier(**params).fit([texts[i] for i in rows], classes[keep])
    pairs = [pair_of[str(name)] for name in estimator.classes_]
    return estimator, {
        "sub_labels": [
            {"class": str(name), "label": label, "sub_label": sub}
            for name, (label, sub) in zip(estimator.classes_, pairs, strict=True)
        ],
        "training_data": {"n_documents": len(rows), "rows_without_sub_label": len(labels) - len(known), **left_out},
        "metrics": evaluate_sub_labels(labels[rows], sub_labels[rows], estimator.oof_proba_, pairs),
    }


def _unit_map(
    classes: np.ndarray,
    texts: list[str],
    labels: np.ndarray,
    unit_departments: Mapping[str, str | None] | Literal["auto"] | None,
    base: TriageModel | None,
) -> dict[str, tuple[str | None, str]] | None:
    """The unit → (department, source) map of a unit-level model, or None for a department model."""
    units = [str(c) for c in classes]
    if unit_departments is None and base is None:
        return None
    if unit_departments is None or unit_departments == "auto":
        # the base model's view of each unit's own training messages fills in names it cannot read
        if base is None:
            return infer_unit_departments(units)
        return infer_unit_departments(
            units, base_proba=base.predict_proba(texts), base_classes=base.classes_, message_units=list(labels)
        )
    if isinstance(unit_departments, str):
        raise ValueError(f"unit_departments must be a mapping, 'auto' or None, got {unit_departments!r}")
    missing = sorted(set(units) - set(unit_departments))
    if missing:
        raise TrainingDataError(
            f"unit_departments lacks the units {', '.join(missing[:5])}; map each to a department or None"
        )
    return {unit: (unit_departments[unit] or None, "given") for unit in units}


_SEARCH_STEP = "searching hyperparameters"
_UNIT_STEP = "mapping units to departments"
_SUB_LABEL_STEP = "fitting the sub-label model"


class _TrainingRows(NamedTuple):
    """The rows worth training on (:func:`usable_rows`), and what was left out."""

    texts: list[str]
    labels: np.ndarray
    sub_labels: np.ndarray | None
    weights: np.ndarray | None
    left_out: dict[str, Any]


def _training_rows(
    texts: Sequence[str],
    labels: Sequence[str],
    sub_labels: Sequence[str | None] | None,
    sample_weight: Sequence[float] | np.ndarray | None,
    base: TriageModel | None,
) -> _TrainingRows:
    """:func:`train`'s arguments checked, and the rows worth training on kept."""
    texts = list(texts)
    labels_array = np.asarray(labels, dtype=object)
    if len(texts) != len(labels_array):
        raise ValueError(f"{len(texts)} texts but {len(labels_array)} labels")
    subs = sub_label_array(sub_labels, len(texts)) if sub_labels is not None else None
    keep, left_out = usable_rows(texts, labels_array, stacklevel=4)
    weights = None
    if sample_weight is not None:
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.shape != keep.shape or not (np.isfinite(weights).all() and (weights > 0).all()):
            raise ValueError(f"sample_weight must hold one positive number per text ({len(keep)})")
        weights = weights[keep]
    if base is not None and subs is not None:
        raise TrainingDataError("sub-labels and a base model cannot be combined yet; train without one of them")
    return _TrainingRows(
        texts=[text for text, kept in zip(texts, keep, strict=True) if kept],
        labels=labels_array[keep],
        sub_labels=subs[keep] if subs is not None else None,
        weights=weights,
        left_out=left_out,
    )


def _fitting_step(base: TriageModel | None) -> str:
    if base is None:
        return "fitting the department model (cross-validated)"
    return "fitting the unit model on the base model's scores (cross-validated)"


def _step_names(
    rows: _TrainingRows,
    search: bool,
    base: TriageModel | None,
    unit_departments: Mapping[str, str | None] | Literal["auto"] | None,
) -> list[str]:
    """The steps :func:`train` will show, in order."""
    names = [_SEARCH_STEP] * search + [_UNIT_STEP] * (base is not None or unit_departments is not None)
    return [*names, _fitting_step(base), *[_SUB_LABEL_STEP] * (rows.sub_labels is not None)]


def _fit_labels(
    rows: _TrainingRows,
    units: dict[str, tuple[str | None, str]] | None,
    base: TriageModel | None,
    base_scale: float,
    area_boost: float,
    params: Mapping[str, Any],
) -> tuple[TriageClassifier, BaseScores | None]:
    """The estimator of the labels, on the text alone or stacked on ``base``'s scores (with those
    scores; the units' areas, :class:`~triage.adaptation.UnitAreas`, in its out-of-fold probabilities)."""
    if base is None:
        return TriageClassifier(**params).fit(rows.texts, rows.labels, sample_weight=rows.weights), None
    prepared = [prepare(text).text for text in rows.texts]
    if not 0 <= area_boost < np.inf:
        raise ValueError(f"area_boost must be a number of 0 or more, got {area_boost}")
    prior = {unit: department for unit, (department, _) in (units or {}).items()}
    areas = UnitAreas.from_units(np.unique(rows.labels).tolist(), units, area_boost) if units else None
    estimator, base_scores, _ = fit_with_base(
        prepared,
        rows.labels,
        base.scorer,
        base_scale=base_scale,
        prior=prior,
        areas=areas,
        sample_weight=rows.weights,
        **params,
    )
    return estimator, base_scores


def _manifest(
    estimator: TriageClassifier,
    rows: _TrainingRows,
    target_precision: float,
    label_names: Mapping[str, str] | None,
    training_data: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The manifest of a freshly fitted estimator: labels, the review threshold reaching
    ``target_precision`` on out-of-fold predictions, those predictions' metrics, data, parameters."""
    proba = estimator.oof_proba_
    correct = estimator.classes_[np.argmax(proba, axis=1)] == rows.labels
    threshold = choose_review_threshold(proba.max(axis=1), correct, target_precision)
    names = dict(label_names or {})
    directory = default_directory()
    return {
        "labels": [
            {"code": str(c), "name": names.get(str(c), directory.display_name(str(c)))} for c in estimator.classes_
        ],
        "review_threshold": threshold,
        "target_precision": target_precision,
        "training_data": {"n_documents": len(rows.labels), **rows.left_out, **(training_data or {})},
        "metrics": {"cross_validated": evaluate_predictions(rows.labels, proba, estimator.classes_, threshold)},
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in estimator.get_params().items()},
    }


def _base_record(base: TriageModel, base_scale: float, area_boost: float) -> dict[str, Any]:
    """What the manifest's parameters say of the base model a unit model was stacked on (and of
    the boost its units' areas get, which the model reads back when it answers)."""
    return {
        "model": str(base.path) if base.path is not None else "in memory",
        "scale": base_scale,
        "classes": base.classes_,
        "area_boost": area_boost,
    }


def _fit_sub_label_model(
    rows: _TrainingRows, sub_labels: np.ndarray, params: Mapping[str, Any], manifest: dict[str, Any]
) -> TriageClassifier:
    """The sub-label estimator of the kept rows' ``sub_labels``; its pairs, data and metrics go into ``manifest``."""
    sub_estimator, sub = _train_sub_labels(rows.texts, rows.labels, sub_labels, params)
    manifest["sub_labels"] = sub["sub_labels"]
    manifest["training_data"]["sub_labels"] = sub["training_data"]
    manifest["metrics"]["cross_validated"]["sub_labels"] = sub["metrics"]
    return sub_estimator


def _model(
    estimator: TriageClassifier,
    manifest: dict[str, Any],
    rows: _TrainingRows,
    **parts: Any,
) -> TriageModel:
    """The model of the fitted estimators; a unit-level model's metrics also at department level."""
    model = TriageModel.from_estimator(estimator, manifest, **parts)
    if parts["units"] is not None:
        cross_validated = manifest["metrics"]["cross_validated"]
        cross_validated["department_level"] = department_level(model, estimator.oof_proba_, rows.labels)
    return model


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    sub_labels: Sequence[str | None] | None = None,
    target_precision: float = DEFAULT_TARGET_PRECISION,
    label_names: Mapping[str, str] | None = None,
    training_data: Mapping[str, Any] | None = None,
    search: bool = False,
    base: TriageModel | None = None,
    base_scale: float = BASE_SCALE,
    area_boost: float = AREA_BOOST,
    unit_departments: Mapping[str, str | None] | Literal["auto"] | None = None,
    sample_weight: Sequence[float] | np.ndarray | None = None,
    cut_template: bool = True,
    progress: bool | None = None,
    **params: Any,
) -> TriageModel:
    """Train a :class:`TriageModel` on raw ``texts`` and their department ``labels``.

    The model is fitted once on all data. Its out-of-fold probabilities (each document predicted by
    an SVM not fitted on it) give the cross-validated metrics recorded in the manifest and the review
    threshold: the lowest confidence at which automatically routed messages reach
    ``target_precision``. ``params`` go to :class:`TriageClassifier`; ``search=True`` first picks
    some of them with :func:`search_params`.

    ``sub_labels`` (one per text; ``""`` or ``None`` where unknown) give each message a second-level
    label under its label, e.g. ``"parking"`` under ``property_management``. A second classifier,
    with the same ``params``, is then fitted on the rows that have one, its classes the (label,
    sub-label) pairs (``"label/sub"``; the manifest's ``sub_labels`` list them), and the
    cross-validated accuracy of the sub-label given the true label is recorded under
    ``metrics.cross_validated.sub_labels``. Pairs seen once are left out, rare pairs reported.

    ``base`` (e.g. ``triage.load()``) adapts what a trained model knows to the deployment's own
    ``labels``, whatever they are (its units: 住房保障局, 供热办, 向阳区 ...): the base model's
    calibrated scores, times ``base_scale``, are stacked beside the TF-IDF features, each unit's own
    department's score made cheaper to use for that unit (a prior from the unit map below;
    :func:`triage.adaptation.fit_with_base`), and the saved model computes them again when it
    answers. Its labels are then taken as units with departments: ``unit_departments`` maps each to
    its department (``None``: none, e.g. a general hub); ``"auto"`` (the default with ``base``) reads
    the department from the unit's name (:meth:`~triage.departments.DepartmentDirectory.match_unit`)
    or, failing that, takes the one the base model gives the unit's messages. The model then answers
    ``result.unit`` and ``result.department`` (the unit's department) and writes the map as an
    editable ``units.csv`` beside itself. The local governments in that map (向阳区, 甘井子区人民政府)
    name the city's areas: a message naming an area adds ``area_boost`` to the logits of that area's
    units (:class:`triage.adaptation.UnitAreas`; 0 turns it off). Without ``base``,
    ``unit_departments`` makes the same unit-level model from the text alone.

    ``sample_weight`` (one per text) weighs each message in the SVM's loss, e.g.
    :func:`triage.adaptation.recency_weights` of the messages' dates. ``progress`` shows the step
    under way on stderr (``None``: when stderr is a terminal).

    Messages typed into one template (a 12345 centre's ``市民来电反映：…请相关部门尽快核实处理并回复市民。``)
    are learned from without it: the template is learned from the first training messages
    (:mod:`triage.boilerplate`; at least 100 are needed), cut from every one, and kept in the manifest's
    ``template``, so the model cuts it from every message it classifies, routes or tags
    (:attr:`TriageModel.template`). Its words are in every class and teach nothing.
    ``cut_template=False`` learns from the messages as written and keeps no template.

    Rows whose text holds no Chinese and classes seen only once are left out, and classes with fewer
    than :data:`RARE_CLASS_SIZE` examples are kept; all three are reported in the manifest and by a
    :class:`~triage.exceptions.TrainingDataWarning`.

    Examples
    --------
    >>> from triage.datasets import load_petitions
    >>> data = load_petitions()
    >>> model = train(data.texts, data.departments)  # doctest: +SKIP
    >>> model.save("my-model")  # doctest: +SKIP
    """
    rows = _training_rows(texts, labels, sub_labels, sample_weight, base)
    template = Boilerplate.from_texts(rows.texts) if cut_template else Boilerplate()
    if template:
        rows = rows._replace(texts=[item.text for item in template.prepared(rows.texts)])
    with steps("training", _step_names(rows, search, base, unit_departments), progress=progress) as bar:
        if search:
            bar.start(_SEARCH_STEP)
            params = {**params, **search_params(rows.texts, rows.labels, **params)}
        if base is not None or unit_departments is not None:
            bar.start(_UNIT_STEP)
        units = _unit_map(np.unique(rows.labels), rows.texts, rows.labels, unit_departments, base)
        bar.start(_fitting_step(base))
        estimator, base_scores = _fit_labels(rows, units, base, base_scale, area_boost, params)
        manifest = _manifest(estimator, rows, target_precision, label_names, training_data)
        if template:
            manifest["template"] = template.record()
        if base is not None:
            manifest["params"]["base"] = _base_record(base, base_scale, area_boost)
        sub_estimator = None
        if rows.sub_labels is not None:
            bar.start(_SUB_LABEL_STEP)
            sub_estimator = _fit_sub_label_model(rows, rows.sub_labels, params, manifest)
        return _model(estimator, manifest, rows, sub_estimator=sub_estimator, base_scores=base_scores, units=units)


def train_from_file(
    path: str | Path,
    output: str | Path,
    labels: LabelOptions,
    *,
    held_out: str | float | None = None,
    report_dir: str | Path | None = None,
    date_column: str | None = None,
    half_life_days: float | None = None,
    since: str | None = None,
    base: TriageModel | str | Path | None = None,
    unit_departments: str | Path | Mapping[str, str | None] | None = None,
    name: str | None = None,
    description: str | None = None,
    overwrite: bool = False,
    include_estimator: bool = False,
    cut_template: bool = True,
    progress: bool | None = None,
    notify: Notify | None = None,
    **train_params: Any,
) -> TriageModel:
    """Train on the labelled export at ``path`` (read as ``labels`` say), measure on held-out rows,
    and save the model with its card at ``output``; return it.

    ``held_out`` holds rows out for evaluation: a column name (rows whose value is ``test``) or a
    share of the rows (stratified, seed 0); their metrics are recorded under ``metrics.held_out``
    and, with ``report_dir``, written there as an evaluation report. With a ``date_column``,
    ``half_life_days`` weighs messages by age (:func:`triage.adaptation.recency_weights`) and
    ``since`` (``YYYY-MM-DD``) trains only on messages dated then or later
    (:func:`triage.adaptation.rows_since`): units are renamed and merged over the years.
    ``base`` is a model (or model directory) to start from, ``unit_departments`` a mapping or a
    ``unit,department`` CSV; see :func:`train`, which receives ``train_params`` (``search``,
    ``target_precision``, ``n_jobs``, ...). Rows without a label are left out. ``name`` is how the
    card names the export (default: its file name), ``description`` the card's training data
    description. ``cut_template`` as for :func:`train`, and for the held-out rows as for
    :func:`triage.evaluation.evaluate`. ``output`` is checked before any data is read: it must not exist unless
    ``overwrite`` (and then be a model directory).
    """
    from triage.adaptation import read_unit_csv, train_on_history
    from triage.departments import load_directory
    from triage.evaluation import check_report_dir
    from triage.model import load
    from triage.persistence import check_model_destination

    if (half_life_days is not None or since is not None) and date_column is None:
        raise ValueError("half_life_days and since read the messages' dates: give date_column too")
    if report_dir is not None and held_out is None:
        raise ValueError("report_dir describes held-out rows: give held_out too")
    check_report_dir(report_dir)
    if (base is not None or unit_departments is not None) and labels.labels_are != "departments":
        raise ValueError("base and unit_departments train on the labels as they are: use labels_are='departments'")
    output, name = Path(output), name or Path(path).name
    check_model_destination(output, overwrite=overwrite)
    if isinstance(unit_departments, (str, Path)):
        unit_departments = {unit: d for unit, (d, _) in read_unit_csv(Path(unit_departments)).items()}
    base = load(base) if isinstance(base, (str, Path)) else base
    split = held_out if isinstance(held_out, str) else None
    columns = {"split": split, "date": date_column}
    data = read_labelled(path, labels, other_columns=columns, min_departments=2, notify=notify)
    directory = load_directory(labels.departments)
    keep, test = _labelled_and_held_out(data, held_out)
    rows = np.flatnonzero(keep & ~test)
    fit = {
        "sub_labels": [data.sub_labels[i] for i in rows] if data.sub_labels is not None else None,
        "base": base,
        "unit_departments": unit_departments,
        "progress": progress,
        "cut_template": cut_template,
        "label_names": {code: directory.display_name(code) for code in set(data.labels)},
        "training_data": {
            "name": output.name,
            "description": description or f"Trained on {name}.",
            "sources": [f"{name}: {len(rows)} rows"],
        },
        **train_params,
    }
    texts, targets = [data.texts[i] for i in rows], [data.labels[i] for i in rows]
    if date_column is None:
        model = train(texts, targets, **fit)
    else:
        dates = [data.other["date"][i] for i in rows]
        model = train_on_history(texts, targets, dates, since=since, half_life_days=half_life_days, **fit)
    held = np.flatnonzero(keep & test)
    _record_held_out(model, data, held, f"Held-out rows of {name}.", report_dir, progress, cut_template)
    model.save(output, overwrite=overwrite, include_estimator=include_estimator)
    return model


def _labelled_and_held_out(data: LabelledRows, held_out: str | float | None) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the rows with a label and of those held out (see :func:`train_from_file`)."""
    keep = np.zeros(len(data.labels), dtype=bool)
    keep[data.labelled()] = True
    share = None if isinstance(held_out, str) else held_out
    try:
        test = held_out_rows(data.labels, keep, split=data.other.get("split"), test_size=share)
    except ValueError as error:  # scikit-learn's stratified split refuses classes too small to split
        raise TrainingDataError(f"cannot hold out {share} of the rows label by label: {error}") from None
    return keep, test


def _record_held_out(
    model: TriageModel,
    data: LabelledRows,
    rows: np.ndarray,
    description: str,
    report_dir: str | Path | None,
    progress: bool | None,
    cut_template: bool,
) -> None:
    """Measure ``model`` on the held-out ``rows`` (if any) and record the result in its manifest."""
    from triage.evaluation import evaluate

    if not rows.size:
        return
    result = evaluate(
        model,
        [data.texts[i] for i in rows],
        [data.labels[i] for i in rows],
        sub_labels=[data.sub_labels[i] for i in rows] if data.sub_labels is not None else None,
        report_dir=report_dir,
        progress=progress,
        cut_template=cut_template,
    )
    result["description"] = description
    model.manifest["metrics"]["held_out"] = {k: v for k, v in result.items() if k != "precision_coverage"}
