"""Learn a deployment's own labels (its units) from its history, starting from a base model.

A city routes to its own units (住房保障局, 供热办, a district government ...), not to triage's
departments, and a liaison station has a few hundred past cases at most. :func:`fit_with_base`
fits those labels on the deployment's own TF-IDF features with the base model's department scores
stacked beside them (scaled by ``base_scale``), so the few labels only have to say which
department scores lead to which unit and which local words matter. Where a unit's department is
known (its name, :func:`infer_unit_departments`), that department's score is made cheaper to use
for the unit's SVM (``prior_boost``): a prior the data can overrule.

At serving time the base scores are computed again: :class:`BaseScores` holds the base model's
scorer and the learned weights of its scores, and adds them to the own scorer's logits. Both
scorers read the same segmented text (segmenting is the costly part of featurising). The base
scores are not folded into the own weights: they are linear in the base model's TF-IDF features,
not in the deployment's (different vocabulary and IDF, and L2 norms over another vocabulary).

The unit → department map (:func:`infer_unit_departments`, a ``units.csv`` beside the model) lets
a unit-level model answer at department level too. It also says which units are local governments
(向阳区, 甘井子区人民政府); their names name the areas (districts, counties) of the city, and a
message that names an area makes that area's units likelier (:class:`UnitAreas`): whether a
district or a city bureau answers is practice the text model learns, but which district is where
the thing is.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from triage.archives import read_npy, read_regular_file
from triage.exceptions import ModelIntegrityError, TrainingDataError

if TYPE_CHECKING:
    from scipy import sparse

    from triage.departments import DepartmentDirectory
    from triage.estimator import TriageClassifier
    from triage.model import TriageModel
    from triage.scoring import LinearScorer

__all__ = [
    "AREA_BOOST",
    "BASE_SCALE",
    "UNIT_MAP_FILE",
    "BaseScores",
    "UnitAreas",
    "department_level",
    "fit_with_base",
    "infer_unit_departments",
    "read_unit_csv",
    "read_unit_map",
    "recency_weights",
    "rows_since",
    "train_on_history",
    "unit_map_bytes",
    "write_unit_map",
]

#: Multiplies the base model's logits (calibrated scores, about -10 … 5) before they join the
#: TF-IDF features (two L2-normalised blocks). In a first trial on jiamusi's first 100 / 300
#: messages (time-ordered test), 0.03 and 0.1 were within 0.015 top-1 of each other, 0.3 about 0.05
#: worse; with the prior below, 0.1 gave 0.533 / 0.623 against 0.522 / 0.625 for 0.05.
BASE_SCALE = 0.05
#: The editable unit → department map written beside a unit-level model.
UNIT_MAP_FILE = "units.csv"
#: Largest ``units.csv`` a model load reads (a unit and a department code per row: ample for any city).
MAX_UNIT_MAP_BYTES = 16 << 20
#: How much cheaper a unit's own department's base score is for its SVM (see ``fit_with_base``).
#: jiamusi, base without the board, top-1 / top-3 at 100 training messages: boost 1 0.441 / 0.658,
#: 3 0.522 / 0.706, 10 0.525 / 0.715; at 300: 0.604 / 0.721, 0.625 / 0.766, 0.619 / 0.781.
PRIOR_BOOST = 3.0
BASE_SCORER_FILE = "base_scorer.npz"
BASE_WEIGHTS_FILE = "base_weights.npy"
#: What a message naming a unit's area (its district or county) adds to that unit's logit, after the
#: temperature (×e² its odds). Chosen on the last fifth of the training part of the time-ordered
#: split (benchmarks/adaptation_curve.py's boards), base model, top-1 / top-3 without → with:
#: jiamusi first 300 0.587 / 0.740 → 0.595 / 0.768, all 0.672 / 0.852 → 0.684 / 0.856; dalian first
#: 300 0.339 / 0.410 → 0.341 / 0.425, all 0.477 / 0.704 → 0.490 / 0.711 (1.5: +0.006, +0.012,
#: +0.004, +0.005 top-1; 3: jiamusi 300 and dalian 300 worse). Learning which unit handled past
#: messages naming an estate or road, or the area such places lie in, added nothing over this. On the
#: test part (benchmarks/adaptation_curve.py, boost 0 → 2): jiamusi 300 0.624 / 0.766 → 0.625 / 0.777,
#: all 0.714 / 0.870 → 0.711 / 0.870; dalian 300 0.126 / 0.223 → 0.142 / 0.245, all 0.382 / 0.617 →
#: 0.396 / 0.622.
AREA_BOOST = 2.0
#: A unit whose name names no department gets the base model's department when, averaged over the
#: unit's training messages, the base model gives it at least this probability.
UNIT_MAP_MIN_PROBABILITY = 0.5


@dataclass(frozen=True)
class BaseScores:
    """The base model's part of an adapted model: its scorer and the weights of its logits.

    ``weights`` has one row per class of the adapted model and one column per base class, already
    multiplied by the base scale; its product with the base logits is added to the adapted
    model's SVM scores before its temperature.
    """

    scorer: LinearScorer
    weights: np.ndarray

    def __post_init__(self) -> None:
        if self.weights.ndim != 2 or self.weights.shape[1] != len(self.scorer.classes):
            raise ModelIntegrityError(
                f"base weights of shape {self.weights.shape} do not match a base model of "
                f"{len(self.scorer.classes)} classes; retrain the model"
            )
        if not np.isfinite(self.weights).all():
            raise ModelIntegrityError("the base weights hold NaN or infinite values; retrain the model")

    def scores(self, texts: Sequence[str], tokens: list[list[str]]) -> np.ndarray:
        """What the base adds to each prepared text's SVM scores (before the temperature)."""
        return self.scorer.logits(self.scorer.transform_prepared(texts, tokens)) @ self.weights.T.astype(np.float64)

    def files(self) -> dict[str, bytes]:
        """The two files saved with the model (hashed with its other files): the base scorer in the
        compact layout every scorer is saved in, and the weights as a float32 ``.npy``."""
        weights = io.BytesIO()
        np.save(weights, self.weights.astype(np.float32), allow_pickle=False)
        return {BASE_SCORER_FILE: self.scorer.to_bytes(), BASE_WEIGHTS_FILE: weights.getvalue()}

    @classmethod
    def from_files(cls, contents: Mapping[str, bytes], n_classes: int, directory: Path) -> BaseScores:
        """Read the two files from the bytes a load hashed (``contents``: file name → bytes), every
        array's size checked before it is expanded; ``n_classes`` is the adapted model's."""
        from triage.scoring import MAX_SCORER_BYTES, LinearScorer

        try:
            scorer = LinearScorer.from_bytes(contents[BASE_SCORER_FILE], source=str(directory / BASE_SCORER_FILE))
            weights = read_npy(
                contents[BASE_WEIGHTS_FILE], max_bytes=MAX_SCORER_BYTES, source=str(directory / BASE_WEIGHTS_FILE)
            )
        except ValueError as error:
            raise ModelIntegrityError(f"{error}; the base model's part is unreadable: retrain the model") from None
        if weights.dtype != np.float32 or weights.shape[:1] != (n_classes,):
            raise ModelIntegrityError(
                f"{directory / BASE_WEIGHTS_FILE} holds {weights.dtype} {weights.shape}, expected float32 with "
                f"{n_classes} rows; retrain the model"
            )
        return cls(scorer, weights)


