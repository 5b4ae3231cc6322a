"""How well `triage hot` finds the real campaigns of ../shared/data/teddy2020c/votes.csv.

The dev set ``benchmarks/hot_concerns_dev.csv`` (columns ``concern,id``; ids only, no text) names,
for 10 concerns read off the board by hand, the messages that raise each one (how it was built:
the README section "Near-duplicates and hot topics"). For every concern this prints the topic
holding most of its messages — its rank, whether it is in the top 10, its recall (share of the
concern's messages in it) and purity (share of its messages that belong to the concern) — as a
clerk would run it (subject + body, times, likes, the shipped model):

    python benchmarks/hot_concerns.py [--half-life 30] [--concern-threshold 0.25] [--top 10]

A concern passes when its topic is in the top 10 with recall >= 0.7 and purity >= 0.8.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import triage  # noqa: E402
from triage.concerns import DEFAULT_CONCERN_THRESHOLD  # noqa: E402
from triage.datasets.teddy2020c import default_path, load_votes  # noqa: E402
from triage.hot import hot_topics  # noqa: E402

DEV_SET = Path(__file__).with_name("hot_concerns_dev.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--half-life", type=float, default=30.0)
    parser.add_argument("--concern-threshold", type=float, default=DEFAULT_CONCERN_THRESHOLD)
    parser.add_argument("--copies-only", action="store_true", help="near-duplicate groups only (the old topics)")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()

    votes = load_votes(default_path())
    with DEV_SET.open(encoding="utf-8", newline="") as handle:
        concerns: dict[str, set[str]] = defaultdict(set)
        for row in csv.DictReader(handle):
            concerns[row["concern"]].add(row["id"])
    ids = votes["id"].astype(str).tolist()
    topics = hot_topics(
        votes["text"].tolist(),
        times=votes["time"].tolist(),
        likes=votes["likes"].tolist(),
        concern_threshold=None if args.copies_only else args.concern_threshold,
        half_life_days=args.half_life,
        top=len(ids),
        min_size=1,
        model=triage.load(),
    )
    print(f"{len(ids)} messages, {len(concerns)} concerns, {sum(map(len, concerns.values()))} labelled messages")
    print(f"top {args.top}:")
    for topic in topics[: args.top]:
        labels = Counter(c for i in topic.members for c, members in concerns.items() if ids[i] in members)
        print(
            f"  {topic.rank:>2}. size {topic.size:>3} voices {topic.voices:>3} hotness {topic.hotness:6.2f}"
            f"  {topic.place or '-'} | {topic.issue} | {topic.department} | dev: {dict(labels) or '-'}"
        )
    print(f"{'concern':28} {'size':>4} {'rank':>4} {'top':>4} {'recall':>6} {'purity':>6}  pass")
    passed = 0
    for name, members in sorted(concerns.items(), key=lambda item: -len(item[1])):
        best = max(topics, key=lambda t: sum(ids[i] in members for i in t.members))
        hit = sum(ids[i] in members for i in best.members)
        recall, purity = hit / len(members), hit / best.size
        ok = best.rank <= args.top and recall >= 0.7 and purity >= 0.8
        passed += ok
        print(
            f"{name:28} {len(members):>4} {best.rank:>4} {'yes' if best.rank <= args.top else 'no':>4}"
            f" {recall:6.2f} {purity:6.2f}  {'yes' if ok else 'no'}"
        )
    print(f"{passed} of {len(concerns)} concerns are one top-{args.top} topic with recall >= 0.7 and purity >= 0.8")


if __name__ == "__main__":
    main()
