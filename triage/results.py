"""What triage returns to applications: frozen, JSON-friendly result objects."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

__all__ = ["Classification", "ReviewReason", "RoutingSuggestion", "Urgency"]


class ReviewReason(StrEnum):
    """Why a message should be looked at by a person. Values are stable identifiers."""

    LOW_CONFIDENCE = "low_confidence"
    NO_KNOWN_TERMS = "no_known_terms"  # Chinese text, but no word or character n-gram the model learned
    EMPTY_TEXT = "empty_text"
    NO_CHINESE_TEXT = "no_chinese_text"


class Urgency(StrEnum):
    """How fast a message needs handling."""

    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"


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
        Why it needs review.
    explanation : tuple of (str, float)
        Terms of the message that pushed it towards ``department``, with their weights.
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

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (tuples become lists, the reason its string value)."""
        data = asdict(self)
        data["candidates"] = [list(pair) for pair in self.candidates]
        data["explanation"] = [list(pair) for pair in self.explanation]
        data["reason"] = self.reason.value if self.reason else None
        return data


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
    subcategory : str or None
        The model's sub-category when it was trained with sub-labels and the rules kept its
        department, else the department's sub-category whose keywords the message names most.
    confidence : float
        The model's calibrated probability of ``department``.
    urgency : Urgency
        normal, urgent or emergency; ``urgency_reason`` names the rule that set it.
    needs_review : bool
        Whether a person should look first; ``review_reasons`` says why (stable identifiers such
        as ``low_confidence``, ``departments_too_close``, ``conflicting_rules``,
        ``text_too_short``, ``empty_text``, ``no_chinese_text``, or a rule asking for review).
    terms, rules_fired, places : tuple
        The explanation: model terms with weights, the rules that fired, the places matched.
    model_department : str or None
        What the model alone said, before rules.
    """

    department: str | None
    department_name: str | None
    local_office: str | None
    co_handlers: tuple[str, ...]
    subcategory: str | None
    confidence: float
    urgency: Urgency
    urgency_reason: str | None
    needs_review: bool
    review_reasons: tuple[str, ...]
    terms: tuple[tuple[str, float], ...]
    rules_fired: tuple[str, ...]
    places: tuple[str, ...]
    model_department: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict, with the explanation grouped."""
        data = asdict(self)
        data["urgency"] = self.urgency.value
        data["co_handlers"] = list(self.co_handlers)
        data["review_reasons"] = list(self.review_reasons)
        data["explanation"] = {
            "terms": [list(pair) for pair in data.pop("terms")],
            "rules": list(data.pop("rules_fired")),
            "places": list(data.pop("places")),
        }
        return data
