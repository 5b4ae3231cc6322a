"""Progress of long library calls (training, evaluation, label audits) on stderr.

Training takes minutes on a real export; a bar naming the step under way tells the user that
something is happening and what. Shown with tqdm (the ``io`` extra) when stderr is a terminal,
unless turned off; never written into pipes or logs.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = ["Steps", "steps"]


def _wanted(progress: bool | None) -> bool:
    """``progress`` as given, or (``None``) whether stderr is a terminal."""
    if progress is not None:
        return progress
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


class Steps:
    """Advances a bar through named steps; does nothing when there is no bar."""

    def __init__(self, bar: Any | None, title: str):
        self._bar = bar
        self._title = title
        self._started = False

    def start(self, name: str) -> None:
        """Count the step under way as done and show ``name`` as the next one."""
        if self._bar is None:
            return
        if self._started:
            self._bar.update(1)
        self._started = True
        self._bar.set_description_str(f"{self._title}: {name}")


@contextmanager
def steps(title: str, names: Sequence[str], *, progress: bool | None = None) -> Iterator[Steps]:
    """A bar of ``len(names)`` steps titled ``title``; ``progress=None`` shows it only on a terminal."""
    if not _wanted(progress):
        yield Steps(None, title)
        return
    try:
        tqdm = importlib.import_module("tqdm").tqdm
    except ImportError:  # tqdm comes with the io extra; without it, no bar
        yield Steps(None, title)
        return
    bar = tqdm(
        total=len(names),
        desc=title,
        file=sys.stderr,
        bar_format="{desc} ({n_fmt}/{total_fmt} steps done, {elapsed})",
        leave=False,
    )
    try:
        yield Steps(bar, title)
        bar.update(bar.total - bar.n)
    finally:
        bar.close()
