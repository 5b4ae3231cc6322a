"""What cutting a batch's boilerplate (triage.boilerplate) does to near-duplicate grouping, on real text.

In one run, with and without ``strip_boilerplate``:

(a) the replies and the messages (title + body) of ../shared/data/dalian and ../shared/data/jiamusi
    (a board's staff open many replies alike): what is learned, the number of groups, the largest;
(b) the teddy2020c votes cut to their first 30 characters, alone and typed into an invented 12345
    template: groups, and the adjusted Rand index of the templated groups against the untemplated;
(c) the CPU time of grouping 200,000 votes (cycled), and 200,000 templated ones, twice each way.

Run: ``python benchmarks/boilerplate.py [--rows 200000]`` (about a minute and a half).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sklearn.metrics import adjusted_rand_score  # noqa: E402

from triage.boilerplate import Boilerplate  # noqa: E402
from triage.datasets.teddy2020c import load_votes  # noqa: E402
from triage.grouping import compared_text, group, group_chunks  # noqa: E402
from triage.text import prepare  # noqa: E402

DATA = REPO.parent / "shared" / "data"
OPENING, ENDING = "市民来电反映：", "。请相关部门尽快核实处理并回复市民。"  # an invented template


def _summary(ids) -> str:
    counts = Counter(ids.tolist())
    return f"groups {len(counts):6,}  largest {counts.most_common(1)[0][1]:5,}"


def _learned(texts: list[str]) -> Boilerplate:
    return Boilerplate.learn(compared_text(prepare(text).text) for text in texts)


def boards() -> None:
    for city in ("dalian", "jiamusi"):
        with (DATA / city / "messages.csv").open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        for what, texts in (
            ("replies", [row["reply"] for row in rows]),
            ("messages", [f"{row['title']} {row['body']}" for row in rows]),
        ):
            learned = _learned(texts)
            print(f"{city:8s} {what:8s} {len(texts):6,} texts; learned {len(learned.openings)} openings, "
                  f"{len(learned.endings)} endings")  # fmt: skip
            for strip in (False, True):
                print(f"    strip={strip!s:5s} {_summary(group(texts, strip_boilerplate=strip))}")


def templated_votes() -> list[str]:
    votes = load_votes(DATA / "teddy2020c")["text"].tolist()
    short = [text[:30] for text in votes]
    templated = [OPENING + text + ENDING for text in short]
    plain = group(short, strip_boilerplate=False)
    print(f"teddy2020c votes, first 30 characters: {len(short):,}; learned from the templated: {_learned(templated)}")
    print(f"    without a template        {_summary(plain)}")
    for strip in (False, True):
        ids = group(templated, strip_boilerplate=strip)
        print(f"    templated, strip={strip!s:5s}  {_summary(ids)}  ARI against untemplated "
              f"{adjusted_rand_score(plain, ids):.4f}")  # fmt: skip
    return votes


def cost(votes: list[str], rows: int) -> None:
    cycled = [votes[i % len(votes)] for i in range(rows)]
    templated = [OPENING + text[:30] + ENDING for text in cycled]
    for name, texts in (("votes", cycled), ("templated", templated)):
        for strip in (False, True, False, True):
            chunks = (texts[at : at + 5_000] for at in range(0, len(texts), 5_000))
            start = time.process_time()
            ids = group_chunks(chunks, strip_boilerplate=strip)
            seconds = time.process_time() - start
            print(f"{name:10s} {rows:,} rows strip={strip!s:5s} CPU {seconds:6.2f} s "
                  f"({1e6 * seconds / rows:5.1f} µs a row), {len(set(ids.tolist())):,} groups")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    rows = parser.parse_args().rows
    boards()
    cost(templated_votes(), rows)


if __name__ == "__main__":
    main()
