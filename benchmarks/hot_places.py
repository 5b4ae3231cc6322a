"""Place extraction read by hand: a random sample of the names :func:`triage.places.extract_places`
finds in a real board, each shown in its context, to count how many are whole place names.

Nothing is saved: the names and contexts are printed for the reader, who marks each one whole (an
estate, road, village, street, town, school, shop or company name as the resident wrote it) or not
(a fragment, a common noun, a name run into a verb or into another name). Draw a fresh seed for
every measurement and do not tune on a sample that was measured:

    python benchmarks/hot_places.py --seed 7 [--places 120] [--by-message]

Every message of ../shared/data/teddy2020c/votes.csv is read and ``--places`` of all the names
found are drawn uniformly at random (seeded, without replacement), so that one message full of
names does not weigh like a dozen messages; ``--by-message`` instead lists every name of random
messages until ``--places`` are listed. Coded divisions (A市, A5区) are left out (they are the
anonymiser's, always whole).
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
    parser.add_argument("--by-message", action="store_true", help="every name of random messages")
    parser.add_argument("--context", type=int, default=8, help="characters shown on each side")
    args = parser.parse_args()
    votes = load_votes(default_path())
    ids = votes["id"].tolist()
    texts = [prepare(text).text for text in votes["text"]]
    rng = np.random.default_rng(args.seed)
    if args.by_message:
        picked = []
        for i in rng.permutation(len(texts)).tolist():
            picked += [(i, name) for name in extract_places(texts[i]) if not is_coded(name)]
            if len(picked) >= args.places:
                break
        found = len(picked)
    else:
        every = [(i, name) for i, text in enumerate(texts) for name in extract_places(text) if not is_coded(name)]
        picked = [every[k] for k in sorted(rng.choice(len(every), size=min(args.places, len(every)), replace=False))]
        found = len(every)
    for number, (i, name) in enumerate(picked, 1):
        text = texts[i]
        at = text.find(name)
        before = text[max(0, at - args.context) : at].replace("\n", " ")
        after = text[at + len(name) : at + len(name) + args.context].replace("\n", " ")
        print(f"{number:>4} {ids[i]}  {before}[{name}]{after}")
    print(f"{len(picked)} of {found} names listed (seed {args.seed}{', by message' if args.by_message else ''})")


if __name__ == "__main__":
    main()
