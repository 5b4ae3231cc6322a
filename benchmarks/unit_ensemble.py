"""Whether diverse text classifiers together name a deployment's units better than triage's unit model (issue 16).

On each city board, messages sorted by date, the last 20 % as test (as in adaptation_curve.py). Four
classifiers of the handling unit, each scoring every unit:

* ``triage``: ``triage.train(texts, units)`` (``--base none``), log-probabilities;
* ``svm``: word 1-2-grams (triage's segments) and character 1-4-grams, TF-IDF, LinearSVC;
* ``logistic``: character 1-4-grams, TF-IDF, logistic regression, log-probabilities;
* ``naive bayes``: word 1-2-grams, TF-IDF, complement naive Bayes, log-probabilities.

Each one's scores are standardised per message and the ensemble sums them with weights from
{0, 0.5, 1, 2} chosen on a selection split (trained on the first 80 % of the training period,
scored on the rest); then every member is trained on the whole training period and scored on the
test. Run: ``python benchmarks/unit_ensemble.py [--boards jiamusi,dalian]`` (a few minutes a board).
"""

from __future__ import annotations

import argparse
import itertools
import warnings
from pathlib import Path

import numpy as np
from adaptation_curve import boards_folder, top_k, training_end
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB
from sklearn.svm import LinearSVC

import triage
from triage.datasets.cities import load_board
from triage.exceptions import TrainingDataWarning
from triage.segmentation import segment

WEIGHTS = (0.0, 0.5, 1.0, 2.0)
MISSING = -30.0  # the log-probability of a unit triage left out of training (seen once)


def standardised(scores: np.ndarray) -> np.ndarray:
    return (scores - scores.mean(axis=1, keepdims=True)) / (scores.std(axis=1, keepdims=True) + 1e-9)


def member_scores(texts: np.ndarray, units: np.ndarray, scored: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Every unit of ``units`` (sorted) and each member's standardised scores of ``scored``."""
    classes = np.array(sorted(set(units)), dtype=object)
    model = triage.train(list(texts), list(units))
    proba, known = model.predict_proba(list(scored)), list(model.classes_)
    from_triage = [
        np.log(proba[:, known.index(c)] + 1e-9) if c in known else np.full(len(scored), MISSING) for c in classes
    ]
    words = TfidfVectorizer(tokenizer=segment, token_pattern=None, ngram_range=(1, 2), sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True, min_df=2)
    train_words, train_chars = words.fit_transform(texts), chars.fit_transform(texts)
    scored_words, scored_chars = words.transform(scored), chars.transform(scored)
    both = sparse.hstack([train_words, train_chars]).tocsr()
    scores = {
        "triage": np.column_stack(from_triage),
        "svm": LinearSVC(C=0.5).fit(both, units).decision_function(sparse.hstack([scored_words, scored_chars]).tocsr()),
        "logistic": np.log(
            LogisticRegression(C=20, max_iter=2000).fit(train_chars, units).predict_proba(scored_chars) + 1e-9
        ),
        "naive bayes": ComplementNB(alpha=0.3).fit(train_words, units).predict_log_proba(scored_words),
    }
    return classes, {name: standardised(values) for name, values in scores.items()}


def combined(scores: dict[str, np.ndarray], weights: tuple[float, ...]) -> np.ndarray:
    return sum(weight * values for weight, values in zip(weights, scores.values(), strict=True))


def run_board(board: str, data: Path) -> None:
    frame = load_board(board, data / board)
    cut = training_end(frame)
    selection = round(cut * 0.8)
    texts, units = np.asarray(frame["text"], dtype=object), np.asarray(frame["handler"], dtype=object)
    classes, chosen_on = member_scores(texts[:selection], units[:selection], texts[selection:cut])
    everyone = np.arange(cut - selection)
    candidates = [w for w in itertools.product(WEIGHTS, repeat=len(chosen_on)) if any(w)]
    weights = max(candidates, key=lambda w: top_k(combined(chosen_on, w), classes, units[selection:cut], 1, everyone))
    classes, tested = member_scores(texts[:cut], units[:cut], texts[cut:])
    rows = np.arange(len(texts) - cut)
    print(f"\n{board}: weights chosen on the selection split: {dict(zip(tested, weights, strict=True))}")
    for name, values in [*tested.items(), ("ensemble", combined(tested, weights))]:
        first, three = (top_k(values, classes, units[cut:], k, rows) for k in (1, 3))
        print(f"  {name:<12} test top-1 {first:.3f} top-3 {three:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=boards_folder(), help="the folder holding jiamusi/ and dalian/")
    parser.add_argument("--boards", default="jiamusi,dalian")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    warnings.simplefilter("ignore", TrainingDataWarning)
    for board in args.boards.split(","):
        run_board(board, args.data)


if __name__ == "__main__":
    main()
