"""How well :func:`triage.mask_pii` finds personal data, and how often it masks what is not.

Two parts:

- ``synthetic`` (default): recall and precision per category on ``benchmarks/pii_set.jsonl``
  (made by ``benchmarks/make_pii_set.py``: template messages with random but realistic values,
  and hand-written hard negatives). Per message and category, the expected count is the number
  of labelled spans, the found count the placeholders :func:`mask_pii` added; a span counts as
  found only if its value is gone from the output. An address also needs its estate name kept.
- ``realdata``: every mask made on real messages (``../shared/data``: teddy2020c votes and
  replies, jiamusi, dalian), a fixed random sample of ``--sample`` of them printed with their
  context, for a person to read and count false positives. Nothing is written to disk.

Run from a checkout::

    python benchmarks/pii.py                      # synthetic table
    python benchmarks/pii.py realdata --sample 200
    python benchmarks/pii.py timing               # 100 kB adversarial strings, per pattern
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

from triage import pii
from triage.text import normalize

HERE = Path(__file__).resolve().parent
SET_PATH = HERE / "pii_set.jsonl"
SHARED = HERE.parent.parent / "shared" / "data"
REAL_FILES = (
    ("teddy2020c/votes.csv", ("subject", "body")),
    ("teddy2020c/replies.csv", ("subject", "body", "reply")),
    ("jiamusi/messages.csv", ("title", "body", "reply")),
    ("dalian/messages.csv", ("title", "body", "reply")),
)
CATEGORY_OF = {placeholder: category for category, placeholder in pii.PLACEHOLDERS.items()}
_ANY_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in pii.PLACEHOLDERS.values()))


def placeholder_counts(text: str) -> Counter:
    return Counter(CATEGORY_OF[m.group()] for m in _ANY_PLACEHOLDER.finditer(text))


def score_synthetic(path: Path) -> dict[str, dict[str, float]]:
    """Per category: expected spans, true and false positives, recall and precision."""
    expected_total: Counter = Counter()
    found_total: Counter = Counter()
    true_positive: Counter = Counter()
    misses: dict[str, list[str]] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            text = item["text"]
            masked = pii.mask_pii(normalize(text))
            added = placeholder_counts(masked) - placeholder_counts(text)
            expected = Counter(span["category"] for span in item["spans"])
            gone: Counter = Counter()
            for span in item["spans"]:
                value = normalize(text[span["start"] : span["end"]])
                kept_context = all(keep in masked for keep in span.get("keep", ()))
                if value not in masked and kept_context:
                    gone[span["category"]] += 1
                elif len(misses.setdefault(span["category"], [])) < 5:
                    misses[span["category"]].append(f"{text} -> {masked}")
            for category in set(added) - set(expected) if len(misses.setdefault("false", [])) < 30 else ():
                misses["false"].append(f"{category}: {text} -> {masked}")
            for category in set(expected) | set(added):
                expected_total[category] += expected[category]
                found_total[category] += added[category]
                true_positive[category] += min(expected[category], added[category], gone[category])
    table = {}
    for category in pii.PLACEHOLDERS:
        n, found, hits = expected_total[category], found_total[category], true_positive[category]
        table[category] = {
            "spans": n,
            "masked": found,
            "recall": hits / n if n else float("nan"),
            "precision": hits / found if found else float("nan"),
        }
    for category, examples in misses.items():
        for example in examples:
            print(f"  missed {category}: {example}", file=sys.stderr)
    return table


def real_texts(data: Path) -> list[str]:
    texts = []
    for name, columns in REAL_FILES:
        path = data / name
        if not path.exists():
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                texts += [row[c] for c in columns if row.get(c)]
    return texts


def masks_made(text: str) -> list[tuple[str, str, str]]:
    """Each mask :func:`mask_pii` makes on ``text``: (category, what it replaced, context)."""
    made = []
    text = normalize(text)
    for step in pii._STEPS:
        if step.hint is not None and not step.hint(text):
            continue

        def record(match: re.Match[str], step: pii._Step = step, text: str = text) -> str:
            replaced = step.replacement if isinstance(step.replacement, str) else step.replacement(match)
            if replaced != match.group():
                context = text[max(0, match.start() - 15) : match.end() + 15]
                made.append((CATEGORY_OF[_ANY_PLACEHOLDER.search(replaced).group()], match.group(), context))
            return replaced

        text = step.pattern.sub(record, text)
    return made


def realdata(data: Path, sample: int, seed: int) -> None:
    texts = real_texts(data)
    if not texts:
        sys.exit(f"no real data under {data}: pass --data")
    every = [mask for text in texts for mask in masks_made(text)]
    print(f"{len(texts)} texts, {len(every)} masks: {dict(Counter(c for c, _, _ in every))}")
    for number, (category, value, context) in enumerate(random.Random(seed).sample(every, min(sample, len(every))), 1):
        print(f"{number:4} {category:10} {value!r:30} …{context}…")


def timing() -> None:
    """Milliseconds each pattern takes on 100 kB adversarial strings (the worst string, best of 3 runs)."""
    sys.path.insert(0, str(HERE.parent))  # the checkout, for the strings the test suite runs
    from tests.test_pii import ADVERSARIAL

    for step in pii._STEPS:
        worst = max(min(_time(step, text) for _ in range(3)) for text in ADVERSARIAL.values())
        print(f"{worst * 1000:7.1f} ms  {step.pattern.pattern[:70]}")
    start = time.perf_counter()
    for text in ADVERSARIAL.values():
        pii.mask_pii(text)
    print(f"mask_pii over all {len(ADVERSARIAL)} strings: {(time.perf_counter() - start) * 1000:.0f} ms")


def _time(step: pii._Step, text: str) -> float:
    start = time.perf_counter()
    step.pattern.sub(step.replacement, text)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", nargs="?", default="synthetic", choices=["synthetic", "realdata", "timing"])
    parser.add_argument("--data", type=Path, default=SHARED, help="the shared data folder (realdata)")
    parser.add_argument("--sample", type=int, default=200, help="real masks to print (realdata)")
    parser.add_argument("--seed", type=int, default=0, help="which sample of real masks (realdata)")
    args = parser.parse_args()
    if args.part == "realdata":
        realdata(args.data, args.sample, args.seed)
    elif args.part == "timing":
        timing()
    else:
        table = score_synthetic(SET_PATH)
        print(f"{'category':<12}{'spans':>7}{'masked':>8}{'recall':>8}{'precision':>11}")
        for category, row in table.items():
            print(f"{category:<12}{row['spans']:>7}{row['masked']:>8}{row['recall']:>8.3f}{row['precision']:>11.3f}")


if __name__ == "__main__":
    main()
