"""Hot topics: the concerns many people raised lately, each with where, who owns it and what it is about.

A topic is one concern (:mod:`triage.concerns`): the messages that raise the same issue about the
same place or policy, however worded, near-duplicates (:func:`triage.grouping.group`) included.
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

Each topic carries its place (:func:`triage.places.extract_places`, the most frequent named place
of its members), the issue in a few words (its key terms: words frequent in the topic and rare in
the batch, place names left out), the department the model gives most of its members, the time
span and a timeline by month, and a representative message (the member most similar to the
others) in the citizen's own words with personal data masked (:func:`triage.pii.mask_pii`).
:func:`write_csv` and :func:`write_html` write the report; the HTML file is self-contained and
escapes every piece of message text.
"""

from __future__ import annotations

import csv
import html
import math
import re
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from triage.concerns import DEFAULT_CONCERN_THRESHOLD, ConcernTerms, concern_groups, concern_groups_of
from triage.defaults import DEFAULT_HALF_LIFE_DAYS, DEFAULT_HOT_MIN_SIZE, DEFAULT_HOT_TOP
from triage.grouping import DEFAULT_THRESHOLD, SignatureSpill, Sketcher, group, group_signatures
from triage.pii import mask_pii
from triage.places import extract_places, is_coded
from triage.text import display_text, prepare

if TYPE_CHECKING:
    from triage.model import TriageModel

__all__ = [
    "CSV_COLUMNS",
    "HotReport",
    "HotTopic",
    "extract_places",
    "hot_topics",
    "hot_topics_from_file",
    "parse_times",
    "write_csv",
    "write_html",
]

#: Columns of the CSV report, in order.
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

_WORD = re.compile(r"^[^\W\d_A-Za-z][^\W_]*$")  # starts with a CJK character: no codes, numbers, placeholders
_MEMBERS_READ = 200  # members read per topic for key terms and the representative
_MEMBERS_CLASSIFIED = 25  # members whose department votes
_CORPUS_SAMPLE = 5000  # batch messages segmented for term rarity


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


_NOT_A_TIME = np.iinfo(np.int64).min  # numpy's NaT as int64 nanoseconds


def time_format(values: Sequence[Any]) -> str:
    """The format pandas infers from the first readable value (``"mixed"`` if none is recognised):
    a file read in chunks parses every chunk with its first chunk's format, as one batch would be."""
    from pandas.tseries.api import guess_datetime_format

    first = next((str(v).strip() for v in values if v is not None and str(v).strip()), "")
    with warnings.catch_warnings():  # pandas notes a day-first guess; the guess is what we want
        warnings.filterwarnings("ignore", "Parsing dates in", UserWarning)
        return (guess_datetime_format(first) or "mixed") if first else "mixed"


def parse_times(values: Sequence[Any], format: str | None = None) -> np.ndarray:
    """Times as int64 nanoseconds (naive; offsets converted to UTC), ``NaT`` where unreadable.

    ``format`` defaults to :func:`time_format` of ``values``; values in another format are parsed
    one by one.
    """
    import pandas

    raw = pandas.Series(list(values), dtype=object)
    # utc=True: offsets ("+08:00") and naive times mix without error; naive ones are taken as UTC
    parsed = pandas.to_datetime(raw, errors="coerce", utc=True, format=format or time_format(values))
    retry = parsed.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if retry.any():
        with warnings.catch_warnings():  # each value on its own, day-first ones included
            warnings.filterwarnings("ignore", "Parsing dates in", UserWarning)
            parsed[retry] = pandas.to_datetime(raw[retry], errors="coerce", format="mixed", utc=True)
    return parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").view(np.int64)


def _recency(n: int, stamps: np.ndarray | None, half_life_days: float) -> np.ndarray:
    """Per-message recency weight, between one half (long ago) and one (the newest message)."""
    known = stamps != _NOT_A_TIME if stamps is not None else np.zeros(n, dtype=bool)
    if stamps is None or not known.any() or half_life_days <= 0:
        return np.ones(n)
    age = (stamps[known].max() - stamps) / 86_400e9
    age[~known] = age[known].max()  # a message without a readable time counts as the oldest one
    with np.errstate(over="ignore"):  # a half-life of a few nanoseconds: every older message weighs 1/2
        return (1 + np.exp2(-(age / half_life_days))) / 2


