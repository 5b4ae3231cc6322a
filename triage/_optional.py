"""Import optional dependencies with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from triage.exceptions import MissingDependencyError

#: The name triage is installed under (pip, PyPI); ``triage`` there is another project.
DISTRIBUTION = "petition-triage"


def install_hint(extra: str | None = None) -> str:
    """The pip command that installs triage, with ``extra`` (e.g. ``io``) where one is needed."""
    return f"pip install '{DISTRIBUTION}[{extra}]'" if extra else f"pip install -U {DISTRIBUTION}"


def import_optional(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming ``pip install 'petition-triage[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(
            f"{purpose} needs the optional package {module.split('.')[0]!r}; install it with: {install_hint(extra)}"
        ) from None
