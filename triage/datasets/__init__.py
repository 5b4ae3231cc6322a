"""Datasets shipped with triage.

:func:`load_petitions` returns the authored petition corpus: messages written by the triage
developers in the styles residents use (hotline work orders, mailbox letters, liaison-station
messages, online posts), each with a primary department, a sub-category and any co-handlers.
No message is taken or paraphrased from real data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from triage._optional import import_optional

__all__ = ["AUTHORED_CORPUS_SOURCE", "Petitions", "authored_texts", "load_petitions", "trained_on_authored_corpus"]

#: The phrase a model's ``training_data.sources`` holds when the authored corpus was among its
#: training data (``models/train_default.py`` writes it; the shipped default model has it).
AUTHORED_CORPUS_SOURCE = "triage authored petition corpus"


@dataclass(frozen=True)
class Petitions:
    """The authored corpus as parallel tuples, one entry per message."""

    ids: tuple[str, ...]
    texts: tuple[str, ...]
    departments: tuple[str, ...]
    subcategories: tuple[str, ...]
    co_handlers: tuple[tuple[str, ...], ...]
    channels: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.texts)


def _records() -> list[dict[str, Any]]:
    folder = resources.files("triage") / "datasets" / "data" / "petitions"
    records: list[dict[str, Any]] = []
    for file in sorted(folder.iterdir(), key=lambda f: f.name):
        if file.name.endswith(".jsonl"):
            with file.open(encoding="utf-8") as handle:
                records.extend(json.loads(line) for line in handle if line.strip())
    return records


def load_petitions(*, as_frame: bool = False) -> Any:
    """Load the authored corpus as :class:`Petitions`, or a pandas DataFrame with ``as_frame=True``.

    Examples
    --------
    >>> data = load_petitions()
    >>> len(data.texts) == len(data.departments) > 0
    True
    """
    records = _records()
    if as_frame:
        pandas = import_optional("pandas", extra="io", purpose="load_petitions(as_frame=True)")
        return pandas.DataFrame.from_records(records)
    return Petitions(
        ids=tuple(r["id"] for r in records),
        texts=tuple(r["text"] for r in records),
        departments=tuple(r["department"] for r in records),
        subcategories=tuple(r["subcategory"] for r in records),
        co_handlers=tuple(tuple(r["co_handlers"]) for r in records),
        channels=tuple(r["channel"] for r in records),
    )


@cache
def authored_texts() -> frozenset[str]:
    """Every message of the authored corpus, for telling whether texts are among them."""
    return frozenset(record["text"] for record in _records())


def trained_on_authored_corpus(manifest: Mapping[str, Any]) -> bool:
    """Whether a model's manifest says the authored corpus was part of its training data."""
    sources = manifest.get("training_data", {}).get("sources", [])
    return any(AUTHORED_CORPUS_SOURCE in str(source) for source in sources)
