"""Concerns: messages that raise the same issue about the same place or policy, however worded.

Near-duplicate grouping (:mod:`triage.grouping`) joins copies; a campaign of residents who each
write in their own words about the same estate, developer or fraud case shares few character
trigrams but the same rare words: the estate's name, 搅拌站, 捆绑 and 车位, 车贷. So every message
is reduced to its :data:`TERMS` heaviest words (jieba segments of two characters or more, weighted
by smoothed TF-IDF, ``(1 + ln tf) * (ln((1 + n) / (1 + df)) + 1)``; words seen once in the sample
are noise), with its places added as words of their own, weighted twice: the names
:func:`triage.places.extract_places` finds, keyed by the estate's stem (``魅力之城小区`` →
``魅力之城``), and the stems of the sample's recurring places wherever a message mentions them bare.

Two messages are one concern when the cosine of these vectors reaches a threshold that depends on
their places: ``0.7 * threshold`` when they share one, ``1.6 *`` when only one of them names any,
``3 *`` (only rewordings) when both name places but none in common, ``threshold`` when neither
does (a policy, a fraud case). Concerns are the connected components of those pairs, cut by
average linkage where a chain's members' words, places left out, are not alike on average
(``0.5 * threshold``: two issues at one estate are two concerns; two messages that name places
but none in common count as unlike, so one issue at two estates is two concerns); copies
(near-duplicate groups) are one voice and always share a concern — once copies naming different
places are parted (:func:`copies_by_place`: one letter sent word for word about two estates is two
voices). Pieces of a message's own place names (魅力 and 小区 of 魅力之城小区, the developer's name
before an estate's) are not issue words, and a name ending in a place named elsewhere (伊景园滨河苑,
滨河苑) is that place too. Last, the concerns of one place are joined where the sums of their
voices' issue words are alike (cosine ``0.4 * threshold``, :func:`_join_at_places`): residents
writing about the shops under their estate stress the fumes, the noise at night or the missing
flue, each in their own words, and are one concern.

Tuned on a labelled dev set of the real board ``teddy2020c/votes.csv``
(``benchmarks/hot_concerns_dev.csv``, ``benchmarks/hot_concerns.py``): with ``threshold=0.25``
its five concerns of 15 messages or more come out as one top-10 topic with recall >= 0.7 and
purity >= 0.8; a lower threshold or fewer words chain neighbouring concerns together, a higher
one splits campaigns.

Streaming: document frequencies and recurring places come from the first :data:`IDF_SAMPLE`
messages (words not seen there count as rare), so a file read chunk by chunk gives the same terms
as the whole batch in memory; each message keeps 16 word hashes and weights (128 bytes, in a
temporary file past 100,000 messages, read a block at a time). Voice vectors are summed a block
of voices at a time, and pairs are found by sparse products a block of rows at a time; a word in
more than 1,000 messages only weighs in the norms (it would make every block dense). Copies are
compared once, as one voice. The words of the batch's boilerplate (:mod:`triage.boilerplate`,
learned from the same sample) are no key words.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from triage.boilerplate import Boilerplate, compared_text
from triage.grouping import RowSpill, chunk_spans, connected_groups, release_pages
from triage.places import extract_places, is_coded
from triage.text import prepare

__all__ = [
    "DEFAULT_CONCERN_THRESHOLD",
    "IDF_SAMPLE",
    "TERMS",
    "ConcernTerms",
    "concern_groups",
    "concern_groups_of",
    "copies_by_place",
]

#: Cosine similarity of two messages' weighted key words from which they are one concern.
DEFAULT_CONCERN_THRESHOLD = 0.25
#: Words kept per message.
TERMS = 16
#: Messages whose words give document frequencies.
IDF_SAMPLE = 5000
_IDF_SHIFT = 1.0  # smoothed IDF, ln((1 + n) / (1 + df)) + 1 as scikit-learn's: a word most messages share still counts
_MAX_POSTINGS = 1000  # messages per word compared pairwise (beyond that, the word only weighs in norms)
_WORD = re.compile(r"^[\u4e00-\u9fff][\u4e00-\u9fffA-Za-z0-9]+$")  # CJK first, two characters or more
_PLACE_PREFIX = "@"  # place names are words of their own ("@丽发新城")


# Estate words: "魅力之城小区", "魅力之城" and "万科魅力之城" name one estate, keyed by the stem
_ESTATE_SUFFIX = re.compile(r"(?:小区|社区|新城|花园|家园|公寓|大厦|广场|苑)$")
_BARE_LENGTHS = range(3, 9)  # lengths of place stems looked for where no place word follows them


def _place_key(place: str) -> str:
    stem = _ESTATE_SUFFIX.sub("", place)
    return _PLACE_PREFIX + (stem if len(stem) >= 2 else place)


def _words(text: str) -> tuple[str, Counter]:
    """The prepared text and its words, place keys included; the pieces of its place names (魅力
    and 小区 of 魅力之城小区) are not words of their own (see :func:`_drop_place_fragments`)."""
    from triage.segmentation import segment

    prepared = prepare(text).text
    places = [place for place in extract_places(prepared) if not is_coded(place)]
    pieces = _pieces(places)
    words = Counter(word for word in segment(prepared) if word not in pieces and _WORD.match(word))
    words.update(_place_key(place) for place in places)
    return prepared, words


def _bare_places(prepared: str, words: Counter, known: dict[str, frozenset[str]]) -> None:
    """Add to ``words`` the known place stems ``prepared`` mentions without a place word after them
    (``known`` maps each stem's first two characters to the stems beginning with them)."""
    found: set[str] = set()
    for i in range(len(prepared) - 2):
        stems = known.get(prepared[i : i + 2])
        if stems:
            found.update(stem for stem in stems if prepared.startswith(stem, i))
    for stem in found:
        key = _PLACE_PREFIX + stem
        if key not in words:
            words[key] = 1


def _place_tails(words: Counter, names: frozenset[str]) -> None:
    """Add to ``words`` the known place stems ``names`` that end one of its own, longer ones: a
    name with its developer's or area's name in front (伊景园滨河苑, written 伊景园.滨河苑 too, is
    滨河苑) is that place."""
    stems = [word[len(_PLACE_PREFIX) :] for word in words if word.startswith(_PLACE_PREFIX)]
    for stem in stems:
        for start in range(1, len(stem) - 1):
            key = _PLACE_PREFIX + stem[start:]
            if stem[start:] in names and key not in words:
                words[key] = 1


def _pieces(names: Sequence[str]) -> frozenset[str]:
    """Every run of two characters or more inside ``names``."""
    return frozenset(name[i:j] for name in names for i in range(len(name) - 1) for j in range(i + 2, len(name) + 1))


def _drop_place_fragments(words: Counter) -> None:
    """Remove from ``words`` the words that are pieces of its own places' stems (魅力 and 万科 of
    ``@万科魅力之城``, 东路 of ``@劳动东路``): the place is already its own word, and kept as an
    issue word a name would make two issues at one estate look alike."""
    pieces = _pieces([word[len(_PLACE_PREFIX) :] for word in words if word.startswith(_PLACE_PREFIX)])
    for word in pieces.intersection(words):
        del words[word]


_PLACE_BIT = 0x80000000  # set in the hash of a place name, clear in that of any other word


def _template_words(boilerplate: Boilerplate) -> frozenset[str]:
    """The words (places included) of the phrases of a batch's ``boilerplate``: the form messages were
    typed into, which says nothing about their concern."""
    return frozenset(word for phrase in boilerplate.openings | boilerplate.endings for word in _words(phrase)[1])


def _hash(word: str) -> int:
    code = zlib.crc32(word.encode("utf-8"))
    return code | _PLACE_BIT if word.startswith(_PLACE_PREFIX) else code & ~_PLACE_BIT


class ConcernTerms:
    """The weighted key words of messages arriving in chunks (the same as of one batch).

    Until the sample is complete only its prepared texts, document frequencies and place counts
    are kept; then every message is scored as it arrives, one at a time, into the arrays."""

    def __init__(self, terms: int = TERMS, idf_sample: int = IDF_SAMPLE) -> None:
        self.terms = terms
        self.idf_sample = idf_sample
        self._sample: list[tuple[str, frozenset[str]]] = []  # prepared texts and place keys of the sample
        self._df: Counter = Counter()
        self._places: Counter = Counter()
        self._known: dict[str, frozenset[str]] = {}
        self._names: frozenset[str] = frozenset()  # place stems named twice or more in the sample
        self._sampled = 0
        self._fixed = False
        self._template: frozenset[str] = frozenset()  # words of the batch's boilerplate (triage.boilerplate)
        # word hashes, then weights' bits: a temporary file past 100,000 messages
        self._rows = RowSpill(2 * terms, what="concerns' key words")

    def add(self, texts: Sequence[str]) -> None:
        """Words of the next ``texts`` (an empty text has none)."""
        texts = list(texts)
        taken = 0 if self._fixed else min(len(texts), self.idf_sample - len(self._sample))
        for text in texts[:taken]:
            prepared, words = _words(text) if text else ("", Counter())
            places = frozenset(word for word in words if word.startswith(_PLACE_PREFIX))
            self._sample.append((prepared, places))
            self._df.update(words.keys())
            self._places.update(places)
        if not self._fixed and len(self._sample) >= self.idf_sample:
            self._fix_frequencies()
        if taken < len(texts):
            self._score(texts[taken:])

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, weights)``: ``n x terms`` uint32 word hashes and float32 weights (0: no word)."""
        if not self._fixed:
            self._fix_frequencies()
        rows = self._rows.rows()
        return rows[:, : self.terms], rows[:, self.terms :].view(np.float32)

    def close(self) -> None:
        """Remove the temporary file of a large batch's words (arrays already returned stay readable)."""
        self._rows.close()

    def __enter__(self) -> ConcernTerms:
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()

    def _fix_frequencies(self) -> None:
        """The place stems worth looking for and their document frequencies (the sample's texts that
        mention them, named with a place word or bare); then the sample's own words."""
        by_start: dict[str, set[str]] = {}
        for key, count in self._places.items():
            stem = key[len(_PLACE_PREFIX) :]
            if count >= 2 and len(stem) in _BARE_LENGTHS:
                by_start.setdefault(stem[:2], set()).add(stem)
        self._known = {start: frozenset(group) for start, group in by_start.items()}
        self._names = frozenset(key[len(_PLACE_PREFIX) :] for key, count in self._places.items() if count >= 2)
        for prepared, places in self._sample:
            bare: Counter = Counter()
            _bare_places(prepared, bare, self._known)
            self._df.update(bare.keys() - places)
        self._template = _template_words(Boilerplate.learn(compared_text(prepared) for prepared, _ in self._sample))
        self._sampled, self._fixed = len(self._sample), True
        sample, self._sample, self._places = self._sample, [], Counter()
        self._score([prepared for prepared, _ in sample])  # prepare() leaves prepared text as it is

    def _score(self, texts: Sequence[str]) -> None:
        n, df = max(self._sampled, 1), self._df
        rare = n >= self.idf_sample  # a word missing from a full sample is rare, not noise
        ids = np.zeros((len(texts), self.terms), dtype=np.uint32)
        weights = np.zeros((len(texts), self.terms), dtype=np.float32)
        for row, text in enumerate(texts):
            prepared, words = _words(text) if text else ("", Counter())
            _bare_places(prepared, words, self._known)
            _place_tails(words, self._names)
            _drop_place_fragments(words)
            scored = {}
            for word, count in words.items():
                seen = df.get(word, 0)
                if (seen >= 2 or (rare and seen == 0)) and word not in self._template:
                    boost = _PLACE_WEIGHT if word.startswith(_PLACE_PREFIX) else 1.0
                    scored[word] = boost * (1 + math.log(count)) * (math.log((1 + n) / (1 + seen)) + _IDF_SHIFT)
            top = sorted(scored, key=lambda word: (-scored[word], word))[: self.terms]
            ids[row, : len(top)] = [_hash(word) for word in top]
            weights[row, : len(top)] = [scored[word] for word in top]
        self._rows.append_rows(np.hstack([ids, weights.view(np.uint32)]))