# The area at the front of a unit's name: 甘井子区 of 甘井子区城建局, 金普新区 of 金普新区管理委员会,
# the whole of 向阳区 or 郊区
_AREA_PREFIX = re.compile(r"^.{1,4}?(?:新区|区|县|市)")


@dataclass(frozen=True)
class UnitAreas:
    """The areas (districts, counties) a unit-level model's units belong to, read off the names of
    its local-government units, and what a message naming one adds to that area's units' logits.

    ``names[i]`` is an area; ``members[i, j]`` whether class ``j``'s name starts with it (the
    district government and the district's bureaus alike); ``boost`` is what naming it adds.
    """

    names: tuple[str, ...]
    members: np.ndarray
    boost: float

    @classmethod
    def from_units(
        cls, classes: Sequence[str], units: Mapping[str, tuple[str | None, str]], boost: float = AREA_BOOST
    ) -> UnitAreas | None:
        """The areas of ``units`` (unit → (department, source), as in ``units.csv``): the name's
        front up to 区 / 县 / 市 of every local government (``street_community``); None when
        there is none or ``boost`` is 0."""
        from triage.datasets.cities import LOCAL_OFFICE

        found = {
            match.group()
            for unit, (department, _) in units.items()
            if department == LOCAL_OFFICE and (match := _AREA_PREFIX.match(unit)) is not None
        }
        if not found or not boost:
            return None
        names = tuple(sorted(found, key=lambda name: (-len(name), name)))  # longest first: 金普新区 before 新区
        owner = [next((name for name in names if str(c).startswith(name)), None) for c in classes]
        members = np.array([[area == name for area in owner] for name in names], dtype=bool)
        return cls(names, members, float(boost))

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """What each text's naming of areas adds to each class's logit."""
        named = np.array([[name in text for name in self.names] for text in texts], dtype=np.float64)
        return self.boost * (named.reshape(len(texts), len(self.names)) @ self.members)


