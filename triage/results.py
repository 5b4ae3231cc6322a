"""What triage returns to applications: frozen, JSON-friendly result objects."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

__all__ = ["Classification", "ReviewReason"]


class ReviewReason(StrEnum):
    """Why a message should be looked at by a person. Values are stable identifiers."""

    LOW_CONFIDENCE = "low_confidence"
    EMPTY_TEXT = "empty_text"
    NO_CHINESE_TEXT = "no_chinese_text"


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
    """

    department: str | None
    department_name: str | None
    confidence: float
    candidates: tuple[tuple[str, float], ...]
    needs_review: bool
    reason: ReviewReason | None
    explanation: tuple[tuple[str, float], ...]
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (tuples become lists, the reason its string value)."""
        data = asdict(self)
        data["candidates"] = [list(pair) for pair in self.candidates]
        data["explanation"] = [list(pair) for pair in self.explanation]
        data["reason"] = self.reason.value if self.reason else None
        return data
