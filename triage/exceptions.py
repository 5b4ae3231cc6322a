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
    "MissingFontWarning",
    "ModelIntegrityError",
    "ModelNotFoundError",
    "ScorerMismatchError",
    "SegmenterMismatchWarning",
    "TitleRowsWarning",
    "TrainingDataError",
    "TrainingDataOverlapError",
    "TrainingDataWarning",
    "TriageError",
    "UnservableEstimatorError",
    "UntrustedModelError",
    "UnusedValueWarning",
]


class TriageError(Exception):
    """Base class of every error triage raises on purpose."""


class ModelNotFoundError(TriageError, FileNotFoundError):
    """No model directory (or no model file inside it) where one was expected."""


class ModelIntegrityError(TriageError, ValueError):
    """A model directory is damaged or was altered: hashes, manifest or format do not match."""


class UntrustedModelError(TriageError, ValueError):
    """A model file names types outside triage's trusted list, or is not a skops file at all."""


class UnservableEstimatorError(TriageError, ValueError):
    """A fitted estimator uses a setting :class:`~triage.scoring.LinearScorer` does not implement,
    so its numpy form would answer differently; the message names the setting and the value served."""


class ScorerMismatchError(TriageError, ValueError):
    """A scorer disagrees with the estimator it is saved for on the probe texts, so it is not saved."""


class ConfigError(TriageError, ValueError):
    """A department directory or routing configuration is invalid."""


class MissingDependencyError(TriageError, ImportError):
    """An optional dependency is needed for this feature; the message names the extra to install."""


class TrainingDataError(TriageError, ValueError):
    """Labelled data cannot train or score what was asked: too few departments or examples, a date
    that is not one, no sub-label to score. The message names the column or row and what to change."""


class TrainingDataOverlapError(TriageError, ValueError):
    """Texts to evaluate on were part of the model's training data, so their score would mislead."""


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


class MissingFontWarning(UserWarning):
    """No installed font draws Chinese, so figures show Chinese labels as codes.

    Install the ``plots`` extra (it brings Noto Sans CJK) or a CJK font from the system's packages.
    """


class TrainingDataWarning(UserWarning):
    """Training data had rows or classes that were left out or are too small to learn well."""


class DuplicateColumnWarning(UserWarning):
    """An export repeats a column name; the later ones were renamed ``NAME.1``, ``NAME.2``, ... (as pandas does)
    so that no output format silently drops or overwrites one of them. Also: a column name holding a lone
    surrogate escape, which no output can write, was renamed with U+FFFD in its place."""


class TitleRowsWarning(UserWarning):
    """A sheet carried rows above its column names (a title merged across the table, a blank row); they were
    skipped, and the header read is the first row with two or more names."""


class UnusedValueWarning(UserWarning):
    """Values of a time or likes column that are not a time or a count, or times after tomorrow (a typo such as
    2099 for 2019), were counted as missing: the first one is named, to check the column or fix the export."""
