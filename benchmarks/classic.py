"""The classic baseline every benchmark compares with: jieba.lcut + TfidfVectorizer + LinearSVC.

A module of its own so that a pipeline saved with joblib finds its tokenizer again in a fresh
process (``jieba.lcut`` itself holds a lock and cannot be pickled).
"""

from __future__ import annotations

import jieba
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.svm import LinearSVC


def jieba_tokens(text: str) -> list[str]:
    return jieba.lcut(text)


def classic(with_chars: bool = False) -> Pipeline:
    words = TfidfVectorizer(tokenizer=jieba_tokens, token_pattern=None)
    features = (
        FeatureUnion([("words", words), ("chars", TfidfVectorizer(analyzer="char", ngram_range=(2, 4)))])
        if with_chars
        else words
    )
    return make_pipeline(features, LinearSVC())
