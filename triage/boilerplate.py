"""The form a batch's messages were typed into: phrases that open or close a large share of them.

A 12345 centre's operators write every work order into one template ("市民来电反映：" ... "请相关
部门尽快核实处理并回复市民。"), and a board's staff open every reply the same way. On short
messages the template is most of the text: two orders about a school and a street lamp share
25 characters and about half their character trigrams, so near-duplicate grouping
(:mod:`triage.grouping`) took them for copies and chained a whole export into one group. Grouping
compares messages with their batch's boilerplate cut off (:meth:`Boilerplate.strip`), and the
batch tagger classifies them so.

The boilerplate is learned from the batch itself, since every centre has its own template:

* An opening is a phrase of :data:`MIN_LENGTH` to :data:`MAX_LENGTH` characters (of the text as
  grouping compares it, :func:`compared_text`) that is followed by at least
  :data:`MIN_BRANCHES` different characters, where the texts that do not go on the commonest way
  are alone at least :data:`MIN_SHARE` of the sample: a template is followed by the starts of many
  concerns (a city's name may start most of them, the rest are still many), while the shared start
  of one concern's copies is followed by a few wordings, or by the same words in all but a few.
  Endings likewise, read backwards.
* The sample is the batch's first :data:`SAMPLE_SIZE` texts, so a batch read in chunks and a Dask
  DataFrame read by partitions learn the same boilerplate and give the same group ids.
* Hot topics' concerns (:mod:`triage.concerns`) learn it from the same first texts and leave the
  words of its phrases out of messages' key words: on short templated orders the template's ten
  words outweighed the concern's few, and unrelated orders became one concern.
* ``triage tag`` and hot topics' descriptions classify messages with it cut (:meth:`Boilerplate.cut`):
  its words pulled short orders towards the departments they suggest (teddy2020c messages cut to
  40 characters and templated: topic accuracy 0.739, and 0.786 with it cut, as without it).
* ``triage train`` learns it from the training export, trains without it and keeps it in the model
  (the manifest's ``template``), which cuts it from every message it classifies or routes. A batch
  that teaches none (fewer than :data:`MIN_TEXTS` texts, or no template) has the model's cut instead;
  one that teaches its own has that cut, not the model's: an export's current form is what its rows hold.

What it does not do: fields in the middle of a message ("诉求内容：") stay; a template that
begins fewer than a tenth of the texts (a batch mixing many channels) is not learned, nor the
boilerplate of a batch of fewer than :data:`MIN_TEXTS` texts; a text is never cut to fewer than
``keep`` characters, so an order that is all template stays whole.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from triage.text import PreparedText, has_chinese, prepare

__all__ = [
    "KEEP",
    "MAX_LENGTH",
    "MIN_BRANCHES",
    "MIN_LENGTH",
    "MIN_SHARE",
    "MIN_TEXTS",
    "SAMPLE_SIZE",
    "Boilerplate",
    "compared_text",
]

#: Shortest phrase taken for boilerplate: shorter ones are words (您好, 我是) that weigh a shingle or two.
MIN_LENGTH = 4
#: Longest: a template is a phrase, while a letter copied by many residents shares far more.
MAX_LENGTH = 32
#: Fewest texts a batch needs for its boilerplate to be learned: in a smaller one, the copies of one
#: campaign, alike up to their closing words, can be a tenth of it and would pass for a template.
MIN_TEXTS = 100
#: Smallest share of the sample's texts a phrase must begin (or end) beyond its commonest continuation:
#: a template is on a large part of an export, one concern's copies rarely are.
MIN_SHARE = 0.1
#: Fewest different characters that must follow a phrase: a template is followed by the starts of
#: many concerns, the shared start of one concern (an estate's name) by its few wordings.
MIN_BRANCHES = 10
#: Fewest characters (as compared) a cut leaves of a message for classifying it (:meth:`Boilerplate.cut`).
KEEP = 3
#: Texts the boilerplate is learned from: the batch's first ones (as many as concerns take their
#: word frequencies from, :data:`triage.concerns.IDF_SAMPLE`, so both learn the same boilerplate).
SAMPLE_SIZE = 5_000


@dataclass(frozen=True)
class Boilerplate:
    """Openings and endings to cut from a batch's texts before they are compared (:meth:`strip`) or
    classified (:meth:`cut`)."""

    openings: frozenset[str] = frozenset()
    endings: frozenset[str] = frozenset()
    _opening_lengths: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _ending_lengths: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_opening_lengths", _longest_first(self.openings))
        object.__setattr__(self, "_ending_lengths", _longest_first(self.endings))

    @classmethod
    def learn(cls, texts: Iterable[str]) -> Boilerplate:
        """The boilerplate of a batch whose texts, as grouping compares them (:func:`compared_text`), are
        ``texts``: the first :data:`SAMPLE_SIZE` are read, empty ones not counted (the rule is in the
        module's docstring)."""
        heads, tails = [], []
        for text in itertools.islice(texts, SAMPLE_SIZE):
            if text:
                heads.append(text[: MAX_LENGTH + 1])
                tails.append(text[: -MAX_LENGTH - 2 : -1])
        if len(heads) < MIN_TEXTS:
            return cls()
        least = math.ceil(MIN_SHARE * len(heads))
        return cls(_shared_openings(heads, least), frozenset(ending[::-1] for ending in _shared_openings(tails, least)))

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Boilerplate:
        """:meth:`learn` from a batch's texts as they were written (prepared and compared here). Only a
        long text's ends are prepared: the phrases are at most :data:`MAX_LENGTH` characters long, and
        preparing whole messages took most of the time a ``triage tag`` run spent learning. The texts are
        prepared as :meth:`learn` reads them: none after its first :data:`SAMPLE_SIZE`."""
        return cls.learn(compared_text(prepare(_ends(text)).text) for text in texts)

    @classmethod
    def from_record(cls, record: Mapping[str, Iterable[str]] | None) -> Boilerplate:
        """The boilerplate :meth:`record` wrote (``None``: none, as a model saved before templates were kept)."""
        record = record or {}
        return cls(frozenset(record.get("openings", ())), frozenset(record.get("endings", ())))

    def record(self) -> dict[str, list[str]]:
        """Its openings and endings as sorted lists: what a run's summary, an evaluation and a model's manifest
        say was cut."""
        return {"openings": sorted(self.openings), "endings": sorted(self.endings)}

    def shown(self) -> str:
        """Its openings and endings as reports show them: ``「opening」… …「ending」`` ("" for none)."""
        return " ".join([*(f"「{p}」…" for p in sorted(self.openings)), *(f"…「{p}」" for p in sorted(self.endings))])

    def __bool__(self) -> bool:
        return bool(self.openings or self.endings)

    def strip(self, text: str, keep: int) -> str:
        """``text`` without the longest known opening, then the longest known ending, that leave it at
        least ``keep`` characters."""
        start, cut = self._bounds(text, keep)
        return text[start : len(text) - cut]

    def cut(self, prepared: str, keep: int = KEEP) -> str:
        """A :func:`~triage.text.prepare` text without what :meth:`strip` cuts from it as compared
        (:func:`compared_text`), and the punctuation and spaces around that: the message classified
        without the template its batch was typed into."""
        runs = [match.span() for match in _WORD_RUNS.finditer(prepared)]
        start, cut = self._bounds("".join(prepared[a:b] for a, b in runs), keep)
        if not start and not cut:
            return prepared
        return prepared[_after(runs, start) if start else 0 : _before(runs, cut)]

    def prepared(self, texts: Iterable[str]) -> list[PreparedText]:
        """Raw ``texts`` through :func:`~triage.text.prepare`, then :meth:`cut`: how a model trained without
        this template reads them, in training, answering, tagging and evaluation alike."""
        prepared = [prepare(text) for text in texts]
        if not self:
            return prepared
        return [PreparedText(self.cut(item.text), item.truncated) for item in prepared]

    def _bounds(self, text: str, keep: int) -> tuple[int, int]:
        """How many characters :meth:`strip` cuts from the start and from the end of ``text``."""
        start = next((n for n in self._opening_lengths if n <= len(text) - keep and text[:n] in self.openings), 0)
        room = len(text) - start - keep
        cut = next((n for n in self._ending_lengths if n <= room and text[len(text) - n :] in self.endings), 0)
        return start, cut


T = TypeVar("T")
_NOT_TEXT = re.compile(r"[\W_]+")
_WORD_RUNS = re.compile(r"[^\W_]+")


#: Characters of each end of a long text read to learn the boilerplate from (:func:`_ends`): four times a
#: phrase's longest, for the punctuation, spaces and masked personal data among them.
_END = 4 * (MAX_LENGTH + 1)


def _ends(text: str) -> str:
    """``text``, or, if longer than two :data:`_END`, its first and last :data:`_END` characters on two lines."""
    return text if len(text) <= 2 * _END else f"{text[:_END]}\n{text[-_END:]}"


def sample_chunks(chunks: Iterator[list[T]]) -> list[list[T]]:
    """The chunks taken from ``chunks`` until they hold the :data:`SAMPLE_SIZE` items the boilerplate is learned
    from (or ``chunks`` ends), for a caller that learns it before going on with the same stream."""
    taken: list[list[T]] = []
    held = 0
    while held < SAMPLE_SIZE and (chunk := next(chunks, None)) is not None:
        taken.append(chunk)
        held += len(chunk)
    return taken


def compared_text(prepared: str) -> str:
    """A :func:`~triage.text.prepare` text as grouping compares it and the boilerplate is learned:
    letters, digits and CJK characters only (punctuation and spacing do not make two messages
    different); ``""`` without Chinese."""
    return _NOT_TEXT.sub("", prepared) if has_chinese(prepared) else ""


def _after(runs: list[tuple[int, int]], characters: int) -> int:
    """Where, in the text of the word ``runs``, what follows their first ``characters`` letters (and the
    punctuation after them) begins."""
    for number, (start, stop) in enumerate(runs):
        if characters < stop - start:
            return start + characters
        characters -= stop - start
        if not characters:
            return runs[number + 1][0] if number + 1 < len(runs) else stop
    return runs[-1][1] if runs else 0


def _before(runs: list[tuple[int, int]], characters: int) -> int | None:
    """Where, in the text of the word ``runs``, what precedes their last ``characters`` letters (and the
    punctuation before them) ends; None (the end) for none."""
    if not characters:
        return None
    for number in range(len(runs) - 1, -1, -1):
        start, stop = runs[number]
        if characters < stop - start:
            return stop - characters
        characters -= stop - start
        if not characters:
            return runs[number - 1][1] if number else start
    return 0


def _longest_first(phrases: frozenset[str]) -> tuple[int, ...]:
    return tuple(sorted({len(phrase) for phrase in phrases}, reverse=True))


def _shared_openings(heads: list[str], least: int) -> frozenset[str]:
    """The shortest phrases that begin at least ``least`` of ``heads`` and branch (see the module's
    docstring). Lengths are walked upwards, and only heads whose shorter phrase was frequent but
    branched too little are counted on: where a template ends, its texts' own words begin (a
    longer phrase the copies of one frequent concern share is no template), and the work shrinks
    with every step."""
    found: set[str] = set()
    alive = heads
    for length in range(MIN_LENGTH, MAX_LENGTH + 1):
        following: defaultdict[str, list[int]] = defaultdict(list)
        for longer, count in Counter(head[: length + 1] for head in alive if len(head) > length).items():
            following[longer[:length]].append(count)
        frequent = {phrase for phrase, counts in following.items() if sum(counts) >= least}
        branching = {
            phrase
            for phrase in frequent
            if len(following[phrase]) >= MIN_BRANCHES and sum(following[phrase]) - max(following[phrase]) >= least
        }
        found |= branching
        alive = [head for head in alive if head[:length] in frequent - branching]
        if not alive:
            break
    return frozenset(found)
