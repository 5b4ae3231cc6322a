"""The chance that the top department is right, fitted on messages of cities a model never saw.

A temperature alone makes SVM scores into probabilities whose *average* fits the out-of-fold
messages, but in a city the model never trained on it is both too sure at the top and too shy at
the bottom (measured leave-one-board-out on three real boards: messages given 0.95–0.96 were right
0.51–0.93 of the time, messages given 0.16–0.17 were right 0.24–0.39 of the time).
:class:`ConfidenceScaling` corrects that shape with two numbers (Platt scaling of the top
probability's log-odds)::

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
from typing import Any, NamedTuple

import numpy as np

__all__ = ["ConfidenceScaling"]

#: The only method recorded so far (the ``method`` field of the manifest record).
METHOD = "platt_top_probability"
_FIELDS = frozenset({"method", "slope", "intercept"})
# What the others of a row hold is read as at least _TINY (a softmax can give exactly 1.0), and fitting
# reads log-odds within +-_MAX_LOG_ODDS.
_TINY = np.finfo(np.float64).tiny
_MAX_LOG_ODDS = 50.0
# Bounds of a scaling: a top probability is at least 1 / classes, so its log-odds are at least
# -log(classes - 1) and exp(-z) stays finite below a million classes (fitted values are near 1 and 0).
_MAX_SLOPE = 20.0
_MAX_INTERCEPT = 100.0
# How far above the runner-up :meth:`ConfidenceScaling.apply` keeps the top (relative), well above rounding.
_ORDER_MARGIN = 1e-9


class _Top(NamedTuple):
    best: np.ndarray  # the top column of each row
    others: np.ndarray  # the rows with their top entry zeroed
    rest: np.ndarray  # what the others hold, summed from them (1 - top loses them to rounding), at least tiny
    certain: np.ndarray  # the others hold nothing: the top stays 1
    log_odds: np.ndarray  # of the top against the rest


def _top_parts(proba: np.ndarray) -> _Top:
    """What :class:`ConfidenceScaling` reads of each row, in few array operations (answering one message
    pays for each of them)."""
    rows = np.arange(len(proba))
    best = proba.argmax(axis=1)
    others = proba.copy()
    others[rows, best] = 0.0
    rest = others.sum(axis=1)
    certain = rest <= 0.0
    rest = np.maximum(rest, _TINY)
    # the top of a row is at least 1 / classes, so its log is finite
    return _Top(best, others, rest, certain, np.log(proba[rows, best]) - np.log(rest))


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
        if not 0 < self.slope <= _MAX_SLOPE:
            raise ValueError(
                f"confidence scaling slope is {self.slope}; it must be positive, so that the order of messages "
                f"(and with it the review queue) is kept, and at most {_MAX_SLOPE}"
            )
        if abs(self.intercept) > _MAX_INTERCEPT:
            raise ValueError(f"confidence scaling intercept is {self.intercept}, beyond +-{_MAX_INTERCEPT}")

    @classmethod
    def fit(cls, proba: np.ndarray, correct: np.ndarray, sample_weight: np.ndarray | None = None) -> ConfidenceScaling:
        """The scaling maximising the (weighted) likelihood of ``correct`` (whether each row's top
        department was right) given the rows' probabilities ``proba``: an unregularised logistic
        regression on the top probability's log-odds. Raises ``ValueError`` when every row is right or
        every one wrong (nothing to fit)."""
        from scipy.optimize import minimize
        from scipy.special import expit

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
            gradient = weight * sign * expit(signed)
            return float(weight @ np.logaddexp(0.0, signed)), np.array([gradient @ x, gradient.sum()])

        bounds = [(1e-6, _MAX_SLOPE), (-_MAX_INTERCEPT, _MAX_INTERCEPT)]
        result = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B", bounds=bounds)
        return cls(slope=float(result.x[0]), intercept=float(result.x[1]))

    def apply(self, proba: np.ndarray) -> np.ndarray:
        """Probabilities (rows summing to one) whose top entry is the scaled confidence and whose other
        entries keep their ratios. The top entry is kept above the next one, so no row's ranking changes
        (short of shares below float64's range, which become 0)."""
        proba = np.asarray(proba, dtype=np.float64)
        if proba.ndim != 2 or proba.shape[1] < 2 or len(proba) == 0:
            return proba.copy()
        top = _top_parts(proba)
        # the others share exp(-z) / (1 + exp(-z)) itself, not 1 - confidence, which rounds to 0 near
        # certainty; the bounds on slope and intercept keep exp(-z) finite
        tail = np.exp(-(self.slope * top.log_odds + self.intercept))
        confidence, remainder = 1.0 / (1.0 + tail), tail / (1.0 + tail)
        # the top stays first: above the share the runner-up gets once the others are rescaled
        runner_up = top.others.max(axis=1)
        floor = runner_up / (top.rest + runner_up) * (1 + _ORDER_MARGIN)
        confidence = np.maximum(confidence, floor)
        remainder = np.minimum(remainder, 1.0 - floor)
        confidence[top.certain] = 1.0
        scaled = top.others * (remainder / top.rest)[:, None]  # the certain rows' others are all 0
        scaled[np.arange(len(proba)), top.best] = confidence
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