def concern_groups(
    ids: np.ndarray,
    weights: np.ndarray,
    copies: np.ndarray,
    *,
    threshold: float = DEFAULT_CONCERN_THRESHOLD,
    block: int = 256,
) -> np.ndarray:
    """Concern ids (index of each concern's first member) from :class:`ConcernTerms` arrays and
    near-duplicate group ids ``copies`` (see the module docstring).

    Copies are one voice: each near-duplicate group is compared by the mean of its members'
    vectors, so an export of many copies costs what its distinct messages cost."""
    if not 0 < threshold <= 1:
        raise ValueError(f"concern threshold must be in (0, 1], got {threshold}")
    firsts, voice_of = np.unique(np.asarray(copies, dtype=np.int64), return_inverse=True)
    matrix, places = _voice_vectors(ids, weights, voice_of, len(firsts))
    left, right, similarity = _similar_pairs(matrix, places, threshold, block)
    words = _unit_rows(matrix[:, ~places])  # the issue alone: chains at one place are cut by it
    named = (matrix[:, places] > 0).astype(np.float64).tocsr()
    split = _split_chains(
        words, named, (left, right, similarity), average=_AVERAGE * threshold, first_cut=1.2 * threshold
    )
    split = _join_at_places(named, words, split, _PLACE_ISSUE * threshold)
    return firsts[split[voice_of]]  # the lowest voice of a concern holds its first message


