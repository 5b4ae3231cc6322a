"""Hand-written capability sets: does a model route the kinds of message real boards showed it got wrong?

Each file `benchmarks/capabilities/<letter>_<name>.jsonl` holds messages written for this check
(never taken or paraphrased from real data, and kept apart from the training corpus: no message has
a character-trigram Jaccard >= 0.5 with an authored corpus message). A row has `id`, `text`,
`department` (the expected one), `acceptable` (every department a reviewer would accept, the
expected one included) and `note` (why). A prediction is right when it is in `acceptable`.
Run: `python benchmarks/capabilities.py [--model PATH]`.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from corpus_stats import max_jaccard, shingles

import triage
from triage.datasets import load_petitions

SETS = Path(__file__).resolve().parent / "capabilities"


@dataclass(frozen=True)
class Miss:
    id: str
    predicted: str
    expected: str


def load_sets(folder: Path = SETS) -> dict[str, list[dict]]:
    """Every capability set in ``folder``, by file stem, rows in file order."""
    sets = {}
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            sets[path.stem] = [json.loads(line) for line in handle if line.strip()]
    if not sets:
        raise FileNotFoundError(f"no capability sets (*.jsonl) in {folder}")
    return sets


def misses_by_set(model: triage.TriageModel, sets: dict[str, list[dict]] | None = None) -> dict[str, list[Miss]]:
    """Per set, the rows whose predicted department is not among the acceptable ones."""
    sets = load_sets() if sets is None else sets
    result = {}
    for name, rows in sets.items():
        predictions = [r.department for r in model.classify([row["text"] for row in rows])]
        result[name] = [
            Miss(row["id"], predicted, row["department"])
            for row, predicted in zip(rows, predictions, strict=True)
            if predicted not in row["acceptable"]
        ]
    return result


def accuracy_by_set(model: triage.TriageModel, sets: dict[str, list[dict]] | None = None) -> dict[str, float]:
    """Per set, the share of rows whose top-1 department is acceptable."""
    sets = load_sets() if sets is None else sets
    return {name: 1 - len(misses) / len(sets[name]) for name, misses in misses_by_set(model, sets).items()}


def closest_corpus_similarity(sets: dict[str, list[dict]] | None = None) -> dict[str, float]:
    """Per set row id, the highest character-trigram Jaccard similarity with an authored corpus message."""
    sets = load_sets() if sets is None else sets
    corpus = load_petitions().texts
    rows = [row for rows in sets.values() for row in rows]
    matrix, _ = shingles([*corpus, *(row["text"] for row in rows)])
    closest = max_jaccard(matrix[len(corpus) :], matrix[: len(corpus)], same=False)
    return {row["id"]: float(score) for row, score in zip(rows, closest, strict=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped model)")
    args = parser.parse_args()
    model = triage.load(args.model)
    sets = load_sets()
    similarity = closest_corpus_similarity(sets)
    closest = max(similarity, key=similarity.get)
    print(f"closest corpus message to any set row: trigram Jaccard {similarity[closest]:.3f} ({closest})")
    for name, misses in misses_by_set(model, sets).items():
        n = len(sets[name])
        print(f"{name}: n={n} top-1 accuracy {1 - len(misses) / n:.3f}")
        for miss in misses:
            print(f"  miss {miss.id}: predicted {miss.predicted}, expected {miss.expected}")


if __name__ == "__main__":
    main()
