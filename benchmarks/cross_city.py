"""How the default recipe routes in a city it never trained on: leave-one-board-out over the real boards.

For each of teddy2020c (replies naming their handler), jiamusi and dalian (messages whose handling
unit maps to a department): train on the authored corpus and the other two boards
(`models/train_default.py`'s recipe), score the one left out. A prediction is right when the unit
that handled the message may own that department (`triage.departments.unit_departments`). Per board:
functional top-1 / top-3 (local-office rows excluded), local-office top-1, macro-F1, and, with the
temperature, confidence scaling and review threshold fitted on the *other* boards' left-out scores, ECE
(also with the temperature alone), the share routed automatically and its precision, and the largest
share the board itself would allow at precision 0.95.
Run: `python benchmarks/cross_city.py` (6 minutes wall, 3.3 CPU-minutes on 2 cores at load 5); `--C 1.0`,
`--authored-weight 1`, `--local-office-weight 1` etc. to compare settings with the recipe's; `--scores FILE`
keeps the left-out scores (as `models/train_default.py --scores` does) and reuses them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))

import joblib
from train_default import BOARDS, LOCAL_OFFICE, ROW_WEIGHTS, cross_city_report, leave_one_board_out

from triage.datasets import load_petitions, teddy2020c

COLUMNS = (
    "n", "functional_top1", "functional_top3", "local_n", "local_top1", "macro_f1", "expected_calibration_error",
    "expected_calibration_error_temperature_only", "automatic_share", "automatic_precision", "best_share_at_target",
    "temperature", "review_threshold",
)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=teddy2020c.default_path(), help="teddy2020c folder")
    parser.add_argument("--C", type=float, default=None, help="SVM regularisation to try (default: the recipe's)")
    parser.add_argument("--nb-scaling", action="store_true", help="NB-SVM instead of one multi-class SVM")
    parser.add_argument(
        "--authored-weight", type=float, default=ROW_WEIGHTS["authored"], help="SVM weight of authored-corpus rows"
    )
    parser.add_argument(
        "--local-office-weight",
        type=float,
        default=ROW_WEIGHTS[LOCAL_OFFICE],
        help="SVM weight of real rows a local government handled",
    )
    parser.add_argument("--boards", nargs="+", default=list(BOARDS), choices=BOARDS)
    parser.add_argument(
        "--scores",
        type=Path,
        default=None,
        help="keep the left-out scores in this file and reuse them when it exists (delete it whenever the "
        "corpus, the boards or the settings change)",
    )
    args = parser.parse_args()
    if args.data is None:
        parser.error("../shared/data/teddy2020c not found: pass --data")
    params = {k: v for k, v in {"C": args.C, "nb_scaling": args.nb_scaling or None}.items() if v is not None}
    row_weights = {"authored": args.authored_weight, LOCAL_OFFICE: args.local_office_weight}
    started = time.perf_counter()
    if args.scores is not None and args.scores.is_file():
        print(f"left-out scores from {args.scores}")
        results = joblib.load(args.scores)
    else:
        results = leave_one_board_out(
            load_petitions(), args.data, tuple(args.boards), params=params, row_weights=row_weights
        )
        if args.scores is not None:
            joblib.dump(results, args.scores)
    report = cross_city_report(results)
    print(f"settings {params or 'recipe defaults'}, row weights {row_weights}; {time.perf_counter() - started:.0f} s")
    headers = [c.replace("expected_calibration_error", "ECE").replace("_temperature_only", "_T_only") for c in COLUMNS]
    print("board".ljust(12) + "".join(h[-14:].rjust(15) for h in headers))
    for board, figures in report.items():
        cells = [figures[c] for c in COLUMNS]
        print(board.ljust(12) + "".join((f"{v:.3f}" if isinstance(v, float) else str(v)).rjust(15) for v in cells))


if __name__ == "__main__":
    main()
