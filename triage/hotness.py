"""Ranking hot topics: how hot a group of messages is, from its voices, their recency and likes.

Topics are ranked by a hotness score over their *voices* — the distinct near-duplicate groups
among the members, so that a post copied ten times speaks about three times, not ten (copies may
be one letter many residents signed, or one resident posting again):

    hotness = sum over voices of  (1 + ln copies) * (1 + 0.5 ** (age_days / half_life_days)) / 2
              + ln(1 + likes)

``age_days`` is the age of a voice's latest message, counted back from the latest message in the
batch (not from today, so an old export reads the way it did then); a message without a readable
time counts as the oldest one. Recency weighs a voice between one half (long ago) and one (now),
so with any ``half_life_days`` a pair of copies (one voice) never outranks a campaign of fifty
residents (even fifty copies of one letter weigh 4.9 voices, at least 2.5 once old, against a
recent pair's 1.7), while among campaigns of similar size the active one comes first. Likes are other
residents agreeing, damped by the logarithm of the topic's total so one viral post cannot outweigh
many writers. ``half_life_days=0`` turns recency off; ties go to the larger, then the more recent
topic.

What ranking keeps of each message is a :class:`Signals` row (24 bytes), so it scales to exports
of millions of messages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from triage.times import NOT_A_TIME

__all__ = ["CORPUS_SAMPLE", "Ranking", "Signals", "check_sizes", "has_value", "rank_groups", "read_likes", "recency"]

#: Messages of the batch, drawn at random, whose texts give term rarity to the topics' key terms.
CORPUS_SAMPLE = 5000


@dataclass(frozen=True)
class Signals:
    """What ranking needs of every message."""

    groups: np.ndarray  # topic (concern) id per message
    copies: np.ndarray  # near-duplicate group id per message, within its topic: one voice
    stamps: np.ndarray | None  # triage.times.parse_times() per message
    likes: np.ndarray | None  # like count per message


@dataclass(frozen=True)
class Ranking:
    """The hottest groups and the per-group figures the topics report."""

    order: list[int]  # the ranked groups, as positions in ``ids``
    ids: np.ndarray  # group ids (np.unique of the messages' groups)
    sizes: np.ndarray
    hotness: np.ndarray
    voices: np.ndarray
    members_of: dict[int, np.ndarray]  # ranked group -> its messages
    # a fixed random sample of the batch (CORPUS_SAMPLE messages) whose texts give term rarity
    sample: np.ndarray


def check_sizes(top: int, min_size: int) -> None:
    """Refuse a report of no topics, or of topics of no messages."""
    if top < 1 or min_size < 1:
        raise ValueError(f"top and min_size must be at least 1, got top={top}, min_size={min_size}")


def read_likes(values: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(counts, unusable)``: like counts as float64 (an absurd count such as ``"1e20"`` is kept, not an
    overflow that stops the report; ``1,234``, ``1.2万`` and ``10万+`` read as boards show them), and where a
    value is given but is no count (text, a negative or infinite number): those count 0."""
    counts = [_count(value) for value in values]
    unusable = np.array([count is None and has_value(value) for count, value in zip(counts, values, strict=True)])
    return np.array([count or 0 for count in counts], dtype=np.float64), unusable.astype(bool)


_SCALES = {"万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000}


def _count(value: Any) -> int | None:
    text = str(value).strip().replace(",", "").removesuffix("+")
    scale = _SCALES.get(text[-1:], 1)
    try:
        number = float(text[:-1] if scale > 1 else text) * scale
    except ValueError:
        return None
    return int(number) if math.isfinite(number) and number >= 0 else None


#: What exports write in a cell with no value (compared in lower case).
_MISSING = frozenset({"nan", "none", "null", "nat", "<na>", "-", "—", "无"})


def has_value(value: Any) -> bool:
    """Whether a cell holds a value: not None, NaN, pandas' NaT or NA, blank, nor a marker of no value."""
    if value is None:
        return False
    try:
        if value != value:  # NaN, NaT
            return False
    except TypeError:  # pandas.NA: its truth is undefined
        return False
    text = str(value).strip()
    return bool(text) and text.lower() not in _MISSING


def recency(n: int, stamps: np.ndarray | None, half_life_days: float) -> np.ndarray:
    """Per-message recency weight, between one half (long ago) and one (the newest message)."""
    known = stamps != NOT_A_TIME if stamps is not None else np.zeros(n, dtype=bool)
    if stamps is None or not known.any() or half_life_days <= 0:
        return np.ones(n)
    age = (stamps[known].max() - stamps) / 86_400e9
    age[~known] = age[known].max()  # a message without a readable time counts as the oldest one
    with np.errstate(over="ignore"):  # a half-life of a few nanoseconds: every older message weighs 1/2
        return (1 + np.exp2(-(age / half_life_days))) / 2


def _hotness(
    signals: Signals, inverse: np.ndarray, groups: int, half_life_days: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(hotness, voices)`` per group (see the module docstring); ``inverse`` maps messages to groups."""
    weight = recency(len(inverse), signals.stamps, half_life_days)
    voice_ids, voice_of = np.unique(signals.copies, return_inverse=True)
    voice_weight = np.zeros(len(voice_ids))
    np.maximum.at(voice_weight, voice_of, weight)  # a voice is as recent as its latest message
    voice_weight *= 1 + np.log(np.bincount(voice_of))  # copies add, damped: one letter, many senders?
    voice_group = np.zeros(len(voice_ids), dtype=np.int64)
    voice_group[voice_of] = inverse
    hotness = np.bincount(voice_group, weights=voice_weight, minlength=groups).astype(np.float64)
    voices = np.bincount(voice_group, minlength=groups)
    if signals.likes is not None:
        hotness += np.log1p(np.bincount(inverse, weights=signals.likes, minlength=groups))
    return hotness, voices


def rank_groups(signals: Signals, top: int, min_size: int, half_life_days: float) -> Ranking:
    """The ``top`` hottest groups of at least ``min_size`` messages."""
    ids, inverse, sizes = np.unique(signals.groups, return_inverse=True, return_counts=True)
    hotness, voices = _hotness(signals, inverse, len(ids), half_life_days)
    latest = np.full(len(ids), -np.inf)  # a group without a readable time is the oldest
    if signals.stamps is not None:
        seconds = np.where(signals.stamps == NOT_A_TIME, -np.inf, signals.stamps // 10**9).astype(float)
        np.maximum.at(latest, inverse, seconds)
    eligible = np.flatnonzero(sizes >= min_size)
    # hottest first; ties: larger, then more recent, then earlier group
    ranked = np.lexsort((ids[eligible], -latest[eligible], -sizes[eligible], -hotness[eligible]))
    order = eligible[ranked[:top]].tolist()
    n = len(inverse)
    return Ranking(
        order=order,
        ids=ids,
        sizes=sizes,
        hotness=hotness,
        voices=voices,
        members_of={g: np.flatnonzero(inverse == g) for g in order},
        sample=np.random.default_rng(0).choice(n, size=min(n, CORPUS_SAMPLE), replace=False),
    )
