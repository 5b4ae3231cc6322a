"""What a hot topic is about: its place, issue, department, time span and representative message.

A ranked group of messages (:mod:`triage.hotness`) becomes a :class:`HotTopic` from the texts of
its first members: its place (:func:`triage.places.extract_places`, the named place a third of
them name), the issue in a few words (its key terms: words frequent in the topic and rare in the
batch, place names left out), the department the model gives most of its members, the time span
and a timeline by month, and a representative message (the member most similar to the others)
in the citizen's own words with personal data masked (:func:`triage.pii.mask_pii`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from triage.boilerplate import Boilerplate
from triage.grouping import Sketcher
from triage.hotness import Ranking, Signals
from triage.pii import mask_pii
from triage.places import extract_places, is_coded
from triage.text import PreparedText
from triage.times import NOT_A_TIME, monthly_counts, timestamp_text

if TYPE_CHECKING:
    from triage.model import TriageModel

__all__ = ["CSV_COLUMNS", "MEMBERS_READ", "HotTopic", "describe"]

#: Columns of a topic as a row (:meth:`HotTopic.as_row`, the CSV report), in order.
CSV_COLUMNS = (
    "rank",
    "group_id",
    "size",
    "hotness",
    "voices",
    "place",
    "issue",
    "first_time",
    "last_time",
    "likes",
    "places",
    "department",
    "department_name",
    "department_share",
    "key_terms",
    "representative",
    "members",
)

#: Members read per topic for its places, key terms and representative.
MEMBERS_READ = 200
_MEMBERS_CLASSIFIED = 25  # members whose department votes
_WORD = re.compile(r"^[^\W\d_A-Za-z][^\W_]*$")  # starts with a CJK character: no codes, numbers, placeholders


@dataclass(frozen=True)
class HotTopic:
    """One hot topic: a group of messages and what it is about."""

    rank: int
    group_id: int  # index of the group's first message
    size: int
    hotness: float
    voices: int  # distinct near-duplicate groups among the members: residents writing on their own
    place: str | None  # the most frequent named place of the members
    issue: str  # the issue in a few words: the first key terms that are not the place
    first_time: str | None
    last_time: str | None
    likes: int
    places: tuple[str, ...]
    department: str | None
    department_name: str | None
    department_share: float  # share of the classified members that went to ``department``
    key_terms: tuple[str, ...]
    representative: str  # the most typical member in the citizen's words, personal data masked
    members: tuple[int, ...]  # indices of all members, in input order
    timeline: tuple[tuple[str, int], ...] = ()  # (month "YYYY-MM", members) from first to last month

    def as_row(self, ids: Sequence[Any] | Mapping[int, Any] | None = None) -> list[Any]:
        """The topic as a :data:`CSV_COLUMNS` row; ``ids`` names the group and members instead of indices."""
        name = (lambda i: str(ids[i])) if ids is not None else str
        return [
            self.rank,
            name(self.group_id),
            self.size,
            round(self.hotness, 3),
            self.voices,
            self.place or "",
            self.issue,
            self.first_time or "",
            self.last_time or "",
            self.likes,
            ";".join(self.places),
            self.department or "",
            self.department_name or "",
            round(self.department_share, 2),
            ";".join(self.key_terms),
            self.representative,
            ";".join(map(name, self.members)),
        ]


def describe(
    ranking: Ranking,
    signals: Signals,
    texts: Mapping[int, str] | Sequence[str],
    model: TriageModel,
    template: Boilerplate | None = None,
) -> list[HotTopic]:
    """A :class:`HotTopic` for each ranked group, from the texts of its first :data:`MEMBERS_READ`
    members and of the ranking's sample (no other text is read), with the batch's ``template``
    (:mod:`triage.boilerplate`; when it has none, the model's own) cut: its words are no key terms, and
    members are classified without it."""
    from triage.segmentation import segment

    template = template or model.template

    def prepared(i: int) -> str:
        return template.prepared([texts[i]])[0].text

    document_frequency: Counter = Counter()
    for i in ranking.sample:
        document_frequency.update(set(segment(prepared(i))))
    rarity = (document_frequency, len(ranking.sample))
    return [
        _topic(rank, g, ranking, signals, texts, model, rarity, prepared) for rank, g in enumerate(ranking.order, 1)
    ]


def _topic(
    rank: int,
    g: int,
    ranking: Ranking,
    signals: Signals,
    texts: Mapping[int, str] | Sequence[str],
    model: TriageModel,
    rarity: tuple[Counter, int],
    prepared: Callable[[int], str],
) -> HotTopic:
    """The topic of ranked group ``g``; ``prepared`` gives a message's text as read for it."""
    members = ranking.members_of[g]
    read = [prepared(i) for i in members[:MEMBERS_READ]]
    classified = model._classify_prepared([PreparedText(text, False) for text in read[:_MEMBERS_CLASSIFIED]], 1, 0)
    votes = Counter(r.department for r in classified if r.department)
    department, share = votes.most_common(1)[0] if votes else (None, 0)
    places = Counter(place for text in read for place in extract_places(text))
    ordered = tuple(sorted(places, key=lambda p: (is_coded(p), -places[p], p))[:5])
    stamps = signals.stamps[members] if signals.stamps is not None else np.zeros(0, dtype=np.int64)
    stamps = stamps[stamps != NOT_A_TIME]
    terms = _key_terms(read, *rarity)
    return HotTopic(
        rank=rank,
        group_id=int(ranking.ids[g]),
        size=int(ranking.sizes[g]),
        hotness=float(ranking.hotness[g]),
        voices=int(ranking.voices[g]),
        place=_topic_place(places, len(read)),
        issue="、".join([t for t in terms if not any(t in p or p in t for p in ordered)][:3]),
        first_time=timestamp_text(stamps.min()) if len(stamps) else None,
        last_time=timestamp_text(stamps.max()) if len(stamps) else None,
        likes=int(signals.likes[members].sum()) if signals.likes is not None else 0,
        places=ordered,
        department=department,
        department_name=model.department_name(department) if department else None,
        department_share=share / max(sum(votes.values()), 1),
        key_terms=terms,
        representative=mask_pii(texts[members[_representative(read)]]),
        members=tuple(int(i) for i in members),
        timeline=monthly_counts(stamps),
    )


def _key_terms(member_texts: list[str], document_frequency: Counter, documents: int, limit: int = 8) -> tuple:
    """Segments the members share, by occurrences in the group times rarity in the batch (TF-IDF)."""
    from triage.segmentation import segment

    present: Counter = Counter()
    occurrences: Counter = Counter()
    for text in member_texts:
        tokens = segment(text)
        occurrences.update(tokens)
        present.update(set(tokens))
    shared = min(2, len(member_texts))  # a topic's terms are ones its members share
    scores = {
        term: occurrences[term] * math.log((1 + documents) / (1 + document_frequency[term]))
        for term, count in present.items()
        if count >= shared and len(term) >= 2 and _WORD.match(term)
    }
    return tuple(sorted(scores, key=lambda term: (-scores[term], term))[:limit])


def _representative(member_texts: list[str]) -> int:
    """Position of the member with the highest total estimated Jaccard similarity to the others."""
    signatures, _ = Sketcher().sketch(member_texts)
    similarity = np.array([(signatures == row).mean(axis=1).sum() for row in signatures])
    return int(np.argmax(similarity))


def _topic_place(places: Counter, read: int) -> str | None:
    """The named place a third of the members name (a concern's place), else the commonest coded
    division (a policy of the city or district), else none."""
    named = [(count, place) for place, count in places.items() if not is_coded(place)]
    count, place = max(named, key=lambda item: (item[0], -len(item[1]), item[1]), default=(0, None))
    if place is not None and count >= max(2, read / 3):
        return place
    coded = [(count, place) for place, count in places.items() if is_coded(place)]
    return max(coded, default=(0, None))[1]