# Tuned on the dev set (benchmarks/hot_concerns.py): factors of ``threshold`` for a pair sharing a
# place, for one naming only different places (practically never: only rewordings join them), for
# one where only one message names a place, the average similarity (as a factor) below which a
# chain is cut, and the weight of a place name against a word as rare
_SAME_PLACE = 0.7
_OTHER_PLACES = 3.0
_ONE_PLACE = 1.6
_AVERAGE = 0.5
_PLACE_WEIGHT = 2.0
_PLACE_ISSUE = 0.4  # cosine of two concerns' issue profiles from which, at one place, they are one
_PLACE_SHARE = 0.5  # share of a concern's voices that name a place for it to be the concern's place
_PAIR_BLOCK = 100_000  # pairs of concerns compared at once (their rows are copied)
_LINKAGE_LIMIT = 2000  # voices a chain may have for average linkage (a dense square of them is built)


#: Messages read at once when voice vectors are built: a voice's messages are anywhere in the
#: export, so in a mapped file each may map a page of its own (4 KiB, let go after the block).
_VOICE_BLOCK = 4_096


def _voice_vectors(ids: np.ndarray, weights: np.ndarray, voice_of: np.ndarray, voices: int) -> tuple[Any, np.ndarray]:
    """Unit-length sparse rows, one per voice (the sum of its messages' unit vectors), and whether
    each column is a place name.

    Built a block of voices at a time, each voice with all its messages in input order (the sums
    are those of one matrix of every message): memory holds the voices' rows and one block's
    entries, not every message's."""
    import scipy.sparse as sparse

    vocabulary = _vocabulary(ids, weights)
    order = np.argsort(voice_of, kind="stable")  # each voice's messages, in input order
    bounds = np.searchsorted(voice_of[order], np.arange(voices + 1))
    rows = []
    for first, last in chunk_spans(np.diff(bounds).tolist(), _VOICE_BLOCK):
        messages = order[bounds[first] : bounds[last]]
        block = _message_vectors(ids[messages], weights[messages], voice_of[messages] - first, vocabulary)
        release_pages(ids)
        matrix = sparse.csr_matrix(block, shape=(last - first, len(vocabulary)))
        matrix.sum_duplicates()
        rows.append(_unit_rows(matrix))
    matrix = sparse.vstack(rows, format="csr") if rows else sparse.csr_matrix((voices, len(vocabulary)))
    return matrix, (vocabulary & _PLACE_BIT) != 0


