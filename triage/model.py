"""The app-facing model: load once, classify one message or many, from any number of threads."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from triage.boilerplate import Boilerplate
from triage.confidence import ConfidenceScaling
from triage.defaults import DEFAULT_TOP_K
from triage.exceptions import ModelIntegrityError, ModelNotFoundError
from triage.results import (
    Classification,
    RankedCandidates,
    ReviewReason,
    RoutingSuggestion,
    candidates_cells,
    json_string,
    rounded_cells,
)
from triage.text import PreparedText, has_chinese

if TYPE_CHECKING:
    from triage.adaptation import BaseScores, UnitAreas
    from triage.estimator import TriageClassifier
    from triage.routing import RoutingConfig
    from triage.scoring import FeatureRows, LinearScorer

__all__ = ["UNCLASSIFIED", "TriageModel", "default_model_path", "load"]

#: What :meth:`TriageModel.predict` returns for a text it cannot classify (empty, punctuation
#: only, no Chinese): a plain string, so scikit-learn's metrics accept it beside department codes
#: (it is never a department code, so it always counts as wrong against a true department).
UNCLASSIFIED = "unclassified"

DEFAULT_EXPLAIN_TERMS = 5
_REASON_VALUES = {reason: reason.value for reason in ReviewReason}  # .value is a Python-level property
_CANDIDATES = Classification.ROW_COLUMNS.index("candidates")
_CHUNK_DOCUMENTS = 256  # bounds the temporary arrays of one scoring step, as LinearScorer's chunks


def default_model_path() -> Path:
    """Where the shipped default model lives: inside the installed package, else the checkout."""
    installed = Path(str(resources.files("triage"))) / "_models" / "default"
    checkout = Path(__file__).resolve().parents[1] / "models" / "default"
    for candidate in (installed, checkout):
        if candidate.is_dir():
            return candidate
    raise ModelNotFoundError(
        "the default triage model is not installed (looked in "
        f"{installed} and {checkout}); reinstall triage from a complete checkout "
        "(`pip install .`) or pass a model directory: triage.load(path=...)"
    )


def load(path: str | Path | None = None) -> TriageModel:
    """Load a model directory (default: the model shipped with triage), checking its integrity.

    Raises
    ------
    ModelNotFoundError
        Nothing loadable at ``path``.
    ModelIntegrityError
        A file was altered after saving, or the manifest is damaged.
    UntrustedModelError
        The model file is a pickle, or names types triage does not trust.

    Examples
    --------
    >>> import triage
    >>> model = triage.load()
    >>> model.classify("小区物业乱收停车费，垃圾也没人清理").department
    'property_management'
    """
    from triage.persistence import load_scorers, read_figures
    from triage.segmentation import building_segmenter

    directory = Path(path) if path is not None else default_model_path()
    with building_segmenter():  # every model segments; reading its files leaves a core free
        parts = load_scorers(directory)
    model = TriageModel(
        parts.scorer,
        parts.manifest,
        path=directory,
        sub_scorer=parts.sub_scorer,
        estimator=parts.estimator,
        base_scores=parts.base_scores,
        units=_read_units(directory, parts.scorer.classes),
    )
    model.figures = read_figures(directory, parts.manifest)
    return model


def _read_units(directory: Path, classes: np.ndarray) -> dict[str, tuple[str | None, str]] | None:
    """The editable unit → department map of a unit-level model (None for a department model)."""
    from triage.adaptation import UNIT_MAP_FILE, read_unit_map

    path = directory / UNIT_MAP_FILE
    present = path.exists() or path.is_symlink()  # a link is refused by read_unit_map, not taken as absent
    return read_unit_map(path, [str(c) for c in classes]) if present else None


def _unit_areas(
    classes: Sequence[str], units: dict[str, tuple[str | None, str]] | None, manifest: dict[str, Any]
) -> UnitAreas | None:
    """The areas of an adapted model's units (from its unit map, so an edited ``units.csv`` counts)
    and the boost its training recorded (models trained before areas have none)."""
    from triage.adaptation import UnitAreas

    boost = manifest.get("params", {}).get("base", {}).get("area_boost", 0.0)
    if not units or not boost:
        return None
    if not isinstance(boost, (int, float)) or not 0 < boost < np.inf:
        raise ModelIntegrityError(f"the manifest's params.base.area_boost is {boost!r}, not a positive number; retrain")
    return UnitAreas.from_units(classes, units, boost)


def _ensure_texts(texts: Iterable[Any]) -> list[str]:
    # bytes iterate as numbers and a mapping as its keys: classified, either would be nonsense
    if isinstance(texts, bytes | bytearray | memoryview):
        hint = "; decode bytes first, e.g. data.decode('utf-8')"
    elif isinstance(texts, Mapping):
        hint = "; pass the message (e.g. record['text']), not the mapping"
    elif not isinstance(texts, Iterable):
        missing = texts is None or isinstance(texts, float) or type(texts).__name__ == "NAType"  # pandas' NA
        hint = "; a missing message is ''" if missing else ""
    else:
        hint = None
    if hint is not None:
        raise TypeError(f"expected a message (str) or an iterable of messages, got {type(texts).__name__}{hint}")
    items = list(texts)
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(
                f"text at index {index} is {type(item).__name__}, not str; "
                "convert missing values (None, NaN) to '' and decode bytes before classifying"
            )
    return items


def _sub_label_pairs(scorer: LinearScorer, manifest: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The (department, sub-label) pair of each of the sub-label scorer's columns: the manifest's
    ``sub_labels`` decode the classes, so equal sub-label names under different departments stay apart."""
    try:
        pairs = {entry["class"]: (entry["label"], entry["sub_label"]) for entry in manifest["sub_labels"]}
    except (KeyError, TypeError):
        raise ModelIntegrityError("the manifest's sub_labels are missing or malformed") from None
    classes = [str(c) for c in scorer.classes]
    if sorted(pairs) != sorted(classes):
        raise ModelIntegrityError("the sub-label scorer's classes do not match the manifest's sub_labels")
    return tuple(pairs[name] for name in classes)


