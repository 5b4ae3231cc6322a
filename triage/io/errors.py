"""The error of an input file that cannot be read as asked, raised by every reader here."""

from __future__ import annotations

from triage.exceptions import TriageError


class DataError(TriageError, ValueError):
    """An input file cannot be read as asked: wrong format, encoding or columns."""
