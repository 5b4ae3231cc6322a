"""What triage returns to applications: frozen, JSON-friendly result objects.

:class:`Classification` (what the model says) and :class:`RoutingSuggestion` (what routing makes
of it) use one vocabulary: ``department``, ``department_name``, ``unit``, ``confidence``,
``sub_category``, ``needs_review``, ``reasons`` (:class:`ReviewReason` members),
``review_reasons`` (the same as written to files) and ``terms`` mean the same on both, and both
become a row of the batch tagger's columns with ``to_row()``. Names used before the vocabulary
was shared stay as aliases: ``Classification.reason`` and ``.explanation`` (its constructor's
field names), ``RoutingSuggestion.subcategory``.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any, ClassVar

import numpy as np

__all__ = ["Classification", "ReviewReason", "RoutingSuggestion", "Urgency"]


class ReviewReason(StrEnum):
    """Why a message should be looked at by a person. Values are stable identifiers, written to files."""

    LOW_CONFIDENCE = "low_confidence"
    NO_KNOWN_TERMS = "no_known_terms"  # Chinese text, but no word or character n-gram the model learned
    EMPTY_TEXT = "empty_text"
    NO_CHINESE_TEXT = "no_chinese_text"
    # routing only
    DEPARTMENTS_TOO_CLOSE = "departments_too_close"  # the top two departments are within a third of the margin
    CONFLICTING_RULES = "conflicting_rules"  # force rules of equal priority name different departments
    TEXT_TOO_SHORT = "text_too_short"  # shorter than the config's min_chars
    #: A deployment or safety rule with ``review = true`` fired; written per rule as
    #: ``rule NAME asks for review`` (:attr:`RoutingSuggestion.review_rules` names them).
    RULE_REQUESTED = "rule_requested"


class Urgency(StrEnum):
    """How fast a message needs handling."""

    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"


#: The cells of :meth:`Classification.to_row`: the batch tagger's columns before ``error``.
_COLUMNS = (
    "department",
    "department_name",
    "sub_category",
    "confidence",
    "candidates",
    "needs_review",
    "review_reason",
)


def json_string(value: Any) -> str:
    """``value`` as JSON text, as the ``candidates`` cell writes department codes (non-ASCII kept)."""
    return json.dumps(value, ensure_ascii=False)


def _json_number(value: Any) -> str:
    # json.dumps writes a finite float as float.__repr__ does; NaN, infinities and other types it knows
    return float.__repr__(value) if type(value) is float and math.isfinite(value) else json.dumps(value)


def candidates_cell(candidates: Iterable[tuple[Any, Any]]) -> str:
    """The ``candidates`` cell: ``[[code, probability], ...]`` as JSON, probabilities rounded to 4
    places, exactly as ``json.dumps(..., ensure_ascii=False)`` writes it."""
    return "[" + ", ".join([f"[{json_string(code)}, {_json_number(round(p, 4))}]" for code, p in candidates]) + "]"


#: Cells hold probabilities rounded to 4 places: ``round(p, 4)`` is ``n / 10**4`` for an integer ``n``.
_PLACES = 10**4


@functools.cache
def _rounded_tables() -> tuple[np.ndarray, np.ndarray]:
    """``round(p, 4)`` of every probability by ``n`` (Python floats: n / 10**4 is the float nearest
    n * 10**-4, as round's is) and the JSON text of each, with a blank last entry; built on first use
    (~1 MiB, 6 ms: the batch tagger's, not every import's)."""
    rounded = np.array([n / _PLACES for n in range(_PLACES + 1)] + [0.0], dtype=object)
    return rounded, np.array([float.__repr__(value) for value in rounded[:-1]] + [""], dtype=object)


#: How far from a halfway case ``p * 10**4`` must be for numpy's rounding of it to be Python's of ``p``:
#: the product errs by at most 2**-53 * 10**4 (1e-12), far less.
_HALFWAY_MARGIN = 1e-6


def rounded_cells(probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``round(p, 4)`` of every value (an object array of floats, as ``to_row`` writes ``confidence``) and
    its JSON text (as :func:`candidates_cell` writes it), computed for a whole array at once.

    Values in [0, 1] away from a halfway case are looked up by ``rint(p * 10**4)``; the rest (halfway
    cases, NaN, values outside [0, 1]) go through ``round`` one by one, so every value gets round's answer.
    """
    inside = (probabilities >= 0.0) & (probabilities <= 1.0) & ~np.signbit(probabilities)  # not NaN nor -0.0
    scaled = np.where(inside, probabilities, 0.0) * float(_PLACES)
    exact = inside & (np.abs(scaled - np.floor(scaled) - 0.5) > _HALFWAY_MARGIN)
    index = np.where(exact, np.rint(scaled), _PLACES + 1).astype(np.intp)
    rounded_of, texts_of = _rounded_tables()
    rounded, texts = rounded_of[index], texts_of[index]
    for at in zip(*np.nonzero(~exact), strict=True):
        value = round(float(probabilities[at]), 4)
        rounded[at], texts[at] = value, _json_number(value)
    return rounded, texts


def candidates_cells(quoted: np.ndarray, ranked: np.ndarray, probabilities: np.ndarray) -> list[str]:
    """:func:`candidates_cell` of every row of a chunk, built column by column: row ``i`` pairs the codes
    ``quoted[ranked[i]]`` (an object array of JSON strings, one per class) with ``probabilities[i]``."""
    _, texts = rounded_cells(probabilities)
    cells = "[[" + quoted[ranked[:, 0]] + ", " + texts[:, 0] + "]"
    for k in range(1, ranked.shape[1]):
        cells = cells + ", [" + quoted[ranked[:, k]] + ", " + texts[:, k] + "]"
    return (cells + "]").tolist()


@dataclass(frozen=True, slots=True)
class RankedCandidates:
    """A chunk's ``candidates`` cells held as arrays instead of JSON text, for outputs that store the
    candidates as lists (Parquet): building the list column from these skips formatting JSON text
    only to parse it back (~4 µs a row).

    Row ``i`` holds the classes ``codes[ranked[i, :counts[i]]]`` with the confidences
    ``confidences[i, :counts[i]]`` (``round(p, 4)``, as :func:`candidates_cell` writes them); ``counts[i]``
    is 0 for a text not classified (the cell ``[]``) and -1 for a row not read (no cell).
    """

    codes: tuple[str, ...]
    ranked: np.ndarray
    confidences: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(
        cls, codes: tuple[str, ...], ranked: Sequence[np.ndarray], probabilities: Sequence[np.ndarray]
    ) -> RankedCandidates:
        """Every row classified, from chunks of rows: their top classes ``ranked`` (class indexes, most
        probable first; at least one chunk) and the ``probabilities`` of those."""
        joined = np.concatenate(ranked)
        rounded, _ = rounded_cells(np.concatenate(probabilities))
        counts = np.full(len(joined), joined.shape[1], dtype=np.intp)
        return cls(codes, joined, rounded.astype(np.float64), counts)

    def __len__(self) -> int:
        return len(self.counts)

    def take(self, rows: np.ndarray) -> RankedCandidates:
        """The rows at ``rows`` (indexes into these), in that order; -1 gives a row not read."""
        kept = np.asarray(rows, dtype=np.intp)
        padded = self.with_unclassified(1)  # what -1 picks: a last row, whose count becomes -1
        counts = np.where(kept >= 0, padded.counts[kept], -1)
        return replace(padded, ranked=padded.ranked[kept], confidences=padded.confidences[kept], counts=counts)

    def with_unclassified(self, rows: int) -> RankedCandidates:
        """These rows, then ``rows`` rows of texts not classified (no candidates)."""
        width = self.ranked.shape[1]
        return RankedCandidates(
            self.codes,
            np.concatenate([self.ranked, np.zeros((rows, width), dtype=self.ranked.dtype)]),
            np.concatenate([self.confidences, np.zeros((rows, width))]),
            np.concatenate([self.counts, np.zeros(rows, dtype=np.intp)]),
        )


def _cells(result: Classification | RoutingSuggestion, candidates: tuple[tuple[str, float], ...]) -> list[Any]:
    """The cells of :data:`_COLUMNS` both result types write, read through their shared names (the
    batch tagger builds the same cells a chunk at a time: ``TriageModel._classification_columns``)."""
    return [
        result.department or "",
        result.department_name or "",
        result.sub_category or "",
        round(result.confidence, 4),
        candidates_cell(candidates),
        result.needs_review,
        ";".join(result.review_reasons),
    ]


@dataclass(frozen=True, slots=True)
class Classification:
    """The department a message belongs to, how sure the model is, and why.

    Attributes
    ----------
    department : str or None
        Department code (e.g. ``"public_security"``); ``None`` when the text cannot be classified.
    department_name : str or None
        Chinese short name (e.g. ``"公安"``).
    confidence : float
        Calibrated probability of ``department`` (0 when not classified).
    candidates : tuple of (str, float)
        The top-k departments with their probabilities, most probable first.
    needs_review : bool
        Whether a person should check the result before it is acted on.
    reason : ReviewReason or None
        Why it needs review (a classification has at most one reason; :attr:`reasons` holds it).
    explanation : tuple of (str, float)
        Terms of the message that pushed it towards ``department``, with their weights (:attr:`terms`).
    truncated : bool
        The text was longer than :data:`triage.text.MAX_TEXT_CHARS` and only its start was read.
    sub_category : str or None
        The most probable sub-category within ``department`` (e.g. ``"parking"``), from the model's
        second-level classifier; ``None`` when the model has none, the department has no
        sub-categories, or the text is not classified.
    sub_confidence : float
        Probability of ``sub_category`` among the sub-categories of ``department`` (0 without one).
    unit : str or None
        The deployment's own unit (e.g. ``"供热办"``) from a unit-level model (trained on its own
        history, ``triage train --base default``), whose ``department`` is then the unit's department
        and whose ``confidence`` and ``candidates`` are over units; ``None`` for a department model.
    department_candidates : tuple of (str, float)
        A unit-level model's probabilities summed per department, most probable first (top-k), so
        that routing, whose rules name departments, can rank them; empty for a department model.
    """

    department: str | None
    department_name: str | None
    confidence: float
    candidates: tuple[tuple[str, float], ...]
    needs_review: bool
    reason: ReviewReason | None
    explanation: tuple[tuple[str, float], ...]
    truncated: bool = False
    sub_category: str | None = None
    sub_confidence: float = 0.0
    unit: str | None = None
    department_candidates: tuple[tuple[str, float], ...] = ()

    #: The names of the cells of :meth:`to_row`, in order.
    ROW_COLUMNS: ClassVar[tuple[str, ...]] = _COLUMNS

    @property
    def reasons(self) -> tuple[ReviewReason, ...]:
        """Why it needs review, as on :class:`RoutingSuggestion` (empty or one reason)."""
        return (self.reason,) if self.reason is not None else ()

    @property
    def review_reasons(self) -> tuple[str, ...]:
        """:attr:`reasons` as the stable identifiers written to files."""
        return tuple(reason.value for reason in self.reasons)

    @property
    def terms(self) -> tuple[tuple[str, float], ...]:
        """The explaining terms with their weights (the :attr:`explanation` field, named as on routing)."""
        return self.explanation

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (tuples become lists, reasons their string values)."""
        data = asdict(self)
        for key in ("candidates", "explanation", "department_candidates"):
            data[key] = [list(pair) for pair in data[key]]
        data["reason"] = self.reason.value if self.reason else None
        data["review_reasons"] = list(self.review_reasons)
        return data

    def to_row(self) -> list[Any]:
        """The batch tagger's cells (:attr:`ROW_COLUMNS`): the ``candidates`` cell is JSON."""
        return _cells(self, self.candidates)


@dataclass(frozen=True, slots=True)
class RoutingSuggestion:
    """Where to send a message: department and local office, co-handlers, urgency, review, and why.

    Attributes
    ----------
    department, department_name : str or None
        The department suggested after the deployment's rules (code and Chinese name).
    local_office : str or None
        The office of that department serving the place the message names (from the gazetteer).
    co_handlers : tuple of str
        Departments to copy: model candidates within the co-handling margin, and rule additions.
    sub_category : str or None
        The model's sub-category when it was trained with sub-labels and the rules kept its
        department, else the department's sub-category whose keywords the message names most
        (:attr:`subcategory` is the name this field had first).
    confidence : float
        The model's calibrated probability of ``unit`` when the suggestion names one, else of ``department``.
    urgency : Urgency
        normal, urgent or emergency; ``urgency_reason`` names the rule that set it.
    needs_review : bool
        Whether a person should look first; ``reasons`` says why, ``review_rules`` names the
        rules that asked (:attr:`review_reasons`: both as written to files).
    terms, rules_fired, places : tuple
        The explanation: model terms with weights, the rules that fired, the places matched.
    model_department : str or None
        What the model alone said, before rules.
    unit : str or None
        A unit-level model's unit when the rules kept its department (the unit belongs to it);
        ``None`` for a department model or when a rule chose another department.
    """

    department: str | None
    department_name: str | None
    local_office: str | None
    co_handlers: tuple[str, ...]
    sub_category: str | None
    confidence: float
    urgency: Urgency
    urgency_reason: str | None
    needs_review: bool
    reasons: tuple[ReviewReason, ...]
    review_rules: tuple[str, ...]
    terms: tuple[tuple[str, float], ...]
    rules_fired: tuple[str, ...]
    places: tuple[str, ...]
    model_department: str | None
    unit: str | None = None

    #: The names of the cells of :meth:`to_row`, in order.
    ROW_COLUMNS: ClassVar[tuple[str, ...]] = (*_COLUMNS, "urgency", "local_office", "co_handlers")

    @property
    def subcategory(self) -> str | None:
        """Alias of :attr:`sub_category` (its first name)."""
        return self.sub_category

    @property
    def review_reasons(self) -> tuple[str, ...]:
        """:attr:`reasons` as the stable identifiers written to files, a rule's request as
        ``rule NAME asks for review`` (one per rule in :attr:`review_rules`)."""
        written: list[str] = []
        for reason in self.reasons:
            if reason is ReviewReason.RULE_REQUESTED:
                written += [f"rule {name} asks for review" for name in self.review_rules]
            else:
                written.append(reason.value)
        return tuple(written)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict, with the explanation grouped (``subcategory`` repeats ``sub_category``)."""
        return {
            "department": self.department,
            "department_name": self.department_name,
            "local_office": self.local_office,
            "co_handlers": list(self.co_handlers),
            "subcategory": self.sub_category,
            "confidence": self.confidence,
            "urgency": self.urgency.value,
            "urgency_reason": self.urgency_reason,
            "needs_review": self.needs_review,
            "review_reasons": list(self.review_reasons),
            "model_department": self.model_department,
            "explanation": {
                "terms": [list(pair) for pair in self.terms],
                "rules": list(self.rules_fired),
                "places": list(self.places),
            },
            "sub_category": self.sub_category,
            "unit": self.unit,
        }

    def to_row(self) -> list[Any]:
        """The batch tagger's cells (:attr:`ROW_COLUMNS`): ``candidates`` is the suggested department
        alone, ``co_handlers`` joined with ``;``."""
        candidates = ((self.department, self.confidence),) if self.department else ()
        return [
            *_cells(self, candidates),
            self.urgency.value,
            self.local_office or "",
            ";".join(self.co_handlers),
        ]