def _sub_columns(pairs: Sequence[tuple[str, str]]) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
    """Per department, the sub-label scorer's columns of its pairs and their sub-labels."""
    by_department: dict[str, list[tuple[int, str]]] = {}
    for column, (label, sub_label) in enumerate(pairs):
        by_department.setdefault(label, []).append((column, sub_label))
    return {
        label: (np.array([column for column, _ in items]), tuple(sub for _, sub in items))
        for label, items in by_department.items()
    }


@dataclass(frozen=True, slots=True)
class _ChunkAnswers:
    """What the results of a chunk of distinct prepared texts hold, field by field, one item per text
    (:meth:`TriageModel._chunk_answers`): built from the chunk's arrays at once, then read per row."""

    texts: list[str]
    features: FeatureRows
    #: The top-k class columns of each text, most probable first, and their probabilities (arrays).
    ranked: np.ndarray
    probabilities: np.ndarray
    units: list[str | None]
    departments: list[str | None]
    department_names: list[str | None]
    reasons: list[ReviewReason | None]
    sub_categories: list[tuple[str | None, float]]
    department_candidates: list[tuple[tuple[str, float], ...]]


class TriageModel:
    """A loaded model with its manifest: what applications call.

    A model trained with sub-labels also holds a second scorer over (department, sub-label)
    classes, which names the sub-category within the department predicted. A model adapted from
    a base model (``triage.train(..., base=...)``) adds the base model's weighted scores
    (``base_scores``) to its own. A unit-level model (``units``: each class's department and where
    that came from) answers with the unit and its department. A model trained on a templated export
    (:mod:`triage.boilerplate`) cuts that export's template (:attr:`template`) from every message
    before scoring it, as it was cut from the messages it learned from. Instances are read-only after
    loading, so one instance can serve many threads.
    """

    def __init__(
        self,
        scorer: LinearScorer,
        manifest: dict[str, Any],
        *,
        path: Path | None = None,
        estimator: TriageClassifier | None = None,
        sub_scorer: LinearScorer | None = None,
        sub_estimator: TriageClassifier | None = None,
        base_scores: BaseScores | None = None,
        units: dict[str, tuple[str | None, str]] | None = None,
    ):
        if hasattr(scorer, "vectorizer_"):  # TriageModel(estimator, manifest), as before scorers existed
            raise TypeError("TriageModel() takes a LinearScorer; wrap a fitted estimator: TriageModel.from_estimator")
        self.scorer = scorer
        self.sub_scorer = sub_scorer
        self.manifest = manifest
        self.path = path
        self._estimator = estimator
        self._sub_estimator = sub_estimator
        self._estimator_lock = threading.Lock()
        #: (department, sub-label) of each column of :attr:`sub_scorer` (empty without sub-labels).
        self.sub_label_pairs = _sub_label_pairs(sub_scorer, manifest) if sub_scorer is not None else ()
        self._sub_columns = _sub_columns(self.sub_label_pairs)
        self._names = {label["code"]: label.get("name", label["code"]) for label in manifest.get("labels", [])}
        #: The class codes as str, in column order (what :attr:`classes_` copies; read per row, built once).
        self._class_names = tuple(str(c) for c in scorer.classes)
        self._class_objects = np.array(self._class_names, dtype=object)  # to pick many at once
        self.base_scores = base_scores
        if units is not None and sorted(units) != sorted(self.classes_):
            raise ValueError("the unit → department map must list exactly the model's classes")
        #: Unit → (department or None, where that came from) of a unit-level model, else None.
        self.units = units
        departments = sorted({d for d, _ in (units or {}).values() if d is not None})
        #: Column ``j`` of a unit-level model's probabilities adds to department ``_unit_department_codes[j]``
        #: (-1: to none).
        self._unit_columns = np.array(
            [departments.index(d) if (d := (units or {})[c][0]) is not None else -1 for c in self.classes_]
            if units
            else [],
            dtype=np.intp,
        )
        self._unit_department_codes = departments
        #: The areas of an adapted model's units and what naming one adds (None: no area, no base).
        self.unit_areas = _unit_areas(self.classes_, units, manifest) if base_scores is not None else None
        #: How the top probability becomes the chance the department is right (None: as the softmax gives
        #: it), fitted on cities the model never saw; recorded in the manifest's ``confidence_scaling``.
        self.confidence_scaling = (
            ConfidenceScaling.from_record(manifest["confidence_scaling"]) if "confidence_scaling" in manifest else None
        )
        #: PNG figures (file name → bytes) saved with the model and shown in its card.
        self.figures: dict[str, bytes] = {}
        self._template = Boilerplate.from_record(manifest.get("template"))

    @classmethod
    def from_estimator(
        cls,
        estimator: TriageClassifier,
        manifest: dict[str, Any],
        *,
        sub_estimator: TriageClassifier | None = None,
        base_scores: BaseScores | None = None,
        units: dict[str, tuple[str | None, str]] | None = None,
    ) -> TriageModel:
        """Wrap freshly fitted estimators (what :func:`triage.train` returns). The scorers are the
        compact ones saving writes (:meth:`~triage.scoring.LinearScorer.compacted`), so the model answers the same
        before and after it is saved."""
        from triage.scoring import LinearScorer

        sub_scorer = LinearScorer.from_estimator(sub_estimator).compacted() if sub_estimator is not None else None
        return cls(
            LinearScorer.from_estimator(estimator).compacted(),
            manifest,
            estimator=estimator,
            sub_scorer=sub_scorer,
            sub_estimator=sub_estimator,
            base_scores=base_scores,
            units=units,
        )

    def __repr__(self) -> str:
        return f"<TriageModel {len(self.classes_)} departments from {self.path}>"

    def _lazy_estimator(self, attribute: str, *, sub: bool) -> TriageClassifier:
        """The estimator held in ``attribute``, loaded from the directory once, by whichever thread asks first."""
        if getattr(self, attribute) is None:
            with self._estimator_lock:
                if getattr(self, attribute) is None:
                    if self.path is None:
                        raise ModelNotFoundError("this model has no estimator and no directory to load one from")
                    from triage.persistence import load_model

                    estimator, _ = load_model(self.path, sub=sub, expected_files=self.manifest.get("files"))
                    setattr(self, attribute, estimator)
        return getattr(self, attribute)

    @property
    def estimator(self) -> TriageClassifier:
        """The scikit-learn estimator, loaded from ``model.skops`` on first use (for analysis;
        answering needs only :attr:`scorer`). ``ModelNotFoundError`` for a model saved without it. It reads
        messages as given: cut a model's :attr:`template` first (``model.template.prepared(texts)``), as the
        model does before scoring."""
        return self._lazy_estimator("_estimator", sub=False)

    @property
    def sub_estimator(self) -> TriageClassifier | None:
        """The sub-label estimator (classes are (department, sub-label) pairs), loaded from
        ``sub_model.skops`` on first use; ``None`` for a model trained without sub-labels."""
        return None if self.sub_scorer is None else self._lazy_estimator("_sub_estimator", sub=True)

    def sub_categories(self, department: str) -> tuple[str, ...]:
        """The sub-categories the model can name under ``department`` (empty without any)."""
        return self._sub_columns.get(department, ((), ()))[1]

    @property
    def template(self) -> Boilerplate:
        """The template its training export was typed into (the manifest's ``template``,
        :mod:`triage.boilerplate`), cut from every message it scores; empty for a model trained on messages as
        written (or before templates were kept)."""
        return self._template

    @property
    def classes_(self) -> list[str]:
        """Department codes the model can return, in the column order of :meth:`predict_proba`
        (named as in scikit-learn)."""
        return list(self._class_names)

    @property
    def classes(self) -> list[str]:
        """The same as :attr:`classes_` (the name triage used first)."""
        return self.classes_

    @property
    def review_threshold(self) -> float:
        """Below this confidence a result is flagged ``needs_review`` (chosen at training time)."""
        return float(self.manifest.get("review_threshold", 0.0))

    def save(self, path: str | Path, *, overwrite: bool = False, include_estimator: bool = False) -> Path:
        """Save this model as a directory (scorer, manifest, card); see :mod:`triage.persistence`.

        ``include_estimator=True`` also saves the scikit-learn estimator (``model.skops``), which
        only analysis needs (:attr:`estimator`); it is most of a model's size. An adapted model
        also saves its base model's part (hashed like the rest), a unit-level model its
        ``units.csv`` (not hashed: a deployment edits it; it is checked at load).
        """
        from triage.adaptation import UNIT_MAP_FILE, unit_map_bytes
        from triage.persistence import save_model
        from triage.scorer_contract import check_agreement

        parts: tuple[Any, Any] = (
            (self.estimator, self.sub_estimator) if include_estimator else (self.scorer, self.sub_scorer)
        )
        for scorer, estimator in ((self.scorer, self._estimator), (self.sub_scorer, self._sub_estimator)):
            if scorer is not None and estimator is not None:  # a scorer changed since conversion is not saved
                check_agreement(scorer, estimator)
        return save_model(
            parts[0],
            path,
            manifest=self.manifest,
            figures=self.figures,
            overwrite=overwrite,
            sub_estimator=parts[1],
            extra_files=self.base_scores.files() if self.base_scores is not None else None,
            editable_files={UNIT_MAP_FILE: unit_map_bytes(self.units)} if self.units is not None else None,
        )

    def department_name(self, code: str) -> str:
        """Chinese name of a department code as recorded in the model (a unit-level model's
        departments by the department directory)."""
        if code in self._names:
            return self._names[code]
        from triage.departments import default_directory

        return default_directory().display_name(code)

    def _department_names(self, config: RoutingConfig) -> dict[str, str]:
        """The name of every department a suggestion can name (the model's, its units', the
        rules'), looked up before routing so that routing never calls back into the model."""
        own = self._unit_department_codes if self.units is not None else self.classes_
        ruled = [rule.department for rule in (*config.rules, *config.safety_rules) if rule.department]
        return {code: self.department_name(code) for code in {*own, *ruled}}

    @property
    def unit_departments(self) -> dict[str, str | None]:
        """Each unit's department (None: none known) of a unit-level model; empty otherwise."""
        return {unit: department for unit, (department, _) in (self.units or {}).items()}

    def department_proba(self, proba: np.ndarray) -> tuple[list[str], np.ndarray]:
        """A unit-level model's probabilities summed per department: the departments and one column
        each (units without a department add to none)."""
        if self.units is None:
            raise ValueError("this model is not unit-level; its classes are its departments")
        summed = np.zeros((len(proba), len(self._unit_department_codes)))
        mapped = self._unit_columns >= 0
        np.add.at(summed.T, self._unit_columns[mapped], proba[:, mapped].T)
        return list(self._unit_department_codes), summed

    def _unit_and_department(self, proba_row: np.ndarray, best: int) -> tuple[str | None, str | None]:
        """The unit answered and its department; a unit without one gets the department its
        sibling units hold most probability for (None when no unit has a department)."""
        if self.units is None:
            return None, self._class_names[best]
        unit = self._class_names[best]
        department = self.units[unit][0]
        if department is None and self._unit_department_codes:
            _, summed = self.department_proba(proba_row[None, :])
            department = self._unit_department_codes[int(summed[0].argmax())]
        return unit, department

    def _score_chunks(self, texts: Sequence[str]) -> Iterator[tuple[int, FeatureRows, np.ndarray]]:
        """The scorer's chunks of features and probabilities of prepared texts, the base model's
        scores added (:meth:`~triage.scoring.LinearScorer.score_prepared_chunks` for a model without a base), then
        the manifest's confidence scaling applied (:attr:`confidence_scaling`)."""
        scaling = self.confidence_scaling
        for start, rows, proba in self._unscaled_chunks(texts):
            yield start, rows, proba if scaling is None else scaling.apply(proba)

    def _unscaled_chunks(self, texts: Sequence[str]) -> Iterator[tuple[int, FeatureRows, np.ndarray]]:
        if self.base_scores is None:
            yield from self.scorer.score_prepared_chunks(texts, keep_tokens=self.sub_scorer is not None)
            return
        from triage.scoring import softmax

        for start in range(0, len(texts), _CHUNK_DOCUMENTS):
            chunk = texts[start : start + _CHUNK_DOCUMENTS]
            rows = self.scorer.transform_prepared(chunk, keep_tokens=True)
            logits = self.scorer.logits(rows) + self.base_scores.scores(chunk, rows.tokens) / self.scorer.temperature
            if self.unit_areas is not None:
                logits += self.unit_areas.logits(chunk)
            yield start, rows, softmax(logits)

    def _explain(self, rows: FeatureRows, row: int, class_index: int, limit: int) -> tuple[tuple[str, float], ...]:
        """The ``limit`` strongest terms towards ``class_index``: words first, then character
        n-grams that add something no chosen word already shows."""
        if limit <= 0:
            return ()
        columns, weights = self.scorer.contributions(rows, row, class_index)
        is_word = columns < self.scorer.n_word_features
        name_of = self.scorer.term
        chosen = [(name_of(columns[i]), float(weights[i])) for i in np.flatnonzero(is_word)[:limit]]
        for i in np.flatnonzero(~is_word):  # only names what it looks at: most rows stop early
            if len(chosen) == limit:
                break
            chars = name_of(columns[i])
            if not any(chars in seen.replace(" ", "") for seen, _ in chosen):
                chosen.append((chars, float(weights[i])))
        chosen.sort(key=lambda pair: -pair[1])
        return tuple((term, round(weight, 4)) for term, weight in chosen)

    def _unclassified(self, prepared: PreparedText) -> Classification:
        empty = not any(ch.isalnum() for ch in prepared.text)
        return Classification(
            department=None,
            department_name=None,
            confidence=0.0,
            candidates=(),
            needs_review=True,
            reason=ReviewReason.EMPTY_TEXT if empty else ReviewReason.NO_CHINESE_TEXT,
            explanation=(),
            truncated=prepared.truncated,
        )

    def _sub_categories(
        self, texts: list[str], features: FeatureRows, departments: np.ndarray
    ) -> list[tuple[str | None, float]]:
        """Each prepared text's most probable sub-category within its department, with its
        probability among that department's sub-categories (``(None, 0.0)`` where there are none).
        ``features`` are the texts' features, whose tokens serve both models (segmented once)."""
        found: list[tuple[str | None, float]] = [(None, 0.0)] * len(texts)
        if self.sub_scorer is None:
            return found
        from triage.scoring import softmax

        logits = self.sub_scorer.logits(self.sub_scorer.transform_prepared(texts, features.tokens))
        for department, (columns, names) in self._sub_columns.items():
            rows = np.flatnonzero(departments == department)
            if rows.size:
                proba = softmax(logits[np.ix_(rows, columns)])
                best = proba.argmax(axis=1)
                for row, k, p in zip(rows, best, proba[np.arange(len(rows)), best], strict=True):
                    found[row] = (names[k], float(p))
        return found

    def _chunk_answers(self, texts: list[str], top_k: int) -> Iterator[_ChunkAnswers]:
        """What the results of distinct prepared texts hold, a chunk of texts at a time, each field
        computed for the whole chunk at once (ranking, confidences, reasons) and handed out as lists."""
        classes = self._class_names
        threshold = self.review_threshold
        for start, rows, proba in self._score_chunks(texts):
            chunk = texts[start : start + len(proba)]
            departments = self.scorer.classes[proba.argmax(axis=1)]
            subs = self._sub_categories(chunk, rows, departments)
            by_department = self._department_candidates(proba, top_k)
            ranked = np.argsort(-proba, axis=1, kind="stable")[:, :top_k]
            best = ranked[:, 0].tolist()
            probabilities = np.take_along_axis(proba, ranked, axis=1)
            # A text with no term the model knows gets the bias's answer: never route it unseen.
            unknown = (np.diff(rows.offsets) == 0).tolist()
            low = (probabilities[:, 0] < threshold).tolist()
            reasons = [
                ReviewReason.NO_KNOWN_TERMS if unknown[row] else ReviewReason.LOW_CONFIDENCE if low[row] else None
                for row in range(len(chunk))
            ]
            pairs: list[tuple[str | None, str | None]]
            if self.units is None:
                pairs = [(None, classes[k]) for k in best]
            else:
                pairs = [self._unit_and_department(proba[row], k) for row, k in enumerate(best)]
            names = {d: self.department_name(d) for d in {d for _, d in pairs if d is not None}}
            yield _ChunkAnswers(
                texts=chunk,
                features=rows,
                ranked=ranked,
                probabilities=probabilities,
                units=[unit for unit, _ in pairs],
                departments=[department for _, department in pairs],
                department_names=[names[d] if d is not None else None for _, d in pairs],
                reasons=reasons,
                sub_categories=subs,
                department_candidates=by_department,
            )

    def _classify_distinct(self, texts: list[str], top_k: int, explain: int) -> dict[str, Classification]:
        """Results of distinct prepared texts."""
        results: dict[str, Classification] = {}
        for answers in self._chunk_answers(texts, top_k):
            codes, best = self._class_objects[answers.ranked].tolist(), answers.ranked[:, 0].tolist()
            chunk_probabilities = answers.probabilities.tolist()
            for row, text in enumerate(answers.texts):
                reason = answers.reasons[row]
                probabilities = chunk_probabilities[row]
                sub_category, sub_confidence = answers.sub_categories[row]
                results[text] = Classification(
                    department=answers.departments[row],
                    department_name=answers.department_names[row],
                    confidence=probabilities[0],
                    candidates=tuple(zip(codes[row], probabilities, strict=True)),
                    needs_review=reason is not None,
                    reason=reason,
                    explanation=self._explain(answers.features, row, best[row], explain) if explain > 0 else (),
                    truncated=False,
                    sub_category=sub_category,
                    sub_confidence=sub_confidence,
                    unit=answers.units[row],
                    department_candidates=answers.department_candidates[row],
                )
        return results

    def _distinct_columns(self, texts: list[str], top_k: int, ranked_candidates: bool) -> list[Any]:
        """The batch tagger's cells (``to_row()`` with ``explain=0``) of distinct prepared texts, column by
        column (object arrays, one item per text; with ``ranked_candidates`` the candidates as
        :class:`~triage.results.RankedCandidates`), each computed for a chunk at once."""
        quoted = np.array([json_string(code) for code in self._class_names], dtype=object)
        parts: list[list[Any]] = [[] for _ in Classification.ROW_COLUMNS]
        width = min(top_k, len(self._class_names))
        ranked, probabilities = [np.zeros((0, width), dtype=np.intp)], [np.zeros((0, width))]
        for answers in self._chunk_answers(texts, top_k):
            rounded, _ = rounded_cells(answers.probabilities[:, 0])
            reasons = [_REASON_VALUES[reason] if reason is not None else "" for reason in answers.reasons]
            chunk = (
                [code or "" for code in answers.departments],
                [name or "" for name in answers.department_names],
                [sub_category or "" for sub_category, _ in answers.sub_categories],
                rounded,
                # with ranked_candidates, filled below for the whole column at once
                [] if ranked_candidates else candidates_cells(quoted, answers.ranked, answers.probabilities),
                [reason is not None for reason in answers.reasons],
                reasons,
            )
            for part, cells in zip(parts, chunk, strict=True):
                part.append(np.array(cells, dtype=object) if isinstance(cells, list) else cells)
            ranked.append(answers.ranked)
            probabilities.append(answers.probabilities)
        columns: list[Any] = [np.concatenate(part) if part else np.empty(0, dtype=object) for part in parts]
        if ranked_candidates:
            columns[_CANDIDATES] = RankedCandidates.of(self._class_names, ranked, probabilities)
        return columns

    def _classification_columns(
        self,
        texts: Iterable[str],
        top_k: int = DEFAULT_TOP_K,
        *,
        ranked_candidates: bool = False,
        template: Boilerplate | None = None,
    ) -> list[Any]:
        """The batch tagger's cells of ``classify(texts, top_k=top_k, explain=0)``, column by column
        (:attr:`Classification.ROW_COLUMNS`, lists), computed from each chunk's arrays without building
        results; with ``ranked_candidates`` the candidates are :class:`~triage.results.RankedCandidates`
        instead of JSON text (for outputs that store lists). ``template`` is cut as :meth:`_prepared` cuts it."""
        items = _ensure_texts(texts)
        # exports repeat blank forms and template messages: each distinct raw text is prepared once
        distinct_items = list(dict.fromkeys(items))
        prepared_of = dict(zip(distinct_items, self._prepared(distinct_items, template), strict=True))
        distinct = list(dict.fromkeys(p.text for p in prepared_of.values() if has_chinese(p.text)))
        scored = self._distinct_columns(distinct, top_k, ranked_candidates)
        at = {text: index for index, text in enumerate(distinct)}
        unclassified: list[list[Any]] = []  # the fixed rows of texts without Chinese, after the scored ones
        for item in prepared_of.values():
            if item.text not in at:
                at[item.text] = len(distinct) + len(unclassified)
                unclassified.append(self._unclassified(item).to_row())
        index = np.array([at[prepared_of[text].text] for text in items], dtype=np.intp)
        fixed = zip(*unclassified, strict=True) if unclassified else [()] * len(scored)
        return [
            column.with_unclassified(len(extra)).take(index)
            if isinstance(column, RankedCandidates)
            else np.concatenate([column, np.array(extra, dtype=object)])[index].tolist()
            for column, extra in zip(scored, fixed, strict=True)
        ]

    def _department_candidates(self, proba: np.ndarray, top_k: int) -> list[tuple[tuple[str, float], ...]]:
        """Per row, a unit-level model's top-k departments by summed unit probability (empty
        tuples for a department model, whose candidates already are departments)."""
        if self.units is None:
            return [()] * len(proba)
        codes, summed = self.department_proba(proba)
        ranked = np.argsort(-summed, axis=1, kind="stable")[:, :top_k]
        return [tuple((codes[k], float(summed[row, k])) for k in ranked[row]) for row in range(len(proba))]

    def _prepared(self, texts: Iterable[str], template: Boilerplate | None = None) -> list[PreparedText]:
        """Raw ``texts`` as the model scores them: through :func:`~triage.text.prepare`, then without ``template``
        (:meth:`~triage.boilerplate.Boilerplate.prepared`; ``None``: the model's own, :attr:`template`), for
        answers one at a time and for the batch tagger and evaluation alike."""
        return (self.template if template is None else template).prepared(texts)

    def _classify_many(
        self, texts: list[str], top_k: int, explain: int, template: Boilerplate | None = None
    ) -> list[Classification]:
        """Results of raw ``texts``, ``template`` cut (see :meth:`_prepared`)."""
        return self._classify_prepared(self._prepared(texts, template), top_k, explain)

    def _classify_prepared(
        self, prepared: list[PreparedText], top_k: int, explain: int = DEFAULT_EXPLAIN_TERMS
    ) -> list[Classification]:
        """Results of texts already through :func:`~triage.text.prepare` (routing prepares once)."""
        # Each distinct text is scored once: exports repeat template messages and blank forms.
        distinct = list(dict.fromkeys(p.text for p in prepared if has_chinese(p.text)))
        by_text = self._classify_distinct(distinct, top_k, explain)
        results = []
        for item in prepared:
            found = by_text.get(item.text)
            if found is None:
                results.append(self._unclassified(item))
            else:
                results.append(dataclasses.replace(found, truncated=True) if item.truncated else found)
        return results

    def predict_proba(self, texts: Iterable[str]) -> np.ndarray:
        """Calibrated probabilities of raw messages, columns in the order of :attr:`classes_`."""
        if isinstance(texts, str):
            raise ValueError("predict_proba() takes an iterable of texts")
        return self._proba([item.text for item in self._prepared(_ensure_texts(texts))])

    def _proba(self, prepared: Sequence[str]) -> np.ndarray:
        """:meth:`predict_proba` of texts already as the model scores them (:meth:`_prepared`)."""
        parts = [proba for _, _, proba in self._score_chunks(prepared)]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.classes_)))

    @overload  # a str is also an Iterable[str]; this first overload wins for it, as intended
    def classify(self, texts: str, *, top_k: int = ..., explain: int = ...) -> Classification: ...  # type: ignore[overload-overlap]
    @overload
    def classify(self, texts: Iterable[str], *, top_k: int = ..., explain: int = ...) -> list[Classification]: ...

    def classify(
        self, texts: str | Iterable[str], *, top_k: int = DEFAULT_TOP_K, explain: int = DEFAULT_EXPLAIN_TERMS
    ) -> Classification | list[Classification]:
        """Classify one message (returns a :class:`Classification`) or many (returns a list).

        A list is vectorised in one pass. Empty, punctuation-only or non-Chinese texts get
        ``department=None`` and ``needs_review=True`` without affecting the other items. A model trained
        on a templated export reads each message without that template (:attr:`template`), so its
        explanation names terms of what the message says.

        Parameters
        ----------
        texts : str or iterable of str
            Raw messages; personal data is masked before anything else happens.
        top_k : int, default=3
            How many candidate departments to return.
        explain : int, default=5
            How many explaining terms to return (0 for none: slightly faster).

        Raises
        ------
        TypeError
            An item is not a ``str``; the message names its index.
        """
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        if isinstance(texts, str):
            return self._classify_many([texts], top_k, explain)[0]
        return self._classify_many(_ensure_texts(texts), top_k, explain)

    @overload  # as for classify()
    def route(  # type: ignore[overload-overlap]
        self, texts: str, *, config: Any = ..., metadata: Any = ..., explain: int = ...
    ) -> RoutingSuggestion: ...
    @overload
    def route(
        self, texts: Iterable[str], *, config: Any = ..., metadata: Any = ..., explain: int = ...
    ) -> list[RoutingSuggestion]: ...

    def route(
        self,
        texts: str | Iterable[str],
        *,
        config: Any = None,
        metadata: Any = None,
        explain: int = DEFAULT_EXPLAIN_TERMS,
    ) -> RoutingSuggestion | list[RoutingSuggestion]:
        """Routing suggestions: department, local office, co-handlers, urgency, review reasons, explanation.

        ``config`` is a :class:`triage.routing.RoutingConfig` or the path of a routing TOML file
        (default: the built-in safety rules only). ``metadata`` is a mapping for one text (a list of them
        for many), e.g. ``{"place": "金桂小区"}`` when the location is known from elsewhere.
        ``explain`` is how many model terms each suggestion's explanation gets (0: none, and faster).
        A list of texts is routed in one vectorised pass: each text is prepared once (without the model's
        :attr:`template`, so the rules read what the message says, as ``triage tag`` routes it), classified
        with every candidate, then :func:`triage.routing.suggest` makes its suggestion.
        """
        if isinstance(texts, str):
            return self.route([texts], config=config, metadata=[metadata], explain=explain)[0]
        items = _ensure_texts(texts)
        return self._route(items, config, list(metadata) if metadata is not None else [None] * len(items), explain)

    def _route(
        self,
        items: list[str],
        config: Any,
        metas: list[Any],
        explain: int,
        template: Boilerplate | None = None,
    ) -> list[RoutingSuggestion]:
        """:meth:`route` of raw ``items`` (one metadata mapping or None each), ``template`` cut as
        :meth:`_prepared` cuts it."""
        from triage.routing import RoutingConfig, load_config, suggest

        if config is None:
            config = RoutingConfig()
        elif not isinstance(config, RoutingConfig):
            config = load_config(config)
        prepared = self._prepared(items, template)
        results = self._classify_prepared(prepared, top_k=len(self.classes_), explain=explain)
        threshold = config.review_threshold if config.review_threshold is not None else self.review_threshold
        names = self._department_names(config)
        return [
            suggest(
                result,
                item.text,
                config,
                review_threshold=threshold,
                name_of=names.__getitem__,
                place=str((meta or {}).get("place", "")),
            )
            for item, meta, result in zip(prepared, metas, results, strict=True)
        ]

    def predict(self, texts: Iterable[str]) -> np.ndarray:
        """The class of each message, one of :attr:`classes_` (department codes; a unit-level model's
        units, as its labels were, whose departments :meth:`classify` gives); :data:`UNCLASSIFIED`
        where a text cannot be classified.

        Examples
        --------
        >>> import triage
        >>> from sklearn.metrics import accuracy_score
        >>> predicted = triage.load().predict(["小区物业乱收停车费，垃圾也没人清理", ""])
        >>> list(predicted)
        ['property_management', 'unclassified']
        >>> accuracy_score(["property_management", "property_management"], predicted)
        0.5
        """
        if isinstance(texts, str):
            raise ValueError("predict() takes an iterable of texts; use classify() for one message")
        results = self._classify_many(_ensure_texts(texts), top_k=1, explain=0)
        codes = np.empty(len(results), dtype=object)
        codes[:] = [
            result.unit if result.unit is not None else UNCLASSIFIED if result.department is None else result.department
            for result in results
        ]
        return codes
