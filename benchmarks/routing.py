"""Routing: its cost over classify per message, and what the example rules do on real messages.

Overhead: one message per call (how a case-management system calls triage), `model.route`
with the example station config against `model.classify`, both measured in this run on the
same messages. Real text: every teddy2020c message (messages, replies, votes) is routed with
the example config; we count how often rules fire, how often they change the model's
department, and the share sent to review, by reason.
Run: `python benchmarks/routing.py [--repeats 3]`.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import triage
from triage.datasets import load_petitions, teddy2020c
from triage.routing import example_config_path, load_config


def per_message_seconds(call, texts, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for text in texts:
            call(text)
        best = min(best, (time.perf_counter() - start) / len(texts))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    model = triage.load()
    config = load_config(example_config_path())
    folder = teddy2020c.default_path()
    if folder is not None:
        real = [
            *teddy2020c.load_messages(folder)["text"],
            *teddy2020c.load_replies(folder)["text"],
            *teddy2020c.load_votes(folder)["text"],
        ]
    else:
        real = list(load_petitions().texts)
    sample = real[:500]
    model.route(sample[:5], config=config)  # warm up: segmentation dictionary, feature names
    classify = per_message_seconds(model.classify, sample, args.repeats)
    route = per_message_seconds(lambda text: model.route(text, config=config), sample, args.repeats)
    print(f"one message per call, {len(sample)} messages, best of {args.repeats}:")
    print(f"  classify {classify * 1000:.2f} ms, route {route * 1000:.2f} ms: routing adds {route / classify - 1:.1%}")

    suggestions = model.route(real, config=config)
    fired = sum(bool(s.rules_fired) for s in suggestions)
    changed = sum(s.department != s.model_department for s in suggestions)
    review = Counter(reason for s in suggestions for reason in s.review_reasons)
    print(f"{len(real)} real messages routed with the example config:")
    print(
        f"  a rule fired on {fired / len(real):.1%}; rules changed the model's department on {changed / len(real):.1%}"
    )
    print(
        f"  sent to review: {sum(s.needs_review for s in suggestions) / len(real):.1%}; by reason: "
        + ", ".join(f"{reason} {n / len(real):.1%}" for reason, n in review.most_common())
    )
    print("  rules fired:", dict(Counter(name for s in suggestions for name in s.rules_fired).most_common()))
    print(
        f"  local office found for {sum(bool(s.local_office) for s in suggestions) / len(real):.1%} "
        "(the example gazetteer names invented places, so real messages rarely match)"
    )


if __name__ == "__main__":
    main()