def _hotness(batch: _Batch, inverse: np.ndarray, groups: int, half_life_days: float) -> tuple[np.ndarray, np.ndarray]:
    """``(hotness, voices)`` per group (see the module docstring); ``inverse`` maps messages to groups."""
    recency = _recency(len(inverse), batch.stamps, half_life_days)
    voice_ids, voice_of = np.unique(batch.copies, return_inverse=True)
    voice_weight = np.zeros(len(voice_ids))
    np.maximum.at(voice_weight, voice_of, recency)  # a voice is as recent as its latest message
    voice_weight *= 1 + np.log(np.bincount(voice_of))  # copies add, damped: one letter, many senders?
    voice_group = np.zeros(len(voice_ids), dtype=np.int64)
    voice_group[voice_of] = inverse
    hotness = np.bincount(voice_group, weights=voice_weight, minlength=groups).astype(np.float64)
    voices = np.bincount(voice_group, minlength=groups)
    if batch.likes is not None:
        hotness += np.log1p(np.bincount(inverse, weights=batch.likes, minlength=groups))
    return hotness, voices


def _like_counts(values: Sequence[Any]) -> np.ndarray:
    # float64: a absurd count ("1e20") is kept, not an overflow that stops the report
    return np.array([_count(value) for value in values], dtype=np.float64)


def _count(value: Any) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0
    return int(number) if math.isfinite(number) and number > 0 else 0


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


def _check_sizes(top: int, min_size: int) -> None:
    if top < 1 or min_size < 1:
        raise ValueError(f"top and min_size must be at least 1, got top={top}, min_size={min_size}")


@dataclass(frozen=True)
class _Batch:
    """What ranking needs of every message: 24 bytes each, so it scales to exports of millions."""

    groups: np.ndarray  # concern (topic) id per message
    copies: np.ndarray  # near-duplicate group id per message, within its concern
    stamps: np.ndarray | None  # parse_times() per message
    likes: np.ndarray | None  # like count per message


@dataclass(frozen=True)
class _Ranking:
    """The hottest groups and the per-group figures the topics report."""

    order: list[int]  # the ranked groups, as positions in ``ids``
    ids: np.ndarray  # group ids (np.unique of the messages' groups)
    sizes: np.ndarray
    hotness: np.ndarray
    voices: np.ndarray
    members_of: dict[int, np.ndarray]  # ranked group -> its messages
    # a fixed random sample of the batch whose texts give term rarity: the report reads these texts
    # and those of each topic's first _MEMBERS_READ members, no others
    sample: np.ndarray