def _base_logits(scorer: LinearScorer, texts: Sequence[str]) -> np.ndarray:
    chunks = [scorer.logits(scorer.transform_prepared(texts[i : i + 256])) for i in range(0, len(texts), 256)]
    return np.concatenate(chunks) if chunks else np.zeros((0, len(scorer.classes)))


def fit_with_base(
    texts: Sequence[str],
    labels: np.ndarray,
    base: LinearScorer,
    *,
    base_scale: float = BASE_SCALE,
    prior: Mapping[str, str | None] | None = None,
    prior_boost: float = PRIOR_BOOST,
    areas: UnitAreas | None = None,
    sample_weight: np.ndarray | None = None,
    **params: Any,
) -> tuple[TriageClassifier, BaseScores, np.ndarray]:
    """Fit a :class:`~triage.estimator.TriageClassifier` on prepared ``texts`` with ``base``'s logits
    stacked beside its TF-IDF features.

    Returns the classifier (its SVM holds the TF-IDF weights only, so it serves and saves like any
    other), the :class:`BaseScores` to add to its scores, and the calibrated out-of-fold
    probabilities of the training texts (base part included). ``prior`` (label → base class, e.g. a
    unit's department) scales that class's base score by ``prior_boost`` for the label's SVM.
    ``areas`` (of the classes ``np.unique(labels)``) adds what the texts' areas add to the
    out-of-fold probabilities, as the model will when it answers.
    """
    from scipy import sparse
    from scipy.special import softmax

    from triage.estimator import (
        TriageClassifier,
        _as_columns,
        _fit_temperature,
        _NaiveBayesScaledSVC,
        fit_with_out_of_fold_scores,
    )
    from triage.tfidf import fit_union

    if not base_scale > 0:
        raise ValueError(f"base_scale must be positive, got {base_scale}")
    base = base.compacted()  # the form saved and served: training sees the scores answers will add
    estimator = TriageClassifier(**params)
    if not estimator.nb_scaling:
        raise ValueError("a base model is stacked on the NB-SVM only; drop nb_scaling=False")
    texts = list(texts)
    classes, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if len(classes) < 2 or counts.min() < 2:
        raise TrainingDataError("training on a base model needs at least 2 classes of at least 2 examples each")
    estimator.vectorizer_ = estimator._make_vectorizer(len(texts))
    features = fit_union(estimator.vectorizer_, texts, n_jobs=estimator.n_jobs).astype(np.float64)
    logits = _base_logits(base, texts)
    stacked: sparse.csr_matrix = sparse.hstack([features, sparse.csr_matrix(base_scale * logits)]).tocsr()
    base_columns = {str(c): i for i, c in enumerate(base.classes)}
    prior_columns = {
        label: base_columns[d] for label, d in (prior or {}).items() if d is not None and d in base_columns
    }
    svm = _NaiveBayesScaledSVC(
        C=estimator.C,
        class_weight=estimator.class_weight,
        dense_columns=logits.shape[1],
        prior_columns=prior_columns,
        prior_boost=prior_boost,
    )
    n_folds = min(estimator.calibration_folds, int(counts.min()))
    svm, out_of_fold = fit_with_out_of_fold_scores(
        svm, stacked, labels, n_folds, n_jobs=estimator.n_jobs, sample_weight=sample_weight
    )
    n_terms = features.shape[1]
    coef, intercept = svm.coef_, svm.intercept_
    if coef.shape[0] == 1:  # two classes: one signed score, split into two columns as scorers do
        coef, intercept = _as_columns(coef[0]).T, _as_columns(intercept)[0]
    svm.coef_, svm.intercept_ = coef[:, :n_terms].astype(np.float32), intercept
    estimator.svm_ = svm.as_linear_svc()
    estimator.classes_ = estimator.svm_.classes_
    estimator.temperature_ = _fit_temperature(out_of_fold, codes)
    area_logits = areas.logits(texts) if areas is not None else 0.0
    estimator.oof_proba_ = softmax(out_of_fold / estimator.temperature_ + area_logits, axis=1).astype(np.float32)
    return estimator, BaseScores(base, (base_scale * coef[:, n_terms:]).astype(np.float32)), estimator.oof_proba_


