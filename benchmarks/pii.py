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
    python benchmarks/pii.py speed                # us per message: prepare and its masking, vs git revisions
    python benchmarks/pii.py compare --against REV  # prepared real texts, this checkout vs a git revision
    python benchmarks/pii.py tag --rows 20000     # CPU time of tag_file (--jobs 1) with each prepare

``speed`` times teddy2020c ``votes.csv`` bodies in CPU time (the machine may be shared), the median
of ``--repeats`` rounds, each round running every implementation once in turn: this checkout's
:func:`triage.text.prepare`, its masking (:func:`triage.pii.mask_normalized` on normalised text) and
:func:`triage.text.normalize`, and the same of each ``--baseline`` revision (default ``8f9904d``, the
last ``prepare`` before issue 18's PII work), read from git. ``compare`` counts the real texts whose
prepared text differs from what ``--against`` gives and prints each difference. ``tag`` runs
``triage.batch.tag_file`` (one process, the shipped model) over ``--rows`` rows of votes (subject and
body, cycled) with this checkout's ``prepare`` and with each baseline's patched in, in turn.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import statistics
import subprocess
import sys
import time
import types
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from triage import pii
from triage.text import normalize, prepare

HERE = Path(__file__).resolve().parent
SET_PATH = HERE / "pii_set.jsonl"
SHARED = HERE.parent.parent / "shared" / "data"
REAL_FILES = (
    ("teddy2020c/votes.csv", ("subject", "body")),
    ("teddy2020c/replies.csv", ("subject", "body", "reply")),
    ("jiamusi/messages.csv", ("title", "body", "reply")),
    ("dalian/messages.csv", ("title", "body", "reply")),
)
# compare also reads the labelled teddy2020c files (realdata's sample stays as it was)
COMPARED_FILES = (
    *REAL_FILES,
    ("teddy2020c/messages.csv", ("subject", "body")),
    ("teddy2020c/bodies.csv", ("body",)),
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


def real_texts(data: Path, files: tuple[tuple[str, tuple[str, ...]], ...] = REAL_FILES) -> list[str]:
    texts = []
    for name, columns in files:
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
    for step in pii._steps_that_can_match(text):

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
    step.substitute(text)
    return time.perf_counter() - start


PRE_PII_REVISION = "8f9904d"  # the last prepare before issue 18 extended mask_pii
STAGES = ("prepare", "mask", "normalize")


def _module_from_source(name: str, source: str, filename: str) -> types.ModuleType:
    module = types.ModuleType(name)
    sys.modules[name] = module  # dataclasses look their module up there
    exec(compile(source, filename, "exec"), module.__dict__)
    return module


def text_module_at(revision: str) -> types.ModuleType:
    """``triage.text`` as it was at a git ``revision`` (with that revision's ``triage.pii`` if it had one)."""

    def show(path: str) -> str:
        command = ["git", "-C", str(HERE.parent), "show", f"{revision}:{path}"]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout

    source = show("triage/text.py")
    if "from triage.pii import" in source:
        pii_at = _module_from_source(f"_pii_at_{revision}", show("triage/pii.py"), f"{revision}:triage/pii.py")
        source = source.replace("from triage.pii import", f"from {pii_at.__name__} import")
    return _module_from_source(f"_text_at_{revision}", source, f"{revision}:triage/text.py")


def _cpu_us_per_text(function: Callable[[str], object], texts: list[str]) -> float:
    start = time.thread_time()
    for item in texts:
        function(item)
    return (time.thread_time() - start) / len(texts) * 1e6


def speed(data: Path, baselines: list[str], repeats: int) -> None:
    """Microseconds of CPU time per message: prepare, its masking and normalize, here and at each baseline."""
    path = data / "teddy2020c" / "votes.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        bodies = [row["body"] for row in csv.DictReader(handle) if row["body"]]
    normalised = [normalize(body) for body in bodies]
    implementations = {"this checkout": (prepare, pii.mask_normalized, normalize)}
    for revision in baselines:
        module = text_module_at(revision)
        implementations[revision] = (module.prepare, module.mask_pii, module.normalize)
    timings: dict[tuple[str, str], list[float]] = {}
    for _ in range(repeats):
        for name, functions in implementations.items():
            for stage, function, texts in zip(STAGES, functions, (bodies, normalised, bodies), strict=True):
                timings.setdefault((name, stage), []).append(_cpu_us_per_text(function, texts))
    print(f"{path}: {len(bodies)} bodies, {sum(map(len, bodies)) / len(bodies):.0f} characters on average")
    print(f"CPU us per message, median of {repeats} rounds (min-max)")
    print(f"{'':<16}{'prepare':>22}{'mask':>22}{'normalize':>22}")
    for name in implementations:
        cells = []
        for stage in STAGES:
            values = timings[name, stage]
            cells.append(f"{statistics.median(values):7.2f} ({min(values):5.2f}-{max(values):5.2f})")
        print(f"{name:<16}" + "".join(f"{cell:>22}" for cell in cells))


def tag_cpu(data: Path, baselines: list[str], rows: int, repeats: int) -> None:
    """CPU seconds of tag_file over ``rows`` rows with each implementation's prepare, the median of rounds."""
    import tempfile

    import triage
    import triage.batch
    import triage.model

    path = data / "teddy2020c" / "votes.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        pairs = [(row["subject"], row["body"]) for row in csv.DictReader(handle)]
    prepares = {"this checkout": prepare, **{revision: text_module_at(revision).prepare for revision in baselines}}
    model = triage.load()
    seconds: dict[str, list[float]] = {name: [] for name in prepares}
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "input.csv"
        with source.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["工单编号", "留言主题", "留言详情"])  # the names tag finds text columns by
            writer.writerows([f"WO{i:08d}", *pairs[i % len(pairs)]] for i in range(rows))

        def run() -> float:
            start = time.process_time()
            triage.batch.tag_file(source, Path(folder) / "tagged.csv", model=model, overwrite=True, progress=False)
            return time.process_time() - start

        run()  # warm-up: the segmenter's and the model's first use
        for _ in range(repeats):
            for name, function in prepares.items():
                triage.model.prepare = function  # what classify prepares each message with
                seconds[name].append(run())
        triage.model.prepare = prepare
    print(f"tag_file, {rows} rows of {path} (subject and body), one process: CPU seconds, median of {repeats}")
    for name, values in seconds.items():
        median = statistics.median(values)
        print(f"{name:<16}{median:8.2f} s  {median / rows * 1e6:7.1f} us/row  ({min(values):.2f}-{max(values):.2f})")


def compare(data: Path, against: str) -> None:
    """Every real text whose prepared (normalised, masked) text differs between ``against`` and here."""
    texts = real_texts(data, COMPARED_FILES)
    if not texts:
        sys.exit(f"no real data under {data}: pass --data")
    before = text_module_at(against)
    differences = 0
    for item in texts:
        old, new = before.prepare(item).text, prepare(item).text
        if old != new:
            differences += 1
            print(f"- {old}\n+ {new}")
    same = len(texts) - differences
    print(f"{len(texts)} real texts: {same} prepared identically, {differences} differ ({against} vs here)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "part", nargs="?", default="synthetic", choices=["synthetic", "realdata", "timing", "speed", "compare", "tag"]
    )
    parser.add_argument("--data", type=Path, default=SHARED, help="the shared data folder (realdata)")
    parser.add_argument("--sample", type=int, default=200, help="real masks to print (realdata)")
    parser.add_argument("--seed", type=int, default=0, help="which sample of real masks (realdata)")
    parser.add_argument(
        "--baseline", action="append", help=f"git revision to time against (speed; default {PRE_PII_REVISION})"
    )
    parser.add_argument("--repeats", type=int, default=None, help="rounds of timing (speed: 7, tag: 3)")
    parser.add_argument("--rows", type=int, default=20_000, help="rows to tag (tag)")
    parser.add_argument("--against", default="HEAD", help="git revision to compare prepared texts with (compare)")
    args = parser.parse_args()
    if args.part == "speed":
        speed(args.data, args.baseline or [PRE_PII_REVISION], args.repeats or 7)
    elif args.part == "tag":
        tag_cpu(args.data, args.baseline or [PRE_PII_REVISION], args.rows, args.repeats or 3)
    elif args.part == "compare":
        compare(args.data, args.against)
    elif args.part == "realdata":
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
