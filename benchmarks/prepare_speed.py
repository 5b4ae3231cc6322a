"""normalize(), mask_normalized() and prepare() with and without triage/_text.c: CPU time per message.

Messages: teddy2020c ``votes.csv`` (subject + "\\n" + body), raw as ``triage tag`` reads them. Each
variant runs ``--rounds`` passes over every message, the variants taking turns so a change in the
machine's load hits them alike; the minimum pass is printed in microseconds per message (CPU time:
the figure to trust on a shared machine; the load average is printed beside it). "python" is how
they run where the extension was not built: normalize() in Python, and the trigger scan of
mask_normalized() reading the whole text's UTF-8 rather than the characters triggers hold.

Run: ``python benchmarks/prepare_speed.py [--data FOLDER] [--rounds 9]``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import triage.pii as pii
import triage.text as text_module
from triage.datasets import teddy2020c


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def per_message_us(work: Callable[[str], object], texts: list[str]) -> float:
    start = time.process_time()
    for text in texts:
        work(text)
    return (time.process_time() - start) / len(texts) * 1e6


def use(compiled: ModuleType | None) -> None:
    """Run normalize() and the trigger scan with triage._text, or as where it was not built (None)."""
    text_module._compiled = pii._text = compiled
    pii._trigger_set.cache_clear()
    pii._trigger_set()  # RE2 compiles its set here, not in the timed pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=teddy2020c.default_path())
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    if args.data is None:
        raise SystemExit("teddy2020c data not found; pass --data FOLDER")
    texts = list(teddy2020c.load_votes(args.data)["text"])
    compiled = text_module._compiled
    if compiled is None:
        raise SystemExit("triage._text was not built: nothing to compare")
    normalized = [text_module.normalize(text) for text in texts]  # also teaches the pass every character
    left = sum(compiled.normalize(text) is None for text in texts)
    print(
        f"votes.csv: {len(texts)} messages, {sum(map(len, texts)) / len(texts):.0f} characters on average, "
        f"{left} left to the Python path; load average {load_average()} ({os.cpu_count()} cores)"
    )

    # name: what runs on each message, on which inputs, and whether the compiled pass is there
    variants: dict[str, tuple[Callable[[str], object], list[str], bool]] = {
        "normalize, compiled": (text_module.normalize, texts, True),
        "normalize, python": (text_module.normalize, texts, False),
        "prepare, compiled": (text_module.prepare, texts, True),
        "prepare, python": (text_module.prepare, texts, False),
        "mask_normalized, compiled": (pii.mask_normalized, normalized, True),
        "mask_normalized, python": (pii.mask_normalized, normalized, False),
    }
    passes: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, (work, inputs, with_compiled) in variants.items():
            use(compiled if with_compiled else None)
            passes[name].append(per_message_us(work, inputs))
    use(compiled)
    for name, figures in passes.items():
        print(f"{name:26s} {min(figures):6.2f} µs/message min, {sorted(figures)[len(figures) // 2]:6.2f} median")
    print(f"load average {load_average()}")


if __name__ == "__main__":
    main()
