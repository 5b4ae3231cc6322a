"""Train the default model shipped in models/default: `python models/train_default.py`.

Trains on the authored petition corpus bundled with triage (triage.datasets.load_petitions),
with fixed seeds, and writes models/default (model.skops, manifest.json, README.md card).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import triage
from triage.datasets import load_petitions

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "default"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()

    corpus = load_petitions()
    counts = Counter(corpus.departments)
    description = (
        f"The triage authored petition corpus ({len(corpus)} messages written by the triage developers in "
        f"the styles of hotline work orders, mailbox letters, liaison-station messages and online posts; "
        f"{len(counts)} departments, {min(counts.values())}–{max(counts.values())} messages each). "
        "No real citizen message is included."
    )
    model = triage.train(
        corpus.texts,
        corpus.departments,
        training_data={"name": "default", "description": description, "per_department": dict(sorted(counts.items()))},
    )
    model.save(args.output, overwrite=True)
    held_out = model.manifest["metrics"]["held_out"]
    print(
        f"saved {args.output}: held-out accuracy {held_out['accuracy']:.3f}, macro-F1 {held_out['macro_f1']:.3f}, "
        f"review threshold {model.review_threshold:.3f}, automatic share {held_out['automatic_share']:.3f}"
    )


if __name__ == "__main__":
    main()
