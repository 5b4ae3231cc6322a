"""read_rows over CSV exports: CPU time per row, for the encoding given and decided from the file.

Files: teddy2020c ``votes.csv`` as ``id,text`` (text = subject + body, so every cell holds a line
break), cycled to ``--rows`` rows and written to a temporary folder (never into the checkout) with
CRLF record ends (as csv.writer and Excel write them) and with LF ones (as the shared exports are),
in each ``--encodings`` (UTF-8 with a byte-order mark by default; ``gb18030``, ``utf-16``, ...).
Each file is read ``--rounds`` times through :func:`triage.io.read_rows`, timed in CPU time (the
figure to trust on a shared machine; the load average is printed beside it); the minimum is printed,
in microseconds per row.

Run: ``python benchmarks/read_speed.py [--data FOLDER] [--rows 20000] [--rounds 7] [--encodings utf-8-sig,utf-16]``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import tempfile
import time
from pathlib import Path

from triage.datasets import teddy2020c
from triage.io import read_rows


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def write_export(path: Path, texts: list[str], rows: int, line_end: str, encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator=line_end)
        writer.writerow(["id", "text"])
        writer.writerows([i, text] for i, text in zip(range(rows), itertools.cycle(texts), strict=False))


def cpu_per_row(path: Path, encoding: str, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start, rows = time.process_time(), 0
        with read_rows(path, encoding=encoding) as export:
            for chunk in export.chunks:
                rows += len(chunk)
        best = min(best, (time.process_time() - start) / rows * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=teddy2020c.default_path())
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--encodings", default="utf-8-sig", help="comma-separated encodings to write the files in")
    args = parser.parse_args()
    if args.data is None:
        raise SystemExit("teddy2020c data not found; pass --data FOLDER")
    texts = list(teddy2020c.load_votes(args.data)["text"])
    print(f"votes.csv subject + body cycled to {args.rows:,} rows; load average {load_average()}")
    with tempfile.TemporaryDirectory() as folder:
        for written in args.encodings.split(","):
            for name, line_end in (("CRLF", "\r\n"), ("LF", "\n")):
                path = Path(folder) / f"votes-{name}.csv"
                write_export(path, texts, args.rows, line_end, written)
                size = path.stat().st_size / 2**20
                for encoding in (written, "auto"):
                    per_row = cpu_per_row(path, encoding, args.rounds)
                    print(
                        f"{written} {name} ({size:.1f} MiB), read as {encoding}: {per_row:.2f} us/row "
                        f"(min of {args.rounds})"
                    )
    print(f"load average {load_average()}")


if __name__ == "__main__":
    main()
