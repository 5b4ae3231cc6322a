"""The chance that the top department is right, fitted on messages of cities a model never saw.

A temperature alone makes SVM scores into probabilities whose *average* fits the out-of-fold
messages, but in a city the model never trained on it is both too sure at the top and too shy at
the bottom (measured leave-one-board-out on three real boards: messages given 0.96 were right
0.51–0.93 of the time, messages given 0.17 about 0.25). :class:`ConfidenceScaling` corrects that
shape with two numbers (Platt scaling of the top probability's log-odds)::

    confidence = sigmoid(slope * logit(p_top) + intercept)

A positive slope keeps the order of messages, so a review threshold still cuts the same queue;
only what the number means changes ("0.9": right about nine times in ten). :meth:`apply` gives the
top department that confidence and shares the rest among the other departments in their former
ratios, so candidates, routing margins and ``predict_proba`` stay one distribution with the same
ranking. A model records its scaling in ``manifest.json`` (:meth:`to_record`, a JSON object of
plain numbers checked at load: nothing is unpickled); a model without one answers unscaled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ConfidenceScaling"]

#: The only method recorded so far (the ``method`` field of the manifest record).
METHOD = "platt_top_probability"
_FIELDS = frozenset({"method", "slope", "intercept"})
# A top probability is read as at least this (its log is taken), and fitting reads log-odds within
# +-_MAX_LOG_ODDS (a softmax can give exactly 1.0: infinite odds, whose sigmoid is 1 anyway).
_EPSILON = 1e-12
_MAX_LOG_ODDS = 50.0
# How far above the runner-up :meth:`ConfidenceScaling.apply` keeps the top (relative), well above rounding.
_ORDER_MARGIN = 1e-9


@dataclass(frozen=True, slots=True)
class _Top:
    best: np.ndarray  # the top column of each row
    others: np.ndarray  # the rows with their top entry zeroed
    rest: np.ndarray  # what the others hold, summed from them (1 - top loses them to rounding)
    log_odds: np.ndarray  # of the top against the rest (+inf where nothing is left)


def _top_parts(proba: np.ndarray) -> _Top:
    rows = np.arange(len(proba))
    best = proba.argmax(axis=1)
    others = proba.copy()
    others[rows, best] = 0.0
    rest = others.sum(axis=1)
    with np.errstate(divide="ignore"):
        log_odds = np.log(np.maximum(proba[rows, best], _EPSILON)) - np.log(rest)
    return _Top(best, others, rest, log_odds)


@dataclass(frozen=True, slots=True)
class ConfidenceScaling:
    """``confidence = sigmoid(slope * logit(p_top) + intercept)``; ``slope`` must be positive.

    Examples
    --------
    >>> import numpy as np
    >>> scaling = ConfidenceScaling(slope=0.5, intercept=0.0)
    >>> scaling.apply(np.array([[0.9, 0.08, 0.02]])).round(3).tolist()
    [[0.75, 0.2, 0.05]]
    """

    slope: float
    intercept: float

    def __post_init__(self) -> None:
        for name in ("slope", "intercept"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
                raise ValueError(f"confidence scaling {name} is {value!r}, not a finite number")
        if self.slope <= 0:
            raise ValueError(
                f"confidence scaling slope is {self.slope}; it must be positive so that the order of messages "
                "(and with it the review queue) is kept"
            )

    @classmethod
    def fit(cls, proba: np.ndarray, correct: np.ndarray, sample_weight: np.ndarray | None = None) -> ConfidenceScaling:
        """The scaling maximising the (weighted) likelihood of ``correct`` (whether each row's top
        department was right) given the rows' probabilities ``proba``: an unregularised logistic
        regression on the top probability's log-odds. Raises ``ValueError`` when every row is right or
        every one wrong (nothing to fit)."""
        from scipy.optimize import minimize

        proba = np.asarray(proba, dtype=np.float64)
        right = np.asarray(correct, dtype=bool)
        weight = np.ones(len(right)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if proba.ndim != 2 or proba.shape[1] < 2 or not len(proba) == len(right) == len(weight) or right.ndim != 1:
            raise ValueError(
                f"proba {proba.shape} must have a row of at least two classes for each of correct {right.shape} "
                f"and sample_weight {weight.shape}"
            )
        if right.all() or not right.any():
            raise ValueError("every row is right, or every one wrong: a confidence scaling needs both")
        x = np.clip(_top_parts(proba).log_odds, -_MAX_LOG_ODDS, _MAX_LOG_ODDS)
        weight = weight / weight.sum()
        sign = np.where(right, -1.0, 1.0)

        def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
            # -log sigmoid(z) for the right, -log sigmoid(-z) for the wrong: logaddexp(0, sign * z)
            signed = sign * (params[0] * x + params[1])
            gradient = weight * sign * _sigmoid(signed)
            return float(weight @ np.logaddexp(0.0, signed)), np.array([gradient @ x, gradient.sum()])

        result = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
        return cls(slope=float(result.x[0]), intercept=float(result.x[1]))

    def apply(self, proba: np.ndarray) -> np.ndarray:
        """Probabilities (rows summing to one) whose top entry is the scaled confidence and whose other
        entries keep their ratios. The top entry is kept above the next one, so no row's ranking changes
        (short of shares below float64's range, which become 0)."""
        proba = np.asarray(proba, dtype=np.float64)
        if proba.ndim != 2 or proba.shape[1] < 2 or len(proba) == 0:
            return proba.copy()
        top = _top_parts(proba)
        z = self.slope * top.log_odds + self.intercept
        # what the others share is sigmoid(-z) itself, not 1 - sigmoid(z), which rounds to 0 near certainty
        confidence, remainder = _sigmoid(z), _sigmoid(-z)
        with np.errstate(divide="ignore", invalid="ignore"):
            # the top stays first: above the share the runner-up gets once the others are rescaled
            runner_up = top.others.max(axis=1)
            floor = np.where(top.rest > 0, runner_up / (top.rest + runner_up), 0.0) * (1 + _ORDER_MARGIN)
            lifted = floor > confidence
            confidence = np.where(lifted, floor, confidence)
            remainder = np.where(lifted, 1.0 - floor, remainder)
            factor = np.where(top.rest > 0, remainder / top.rest, 0.0)
        scaled = top.others * factor[:, None]
        scaled[np.arange(len(proba)), top.best] = np.where(top.rest > 0, confidence, 1.0)
        return scaled

    def to_record(self) -> dict[str, Any]:
        """The JSON object a manifest stores under ``confidence_scaling``."""
        return {"method": METHOD, "slope": self.slope, "intercept": self.intercept}

    @classmethod
    def from_record(cls, record: Any) -> ConfidenceScaling:
        """Read :meth:`to_record`'s object; ``ValueError`` saying what is wrong with it."""
        if not isinstance(record, dict) or set(record) != _FIELDS:
            raise ValueError(f"an object with exactly the fields {', '.join(sorted(_FIELDS))}")
        if record["method"] != METHOD:
            raise ValueError(f"method {METHOD!r} (this triage knows no other; upgrade triage for newer models)")
        return cls(slope=record["slope"], intercept=record["intercept"])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)) without overflow, and without rounding tiny results to 0."""
    small = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + small), small / (1.0 + small))