def _vocabulary(ids: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The sorted distinct word hashes of the messages (words of weight 0 are none)."""
    parts = [np.zeros(0, dtype=ids.dtype)]
    for at in range(0, len(ids), _VOICE_BLOCK):
        parts.append(np.unique(ids[at : at + _VOICE_BLOCK][weights[at : at + _VOICE_BLOCK] > 0]))
        release_pages(ids)
    return np.unique(np.concatenate(parts))


def _named(ids: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Which of the words are place names."""
    return ((ids & _PLACE_BIT) != 0) & (weights > 0)


def _places_of(ids: np.ndarray, weights: np.ndarray, messages: np.ndarray) -> list[set[int]]:
    """The place hashes each of ``messages`` names (their rows read at once, mapped pages let go)."""
    rows, row_weights = ids[messages], weights[messages]
    release_pages(ids)
    return [{int(h) for h in row[_named(row, w)]} for row, w in zip(rows, row_weights, strict=True)]


def _first_places(ids: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(has_place, first_place)``: whether each message names a place, and the lowest place hash
    it names (0xFFFFFFFF: none), worked out a block of messages at a time."""
    has_place = np.zeros(len(ids), dtype=bool)
    first_place = np.full(len(ids), 0xFFFFFFFF, dtype=np.uint32)
    for at in range(0, len(ids), _VOICE_BLOCK):
        block = slice(at, at + _VOICE_BLOCK)
        named = _named(ids[block], weights[block])
        has_place[block] = named.any(axis=1)
        first_place[block] = np.where(named, ids[block], np.uint32(0xFFFFFFFF)).min(axis=1, initial=0xFFFFFFFF)
        release_pages(ids)
    return has_place, first_place


def _message_vectors(
    ids: np.ndarray, weights: np.ndarray, rows: np.ndarray, vocabulary: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """``(values, (rows, columns))`` of messages' unit vectors, the words of message ``m`` in row
    ``rows[m]`` (entries in message order, then word order)."""
    present = weights.reshape(-1) > 0
    messages = np.repeat(np.arange(len(ids)), ids.shape[1])[present]
    values = weights.reshape(-1)[present].astype(np.float64)
    values = values / np.sqrt(np.bincount(messages, weights=values**2, minlength=len(ids)))[messages]
    return values, (rows[messages], np.searchsorted(vocabulary, ids.reshape(-1)[present]))


def _unit_rows(matrix: Any) -> Any:
    """``matrix`` (sparse) with every non-empty row scaled to unit length."""
    import scipy.sparse as sparse

    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return (sparse.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ matrix).tocsr()


def _similar_pairs(
    matrix: Any, places: np.ndarray, threshold: float, block: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``(i, j)``, ``i < j``, similar enough — ``threshold`` scaled by their places (see the
    module docstring) — with their cosine similarity."""
    import scipy.sparse as sparse

    lefts, rights, values = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)], [np.empty(0)]
    if not matrix.nnz:
        return lefts[0], rights[0], values[0]
    postings = np.bincount(matrix.indices, minlength=matrix.shape[1])
    scored = (matrix @ sparse.diags((postings <= _MAX_POSTINGS).astype(np.float64))).tocsr()
    transposed = scored.T.tocsr()
    place_part = (matrix @ sparse.diags(places.astype(np.float64))).tocsr()
    has_place = np.diff(place_part.indptr) > 0
    place_transposed = (place_part > 0).astype(np.float64).T.tocsr()
    for start in range(0, matrix.shape[0], block):
        similar = (scored[start : start + block] @ transposed).tocoo()
        upper = (similar.col > similar.row + start) & (similar.data >= _SAME_PLACE * threshold)
        row, col, value = similar.row[upper], similar.col[upper], similar.data[upper]
        if not len(row):
            continue
        shared = np.asarray(((place_part[start : start + block] > 0) @ place_transposed)[row, col]).ravel() > 0
        both = has_place[row + start] & has_place[col]
        either = has_place[row + start] | has_place[col]
        factor = np.where(shared, _SAME_PLACE, np.where(both, _OTHER_PLACES, np.where(either, _ONE_PLACE, 1.0)))
        keep = value >= factor * threshold
        lefts.append(row[keep] + start)
        rights.append(col[keep].astype(np.int64))
        values.append(value[keep])
    return np.concatenate(lefts), np.concatenate(rights), np.concatenate(values)


