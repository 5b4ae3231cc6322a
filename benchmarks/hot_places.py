"""Place extraction read by hand: a random sample of the names :func:`triage.places.extract_places`
finds in a real board, each shown in its context, to count how many are whole place names.

Nothing is saved: the names and contexts are printed for the reader, who marks each one whole (an
estate, road, village, street, town, school or company name as the resident wrote it) or not (a
fragment, a common noun, a name run into a verb). Draw a fresh seed for every measurement and do
not tune on a sample that was measured:

    python benchmarks/hot_places.py --seed 7 --places 120 [--board ../shared/data/teddy2020c/votes.csv]

Messages are drawn at random (seeded) and every name found in them is listed, message after
message, until ``--places`` names are listed; coded divisions (A市, A5区) are left out (they are
the anonymiser's, always whole).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from triage.datasets.teddy2020c import default_path, load_votes  # noqa: E402
from triage.places import extract_places, is_coded  # noqa: E402
from triage.text import prepare  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--places", type=int, default=120)
    parser.add_argument("--context", type=int, default=8, help="characters shown on each side")
    args = parser.parse_args()
    votes = load_votes(default_path())
    order = np.random.default_rng(args.seed).permutation(len(votes))
    listed = messages = 0
    for i in order:
        text = prepare(votes["text"].iloc[int(i)]).text
        names = [name for name in extract_places(text) if not is_coded(name)]
        messages += 1
        for name in names:
            at = text.find(name)
            before = text[max(0, at - args.context) : at].replace("\n", " ")
            after = text[at + len(name) : at + len(name) + args.context].replace("\n", " ")
            listed += 1
            print(f"{listed:>4} {votes['id'].iloc[int(i)]}  {before}[{name}]{after}")
        if listed >= args.places:
            break
    print(f"{listed} names from {messages} random messages (seed {args.seed})")


if __name__ == "__main__":
    main()
