"""Grouping at scale: runtime and peak memory of triage.group on 1M messages, and how well it finds
the near-copies it was built from.

Rows are real messages of ../shared/data/teddy2020c/votes.csv with small random edits (a few
characters deleted, replaced or inserted, a sentence cut), built in memory and never written.
Rows made from the same source message should share a group; rows from different sources should
not (apart from real duplicates among the sources). Run it niced; it takes a few minutes:

    nice -n 19 python benchmarks/grouping.py [--rows 1000000] [--threshold 0.3]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from triage.datasets.teddy2020c import load_votes  # noqa: E402
from triage.grouping import Sketcher, group_signatures  # noqa: E402

FILLER = "的了在是我有和就不人都一个上也很到说要去你会着没看好自己这"


def edited(text: str, rng: np.random.Generator) -> str:
    """``text`` with a few random character edits and, sometimes, its tail cut."""
    chars = list(text)
    for _ in range(rng.integers(1, 6)):
        position = int(rng.integers(0, len(chars) + 1))
        kind = rng.integers(3)
        if kind == 0 and chars:
            del chars[min(position, len(chars) - 1)]
        elif kind == 1 and chars:
            chars[min(position, len(chars) - 1)] = FILLER[rng.integers(len(FILLER))]
        else:
            chars.insert(position, FILLER[rng.integers(len(FILLER))])
    if rng.random() < 0.2 and len(chars) > 40:
        chars = chars[: int(len(chars) * rng.uniform(0.8, 1.0))]
    return "".join(chars)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--threshold", type=float, default=0.3)
    parser.add_argument("--chunk-size", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    sources = load_votes(REPO.parent / "shared" / "data" / "teddy2020c")["text"].tolist()
    rng = np.random.default_rng(args.seed)
    origin = rng.integers(0, len(sources), args.rows)
    print(f"{args.rows:,} rows from {len(sources):,} source messages, seed {args.seed}; RSS {peak_rss_mib():.0f} MiB")

    started = time.perf_counter()
    sketcher = Sketcher()
    parts = []
    for start in range(0, args.rows, args.chunk_size):
        chunk = [edited(sources[i], rng) for i in origin[start : start + args.chunk_size]]
        parts.append(sketcher.sketch(chunk, offset=start))
    edit_and_sketch = time.perf_counter() - started
    signatures = np.concatenate([p[0] for p in parts])
    usable = np.concatenate([p[1] for p in parts])
    del parts
    grouped_at = time.perf_counter()
    ids = group_signatures(signatures, usable, threshold=args.threshold)
    grouping = time.perf_counter() - grouped_at

    # time the edits alone on a sample, to report sketching without them
    sample = origin[:20_000]
    edit_started = time.perf_counter()
    for i in sample:
        edited(sources[i], rng)
    edit_seconds = (time.perf_counter() - edit_started) * args.rows / len(sample)

    # the ideal grouping: rows from one source (or from sources that group together) share a group
    source_ids = group_signatures(*sketcher.sketch(sources), threshold=args.threshold)
    truth = source_ids[origin]
    first_of_truth = {}
    same_as_truth = 0
    for gid, true in zip(ids.tolist(), truth.tolist(), strict=True):
        same_as_truth += first_of_truth.setdefault(true, gid) == gid
    groups_found = len(np.unique(ids))
    sizes = np.bincount(ids)[ids]
    mixed = len({(g, t) for g, t in zip(ids.tolist(), truth.tolist(), strict=True)}) - groups_found

    print(f"edit + sketch: {edit_and_sketch:.1f} s (of which edits ~{edit_seconds:.1f} s)")
    sketch_seconds = edit_and_sketch - edit_seconds
    print(f"sketch: ~{sketch_seconds:.1f} s, {args.rows / max(sketch_seconds, 1e-9):,.0f} rows/s")
    print(f"LSH + verification + components: {grouping:.1f} s")
    print(f"signatures: {signatures.nbytes / 2**20:.0f} MiB; peak RSS {peak_rss_mib():.0f} MiB")
    print(f"groups: {groups_found:,} (ideal {len(np.unique(source_ids)):,}); median group size {np.median(sizes):.0f}")
    print(f"rows in the same group as the first row of their source's group: {same_as_truth / args.rows:.4f}")
    print(f"groups mixing different sources' groups: {max(mixed, 0):,}")


if __name__ == "__main__":
    main()
