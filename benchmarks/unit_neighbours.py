"""Whether a deployment's past messages name the unit of a new one better than its unit model does (issue 16).

Boards re-post: the same resident writes again, a campaign sends copies. If the unit that answered the nearest
past messages were a good guess, a memory of the history (k nearest neighbours) would add to the text model.
On each city board, messages sorted by date, the last 20 % as test (as in adaptation_curve.py):

* ``model``: ``triage.train(texts, units)`` (``--base none``) on the earlier messages;
* ``k nearest``: the units of the k most similar earlier messages (cosine of character 2-3-gram TF-IDF of the
  prepared texts, its vocabulary and IDF from the training messages), each weighing its similarity: every message
  dated before, the test period's earlier ones included (answered by then: re-posts and copies come close
  together), though the model learns from the training period only;
* ``model + k nearest``: the model's log-probabilities plus ``weight`` times the neighbours' votes, ``k`` and
  ``weight`` chosen on a selection split (trained on the first 80 % of the training period, scored on the rest).

As the memory knows the units of the test period's earlier messages, and a model refitted as often would too,
both are also measured against a model refitted every ``--refit-every`` (100) test messages on every message
before them. Also printed: how many test messages have an earlier message at least 0.5 / 0.7 / 0.9 similar, and
how often the nearest one's unit and the model are right on them. Run: ``python benchmarks/unit_neighbours.py
[--boards jiamusi,dalian]`` (a few minutes a board).
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


def refitted_proba(texts: list[str], units: np.ndarray, cut: int, every: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of the messages from ``cut`` on, each block of ``every`` by a model fitted on every message
    before the block, in the columns of all units (0 for those a model did not know)."""
    classes = np.asarray(sorted(set(units)), dtype=object)
    column = {unit: j for j, unit in enumerate(classes)}
    proba = np.zeros((len(units) - cut, len(classes)))
    for start in range(cut, len(units), every):
        block = np.arange(start, min(start + every, len(units)))
        part, known = model_proba(texts, units, np.arange(start), block)
        proba[np.ix_(block - cut, [column[unit] for unit in known])] = part
    return proba, classes


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


def scored(texts, units, prepared, train, test):
    """The model's probabilities and classes, and each test row's similarity to every row before it (the
    training rows and the earlier test rows; 0 to the later ones), in the columns of ``train`` then ``test``."""
    proba, classes = model_proba(texts, units, train, test)
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True)
    vectorizer.fit([prepared[i] for i in train])
    vectors = vectorizer.transform(prepared)
    similarity = (vectors[test] @ vectors[np.concatenate([train, test])].T).toarray()
    later = np.triu(np.ones((len(test), len(test)), dtype=bool))  # itself and the test rows after it
    similarity[:, len(train) :][later] = 0.0
    return proba, classes, similarity


def best_combination(proba, classes, similarity, train_units, labels) -> tuple[int, float]:
    everyone = np.arange(len(labels))
    results = {
        (k, weight): top_k(np.log(proba + 1e-9) + weight * neighbour_votes(similarity, train_units, classes, k),
                           classes, labels, 1, everyone)
        for k in KS
        for weight in WEIGHTS
    }  # fmt: skip
    return max(results, key=lambda key: (results[key], -key[1]))


def run_board(board: str, data: Path, refit_every: int) -> None:
    frame = load_board(board, data / board)
    cut = training_end(frame)
    texts = list(frame["text"])
    units = np.asarray(frame["handler"], dtype=object)
    prepared = [prepare(text).text for text in texts]
    selection_cut = round(cut * 0.8)
    selection_train, selection = np.arange(selection_cut), np.arange(selection_cut, cut)
    proba, classes, similarity = scored(texts, units, prepared, selection_train, selection)
    known = np.concatenate([selection_train, selection])
    k, weight = best_combination(proba, classes, similarity, units[known], units[selection])
    train, test = np.arange(cut), np.arange(cut, len(frame))
    proba, classes, similarity = scored(texts, units, prepared, train, test)
    known = np.arange(len(frame))
    labels, everyone = units[test], np.arange(len(test))
    print(f"\n{board}: train {cut}, test {len(test)} (time-ordered); chosen on the selection split: ", end="")
    print(f"k={k}, weight {weight:g}")
    print(f"{'method':>28} {'top-1':>6} {'top-3':>6}")
    print(f"{'model':>28} {top_k(proba, classes, labels, 1, everyone):6.3f} ", end="")
    print(f"{top_k(proba, classes, labels, 3, everyone):6.3f}")
    for neighbours in KS:
        votes = neighbour_votes(similarity, units[known], classes, neighbours)
        votes += 1e-12 * proba  # ties (no neighbour of a known unit) broken by the model
        print(f"{f'{neighbours} nearest':>28} {top_k(votes, classes, labels, 1, everyone):6.3f} "
              f"{top_k(votes, classes, labels, 3, everyone):6.3f}")  # fmt: skip
    combined = np.log(proba + 1e-9) + weight * neighbour_votes(similarity, units[known], classes, k)
    print(f"{'model + k nearest':>28} {top_k(combined, classes, labels, 1, everyone):6.3f} "
          f"{top_k(combined, classes, labels, 3, everyone):6.3f}")  # fmt: skip
    refitted, all_units = refitted_proba(texts, units, cut, refit_every)
    votes = neighbour_votes(similarity, units[known], all_units, k)
    for name, scores in (
        (f"refitted every {refit_every}", refitted),
        (f"refitted + {k} nearest", np.log(refitted + 1e-9) + weight * votes),
    ):
        print(f"{name:>28} {top_k(scores, all_units, labels, 1, everyone):6.3f} "
              f"{top_k(scores, all_units, labels, 3, everyone):6.3f}")  # fmt: skip
    nearest_unit = units[known][similarity.argmax(axis=1)]
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
    parser.add_argument("--refit-every", type=int, default=100, help="test messages between refits of the model")
    args = parser.parse_args()
    data = args.data or boards_folder()
    for board in args.boards.split(","):
        run_board(board, data, args.refit_every)


if __name__ == "__main__":
    main()
