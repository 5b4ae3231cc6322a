"""Quality of the shipped default model on real messages it never trained on.

Needs ../shared/data/teddy2020c (or --data). Prints the weak-label coverage of the replies and
every figure of `triage.datasets.teddy2020c.evaluate`, the same ones recorded in the card.
Run: `python benchmarks/default_model_quality.py`.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import triage
from triage.datasets import teddy2020c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=teddy2020c.default_path())
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    if args.data is None:
        raise SystemExit("teddy2020c data not found; pass --data FOLDER")

    replies = teddy2020c.load_replies(args.data)
    labelled = replies["department"].notna()
    print(f"weak labels from replies: {labelled.sum()} of {len(replies)} ({labelled.mean():.1%} coverage)")
    print("  by cue:", dict(Counter(replies.loc[labelled, "cue"]).most_common()))
    print("  by department:", dict(Counter(replies.loc[labelled, "department"]).most_common()))

    model = triage.load(args.model)
    print(f"model {model.path}, review threshold {model.review_threshold:.3f}")
    for name, result in teddy2020c.evaluate(model, args.data).items():
        figures = ", ".join(
            f"{key} {result[key]:.3f}"
            for key in (
                "accuracy",
                "top3_accuracy",
                "macro_f1",
                "topic_accuracy",
                "automatic_share",
                "automatic_precision",
                "automatic_topic_precision",
            )
            if result.get(key) is not None
        )
        print(f"{name} (n={result['n']}): {figures}")


if __name__ == "__main__":
    main()
