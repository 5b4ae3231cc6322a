"""Per-module mutation figures from the last ``mutmut run`` (read from ``mutants/``; see benchmarks/mutation.md).

Killed share = killed / (total - not checked); "no tests" mutants count as not killed, because no
selected test reaches them. Run from the checkout root after ``mutmut run``:

    python benchmarks/mutation_summary.py [--survivors] [--mutants DIR]

``--mutants`` reads a copy of ``mutants/`` kept from an earlier run (each module is run with its own test
selection, and changing the selection resets every module's verdicts).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

BATCH = ("__init__", "options", "writers", "tagging", "workers", "checkpoints")
MODULES = ("triage/text.py", "triage/routing.py", "triage/model.py", *(f"triage/batch/{m}.py" for m in BATCH))


def figures(meta: Path) -> tuple[Counter[str], list[str]]:
    """Counts by status of one module's mutants, and the names of those not killed."""
    exit_codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    statuses = {name: status_by_exit_code[code] for name, code in exit_codes.items()}
    return Counter(statuses.values()), sorted(n for n, s in statuses.items() if s not in ("killed", "not checked"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survivors", action="store_true", help="also list every mutant not killed")
    parser.add_argument("--mutants", type=Path, default=Path("mutants"), help="mutmut's folder (default: mutants)")
    args = parser.parse_args()
    print(f"{'module':20} {'total':>6} {'killed':>7} {'survived':>9} {'no tests':>9} {'timeout':>8} {'killed %':>9}")
    # the modules of the first runs (batch.py is now triage/batch/), then any other mutated since (results.py, ...)
    found = (str(meta.relative_to(args.mutants)).removesuffix(".meta") for meta in args.mutants.rglob("*.py.meta"))
    others = sorted(module for module in found if module not in MODULES)
    for module in [*MODULES, *others]:
        meta = args.mutants / f"{module}.meta"
        if not meta.exists():
            print(f"{module:20} (not run)")
            continue
        counts, not_killed = figures(meta)
        checked = sum(counts.values()) - counts["not checked"]
        share = 100 * counts["killed"] / checked if checked else 0.0
        print(
            f"{module:20} {sum(counts.values()):>6} {counts['killed']:>7} {counts['survived']:>9} "
            f"{counts['no tests']:>9} {counts['timeout']:>8} {share:>8.1f}%"
            + (f"  (not checked: {counts['not checked']})" if counts["not checked"] else "")
        )
        if args.survivors:
            for name in not_killed:
                print("   ", name)


if __name__ == "__main__":
    main()
