"""Statistics of the authored petition corpus: size, balance, channels, lengths, near-duplicates.

Near-duplicates: two messages whose sets of character 3-grams overlap with Jaccard ≥ 0.5.
The rate is the share of messages that have at least one such partner. When the teddy2020c
data is present, the same measure checks that no authored message is close to a real one.
Run: `python benchmarks/corpus_stats.py`.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

from triage.datasets import load_petitions, teddy2020c

THRESHOLD = 0.5


def shingles(texts, vectorizer=None):
    vectorizer = vectorizer or CountVectorizer(analyzer="char", ngram_range=(3, 3), binary=True, lowercase=False)
    matrix = vectorizer.fit_transform(texts) if not hasattr(vectorizer, "vocabulary_") else vectorizer.transform(texts)
    return matrix.astype(np.float32).tocsr(), vectorizer


def max_jaccard(a, b, *, same: bool) -> np.ndarray:
    """For each row of ``a``, the highest Jaccard similarity with a row of ``b`` (another row when ``same``)."""
    sizes_a = np.asarray(a.sum(axis=1)).ravel()
    sizes_b = np.asarray(b.sum(axis=1)).ravel()
    best = np.zeros(a.shape[0])
    for start in range(0, a.shape[0], 1000):
        block = (a[start : start + 1000] @ b.T).toarray()
        union = sizes_a[start : start + 1000, None] + sizes_b[None, :] - block
        jaccard = np.divide(block, union, out=np.zeros_like(block), where=union > 0)
        if same:
            rows = np.arange(block.shape[0])
            jaccard[rows, rows + start] = 0.0
        best[start : start + 1000] = jaccard.max(axis=1)
    return best


def main() -> None:
    corpus = load_petitions()
    counts = Counter(corpus.departments)
    lengths = np.array([len(t) for t in corpus.texts])
    sizes = f"{min(counts.values())}–{max(counts.values())}"
    print(f"messages: {len(corpus)}; departments: {len(counts)}; per department {sizes}")
    print(f"sub-categories: {len(set(zip(corpus.departments, corpus.subcategories, strict=True)))}")
    print("channels:", dict(Counter(corpus.channels).most_common()))
    print(f"with co-handlers: {sum(bool(c) for c in corpus.co_handlers) / len(corpus):.1%}")
    print(
        f"length: median {np.median(lengths):.0f}, short (<30) {np.mean(lengths < 30):.1%}, "
        f"long (>=150) {np.mean(lengths >= 150):.1%}, max {lengths.max()}"
    )
    matrix, vectorizer = shingles(corpus.texts)
    internal = max_jaccard(matrix, matrix, same=True)
    print(
        f"near-duplicate rate (3-gram Jaccard >= {THRESHOLD}): {np.mean(internal >= THRESHOLD):.2%} "
        f"({int(np.sum(internal >= THRESHOLD))} messages)"
    )
    folder = teddy2020c.default_path()
    if folder is None:
        print("teddy2020c data absent: overlap with real messages not checked")
        return
    real = [
        *teddy2020c.load_messages(folder).text,
        *teddy2020c.load_bodies(folder).text,
        *teddy2020c.load_replies(folder).text,
    ]
    real_matrix, _ = shingles(real, vectorizer)
    overlap = max_jaccard(matrix, real_matrix, same=False)
    print(
        f"closest real message: max Jaccard {overlap.max():.3f}; authored messages with Jaccard >= {THRESHOLD} "
        f"to a real one: {int(np.sum(overlap >= THRESHOLD))}"
    )


if __name__ == "__main__":
    main()
