"""How many real messages the department directory maps through their handling unit, per board.

For jiamusi and dalian (the handler column) and teddy2020c (the unit its reply names): rows whose
unit maps to a department (and how many of those to a local office), rows knowingly left out
(general hubs, letters offices) and rows whose unit is unknown; every unit with at least
``--min-messages`` messages that is neither mapped nor left out is listed. ``--sample N`` prints N
random mapped rows per board (unit, departments, title) to read for precision; nothing is saved.
Run: `python benchmarks/unit_coverage.py --sample 100`.
"""

from __future__ import annotations

import argparse
from collections import Counter

from triage.datasets import cities, teddy2020c


def report(board: str, frame, min_messages: int, sample: int) -> None:
    mapped = frame["departments"].map(bool)
    unassigned = ~mapped & frame["unassigned"].notna() & (frame["unassigned"] != "unit not in the department directory")
    local = frame["department"] == cities.LOCAL_OFFICE
    n = len(frame)
    print(
        f"{board}: {n} rows; mapped {mapped.sum()} ({mapped.mean():.1%}; local offices {local.sum()}, "
        f"{local.mean():.1%}); knowingly left out {unassigned.sum()} ({unassigned.mean():.1%}); "
        f"unknown {n - mapped.sum() - unassigned.sum()} ({1 - mapped.mean() - unassigned.mean():.1%})"
    )
    unknown = Counter(frame.loc[~mapped & ~unassigned, "handler"])
    missing = [(unit, count) for unit, count in unknown.most_common() if count >= min_messages]
    print(f"  units with >= {min_messages} messages neither mapped nor left out: {missing or 'none'}")
    if sample:
        rows = frame[mapped].sample(min(sample, int(mapped.sum())), random_state=0)
        for row in rows.itertuples():
            print(f"  | {row.handler} -> {'/'.join(row.departments)} | {row.text.splitlines()[0][:60]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-messages", type=int, default=5)
    parser.add_argument("--sample", type=int, default=0, help="print this many mapped rows per board to read")
    args = parser.parse_args()
    for board in cities.BOARDS:
        report(board, cities.load_board(board), args.min_messages, args.sample)
    replies = teddy2020c.load_replies()
    named = replies.assign(
        handler=replies["unit"].fillna(""),
        unassigned=None,
        title=replies["subject"],
    )
    # Replies that name no unit are not "unknown units": only the replies that name one are counted.
    report("teddy2020c replies naming a unit", named[named["handler"] != ""], args.min_messages, args.sample)


if __name__ == "__main__":
    main()
