"""Quality of the shipped default model on real messages it never trained on.

Needs ../shared/data/teddy2020c (or --data). Prints the weak-label coverage of the replies, the
precision of the labels read from reply wording (`handlers_by_reply_text`, 5-fold cross-validation
over the train split's replies whose handler is known), and every figure of
`triage.datasets.teddy2020c.evaluate`, the same ones recorded in the card.
Run: `python benchmarks/default_model_quality.py`.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.model_selection import KFold

import triage
from triage.datasets import teddy2020c
from triage.departments import find_units
from triage.replies import handlers_by_reply_text


def _without_unit_names(reply: str) -> str:
    """The reply with every unit it names, and a township's "我镇", taken out."""
    for mention in sorted(find_units(reply), key=lambda mention: -mention.start):
        reply = reply[: mention.start] + reply[mention.end :]
    return re.sub(r"[我本](?:镇|乡|街道办?|社区|村)", "", reply)


def reply_text_precision(replies, min_confidence: float = 0.8) -> None:
    """Hide the known handlers of one fold at a time and compare what the reply wording gives back:
    as the replies are, and with the unit names taken out of the hidden ones (the replies the
    labels are meant for name no unit)."""
    train = replies[replies["split"] == "train"]
    texts = [str(reply) for reply in train["reply"].fillna("")]
    handlers = list(train["department"])
    known = np.flatnonzero(train["department"].notna().to_numpy())
    for blank in (False, True):
        right = filled = 0
        for _, hidden in KFold(5, shuffle=True, random_state=0).split(known):
            masked, shown = list(handlers), list(texts)
            for i in known[hidden]:
                masked[i] = None
                if blank:
                    shown[i] = _without_unit_names(shown[i])
            guessed = handlers_by_reply_text(shown, masked, min_confidence=min_confidence)
            for i in known[hidden]:
                if guessed[i] is not None:
                    filled += 1
                    right += guessed[i] == handlers[i]
        print(
            f"labels from reply wording (confidence >= {min_confidence}), 5-fold CV over {len(known)} train replies "
            f"with a known handler{', unit names taken out' if blank else ''}: {filled} labelled "
            f"({filled / len(known):.1%}), precision {right / filled:.1%}"
        )


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
    reply_text_precision(replies)

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
