"""Errors and warnings raised by triage.

Each subclasses the builtin a caller would already catch (``except ValueError`` keeps
working) and says what is wrong and what to do next.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DuplicateColumnWarning",
    "InconsistentVersionWarning",
    "MissingDependencyError",
    "ModelIntegrityError",
    "ModelNotFoundError",
    "SegmenterMismatchWarning",
    "TrainingDataWarning",
    "TriageError",
    "UntrustedModelError",
]


class TriageError(Exception):
    """Base class of every error triage raises on purpose."""


class ModelNotFoundError(TriageError, FileNotFoundError):
    """No model directory (or no model file inside it) where one was expected."""


class ModelIntegrityError(TriageError, ValueError):
    """A model directory is damaged or was altered: hashes, manifest or format do not match."""


class UntrustedModelError(TriageError, ValueError):
    """A model file names types outside triage's trusted list, or is not a skops file at all."""


class ConfigError(TriageError, ValueError):
    """A department directory or routing configuration is invalid."""


class MissingDependencyError(TriageError, ImportError):
    """An optional dependency is needed for this feature; the message names the extra to install."""


class InconsistentVersionWarning(UserWarning):
    """A model was saved by other versions of triage, scikit-learn or jieba, or another user dictionary.

    Predictions may differ from those measured when the model was trained; retrain or
    pin the versions recorded in the model's ``manifest.json``.
    """


class SegmenterMismatchWarning(InconsistentVersionWarning):
    """A model is served by another segmenter (jieba or rjieba) than the one it was trained with.

    The two agree on almost every message; set ``TRIAGE_SEGMENTER`` to the recorded one
    (``manifest.json``: ``segmenter``) or retrain to remove the difference.
    """


class TrainingDataWarning(UserWarning):
    """Training data had rows or classes that were left out or are too small to learn well."""


class DuplicateColumnWarning(UserWarning):
    """An export repeats a column name; the later ones were renamed ``NAME.1``, ``NAME.2``, ... (as pandas does)
    so that no output format silently drops or overwrites one of them."""
