"""Whether a deployment's past messages name the unit of a new one better than its unit model does (issue 16).

Boards re-post: the same resident writes again, a campaign sends copies. If the unit that answered the nearest
past messages were a good guess, a memory of the history (k nearest neighbours) would add to the text model.
On each city board, messages sorted by date, the last 20 % as test (as in adaptation_curve.py):

* ``model``: ``triage.train(texts, units)`` (``--base none``) on the earlier messages;
* ``k nearest``: the units of the k most similar earlier messages (cosine of character 2-3-gram TF-IDF of the
  prepared texts), each weighing its similarity;
* ``model + k nearest``: the model's log-probabilities plus ``weight`` times the neighbours' votes, ``k`` and
  ``weight`` chosen on a selection split (trained on the first 80 % of the training period, scored on the rest).

Also printed: how many test messages have an earlier message at least 0.5 / 0.7 / 0.9 similar, and how often the
nearest one's unit and the model are right on them. Run: ``python benchmarks/unit_neighbours.py [--boards
jiamusi,dalian]`` (about a minute a board).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
from adaptation_curve import boards_folder, top_k, training_end
from sklearn.feature_extraction.text import TfidfVectorizer

import triage
from triage.datasets.cities import load_board
from triage.text import prepare

KS = (1, 5, 10, 20)
WEIGHTS = (0.3, 1.0, 3.0, 10.0)
SIMILARITIES = (0.5, 0.7, 0.9)


def model_proba(texts: list[str], units: np.ndarray, train: np.ndarray, test: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = triage.train([texts[i] for i in train], units[train], n_jobs=2)
    return model.predict_proba([texts[i] for i in test]), np.asarray(model.classes, dtype=object)


def neighbour_votes(similarity: np.ndarray, train_units: np.ndarray, classes: np.ndarray, k: int) -> np.ndarray:
    """Per test row, each class's summed similarity over the row's k nearest training messages."""
    column = {unit: j for j, unit in enumerate(classes)}
    votes = np.zeros((len(similarity), len(classes)))
    nearest = np.argsort(-similarity, axis=1)[:, :k]
    for row, found in enumerate(nearest):
        for j in found:
            if (c := column.get(train_units[j])) is not None:
                votes[row, c] += similarity[row, j]
    return votes


def scored(texts, units, vectors, train, test):
    """The model's probabilities and classes, and the test rows' similarity to every training row."""
    proba, classes = model_proba(texts, units, train, test)
    return proba, classes, (vectors[test] @ vectors[train].T).toarray()


def best_combination(proba, classes, similarity, train_units, labels) -> tuple[int, float]:
    everyone = np.arange(len(labels))
    results = {
        (k, weight): top_k(np.log(proba + 1e-9) + weight * neighbour_votes(similarity, train_units, classes, k),
                           classes, labels, 1, everyone)
        for k in KS
        for weight in WEIGHTS
    }  # fmt: skip
    return max(results, key=lambda key: (results[key], -key[1]))


def run_board(board: str, data: Path) -> None:
    frame = load_board(board, data / board)
    cut = training_end(frame)
    texts = list(frame["text"])
    units = np.asarray(frame["handler"], dtype=object)
    vectors = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True).fit_transform(
        [prepare(text).text for text in texts]
    )
    selection_cut = round(cut * 0.8)
    selection_train, selection = np.arange(selection_cut), np.arange(selection_cut, cut)
    proba, classes, similarity = scored(texts, units, vectors, selection_train, selection)
    k, weight = best_combination(proba, classes, similarity, units[selection_train], units[selection])
    train, test = np.arange(cut), np.arange(cut, len(frame))
    proba, classes, similarity = scored(texts, units, vectors, train, test)
    labels, everyone = units[test], np.arange(len(test))
    print(f"\n{board}: train {cut}, test {len(test)} (time-ordered); chosen on the selection split: ", end="")
    print(f"k={k}, weight {weight:g}")
    print(f"{'method':>28} {'top-1':>6} {'top-3':>6}")
    print(f"{'model':>28} {top_k(proba, classes, labels, 1, everyone):6.3f} ", end="")
    print(f"{top_k(proba, classes, labels, 3, everyone):6.3f}")
    for neighbours in KS:
        votes = neighbour_votes(similarity, units[train], classes, neighbours)
        votes += 1e-12 * proba  # ties (no neighbour of a known unit) broken by the model
        print(f"{f'{neighbours} nearest':>28} {top_k(votes, classes, labels, 1, everyone):6.3f} "
              f"{top_k(votes, classes, labels, 3, everyone):6.3f}")  # fmt: skip
    combined = np.log(proba + 1e-9) + weight * neighbour_votes(similarity, units[train], classes, k)
    print(f"{'model + k nearest':>28} {top_k(combined, classes, labels, 1, everyone):6.3f} "
          f"{top_k(combined, classes, labels, 3, everyone):6.3f}")  # fmt: skip
    nearest_unit = units[train][similarity.argmax(axis=1)]
    predicted = classes[proba.argmax(axis=1)]
    for threshold in SIMILARITIES:
        close = similarity.max(axis=1) >= threshold
        if close.any():
            print(f"  an earlier message >= {threshold:g} similar: {close.sum()} of {len(test)} ({close.mean():.1%}); "
                  f"its unit right {np.mean(nearest_unit[close] == labels[close]):.3f}, "
                  f"the model right {np.mean(predicted[close] == labels[close]):.3f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", default="jiamusi,dalian")
    parser.add_argument("--data", type=Path, default=None, help="folder holding the boards (default: ../shared/data)")
    args = parser.parse_args()
    data = args.data or boards_folder()
    for board in args.boards.split(","):
        run_board(board, data)


if __name__ == "__main__":
    main()