def _ranked_groups(batch: _Batch, top: int, min_size: int, half_life_days: float) -> _Ranking:
    """The ``top`` hottest groups of at least ``min_size`` messages."""
    ids, inverse, sizes = np.unique(batch.groups, return_inverse=True, return_counts=True)
    hotness, voices = _hotness(batch, inverse, len(ids), half_life_days)
    latest = np.zeros(len(ids))
    if batch.stamps is not None:
        seconds = np.where(batch.stamps == _NOT_A_TIME, -np.inf, batch.stamps // 10**9).astype(float)
        np.maximum.at(latest, inverse, seconds)
    eligible = np.flatnonzero(sizes >= min_size)
    # hottest first; ties: larger, then more recent, then earlier group
    ranked = np.lexsort((ids[eligible], -latest[eligible], -sizes[eligible], -hotness[eligible]))
    order = eligible[ranked[:top]].tolist()
    n = len(inverse)
    return _Ranking(
        order=order,
        ids=ids,
        sizes=sizes,
        hotness=hotness,
        voices=voices,
        members_of={g: np.flatnonzero(inverse == g) for g in order},
        sample=np.random.default_rng(0).choice(n, size=min(n, _CORPUS_SAMPLE), replace=False),
    )


def _describe(
    ranking: _Ranking, batch: _Batch, texts: Mapping[int, str] | Sequence[str], model: TriageModel
) -> list[HotTopic]:
    """HotTopic of each ranked group, from the texts of its first members and of the sample."""
    from triage.segmentation import segment

    members_of, sample = ranking.members_of, ranking.sample
    ids, sizes, hotness = ranking.ids, ranking.sizes, ranking.hotness
    document_frequency: Counter = Counter()
    for i in sample:
        document_frequency.update(set(segment(prepare(texts[i]).text)))
    topics = []
    for rank, g in enumerate(ranking.order, 1):
        members = members_of[g]
        read = [prepare(texts[i]).text for i in members[:_MEMBERS_READ]]
        votes = Counter(r.department for r in model.classify(read[:_MEMBERS_CLASSIFIED], explain=0) if r.department)
        department, share = votes.most_common(1)[0] if votes else (None, 0)
        places = Counter(place for text in read for place in extract_places(text))
        ordered = tuple(sorted(places, key=lambda p: (is_coded(p), -places[p], p))[:5])
        stamps = batch.stamps[members] if batch.stamps is not None else np.zeros(0, dtype=np.int64)
        stamps = stamps[stamps != _NOT_A_TIME]
        terms = _key_terms(read, document_frequency, len(sample))
        topics.append(
            HotTopic(
                rank=rank,
                group_id=int(ids[g]),
                size=int(sizes[g]),
                hotness=float(hotness[g]),
                voices=int(ranking.voices[g]),
                place=_topic_place(places, len(read)),
                issue="、".join([t for t in terms if not any(t in p or p in t for p in ordered)][:3]),
                first_time=str(_timestamp(stamps.min())) if len(stamps) else None,
                last_time=str(_timestamp(stamps.max())) if len(stamps) else None,
                likes=int(batch.likes[members].sum()) if batch.likes is not None else 0,
                places=ordered,
                department=department,
                department_name=model.department_name(department) if department else None,
                department_share=share / max(sum(votes.values()), 1),
                key_terms=terms,
                representative=mask_pii(texts[members[_representative(read)]]),
                members=tuple(int(i) for i in members),
                timeline=_timeline(stamps),
            )
        )
    return topics


def _topic_place(places: Counter, read: int) -> str | None:
    """The named place a third of the members name (a concern's place), else the commonest coded
    division (a policy of the city or district), else none."""
    named = [(count, place) for place, count in places.items() if not is_coded(place)]
    count, place = max(named, key=lambda item: (item[0], -len(item[1]), item[1]), default=(0, None))
    if place is not None and count >= max(2, read / 3):
        return place
    coded = [(count, place) for place, count in places.items() if is_coded(place)]
    return max(coded, default=(0, None))[1]


def _timeline(stamps: np.ndarray) -> tuple[tuple[str, int], ...]:
    """Members per month from the first to the last month of ``stamps`` (readable ones only)."""
    if not len(stamps):
        return ()
    months = stamps.astype("datetime64[ns]").astype("datetime64[M]")
    first, last = months.min(), months.max()
    counts = np.bincount((months - first).astype(np.int64), minlength=int((last - first).astype(np.int64)) + 1)
    return tuple((str(first + np.timedelta64(i, "M")), int(c)) for i, c in enumerate(counts))


def _file_state(path: Path) -> tuple[int, int]:
    """Size and modification time: a file that changes between the two passes is refused."""
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def _timestamp(nanoseconds: int) -> Any:
    import pandas

    return pandas.Timestamp(int(nanoseconds))


def hot_topics(
    texts: Sequence[str],
    *,
    times: Sequence[Any] | None = None,
    likes: Sequence[Any] | None = None,
    groups: Sequence[int] | np.ndarray | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    concern_threshold: float | None = DEFAULT_CONCERN_THRESHOLD,
    top: int = DEFAULT_HOT_TOP,
    min_size: int = DEFAULT_HOT_MIN_SIZE,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    model: TriageModel | None = None,
) -> list[HotTopic]:
    """The ``top`` hottest topics of a batch (see the module docstring for the score).

    Topics are concerns (:func:`triage.concerns.concern_groups` with ``concern_threshold`` over
    near-duplicate groups found with ``threshold``); ``concern_threshold=None`` keeps the
    near-duplicate groups alone. ``groups`` gives topic ids instead (each then one voice per
    message); topics smaller than ``min_size`` are dropped. ``times`` are parsed with pandas
    (anything it reads; unreadable ones count as oldest). ``model`` classifies members (default:
    the shipped model). For a file too large for memory use :func:`hot_topics_from_file`.
    """
    import triage

    if isinstance(texts, str):
        raise ValueError("hot_topics() takes an iterable of texts, not one str")
    _check_sizes(top, min_size)
    texts = list(texts)
    n = len(texts)
    for name, values in (("times", times), ("likes", likes), ("groups", groups)):
        if values is not None and len(values) != n:
            raise ValueError(f"{name} has {len(values)} values for {n} texts")
    if groups is None:
        copies = group(texts, threshold=threshold)  # sketched chunk by chunk: bounded temporaries
        groups = copies if concern_threshold is None else concern_groups_of(texts, copies, concern_threshold)
    else:
        copies = np.arange(n)
    batch = _Batch(
        groups=np.asarray(groups, dtype=np.int64),
        copies=copies,
        stamps=parse_times(times) if times is not None else None,
        likes=_like_counts(likes) if likes is not None else None,
    )
    ranking = _ranked_groups(batch, top, min_size, half_life_days)
    return _describe(ranking, batch, texts, model or triage.load()) if ranking.order else []


@dataclass(frozen=True)
class HotReport:
    """Topics of a file, with the texts and ids of the messages they name (all others were not kept)."""

    topics: list[HotTopic]
    texts: dict[int, str]  # message index -> text, for the members a report shows
    ids: dict[int, str]  # message index -> id (the id column, else the data row number)
    n_messages: int


def _pass(path: Path, number: int, progress: bool) -> str | None:
    """The progress bar's name for pass ``number`` over ``path``, if there is a bar."""
    return f"{path.name} pass {number}/2" if progress else None


def hot_topics_from_file(
    path: str | Path,
    *,
    text_columns: Sequence[str] = (),
    time_column: str | None = None,
    likes_column: str | None = None,
    id_column: str | None = None,
    input_format: str = "auto",
    encoding: str = "auto",
    sheet: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    concern_threshold: float | None = DEFAULT_CONCERN_THRESHOLD,
    top: int = DEFAULT_HOT_TOP,
    min_size: int = DEFAULT_HOT_MIN_SIZE,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    model: TriageModel | None = None,
    chunk_size: int = 5_000,
    progress: bool = False,
) -> HotReport:
    """:func:`hot_topics` of an export read in two streaming passes: memory grows with the number
    of messages (about 150 bytes each while grouping, up to 400 where many are near-duplicates; past
    100,000 messages their 256-byte signatures wait in a temporary file,
    :class:`~triage.grouping.SignatureSpill`), not with their text.

    Pass one sketches every message and keeps its group signature, time and likes; pass two
    reads back only the texts the report needs (members of the top groups, the rarity sample).
    Rows the reader could not decode or parse stand alone, as in ``triage tag``. Same topics as
    :func:`hot_topics` on the same rows. ``progress`` shows a progress bar for each pass on stderr.
    """
    import triage
    from triage.io import MAX_ERROR_SHARE, DataError, detect_text_columns, join_text, read_rows, require_columns

    _check_sizes(top, min_size)
    path = Path(path)
    sketcher = Sketcher()
    terms = ConcernTerms()
    raw_times: list[np.ndarray] = []
    raw_likes: list[np.ndarray] = []
    times_format = None
    before = _file_state(path)
    options: dict[str, Any] = {"format": input_format, "encoding": encoding, "sheet": sheet, "chunk_size": chunk_size}
    reading = read_rows(path, **options, progress=_pass(path, 1, progress))
    with SignatureSpill(sketcher.signature_size) as spill, reading as export:
        header, unreadable, first_error = export.header, 0, ""
        columns = list(text_columns) or detect_text_columns(header)
        named = [*columns, *(c for c in (time_column, likes_column, id_column) if c)]
        require_columns(header, named)
        text_at = [header.index(c) for c in columns]
        time_at = header.index(time_column) if time_column else None
        likes_at = header.index(likes_column) if likes_column else None
        for chunk in export.chunks:
            errors = [row for row in chunk if row.error]
            unreadable += len(errors)
            first_error = first_error or (f"row {errors[0].number}: {errors[0].error}" if errors else "")
            chunk_texts = ["" if row.error else join_text(row.cells[i] for i in text_at) for row in chunk]
            spill.append(*sketcher.sketch(chunk_texts))
            if concern_threshold is not None:
                terms.add(chunk_texts)
            if time_at is not None:
                values = [row.cells[time_at] for row in chunk]
                times_format = times_format or (time_format(values) if any(v.strip() for v in values) else None)
                raw_times.append(parse_times(values, times_format or "mixed"))
            if likes_at is not None:
                raw_likes.append(_like_counts([row.cells[likes_at] for row in chunk]))
        copies = group_signatures(*spill.arrays(), threshold=threshold)
    groups = (
        copies if concern_threshold is None else concern_groups(*terms.arrays(), copies, threshold=concern_threshold)
    )
    n = len(groups)
    if not n:
        return HotReport(topics=[], texts={}, ids={}, n_messages=0)
    if unreadable > MAX_ERROR_SHARE * n:
        raise DataError(f"{unreadable:,} of {n:,} rows of {path} cannot be read; the first: {first_error}")
    batch = _Batch(
        groups=groups,
        copies=copies,
        stamps=np.concatenate(raw_times) if time_at is not None else None,
        likes=np.concatenate(raw_likes) if likes_at is not None else None,
    )
    ranking = _ranked_groups(batch, top, min_size, half_life_days)
    if not ranking.order:
        return HotReport(topics=[], texts={}, ids={}, n_messages=n)
    members_of = ranking.members_of.values()
    wanted_text = set(ranking.sample.tolist()).union(*(m[:_MEMBERS_READ].tolist() for m in members_of))
    wanted_id = set().union(*(m.tolist() for m in members_of))
    texts: dict[int, str] = {}
    row_ids: dict[int, str] = {}
    id_at = header.index(id_column) if id_column else None
    if _file_state(path) != before:
        raise DataError(f"{path} changed while it was read; run again on a file nothing is writing to")
    last = max(max(wanted_text), max(wanted_id))
    with read_rows(path, **options, stop_after=last + 1, progress=_pass(path, 2, progress)) as export:
        for chunk in export.chunks:
            for row in chunk:
                index = row.number - 1
                if index in wanted_text:
                    texts[index] = "" if row.error else join_text(row.cells[i] for i in text_at)
                if index in wanted_id:
                    row_ids[index] = row.cells[id_at] if id_at is not None else str(row.number)
    topics = _describe(ranking, batch, texts, model or triage.load())
    return HotReport(topics=topics, texts=texts, ids=row_ids, n_messages=n)


def write_csv(
    topics: Sequence[HotTopic],
    path: str | Path,
    ids: Sequence[Any] | Mapping[int, Any] | None = None,
    *,
    spreadsheet_safe: bool = True,
) -> None:
    """The report as UTF-8 CSV with a BOM (Excel opens it as UTF-8), one row per topic; text that a
    spreadsheet would run as a formula is prefixed with ``'`` unless ``spreadsheet_safe=False``."""
    from triage.io import spreadsheet_row

    with Path(path).open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for topic in topics:
            row = topic.as_row(ids)
            writer.writerow(spreadsheet_row(row) if spreadsheet_safe else row)


_STYLE = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:2em auto;max-width:60em;color:#222}
h1{font-size:1.4em}.topic{border:1px solid #ddd;border-radius:6px;padding:.8em 1em;margin:1em 0}
.head{display:flex;gap:1em;align-items:baseline;flex-wrap:wrap}.rank{font-size:1.6em;font-weight:bold;color:#b33}
.what{font-size:1.15em}.meta{color:#555;font-size:.9em}
.tag{display:inline-block;background:#eef;border-radius:3px;padding:0 .4em;margin:.1em}
.place{background:#efe}.rep{background:#fafafa;border-left:3px solid #b33;padding:.4em .8em;white-space:pre-wrap}
.size{display:inline-block;height:.7em;background:#b33;border-radius:2px;vertical-align:middle}
.timeline{display:flex;align-items:flex-end;gap:1px;height:2.2em;margin:.3em 0}
.timeline span{flex:1;max-width:1.2em;background:#d88;min-height:1px}
details li{margin:.3em 0;white-space:pre-wrap}
"""


def _timeline_html(topic: HotTopic) -> str:
    """Members per month as a row of bars, each titled with its month and count."""
    if not topic.timeline:
        return ""
    most = max(count for _, count in topic.timeline) or 1
    bars = "".join(
        f'<span style="height:{100 * count / most:.0f}%" title="{month}: {count}"></span>'
        for month, count in topic.timeline
    )
    return f'<div class="timeline" title="messages per month">{bars}</div>'


def write_html(
    topics: Sequence[HotTopic],
    path: str | Path,
    texts: Sequence[str] | Mapping[int, str],
    *,
    title: str = "热点问题 Hot topics",
    ids: Sequence[Any] | Mapping[int, Any] | None = None,
    members_shown: int = 20,
) -> None:
    """A self-contained HTML report: one card per topic — place and issue, a bar for its size, a
    timeline by month, the representative message — its first members folded away."""
    esc = html.escape
    largest = max((topic.size for topic in topics), default=1)
    parts = [
        f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{esc(title)}</title>',
        f"<style>{_STYLE}</style></head><body><h1>{esc(title)}</h1>",
        f'<p class="meta">{len(topics)} topics. A topic is one concern at one place or about one policy; '
        "voices are its members less copies of one another; hotness = voices weighted by recency, plus "
        "ln(1 + likes). Personal data is masked.</p>",
    ]
    for topic in topics:
        when = f"{topic.first_time} – {topic.last_time}" if topic.last_time else "no times"
        department = f"{topic.department_name} ({topic.department}, {topic.department_share:.0%} of members)"
        parts += [
            '<div class="topic"><div class="head">',
            f'<span class="rank">{topic.rank}</span><span class="what"><b>{esc(topic.place or "—")}</b>: '
            f"{esc(topic.issue or '—')}</span></div>",
            f'<p><span class="size" style="width:{12 * topic.size / largest:.1f}em"></span> <b>{topic.size}</b> '
            f"messages from <b>{topic.voices}</b> voices · hotness {topic.hotness:.2f} · {topic.likes} likes · "
            f"{esc(when)}</p>",
            _timeline_html(topic),
            f'<p class="meta">部门 department: {esc(department if topic.department else "—")}</p>',
            "<p>"
            + "".join(f'<span class="tag place">{esc(p)}</span>' for p in topic.places)
            + " "
            + "".join(f'<span class="tag">{esc(t)}</span>' for t in topic.key_terms)
            + "</p>",
            f'<div class="rep">{esc(topic.representative)}</div>',
            f"<details><summary>members ({topic.size})</summary><ol>",
        ]
        for i in topic.members[:members_shown]:
            label = esc(str(ids[i])) if ids is not None else str(i)
            parts.append(f"<li><b>{label}</b> {esc(display_text(texts[i], 300))}</li>")
        if topic.size > members_shown:
            parts.append(f"<li>… {topic.size - members_shown} more</li>")
        parts.append("</ol></details></div>")
    parts.append("</body></html>")
    Path(path).write_text("\n".join(parts), encoding="utf-8")
