"""Defaults shared by the library and the command line, each defined once.

A module of plain values, cheap to import: the CLI shows them in ``--help`` without loading
numpy, scikit-learn or jieba, and the library functions take the same values as their defaults.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_GROUP_THRESHOLD",
    "DEFAULT_HALF_LIFE_DAYS",
    "DEFAULT_HOT_MIN_SIZE",
    "DEFAULT_HOT_TOP",
    "DEFAULT_REPLY_CONFIDENCE",
    "DEFAULT_TARGET_PRECISION",
    "DEFAULT_TOP_K",
]

#: Rows per chunk when the caller does not say.
DEFAULT_CHUNK_SIZE = 2000
#: Estimated Jaccard similarity of character-trigram sets from which two texts are one concern: on real
#: messages, pairs at 0.3-0.5 are mostly the same concern reworded; below 0.3 related concerns chain up.
DEFAULT_GROUP_THRESHOLD = 0.3
#: Confidence a reply's wording must give its handler before that handler is used as a label.
DEFAULT_REPLY_CONFIDENCE = 0.8
#: Precision the messages a trained model routes without review must reach (sets its review threshold).
DEFAULT_TARGET_PRECISION = 0.95
#: Candidate departments a classification lists.
DEFAULT_TOP_K = 3
#: Hot topics reported, hottest first.
DEFAULT_HOT_TOP = 20
#: Fewest messages a hot topic can have.
DEFAULT_HOT_MIN_SIZE = 2
#: Days after which a message counts half in hotness (0: no recency decay).
DEFAULT_HALF_LIFE_DAYS = 30.0