def _split_chains(
    matrix: Any,
    named: Any,
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    average: float,
    first_cut: float,
) -> np.ndarray:
    """Components of the ``pairs`` ``(left, right, similarity)`` of the rows of ``matrix``, each
    cut where the average-linkage similarity of their words (``matrix``: places left out) drops
    below ``average``: a chain of pairs (A like B, B like C) is not one concern unless its members
    are alike on average, and messages about one estate are not one concern unless they raise the
    same issue. Two rows that both name places (``named``: rows x places, non-zero where named)
    but none in common count as unlike: one issue at two estates is two concerns, however a chain
    of messages naming no place links them. A component of more than :data:`_LINKAGE_LIMIT` rows
    is first cut into components of pairs of at least ``first_cut``, then stronger ones, until
    each piece is small enough."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    n = matrix.shape[0]
    left, right, similarity = pairs
    labels = connected_groups(n, np.r_[np.arange(n), left], np.r_[np.arange(n), right])
    cut = first_cut
    while True:
        groups, sizes = np.unique(labels, return_counts=True)
        large = groups[sizes > _LINKAGE_LIMIT]
        if not len(large):
            break
        inside = np.isin(labels[left], large)
        strong = ~inside | (similarity >= cut)
        cut *= 1.2  # only the large components' pairs are cut again, at a higher similarity
        left, right, similarity = left[strong], right[strong], similarity[strong]
        labels = connected_groups(n, np.r_[np.arange(n), left], np.r_[np.arange(n), right])
    split = labels.copy()
    _, inverse, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.r_[0, np.cumsum(sizes)]
    for g in np.flatnonzero(sizes >= 3):
        members = order[bounds[g] : bounds[g + 1]]
        rows = matrix[members]
        distance = 1 - (rows @ rows.T).toarray()
        where = named[members]
        has = np.diff(where.indptr) > 0
        distance[((where @ where.T).toarray() == 0) & has[:, None] & has[None, :]] = 1
        np.fill_diagonal(distance, 0)
        tree = linkage(squareform(np.clip(distance, 0, None), checks=False), method="average")
        parts = fcluster(tree, t=1 - average, criterion="distance")
        for part in np.unique(parts):
            inside = members[parts == part]
            split[inside] = inside.min()
    return split


def _join_at_places(places: Any, words: Any, labels: np.ndarray, similarity: float) -> np.ndarray:
    """Concern ids ``labels`` (per voice) with the concerns of one place joined where their issue
    profiles are alike: the cosine of the sums of their voices' words (``words``, places left out)
    reaches ``similarity``, cut by average linkage at the same similarity. Residents writing about
    the shops under their estate stress the fumes, the noise at night or the missing flue, each in
    their own words; one voice with another shares few words, but the words each part repeats
    (油烟, 烧烤, 凌晨, 商铺) meet in the sums. A concern's places are those named by more than
    :data:`_PLACE_SHARE` of its voices (``places``: the voices' place columns), so a message that
    names an estate in passing does not bring its concern there."""
    import scipy.sparse as sparse

    ids, concern_of = np.unique(labels, return_inverse=True)
    count = len(ids)
    member = sparse.csr_matrix((np.ones(len(labels)), (concern_of, np.arange(len(labels)))), shape=(count, len(labels)))
    named = member @ places  # concerns x places: voices naming each place
    named = named.tocoo()
    size = np.bincount(concern_of, minlength=count)
    main = named.data > _PLACE_SHARE * size[named.row]
    at = sparse.csr_matrix((np.ones(main.sum()), (named.row[main], named.col[main])), shape=named.shape)
    crowded = np.bincount(at.indices, minlength=at.shape[1]) > _MAX_POSTINGS
    # a place that is the place of more than _MAX_POSTINGS concerns (a busy road or district) joins none
    at = (at @ sparse.diags((~crowded).astype(np.float64))).tocsr()
    at.eliminate_zeros()
    pairs = sparse.triu(at @ at.T, k=1).tocoo()
    if not pairs.nnz:
        return labels
    involved = np.unique(np.r_[pairs.row, pairs.col])  # profiles only of concerns sharing a place
    profiles = _unit_rows(member[involved] @ words)
    left, right = np.searchsorted(involved, pairs.row), np.searchsorted(involved, pairs.col)
    alike = np.concatenate(
        [
            np.asarray(profiles[left[i : i + _PAIR_BLOCK]].multiply(profiles[right[i : i + _PAIR_BLOCK]]).sum(axis=1))
            for i in range(0, len(left), _PAIR_BLOCK)
        ]
    ).ravel()
    keep = alike >= similarity
    joined = _split_chains(
        profiles, at[involved], (left[keep], right[keep], alike[keep]), average=similarity, first_cut=1.2 * similarity
    )
    merged = np.arange(count)
    merged[involved] = involved[joined]
    return ids[merged][concern_of]


def copies_by_place(ids: np.ndarray, weights: np.ndarray, copies: np.ndarray) -> np.ndarray:
    """Near-duplicate ids with copies that name different places parted: one letter sent about
    several estates (a complaint of shops' fumes, word for word, at two estates) is one voice per
    estate. Within a near-duplicate group, messages sharing a place are one part and messages
    naming none join the first part; an id stays the index of its part's first message."""
    copies = np.asarray(copies, dtype=np.int64)
    has_place, first_place = _first_places(ids, weights)
    pairs = np.unique((copies[has_place] << 32) | first_place[has_place].astype(np.int64))  # one int64 each
    groups, places_in = np.unique(pairs >> 32, return_counts=True)
    mixed = groups[places_in >= 2]  # groups whose members name two places or more: the few to part
    if not len(mixed):
        return copies
    parted, order = copies.copy(), np.argsort(copies, kind="stable")
    starts = np.searchsorted(copies[order], mixed, side="left").tolist()
    ends = np.searchsorted(copies[order], mixed, side="right").tolist()
    for lo, hi in zip(starts, ends, strict=True):
        members = order[lo:hi]
        parts: list[tuple[list[int], set[int]]] = []  # (messages, places) of each part
        named = members[has_place[members]]
        for i, places in zip(named, _places_of(ids, weights, named), strict=True):
            home = next((part for part in parts if part[1] & places), None)
            if home is None:
                parts.append(([int(i)], places))
            else:
                home[0].append(int(i))
                home[1].update(places)
        parts[0][0].extend(int(i) for i in members[~has_place[members]])
        for messages, _ in parts:
            parted[messages] = min(messages)
    return parted


def concern_groups_of(
    texts: Iterable[str], copies: np.ndarray, threshold: float = DEFAULT_CONCERN_THRESHOLD
) -> np.ndarray:
    """:func:`concern_groups` of texts in memory, over their copies parted by place
    (:func:`copies_by_place`)."""
    with ConcernTerms() as terms:
        terms.add(list(texts))
        ids, weights = terms.arrays()
        return concern_groups(ids, weights, copies_by_place(ids, weights, copies), threshold=threshold)
