"""Hot topics: the concerns many people raised lately, each with where, who owns it and what it is about.

Messages are grouped by :func:`triage.grouping.group`; each group is one topic. Topics are ranked
by a hotness score:

    hotness = sum over members of  0.5 ** (age_days / half_life_days) * (1 + ln(1 + likes))

``age_days`` counts back from the latest message in the batch (not from today, so an old export
reads the way it did then); a member without a readable time counts as the oldest one. Size is
what matters most, recency discounts old messages (a message ``half_life_days`` old counts half),
and a like is another resident agreeing, damped by the logarithm so one viral post cannot outweigh
many writers. Without times every member weighs 1 (plus likes); ties go to the larger, then the
more recent group.

Each topic carries its place names (:func:`extract_places`), the department the shipped model
gives most of its members, key terms (segments frequent in the group and rare in the batch) and a
representative message (the member most similar to the others), PII-masked like everything else.
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

from triage.grouping import DEFAULT_THRESHOLD, SignatureSpill, Sketcher, group, group_signatures
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

# Anonymised or coded divisions ("A市", "A5区", "B3县") and named places ending in a place word.
# Prefixes exclude function words and verbs that often stand right before a place name.
_ADMIN = r"[A-Z]\d{0,2}[市区县]"
_STOP_CHARS = "的了是在我们你他她它和与及或到从对向把被为于将要请问该这那个有没不也都就还很又再给让由因所而但吗呢吧啊"
_STOP_CHARS += "住处旁边近市区县省至经年"
_LEADING_WORDS = re.compile(r"^(?:反映|投诉|咨询|关于|位于|希望|建议|举报|地处|包括|周围|督办)+")
_SUFFIXES = "小区|社区|街道|新村|村|路|街|巷|镇|乡|大道|花园|家园|苑|公寓|广场|新城|大厦"
_PLACE = re.compile(rf"{_ADMIN}|[^\W{_STOP_CHARS}A-Za-z_]{{2,6}}?(?:{_SUFFIXES})")
_CODED_PLACE = re.compile(rf"^{_ADMIN}$")
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
    first_time: str | None
    last_time: str | None
    likes: int
    places: tuple[str, ...]
    department: str | None
    department_name: str | None
    department_share: float  # share of the classified members that went to ``department``
    key_terms: tuple[str, ...]
    representative: str  # PII-masked text of the most typical member
    members: tuple[int, ...]  # indices of all members, in input order

    def as_row(self, ids: Sequence[Any] | Mapping[int, Any] | None = None) -> list[Any]:
        """The topic as a :data:`CSV_COLUMNS` row; ``ids`` names the group and members instead of indices."""
        name = (lambda i: str(ids[i])) if ids is not None else str
        return [
            self.rank,
            name(self.group_id),
            self.size,
            round(self.hotness, 3),
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


def extract_places(text: str) -> list[str]:
    """Place names in ``text``, in order of first appearance: coded divisions (A市, A5区) and names
    ending in a place word (…小区, …村, …路, …街道, …镇, …花园). A heuristic: counted over a group,
    the true places rise to the top.

    >>> extract_places("A市A1区马王堆街道新桥新村同鑫家园排水堵塞")
    ['A市', 'A1区', '马王堆街道', '新桥新村', '同鑫家园']
    """
    names = (_LEADING_WORDS.sub("", match.group()) for match in _PLACE.finditer(text))
    return list(dict.fromkeys(name for name in names if _PLACE.fullmatch(name)))


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


def _hotness_weights(n: int, stamps: np.ndarray | None, likes: np.ndarray | None, half_life_days: float) -> np.ndarray:
    """Per-message weights for the hotness score from :func:`parse_times` stamps and like counts."""
    weights = np.ones(n)
    known = stamps != _NOT_A_TIME if stamps is not None else np.zeros(n, dtype=bool)
    if stamps is not None and known.any() and half_life_days > 0:
        age = (stamps[known].max() - stamps) / 86_400e9
        age[~known] = age[known].max()  # a member without a readable time counts as the oldest one
        weights = 0.5 ** (age / half_life_days)
    if likes is not None:
        weights = weights * (1 + np.log1p(likes))
    return weights


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

    groups: np.ndarray  # group id per message
    stamps: np.ndarray | None  # parse_times() per message
    likes: np.ndarray | None  # like count per message


@dataclass(frozen=True)
class _Ranking:
    """The hottest groups and the per-group figures the topics report."""

    order: list[int]  # the ranked groups, as positions in ``ids``
    ids: np.ndarray  # group ids (np.unique of the messages' groups)
    sizes: np.ndarray
    hotness: np.ndarray
    members_of: dict[int, np.ndarray]  # ranked group -> its messages
    # a fixed random sample of the batch whose texts give term rarity: the report reads these texts
    # and those of each topic's first _MEMBERS_READ members, no others
    sample: np.ndarray


def _ranked_groups(batch: _Batch, top: int, min_size: int, half_life_days: float) -> _Ranking:
    """The ``top`` hottest groups of at least ``min_size`` messages."""
    weights = _hotness_weights(len(batch.groups), batch.stamps, batch.likes, half_life_days)
    ids, inverse, sizes = np.unique(batch.groups, return_inverse=True, return_counts=True)
    hotness = np.bincount(inverse, weights=weights, minlength=len(ids))
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
        stamps = batch.stamps[members] if batch.stamps is not None else np.zeros(0, dtype=np.int64)
        stamps = stamps[stamps != _NOT_A_TIME]
        topics.append(
            HotTopic(
                rank=rank,
                group_id=int(ids[g]),
                size=int(sizes[g]),
                hotness=float(hotness[g]),
                first_time=str(_timestamp(stamps.min())) if len(stamps) else None,
                last_time=str(_timestamp(stamps.max())) if len(stamps) else None,
                likes=int(batch.likes[members].sum()) if batch.likes is not None else 0,
                places=tuple(sorted(places, key=lambda p: (bool(_CODED_PLACE.match(p)), -places[p], p))[:5]),
                department=department,
                department_name=model.department_name(department) if department else None,
                department_share=share / max(sum(votes.values()), 1),
                key_terms=_key_terms(read, document_frequency, len(sample)),
                representative=read[_representative(read)],
                members=tuple(int(i) for i in members),
            )
        )
    return topics


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
    top: int = 20,
    min_size: int = 2,
    half_life_days: float = 30.0,
    model: TriageModel | None = None,
) -> list[HotTopic]:
    """The ``top`` hottest topics of a batch (see the module docstring for the score).

    ``groups`` are group ids from :func:`triage.grouping.group` (computed with ``threshold`` when
    omitted); groups smaller than ``min_size`` are not topics. ``times`` are parsed with pandas
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
        groups = group(texts, threshold=threshold)  # sketched chunk by chunk: bounded temporaries
    batch = _Batch(
        groups=np.asarray(groups, dtype=np.int64),
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
    top: int = 20,
    min_size: int = 2,
    half_life_days: float = 30.0,
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
    from triage.io import MAX_ERROR_SHARE, DataError, detect_text_columns, join_text, read_rows

    _check_sizes(top, min_size)
    path = Path(path)
    sketcher = Sketcher()
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
        missing = [c for c in named if c not in header]
        if missing:
            raise DataError(f"no column {', '.join(map(repr, missing))}; the file has: {', '.join(header)}")
        text_at = [header.index(c) for c in columns]
        time_at = header.index(time_column) if time_column else None
        likes_at = header.index(likes_column) if likes_column else None
        for chunk in export.chunks:
            errors = [row for row in chunk if row.error]
            unreadable += len(errors)
            first_error = first_error or (f"row {errors[0].number}: {errors[0].error}" if errors else "")
            spill.append(
                *sketcher.sketch(["" if row.error else join_text(row.cells[i] for i in text_at) for row in chunk])
            )
            if time_at is not None:
                values = [row.cells[time_at] for row in chunk]
                times_format = times_format or (time_format(values) if any(v.strip() for v in values) else None)
                raw_times.append(parse_times(values, times_format or "mixed"))
            if likes_at is not None:
                raw_likes.append(_like_counts([row.cells[likes_at] for row in chunk]))
        groups = group_signatures(*spill.arrays(), threshold=threshold)
    n = len(groups)
    if not n:
        return HotReport(topics=[], texts={}, ids={}, n_messages=0)
    if unreadable > MAX_ERROR_SHARE * n:
        raise DataError(f"{unreadable:,} of {n:,} rows of {path} cannot be read; the first: {first_error}")
    batch = _Batch(
        groups=groups,
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
.head{display:flex;gap:1em;align-items:baseline}.rank{font-size:1.6em;font-weight:bold;color:#b33}
.meta{color:#555;font-size:.9em}.tag{display:inline-block;background:#eef;border-radius:3px;padding:0 .4em;margin:.1em}
.place{background:#efe}.rep{background:#fafafa;border-left:3px solid #b33;padding:.4em .8em;white-space:pre-wrap}
details li{margin:.3em 0;white-space:pre-wrap}
"""


def write_html(
    topics: Sequence[HotTopic],
    path: str | Path,
    texts: Sequence[str] | Mapping[int, str],
    *,
    title: str = "热点问题 Hot topics",
    ids: Sequence[Any] | Mapping[int, Any] | None = None,
    members_shown: int = 20,
) -> None:
    """A self-contained HTML report: one card per topic, its first members folded away."""
    esc = html.escape
    parts = [
        f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{esc(title)}</title>',
        f"<style>{_STYLE}</style></head><body><h1>{esc(title)}</h1>",
        f'<p class="meta">{len(topics)} topics. Hotness = members weighted by recency and likes; '
        "personal data is masked.</p>",
    ]
    for topic in topics:
        when = f"{topic.first_time} – {topic.last_time}" if topic.last_time else "no times"
        department = f"{topic.department_name} ({topic.department}, {topic.department_share:.0%} of members)"
        parts += [
            '<div class="topic"><div class="head">',
            f'<span class="rank">{topic.rank}</span><span><b>{topic.size}</b> messages · hotness '
            f"{topic.hotness:.2f} · {topic.likes} likes · {esc(when)}</span></div>",
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
