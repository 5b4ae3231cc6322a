"""Train a model from labelled texts, measure it on held-out predictions, pick the review threshold."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from triage.adaptation import BASE_SCALE, department_level, fit_with_base, infer_unit_departments
from triage.defaults import DEFAULT_TARGET_PRECISION
from triage.departments import default_directory
from triage.estimator import TriageClassifier
from triage.exceptions import TrainingDataError, TrainingDataWarning
from triage.labelled import LabelledRows, LabelOptions, Notify, read_labelled
from triage.model import TriageModel
from triage.progress import steps
from triage.text import has_chinese, prepare

__all__ = [
    "choose_review_threshold",
    "evaluate_predictions",
    "evaluate_sub_labels",
    "expected_calibration_error",
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


def choose_review_threshold(confidence: np.ndarray, correct: np.ndarray, target_precision: float) -> float:
    """The lowest confidence threshold whose auto-routed messages reach ``target_precision``.

    Messages with confidence at or above the threshold are routed automatically; the rest go
    to review. Returns 1.0 (review everything) when no threshold reaches the target.
    """
    order = np.argsort(-confidence, kind="stable")
    sorted_conf = confidence[order]
    precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    # Only cut between distinct confidence values: ties are routed together.
    last_of_tie = np.r_[sorted_conf[1:] != sorted_conf[:-1], True]
    reaching = np.flatnonzero(last_of_tie & (precision >= target_precision))
    return float(sorted_conf[reaching[-1]]) if reaching.size else 1.0


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Mean gap between confidence and accuracy over equal-width confidence bins, weighted by bin size."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    gaps = [
        abs(confidence[which == b].mean() - correct[which == b].mean()) * np.mean(which == b)
        for b in range(bins)
        if np.any(which == b)
    ]
    return float(np.sum(gaps))


def evaluate_predictions(
    labels: np.ndarray, proba: np.ndarray, classes: np.ndarray, review_threshold: float
) -> dict[str, Any]:
    """Metrics of calibrated probabilities against true labels: accuracy, F1, top-3, calibration, review share."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    labels = np.asarray(labels, dtype=object)
    predicted = classes[np.argmax(proba, axis=1)]
    top3 = classes[np.argsort(-proba, axis=1)[:, :3]]
    confidence = proba.max(axis=1)
    correct = predicted == labels
    automatic = confidence >= review_threshold
    precision, recall, f1, support = precision_recall_fscore_support(labels, predicted, labels=classes, zero_division=0)
    return {
        "n": len(labels),
        "accuracy": float(accuracy_score(labels, predicted)),
        "macro_f1": float(f1_score(labels, predicted, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(labels, predicted, average="weighted", zero_division=0)),
        "top3_accuracy": float(np.mean([label in row for label, row in zip(labels, top3, strict=True)])),
        "expected_calibration_error": expected_calibration_error(confidence, correct),
        "automatic_share": float(automatic.mean()),
        "automatic_precision": float(correct[automatic].mean()) if automatic.any() else None,
        "per_class": {
            str(c): {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for c, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
        },
    }


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
    texts: Sequence[str], labels: Sequence[str], *, n_jobs: int | None = 2, **params: Any
) -> dict[str, Any]:
    """Pick :data:`SEARCH_GRID` parameters by cross-validated macro-F1 (3 folds, fewer for tiny classes).

    ``params`` fix the other :class:`TriageClassifier` parameters during the search.
    """
    from sklearn.model_selection import GridSearchCV

    labels_array = np.asarray(labels, dtype=object)
    folds = min(3, min(Counter(labels_array).values()))
    if folds < 2:
        raise ValueError("a hyperparameter search needs at least 2 examples of every class")
    base = TriageClassifier(**{**params, "calibration_folds": 2})
    grid = {key: values for key, values in SEARCH_GRID.items() if key not in params}
    search = GridSearchCV(base, grid, cv=folds, scoring="f1_macro", n_jobs=n_jobs, refit=False, error_score="raise")
    search.fit(list(texts), labels_array)
    return dict(search.best_params_)


def usable_rows(
    texts: Sequence[str], labels: np.ndarray, *, kind: str = "classes"
) -> tuple[np.ndarray, dict[str, Any]]:
    """Rows worth training on, and what was left out: texts with no Chinese, classes seen once.

    ``kind`` names the classes in the warning (e.g. "(department/sub-label) classes").
    """
    has_text = np.array([has_chinese(prepare(text).text) for text in texts], dtype=bool)
    counts = Counter(labels[has_text])
    single_labels = [label for label, n in counts.items() if n < 2]
    single = sorted(map(str, single_labels))
    keep = has_text & ~np.isin(labels, single_labels)
    rare = {str(label): n for label, n in sorted(Counter(labels[keep]).items()) if n < RARE_CLASS_SIZE}
    report = {"rows_without_chinese_text": int((~has_text).sum()), "classes_left_out": single, "rare_classes": rare}
    findings = [
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
            stacklevel=3,
        )
    return keep, report


def _is_missing(value: Any) -> bool:
    """None, NaN and pandas' NA (whose truth value raises) all mean "no sub-label"."""
    if value is None or type(value).__name__ == "NAType":
        return True
    return isinstance(value, float) and value != value


def sub_label_array(sub_labels: Sequence[Any], n: int) -> np.ndarray:
    """Sub-labels as stripped strings, ``""`` where unknown (None, NaN, empty)."""
    subs = np.array(["" if _is_missing(s) else str(s).strip() for s in sub_labels], dtype=object)
    if len(subs) != n:
        raise ValueError(f"{n} texts but {len(subs)} sub-labels")
    return subs


def evaluate_sub_labels(
    labels: np.ndarray,
    sub_labels: np.ndarray,
    proba: np.ndarray,
    pairs: Sequence[tuple[str, str]],
    description: str = "Sub-label given the true label, from out-of-fold predictions of the training messages.",
) -> dict[str, Any]:
    """Accuracy of the sub-label given the true label: each row's most probable pair among its own
    label's pairs (``pairs`` name the columns of ``proba``), overall and per label, beside the
    majority baseline (always the label's most frequent sub-label). A row whose label has no pairs
    counts as wrong."""
    pair_labels = np.array([label for label, _ in pairs], dtype=object)
    pair_subs = np.array([sub for _, sub in pairs], dtype=object)
    allowed = pair_labels[None, :] == labels[:, None]
    correct = (pair_subs[np.where(allowed, proba, -1.0).argmax(axis=1)] == sub_labels) & allowed.any(axis=1)
    per_label: dict[str, dict[str, Any]] = {}
    for label in np.unique(labels):
        rows = labels == label
        counts = Counter(sub_labels[rows])
        per_label[str(label)] = {
            "n": int(rows.sum()),
            "accuracy": float(correct[rows].mean()),
            "majority_baseline": counts.most_common(1)[0][1] / int(rows.sum()),
            "sub_labels": {str(sub): n for sub, n in sorted(counts.items())},
        }
    return {
        "description": description,
        "n": len(labels),
        "accuracy": float(correct.mean()),
        "majority_baseline": sum(max(row["sub_labels"].values()) for row in per_label.values()) / len(labels),
        "per_label": per_label,
    }


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
            raise ValueError(f"two (label, sub-label) pairs are both written {name!r}; rename one")
    keep, left_out = usable_rows([texts[i] for i in known], classes, kind="(label/sub-label) classes")
    rows = known[keep]
    if len(set(classes[keep])) < 2:
        raise ValueError("sub-labels need at least 2 (label, sub-label) pairs with 2 or more examples each")
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
        raise ValueError(f"unit_departments lacks the units {', '.join(missing[:5])}; map each to a department or None")
    return {unit: (unit_departments[unit] or None, "given") for unit in units}


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
    unit_departments: Mapping[str, str | None] | Literal["auto"] | None = None,
    sample_weight: Sequence[float] | np.ndarray | None = None,
    progress: bool | None = None,
    **params: Any,
) -> TriageModel:
    """Train a :class:`TriageModel` on raw ``texts`` and their department ``labels``.

    The model is fitted once on all data. Its out-of-fold probabilities (each document
    predicted by an SVM not fitted on it) give the cross-validated metrics recorded in the
    manifest and the review threshold: the lowest confidence at which automatically routed
    messages reach ``target_precision``. ``params`` go to :class:`TriageClassifier`;
    ``search=True`` first picks some of them with :func:`search_params`.

    ``sub_labels`` (one per text; ``""`` or ``None`` where unknown) give each message a
    second-level label under its label, e.g. ``"parking"`` under ``property_management``. A
    second classifier, with the same ``params``, is then fitted on the rows that have one, its
    classes the (label, sub-label) pairs (``"label/sub"``; the manifest's ``sub_labels`` list
    them), and the cross-validated accuracy of the sub-label given the true label is recorded
    under ``metrics.cross_validated.sub_labels``. Pairs seen once are left out and rare pairs
    reported as for labels.

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
    editable ``units.csv`` beside itself. Without ``base``, ``unit_departments`` makes the same
    unit-level model from the text alone.

    ``sample_weight`` (one per text) weighs each message in the SVM's loss, e.g.
    :func:`triage.adaptation.recency_weights` of the messages' dates.

    ``progress`` shows the step under way on stderr (``None``: when stderr is a terminal).

    Rows whose text holds no Chinese and classes seen only once are left out, and classes
    with fewer than :data:`RARE_CLASS_SIZE` examples are kept; all three are reported in the
    manifest and by a :class:`~triage.exceptions.TrainingDataWarning`.

    Examples
    --------
    >>> from triage.datasets import load_petitions
    >>> data = load_petitions()
    >>> model = train(data.texts, data.departments)  # doctest: +SKIP
    >>> model.save("my-model")  # doctest: +SKIP
    """
    texts = list(texts)
    labels_array = np.asarray(labels, dtype=object)
    if len(texts) != len(labels_array):
        raise ValueError(f"{len(texts)} texts but {len(labels_array)} labels")
    subs = sub_label_array(sub_labels, len(texts)) if sub_labels is not None else None
    keep, left_out = usable_rows(texts, labels_array)
    texts = [text for text, kept in zip(texts, keep, strict=True) if kept]
    labels_array = labels_array[keep]
    weights = None
    if sample_weight is not None:
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.shape != keep.shape or not (np.isfinite(weights).all() and (weights > 0).all()):
            raise ValueError(f"sample_weight must hold one positive number per text ({len(keep)})")
        weights = weights[keep]
    if base is not None and subs is not None:
        raise ValueError("sub-labels and a base model cannot be combined yet; train without one of them")
    fitting = (
        "fitting the department model (cross-validated)"
        if base is None
        else "fitting the unit model on the base model's scores (cross-validated)"
    )
    step_names = [*["searching hyperparameters"] * search]
    step_names += ["mapping units to departments"] * (base is not None or unit_departments is not None)
    step_names += [fitting, *["fitting the sub-label model"] * (subs is not None)]
    with steps("training", step_names, progress=progress) as bar:
        if search:
            bar.start("searching hyperparameters")
            params = {**params, **search_params(texts, labels_array, **params)}
        if base is not None or unit_departments is not None:
            bar.start("mapping units to departments")
        units = _unit_map(np.unique(labels_array), texts, labels_array, unit_departments, base)
        bar.start(fitting)
        base_scores = None
        if base is None:
            estimator = TriageClassifier(**params).fit(texts, labels_array, sample_weight=weights)
        else:
            prepared = [prepare(text).text for text in texts]
            prior = {unit: department for unit, (department, _) in (units or {}).items()}
            estimator, base_scores, _ = fit_with_base(
                prepared, labels_array, base.scorer, base_scale=base_scale, prior=prior, sample_weight=weights, **params
            )
        proba = estimator.oof_proba_
        correct = estimator.classes_[np.argmax(proba, axis=1)] == labels_array
        threshold = choose_review_threshold(proba.max(axis=1), correct, target_precision)
        cross_validated = evaluate_predictions(labels_array, proba, estimator.classes_, threshold)
        names = dict(label_names or {})
        directory = default_directory()
        manifest: dict[str, Any] = {
            "labels": [
                {"code": str(c), "name": names.get(str(c), directory.display_name(str(c)))} for c in estimator.classes_
            ],
            "review_threshold": threshold,
            "target_precision": target_precision,
            "training_data": {"n_documents": len(labels_array), **left_out, **(training_data or {})},
            "metrics": {"cross_validated": cross_validated},
            "params": {k: list(v) if isinstance(v, tuple) else v for k, v in estimator.get_params().items()},
        }
        if base is not None:
            manifest["params"]["base"] = {
                "model": str(base.path) if base.path is not None else "in memory",
                "scale": base_scale,
                "classes": base.classes_,
            }
        sub_estimator = None
        if subs is not None:
            bar.start("fitting the sub-label model")
            sub_estimator, sub = _train_sub_labels(texts, labels_array, subs[keep], params)
            manifest["sub_labels"] = sub["sub_labels"]
            manifest["training_data"]["sub_labels"] = sub["training_data"]
            cross_validated["sub_labels"] = sub["metrics"]
        model = TriageModel.from_estimator(
            estimator, manifest, sub_estimator=sub_estimator, base_scores=base_scores, units=units
        )
        if units is not None:
            cross_validated["department_level"] = department_level(model, proba, labels_array)
    return model


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
    description. ``output`` is checked before any data is read: it must not exist unless
    ``overwrite`` (and then be a model directory).
    """
    from triage.adaptation import read_unit_csv, train_on_history
    from triage.departments import load_directory
    from triage.model import load
    from triage.persistence import check_model_destination

    if (half_life_days is not None or since is not None) and date_column is None:
        raise ValueError("half_life_days and since read the messages' dates: give date_column too")
    if report_dir is not None and held_out is None:
        raise ValueError("report_dir describes held-out rows: give held_out too")
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
    keep = np.array([bool(label) for label in data.labels])
    share = None if isinstance(held_out, str) else held_out
    try:
        test = held_out_rows(data.labels, keep, split=data.other.get("split"), test_size=share)
    except ValueError as error:  # scikit-learn's stratified split refuses classes too small to split
        raise TrainingDataError(f"cannot hold out {share} of the rows label by label: {error}") from None
    rows = np.flatnonzero(keep & ~test)
    fit = {
        "sub_labels": [data.sub_labels[i] for i in rows] if data.sub_labels is not None else None,
        "base": base,
        "unit_departments": unit_departments,
        "progress": progress,
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
    _record_held_out(model, data, np.flatnonzero(keep & test), f"Held-out rows of {name}.", report_dir, progress)
    model.save(output, overwrite=overwrite, include_estimator=include_estimator)
    return model


def _record_held_out(
    model: TriageModel,
    data: LabelledRows,
    rows: np.ndarray,
    description: str,
    report_dir: str | Path | None,
    progress: bool | None,
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
    )
    result["description"] = description
    model.manifest["metrics"]["held_out"] = {k: v for k, v in result.items() if k != "precision_coverage"}