#: The date at the start of a text: 2014-1-2, 2014/1/2, 2014.1.2 or 2014年1月2日, a time of day may follow.
_DATE = re.compile(r"(\d{1,4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")


def _day(value: Any, row: int) -> np.datetime64:
    """A date as a day: date objects, or text such as ``2018-09-03``, ``2014-1-2``, ``2014/1/2 10:00`` or
    ``2014年1月2日``."""
    try:
        if isinstance(value, str):
            match = _DATE.match(value.strip())
            if match is None:
                raise ValueError(value)
            year, month, day = match.groups()
            return np.datetime64(f"{int(year):04d}-{int(month):02d}-{int(day):02d}", "D")
        day_value = np.datetime64(value, "D")
    except (ValueError, TypeError, IndexError):
        raise TrainingDataError(f"row {row}: {value!r} is not a date (YYYY-MM-DD)") from None
    if np.isnat(day_value):
        raise TrainingDataError(f"row {row} has no date; fill it or drop the row")
    return day_value


def _days(dates: Sequence[Any]) -> np.ndarray:
    return np.array([_day(date, row) for row, date in enumerate(dates)], dtype="datetime64[D]")


def rows_since(dates: Sequence[Any], since: Any) -> np.ndarray:
    """Which rows are dated on or after ``since`` (a date, or text such as ``2017-01-01``), as a
    boolean mask: history from before a reorganisation (units renamed, merged, given new remits)
    left out. Measured (benchmarks/adaptation_curve.py, base model), the last 365 days before the
    test period against all history: jiamusi top-1 0.714 -> 0.671, dalian 0.387 -> 0.392; prefer
    :func:`recency_weights` unless units were reorganised."""
    try:
        if not isinstance(since, str | datetime.date | np.datetime64):  # a bare 2017 would count days from 1970
            raise ValueError
        first = _day(since, 0)
    except ValueError:
        raise TrainingDataError(f"since={since!r} is not a date; write it as YYYY-MM-DD") from None
    return _days(dates) >= first


def recency_weights(dates: Sequence[Any], half_life_days: float) -> np.ndarray:
    """Weights halving every ``half_life_days`` before the latest date: units are renamed and merged
    (the 2018 reform), so recent history says more about where messages go now. A half-life of 180
    days, all history, base model (benchmarks/adaptation_curve.py): dalian top-1 0.387 -> 0.408,
    top-3 0.617 -> 0.627; jiamusi 0.714 -> 0.714, 0.869 -> 0.881. On the last fifth of the training
    part (chosen there), 90 days: jiamusi 0.672, dalian 0.479 (180: 0.690, 0.479; none: 0.673, 0.482)."""
    if not half_life_days > 0:
        raise ValueError(f"the half-life must be a positive number of days, got {half_life_days}")
    days = _days(dates)
    age = (days.max() - days).astype(np.float64)
    return 0.5 ** (age / half_life_days)


