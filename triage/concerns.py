"""Concerns: messages that raise the same issue about the same place or policy, however worded.

Near-duplicate grouping (:mod:`triage.grouping`) joins copies; a campaign of residents who each
write in their own words about the same estate, developer or fraud case shares few character
trigrams but the same rare words: the estate's name, 搅拌站, 捆绑 and 车位, 58车贷. So every message
is reduced to its :data:`TERMS` heaviest words, weighted TF-IDF (``(1 + ln tf) * ln(n / df)``,
words in more than 5% of messages left out as too common to tell concerns apart), with the places
:func:`triage.places.extract_places` finds added as words of their own; two messages are one
concern when the cosine of these vectors reaches ``threshold``, and concerns are the connected
components of those pairs joined with the near-duplicate groups.

Tuned on a labelled dev set of the real board ``teddy2020c/votes.csv``
(``benchmarks/hot_concerns_dev.csv``, ``benchmarks/hot_concerns.py``): 16 words and a threshold of
0.3 keep the biggest campaigns whole (recall 0.74-0.95) and pure (purity >= 0.8); more words or
a lower threshold start to chain neighbouring concerns of one estate together.

Streaming: document frequencies come from the first :data:`IDF_SAMPLE` messages (words not seen
there count as rare), so a file read chunk by chunk gives the same terms as the whole batch in
memory; each message then keeps 16 word hashes and weights (128 bytes).
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from triage.grouping import connected_groups
from triage.places import extract_places, is_coded
from triage.text import prepare

__all__ = ["DEFAULT_CONCERN_THRESHOLD", "IDF_SAMPLE", "TERMS", "ConcernTerms", "concern_groups", "concern_groups_of"]

#: Cosine similarity of two messages' weighted key words from which they are one concern.
DEFAULT_CONCERN_THRESHOLD = 0.3
#: Words kept per message.
TERMS = 16
#: Messages whose words give document frequencies.
IDF_SAMPLE = 5000
_COMMON_SHARE = 0.05  # a word in more messages than this share tells no concern apart
_MAX_POSTINGS = 2000  # messages per word compared pairwise (beyond that, the word only weighs in norms)
_WORD = re.compile(r"^[\u4e00-\u9fff][\u4e00-\u9fffA-Za-z0-9]+$")  # CJK first, two characters or more
_PLACE_PREFIX = "@"  # place names are words of their own ("@丽发新城")


def _words(text: str) -> Counter:
    from triage.segmentation import segment

    prepared = prepare(text).text
    words = Counter(word for word in segment(prepared) if _WORD.match(word))
    words.update(_PLACE_PREFIX + place for place in extract_places(prepared) if not is_coded(place))
    return words


def _hash(word: str) -> int:
    return zlib.crc32(word.encode("utf-8"))


class ConcernTerms:
    """The weighted key words of messages arriving in chunks (the same as of one batch)."""

    def __init__(self, terms: int = TERMS, idf_sample: int = IDF_SAMPLE) -> None:
        self.terms = terms
        self.idf_sample = idf_sample
        self._pending: list[Counter] = []
        self._df: Counter | None = None
        self._sampled = 0
        self._ids: list[np.ndarray] = []
        self._weights: list[np.ndarray] = []

    def add(self, texts: Sequence[str]) -> None:
        """Words of the next ``texts`` (an empty text has none)."""
        self._pending.extend(_words(text) if text else Counter() for text in texts)
        if self._df is None and len(self._pending) >= self.idf_sample:
            self._fix_frequencies()
        if self._df is not None:
            self._flush()

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, weights)``: ``n x terms`` uint32 word hashes and float32 weights (0: no word)."""
        if self._df is None:
            self._fix_frequencies()
        self._flush()
        if not self._ids:
            return np.zeros((0, self.terms), dtype=np.uint32), np.zeros((0, self.terms), dtype=np.float32)
        return np.concatenate(self._ids), np.concatenate(self._weights)

    def _fix_frequencies(self) -> None:
        sample = self._pending[: self.idf_sample]
        self._df = Counter(word for words in sample for word in words)
        self._sampled = len(sample)

    def _flush(self) -> None:
        assert self._df is not None
        n, df = max(self._sampled, 1), self._df
        rare = n >= self.idf_sample  # a word missing from a full sample is rare, not noise
        ids = np.zeros((len(self._pending), self.terms), dtype=np.uint32)
        weights = np.zeros((len(self._pending), self.terms), dtype=np.float32)
        for row, words in enumerate(self._pending):
            scored = {}
            for word, count in words.items():
                seen = df.get(word, 0)
                if (seen >= 2 or (rare and seen == 0)) and seen < n * _COMMON_SHARE:
                    scored[word] = (1 + math.log(count)) * math.log(n / max(seen, 1))
            top = sorted(scored, key=lambda word: (-scored[word], word))[: self.terms]
            ids[row, : len(top)] = [_hash(word) for word in top]
            weights[row, : len(top)] = [scored[word] for word in top]
        self._ids.append(ids)
        self._weights.append(weights)
        self._pending = []


def concern_groups(
    ids: np.ndarray,
    weights: np.ndarray,
    copies: np.ndarray,
    *,
    threshold: float = DEFAULT_CONCERN_THRESHOLD,
    block: int = 1000,
) -> np.ndarray:
    """Concern ids (index of each concern's first member) from :class:`ConcernTerms` arrays and
    near-duplicate group ids ``copies``: the components of the pairs whose cosine reaches
    ``threshold``, joined with the near-duplicate groups."""
    import scipy.sparse as sparse

    n = len(copies)
    if not 0 < threshold <= 1:
        raise ValueError(f"concern threshold must be in (0, 1], got {threshold}")
    left, right = [np.arange(n)], [np.asarray(copies, dtype=np.int64)]
    present = weights.reshape(-1) > 0
    if n and present.any():
        rows = np.repeat(np.arange(n), ids.shape[1])[present]
        vocabulary, columns = np.unique(ids.reshape(-1)[present], return_inverse=True)
        values = weights.reshape(-1)[present].astype(np.float64)
        norms = np.sqrt(np.bincount(rows, weights=values**2, minlength=n))
        values = values / norms[rows]
        postings = np.bincount(columns, minlength=len(vocabulary))
        compared = postings[columns] <= _MAX_POSTINGS
        matrix = sparse.csr_matrix(
            (values[compared], (rows[compared], columns[compared])), shape=(n, len(vocabulary))
        )
        transposed = matrix.T.tocsr()
        for start in range(0, n, block):
            similar = (matrix[start : start + block] @ transposed).tocoo()
            keep = (similar.data >= threshold) & (similar.col > similar.row + start)
            left.append(similar.row[keep] + start)
            right.append(similar.col[keep].astype(np.int64))
    return connected_groups(n, np.concatenate(left), np.concatenate(right))


def concern_groups_of(
    texts: Iterable[str], copies: np.ndarray, threshold: float = DEFAULT_CONCERN_THRESHOLD
) -> np.ndarray:
    """:func:`concern_groups` of texts in memory."""
    terms = ConcernTerms()
    terms.add(list(texts))
    return concern_groups(*terms.arrays(), copies, threshold=threshold)
