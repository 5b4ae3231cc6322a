"""The app-facing model: load once, classify one message or many, from any number of threads."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from triage.exceptions import ModelNotFoundError
from triage.results import Classification, ReviewReason, RoutingSuggestion
from triage.text import PreparedText, has_chinese, prepare

if TYPE_CHECKING:
    from triage.estimator import TriageClassifier

__all__ = ["TriageModel", "default_model_path", "load"]

DEFAULT_TOP_K = 3
DEFAULT_EXPLAIN_TERMS = 5


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
    from triage.persistence import load_model

    directory = Path(path) if path is not None else default_model_path()
    estimator, manifest = load_model(directory)
    return TriageModel(estimator, manifest, path=directory)


def _ensure_texts(texts: Iterable[Any]) -> list[str]:
    items = list(texts)
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(
                f"text at index {index} is {type(item).__name__}, not str; "
                "convert missing values (None, NaN) to '' and decode bytes before classifying"
            )
    return items


class TriageModel:
    """A loaded model with its manifest: what applications call.

    Instances are read-only after loading, so one instance can serve many threads.
    """

    def __init__(self, estimator: TriageClassifier, manifest: dict[str, Any], *, path: Path | None = None):
        self.estimator = estimator
        self.manifest = manifest
        self.path = path
        self._names = {label["code"]: label.get("name", label["code"]) for label in manifest.get("labels", [])}
        #: PNG figures (file name → bytes) saved with the model and shown in its card.
        self.figures: dict[str, bytes] = {}
        self._feature_names: np.ndarray | None = None
        self._feature_names_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<TriageModel {len(self.classes)} departments from {self.path}>"

    @property
    def classes(self) -> list[str]:
        """Department codes the model can return."""
        return [str(c) for c in self.estimator.classes_]

    @property
    def review_threshold(self) -> float:
        """Below this confidence a result is flagged ``needs_review`` (chosen at training time)."""
        return float(self.manifest.get("review_threshold", 0.0))

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Save this model as a directory (skops file, manifest, card); see :mod:`triage.persistence`."""
        from triage.persistence import save_model

        return save_model(self.estimator, path, manifest=self.manifest, figures=self.figures, overwrite=overwrite)

    def department_name(self, code: str) -> str:
        """Chinese name of a department code as recorded in the model."""
        return self._names.get(code, code)

    def _term_names(self) -> np.ndarray:
        if self._feature_names is None:
            with self._feature_names_lock:
                if self._feature_names is None:
                    self._feature_names = self.estimator.feature_names()
        return self._feature_names

    def _explain(self, features: Any, class_index: int, limit: int) -> tuple[tuple[str, float], ...]:
        """The ``limit`` strongest terms towards ``class_index``: words first, then character
        n-grams that add something no chosen word already shows."""
        if limit <= 0:
            return ()
        names = self._term_names()
        weighted = [
            (str(names[index]).split("__", 1), weight)
            for index, weight in self.estimator.term_weights(features, class_index)
        ]
        chosen = [(term, weight) for (kind, term), weight in weighted if kind == "words"][:limit]
        for (kind, term), weight in weighted:
            if len(chosen) == limit:
                break
            if kind == "chars" and not any(term in seen.replace(" ", "") for seen, _ in chosen):
                chosen.append((term, weight))
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

    def _classify_many(self, texts: list[str], top_k: int, explain: int) -> list[Classification]:
        prepared = [prepare(text) for text in texts]
        usable = [i for i, p in enumerate(prepared) if has_chinese(p.text)]
        results: list[Classification | None] = [None] * len(texts)
        if usable:
            proba, features = self.estimator.proba_and_features([prepared[i].text for i in usable])
            classes = self.classes
            threshold = self.review_threshold
            for row, index in enumerate(usable):
                ranked = np.argsort(-proba[row], kind="stable")
                best = int(ranked[0])
                confidence = float(proba[row, best])
                low = confidence < threshold
                results[index] = Classification(
                    department=classes[best],
                    department_name=self.department_name(classes[best]),
                    confidence=confidence,
                    candidates=tuple((classes[k], float(proba[row, k])) for k in ranked[:top_k]),
                    needs_review=low,
                    reason=ReviewReason.LOW_CONFIDENCE if low else None,
                    explanation=self._explain(features[row], best, explain),
                    truncated=prepared[index].truncated,
                )
        return [r if r is not None else self._unclassified(prepared[i]) for i, r in enumerate(results)]

    @overload
    def classify(self, texts: str, *, top_k: int = ..., explain: int = ...) -> Classification: ...
    @overload
    def classify(self, texts: Iterable[str], *, top_k: int = ..., explain: int = ...) -> list[Classification]: ...

    def classify(
        self, texts: str | Iterable[str], *, top_k: int = DEFAULT_TOP_K, explain: int = DEFAULT_EXPLAIN_TERMS
    ) -> Classification | list[Classification]:
        """Classify one message (returns a :class:`Classification`) or many (returns a list).

        A list is vectorised in one pass. Empty, punctuation-only or non-Chinese texts get
        ``department=None`` and ``needs_review=True`` without affecting the other items.

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

    @overload
    def route(self, texts: str, *, config: Any = ..., metadata: Any = ...) -> RoutingSuggestion: ...
    @overload
    def route(self, texts: Iterable[str], *, config: Any = ..., metadata: Any = ...) -> list[RoutingSuggestion]: ...

    def route(
        self, texts: str | Iterable[str], *, config: Any = None, metadata: Any = None
    ) -> RoutingSuggestion | list[RoutingSuggestion]:
        """Routing suggestions: department, local office, co-handlers, urgency, review reasons, explanation.

        ``config`` is a :class:`triage.routing.RoutingConfig` or the path of a routing TOML file
        (default: no rules, no places). ``metadata`` is a mapping for one text (a list of them
        for many), e.g. ``{"place": "金桂小区"}`` when the location is known from elsewhere.
        A list of texts is routed in one vectorised pass.
        """
        from triage.routing import RoutingConfig, load_config, route

        if config is not None and not isinstance(config, RoutingConfig):
            config = load_config(config)
        if isinstance(texts, str):
            return route(self, [texts], config, metadata=[metadata])[0]
        return route(self, _ensure_texts(texts), config, metadata=metadata)

    def predict(self, texts: Iterable[str]) -> np.ndarray:
        """Department codes of many messages (``None`` where a text cannot be classified)."""
        if isinstance(texts, str):
            raise ValueError("predict() takes an iterable of texts; use classify() for one message")
        results = self._classify_many(_ensure_texts(texts), top_k=1, explain=0)
        codes = np.empty(len(results), dtype=object)
        codes[:] = [result.department for result in results]
        return codes
