# Types of the compiled featuriser (triage/_featurize.c); LinearScorer is its only caller.
from typing import Any, TypeAlias

# C-contiguous numpy arrays or bytes: anything exposing the buffer protocol (numpy's stubs do not say so)
Buffer: TypeAlias = Any
# A table's *_columns: int32 per slot, or, when they run in slot order, a uint64 (filled bits, first
# column) pair per 64 slots (scoring.compiled._compiled_columns).

def tfidf_rows(
    texts: list[str],
    token_lists: list[list[str]],
    word_keys: Buffer,
    word_columns: Buffer,
    char_keys: Buffer,
    char_columns: Buffer,
    idf: Buffer,
    n_word_features: int,
    word_low: int,
    word_high: int,
    char_low: int,
    char_high: int,
    sublinear: bool,
    char_unigrams: Buffer = ...,
    word_filter: Buffer = ...,  # bytes whose bit (key & (8 * size - 1)) is set for every key of the table
    char_filter: Buffer = ...,
    /,
) -> tuple[bytes, bytes, bytes]: ...
def tfidf_rows_segmented(
    segmenter: object,  # a triage._segment.Segmenter
    texts: list[str],
    word_keys: Buffer,
    word_columns: Buffer,
    char_keys: Buffer,
    char_columns: Buffer,
    idf: Buffer,
    n_word_features: int,
    word_low: int,
    word_high: int,
    char_low: int,
    char_high: int,
    sublinear: bool,
    char_unigrams: Buffer = ...,
    word_filter: Buffer = ...,  # bytes whose bit (key & (8 * size - 1)) is set for every key of the table
    char_filter: Buffer = ...,
    /,
) -> tuple[bytes, bytes, bytes]: ...
def linear_scores(
    offsets: Buffer,
    columns: Buffer,
    values: Buffer,
    term_weights: Buffer,
    intercept: Buffer,
    scales: Buffer = ...,  # with it, term_weights are int8 levels of these per-class scales
    /,
) -> bytes: ...
def content_tokens(tokens: list[str], stop_words: frozenset[str], /) -> list[str]: ...