def train_on_history(
    texts: Sequence[str],
    labels: Sequence[str],
    dates: Sequence[Any],
    *,
    since: Any = None,
    half_life_days: float | None = None,
    sub_labels: Sequence[str | None] | None = None,
    training_data: Mapping[str, Any] | None = None,
    **params: Any,
) -> TriageModel:
    """:func:`triage.train` on a dated history: messages dated before ``since`` left out
    (:func:`rows_since`), the others weighed by :func:`recency_weights` when ``half_life_days`` is
    given; both are recorded in the manifest's ``training_data``. ``params`` go to
    :func:`triage.train` (``base``, ``unit_departments`` ...)."""
    from triage.training import train

    if "sample_weight" in params:
        raise TypeError("train_on_history weighs messages by their dates; pass half_life_days, not sample_weight")
    if not len(texts) == len(labels) == len(dates):
        raise ValueError(
            f"{len(texts)} texts, {len(labels)} labels and {len(dates)} dates: give one of each per message"
        )
    keep = rows_since(dates, since) if since is not None else np.ones(len(dates), dtype=bool)
    rows: list[int] = np.flatnonzero(keep).tolist()
    if not rows:
        raise TrainingDataError(f"no message is dated on or after since={since!r}; choose an earlier date")
    recorded = {
        **(training_data or {}),
        **({"since": str(_day(since, 0)), "rows_before_since": int((~keep).sum())} if since is not None else {}),
        **({"half_life_days": half_life_days} if half_life_days else {}),
    }
    return train(
        [texts[i] for i in rows],
        [labels[i] for i in rows],
        sub_labels=[sub_labels[i] for i in rows] if sub_labels is not None else None,
        sample_weight=recency_weights([dates[i] for i in rows], half_life_days) if half_life_days else None,
        training_data=recorded,
        **params,
    )


def infer_unit_departments(
    units: Sequence[str],
    *,
    directory: DepartmentDirectory | None = None,
    base_proba: np.ndarray | None = None,
    base_classes: Sequence[str] = (),
    message_units: Sequence[str] = (),
) -> dict[str, tuple[str | None, str]]:
    """Each unit's department and where it came from: ``"name"`` (the unit's name, by the department
    directory), ``"base_model"`` (the department the base model gives the unit's training messages,
    ``base_proba`` rows of ``message_units``, on average at least :data:`UNIT_MAP_MIN_PROBABILITY`),
    ``"unassigned"`` (a general hub or letters office: no department) or ``"unknown"``."""
    from triage.departments import default_directory

    directory = directory or default_directory()
    owners = np.asarray(message_units, dtype=object)
    found: dict[str, tuple[str | None, str]] = {}
    for unit in units:
        own = directory.match_unit(unit)
        if own is not None:
            found[unit] = (own, "name")
        elif directory.unassigned_reason(unit) is not None:
            found[unit] = (None, "unassigned")
        elif base_proba is not None and (owners == unit).any():
            mean = base_proba[owners == unit].mean(axis=0)
            best = int(mean.argmax())
            found[unit] = (
                (str(base_classes[best]), "base_model") if mean[best] >= UNIT_MAP_MIN_PROBABILITY else (None, "unknown")
            )
        else:
            found[unit] = (None, "unknown")
    return found


