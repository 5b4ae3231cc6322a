"""triage against the classic pipeline on the real teddy2020c data, measured side by side in one run.

Protocol (fixed by the data's README): train on bodies.csv (5,877 labelled bodies), test on
messages.csv (495, subject + body); and 5-fold cross-validation on bodies.csv by its `fold`
column. triage is run through its own commands (`triage train`, `triage evaluate`) with default
settings; the classic pipeline is jieba.lcut + TfidfVectorizer + LinearSVC, alone and with
character n-grams added. Run: `python benchmarks/quality.py [--data FOLDER] [--skip-cv]`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from classic import classic
from sklearn.metrics import accuracy_score, f1_score

from triage import TriageClassifier
from triage.datasets import teddy2020c

CANDIDATES = {
    "classic (jieba + TF-IDF + LinearSVC)": lambda: classic(False),
    "classic + character n-grams": lambda: classic(True),
    "triage TriageClassifier (defaults)": TriageClassifier,
}


def run_cli(*args: str, env: dict[str, str] | None = None) -> str:
    command = [sys.executable, "-m", "triage", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout


def train_and_evaluate(data: Path, model_dir: Path, env: dict[str, str] | None = None) -> tuple[dict, float]:
    """The protocol through triage's own commands: `triage train` on bodies.csv, `triage evaluate`
    on messages.csv (subject + body). Returns the evaluation and the train command's seconds."""
    start = time.perf_counter()
    run_cli(
        "train",
        str(data / "bodies.csv"),
        "-o",
        str(model_dir),
        "--text-column",
        "body",
        "--label-column",
        "label",
        env=env,
    )
    seconds = time.perf_counter() - start
    evaluation = run_cli(
        "evaluate",
        str(model_dir),
        str(data / "messages.csv"),
        "--text-column",
        "subject",
        "--text-column",
        "body",
        "--label-column",
        "label",
        "--json",
        env=env,
    )
    return json.loads(evaluation), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=teddy2020c.default_path())
    parser.add_argument("--skip-cv", action="store_true", help="skip the 5-fold cross-validation")
    args = parser.parse_args()
    if args.data is None:
        raise SystemExit("teddy2020c data not found; pass --data FOLDER")
    bodies = teddy2020c.load_bodies(args.data)
    messages = teddy2020c.load_messages(args.data)

    print("train bodies.csv -> test messages.csv (495)")
    for name, make in CANDIDATES.items():
        start = time.perf_counter()
        model = make().fit(list(bodies["text"]), bodies["label"])
        seconds = time.perf_counter() - start
        predicted = model.predict(list(messages["text"]))
        print(
            f"  {name:<40} macro-F1 {f1_score(messages['label'], predicted, average='macro'):.3f}  "
            f"accuracy {accuracy_score(messages['label'], predicted):.3f}  fit {seconds:.1f} s"
        )

    with tempfile.TemporaryDirectory() as tmp:
        result, seconds = train_and_evaluate(args.data, Path(tmp) / "model")
        print(
            f"  {'`triage train` + `triage evaluate`':<40} macro-F1 {result['macro_f1']:.3f}  accuracy "
            f"{result['accuracy']:.3f}  train command {seconds:.1f} s (whole process: load, fit, calibrate, save)"
        )

    if args.skip_cv:
        return
    print("5-fold cross-validation on bodies.csv by its fold column (macro-F1 per fold, mean)")
    folds = bodies["fold"].astype(int).to_numpy()
    texts = np.asarray(bodies["text"], dtype=object)
    labels = bodies["label"].to_numpy()
    for name, make in CANDIDATES.items():
        scores = []
        for fold in range(5):
            test = folds == fold
            model = make().fit(list(texts[~test]), labels[~test])
            scores.append(f1_score(labels[test], model.predict(list(texts[test])), average="macro"))
        print(f"  {name:<40} {' '.join(f'{s:.3f}' for s in scores)}  mean {np.mean(scores):.3f}")


if __name__ == "__main__":
    main()
