"""Sub-category accuracy on the authored corpus against the majority baseline.

Trains on ``--train`` authored messages with their sub-categories and scores ``--test`` others
(a fixed permutation, seed 0): the share whose predicted sub-category is right (a wrong
department counts as wrong), the same among messages whose department is right, and the
baseline that always names the true department's most frequent training sub-category.
Run: `python benchmarks/sub_labels.py` (about 5 s).
"""

from __future__ import annotations

import argparse
import warnings
from collections import Counter

import numpy as np

import triage
from triage.datasets import load_petitions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--test", type=int, default=1000)
    args = parser.parse_args()
    data = load_petitions()
    order = np.random.default_rng(0).permutation(len(data.texts))
    train_rows, test_rows = order[: args.train], order[args.train : args.train + args.test]
    departments, subs = np.array(data.departments), np.array(data.subcategories)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rare pairs in a small sample are reported, not a failure here
        model = triage.train([data.texts[i] for i in train_rows], departments[train_rows], sub_labels=subs[train_rows])
    results = model.classify([data.texts[i] for i in test_rows])
    right_department = np.array([r.department == d for r, d in zip(results, departments[test_rows], strict=True)])
    right_sub = np.array([r.sub_category == s for r, s in zip(results, subs[test_rows], strict=True)])
    trained = departments[train_rows]
    majority = {d: Counter(subs[train_rows][trained == d]).most_common(1)[0][0] for d in set(departments)}
    baseline = np.mean([majority[d] == s for d, s in zip(departments[test_rows], subs[test_rows], strict=True)])
    cross_validated = model.manifest["metrics"]["cross_validated"]["sub_labels"]
    print(f"train {len(train_rows)}, test {len(test_rows)}, {len(model.manifest['sub_labels'])} sub-categories")
    print(f"department accuracy                        {right_department.mean():.3f}")
    print(f"sub-category accuracy                      {right_sub.mean():.3f}")
    print(f"sub-category accuracy, department right    {right_sub[right_department].mean():.3f}")
    print(f"majority baseline (true department)        {baseline:.3f}")
    print(f"cross-validated, given the true department {cross_validated['accuracy']:.3f}")


if __name__ == "__main__":
    main()
