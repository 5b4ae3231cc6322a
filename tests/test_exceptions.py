"""The errors and warnings of triage.exceptions are what callers catch and filter: each error is a TriageError and
the builtin a caller would already catch, each warning a UserWarning (so ``-W ignore::UserWarning`` and
``except ValueError`` keep working)."""

from __future__ import annotations

import warnings

import pytest

import triage.exceptions
from triage.exceptions import (
    ConfigError,
    DuplicateColumnWarning,
    InconsistentVersionWarning,
    MissingDependencyError,
    MissingFontWarning,
    ModelIntegrityError,
    ModelNotFoundError,
    ScorerMismatchError,
    SegmenterMismatchWarning,
    TitleRowsWarning,
    TrainingDataError,
    TrainingDataOverlapError,
    TrainingDataWarning,
    TriageError,
    UnservableEstimatorError,
    UntrustedModelError,
    UnusedValueWarning,
)

#: Each error and the builtin a caller catches it as.
ERRORS = {
    TriageError: Exception,  # what a caller catches to handle every error triage raises on purpose
    ModelNotFoundError: FileNotFoundError,
    ModelIntegrityError: ValueError,
    UntrustedModelError: ValueError,
    UnservableEstimatorError: ValueError,
    ScorerMismatchError: ValueError,
    ConfigError: ValueError,
    MissingDependencyError: ImportError,
    TrainingDataError: ValueError,
    TrainingDataOverlapError: ValueError,
}
#: Each warning and the category a filter names to silence it with others.
WARNINGS = {
    InconsistentVersionWarning: UserWarning,
    SegmenterMismatchWarning: InconsistentVersionWarning,  # a model's versions differ: one filter for both
    MissingFontWarning: UserWarning,
    TrainingDataWarning: UserWarning,
    DuplicateColumnWarning: UserWarning,
    TitleRowsWarning: UserWarning,
    UnusedValueWarning: UserWarning,
}


def test_every_public_error_and_warning_is_listed_here():
    public = {getattr(triage.exceptions, name) for name in triage.exceptions.__all__}
    assert public == {*ERRORS, *WARNINGS}


@pytest.mark.parametrize(("error", "builtin"), ERRORS.items(), ids=lambda kind: kind.__name__)
def test_an_error_is_caught_as_a_triage_error_and_as_its_builtin(error, builtin):
    for caught in (TriageError, builtin, Exception):
        with pytest.raises(caught, match=r"^what is wrong$"):
            raise error("what is wrong")


@pytest.mark.parametrize(("warning", "category"), WARNINGS.items(), ids=lambda kind: kind.__name__)
def test_a_warning_is_filtered_with_its_category(warning, category):
    with pytest.warns(category, match=r"^what may be off$"):
        warnings.warn(warning("what may be off"), stacklevel=1)