def unit_map_bytes(mapping: Mapping[str, tuple[str | None, str]]) -> bytes:
    """``unit,department,source`` rows as ``units.csv`` holds them (UTF-8 with BOM, so spreadsheet
    programs read it)."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["unit", "department", "source"])
    for unit, (department, source) in mapping.items():
        writer.writerow([unit, department or "", source])
    return text.getvalue().encode("utf-8-sig")


def write_unit_map(path: Path, mapping: Mapping[str, tuple[str | None, str]]) -> None:
    """Write :func:`unit_map_bytes` of ``mapping`` to ``path``."""
    path.write_bytes(unit_map_bytes(mapping))


def read_unit_csv(path: Path) -> dict[str, tuple[str | None, str]]:
    """Read a ``unit,department[,source]`` CSV: unit → (department or None where empty, source;
    ``"file"`` where the column is missing or empty). Each unit appears once."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ModelIntegrityError(f"{path} is unreadable ({error}); restore it or write it again") from None
    return _parse_unit_csv(text, path)


def _parse_unit_csv(text: str, path: Path) -> dict[str, tuple[str | None, str]]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [cell.strip() for cell in rows[0][:2]] != ["unit", "department"]:
        raise ModelIntegrityError(f"{path}: the first row must be the header unit,department")
    mapping: dict[str, tuple[str | None, str]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 2:
            raise ModelIntegrityError(f"{path} row {number}: expected unit,department, got {row!r}")
        unit, department = row[0].strip(), row[1].strip()
        if unit in mapping:
            raise ModelIntegrityError(f"{path} row {number}: unit {unit!r} is listed twice; keep one row")
        mapping[unit] = (department or None, row[2].strip() if len(row) > 2 and row[2].strip() else "file")
    return mapping


def read_unit_map(path: Path, units: Sequence[str]) -> dict[str, tuple[str | None, str]]:
    """Read the ``units.csv`` of a model whose classes are ``units`` (as :func:`read_unit_csv`, but as
    every model file is read: no symbolic link, at most :data:`MAX_UNIT_MAP_BYTES`); it must list
    every unit and no other."""
    try:
        text = read_regular_file(path, max_bytes=MAX_UNIT_MAP_BYTES).decode("utf-8-sig")
    except ValueError as error:  # also a UnicodeDecodeError
        raise ModelIntegrityError(f"{path} is unreadable ({error}); restore it or write it again") from None
    mapping = _parse_unit_csv(text, path)
    unknown = sorted(set(mapping) - set(units))
    missing = sorted(set(units) - set(mapping))
    if unknown or missing:
        problems = [
            f"not a unit of the model: {', '.join(unknown[:5])}" if unknown else "",
            f"missing: {', '.join(missing[:5])}" if missing else "",
        ]
        raise ModelIntegrityError(
            f"{path} does not match the model's units: {'; '.join(p for p in problems if p)} "
            "(edit the departments only, one row per unit)"
        )
    return mapping


def department_level(model: TriageModel, proba: np.ndarray, units: np.ndarray) -> dict[str, Any]:
    """A unit-level model scored at department level: each true unit's department (by the model's
    unit map, else by its name) against the department of the unit predicted, and top-3 over the
    unit probabilities summed per department. Rows whose true unit has no department are left out."""
    from triage.departments import match_unit

    known = model.unit_departments
    truth = np.array([known[u] if u in known else match_unit(str(u)) for u in units], dtype=object)
    rows = np.flatnonzero(truth != None)  # noqa: E711 (element-wise)
    predicted = np.array([model._unit_and_department(proba[i], int(proba[i].argmax()))[1] for i in rows], dtype=object)
    departments, summed = model.department_proba(proba[rows])
    return {
        "description": "The unit predicted read at department level (units mapped by the model's units.csv).",
        "n": len(rows),
        "rows_without_department": len(units) - len(rows),
        "accuracy": float(np.mean(predicted == truth[rows])) if len(rows) else float("nan"),
        "top3_accuracy": _top3(summed, departments, truth[rows]) if len(rows) else float("nan"),
    }


def _top3(proba: np.ndarray, classes: Sequence[str], labels: np.ndarray) -> float:
    top = np.asarray(classes, dtype=object)[np.argsort(-proba, axis=1)[:, :3]]
    return float(np.mean([label in row for label, row in zip(labels, top, strict=True)]))
