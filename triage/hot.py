"""Hot topics: the concerns many people raised lately, each with where, who owns it and what it is about.

A topic is one concern (:mod:`triage.concerns`): the messages that raise the same issue about the
same place or policy, however worded, near-duplicates (:func:`triage.grouping.group`) included.
Topics are ranked by hotness (:mod:`triage.hotness`: distinct voices weighted by recency, plus
likes; a pair of copies never outranks a fifty-message campaign), described by
:mod:`triage.topics` (place, issue, department, time span, representative message in the
citizen's words, personal data masked) and written by :mod:`triage.hot_report` (CSV and a
self-contained HTML page).

Entry points: :func:`hot_topics` for texts in memory, :func:`hot_topics_from_file` for an export
read in two streaming passes (:mod:`triage.hot_reading`), and :func:`hot_file`, what
``triage hot`` does: an export in, the report files out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from triage.boilerplate import Boilerplate
from triage.concerns import DEFAULT_CONCERN_THRESHOLD, ConcernTerms, concern_groups, copies_by_place
from triage.defaults import DEFAULT_HALF_LIFE_DAYS, DEFAULT_HOT_MIN_SIZE, DEFAULT_HOT_TOP
from triage.grouping import DEFAULT_THRESHOLD, group
from triage.hot_reading import ReadOptions, read_back, read_signals
from triage.hot_report import CSV_COLUMNS, DEFAULT_TITLE, write_csv, write_html
from triage.hot_values import TimesAndLikes
from triage.hotness import Signals, check_sizes, rank_groups
from triage.io import DataError
from triage.places import extract_places
from triage.times import parse_times
from triage.topics import MEMBERS_READ, HotTopic, describe

if TYPE_CHECKING:
    from triage.model import TriageModel

__all__ = [
    "CSV_COLUMNS",
    "HotReport",
    "HotTopic",
    "extract_places",
    "hot_file",
    "hot_topics",
    "hot_topics_from_file",
    "parse_times",
    "write_csv",
    "write_html",
]


@dataclass(frozen=True)
class HotReport:
    """Topics of a file, with the texts and ids of the messages they name (all others were not kept)."""

    topics: list[HotTopic]
    texts: dict[int, str]  # message index -> text, for the members a report shows
    ids: dict[int, str]  # message index -> id (the id column, else the data row number)
    n_messages: int


def hot_topics(
    texts: Sequence[str],
    *,
    times: Sequence[Any] | None = None,
    likes: Sequence[Any] | None = None,
    groups: Sequence[int] | np.ndarray | None = None,
    copies: Sequence[int] | np.ndarray | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    concern_threshold: float | None = DEFAULT_CONCERN_THRESHOLD,
    top: int = DEFAULT_HOT_TOP,
    min_size: int = DEFAULT_HOT_MIN_SIZE,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    model: TriageModel | None = None,
) -> list[HotTopic]:
    """The ``top`` hottest topics of a batch (see :mod:`triage.hotness` for the score).

    Topics are concerns (:func:`triage.concerns.concern_groups` with ``concern_threshold`` over
    near-duplicate groups found with ``threshold``); ``concern_threshold=None`` keeps the
    near-duplicate groups alone. ``copies`` gives the near-duplicate ids instead (found on a
    cluster with :func:`triage.dask.group`: the same ids, so the same topics); ``groups`` gives
    topic ids instead (each then one voice per message). Topics smaller than ``min_size`` are
    dropped. ``times`` are parsed with pandas (anything it reads); unreadable ones and those after
    tomorrow (typos) count as the oldest, and ``likes`` that are no count as 0, each kind with an
    :class:`~triage.exceptions.UnusedValueWarning` naming the first. ``model`` classifies members
    (default: the shipped model). For a file too large for memory use :func:`hot_topics_from_file`.
    """
    import triage

    if isinstance(texts, str):
        raise ValueError("hot_topics() takes an iterable of texts, not one str")
    check_sizes(top, min_size)
    texts = list(texts)
    n = len(texts)
    for name, values in (("times", times), ("likes", likes), ("groups", groups), ("copies", copies)):
        if values is not None and len(values) != n:
            raise ValueError(f"{name} has {len(values)} values for {n} texts")
    if groups is not None:
        if copies is not None:
            raise ValueError("give groups (topic ids) or copies (near-duplicate ids), not both")
        copies = np.arange(n)
    else:
        # sketched chunk by chunk: bounded temporaries
        copies = np.asarray(copies, dtype=np.int64) if copies is not None else group(texts, threshold=threshold)
        groups = copies
        if concern_threshold is not None:
            with ConcernTerms() as terms:
                terms.add(texts)
                ids, weights = terms.arrays()
                copies = copies_by_place(ids, weights, copies)  # one letter about two estates: two voices
                groups = concern_groups(ids, weights, copies, threshold=concern_threshold)
    given = TimesAndLikes("values given as times", "values given as likes", place="index")
    given.add(times, likes, range(n))
    given.warn(n, stacklevel=2)
    stamps, counts = given.arrays()
    signals = Signals(groups=np.asarray(groups, dtype=np.int64), copies=copies, stamps=stamps, likes=counts)
    ranking = rank_groups(signals, top, min_size, half_life_days)
    if not ranking.order:
        return []
    return describe(ranking, signals, texts, model or triage.load(), Boilerplate.from_texts(texts))


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
    """:func:`hot_topics` of an export read in two streaming passes (:mod:`triage.hot_reading`):
    memory grows with the number of messages, not with their text: past 100,000 messages their
    256-byte signatures and 128 bytes of key words wait in temporary files
    (:class:`~triage.grouping.RowSpill`) read a block at a time, and what stays in memory is a few
    arrays of 8 bytes a message (1M messages: 462 MiB peak RSS, the shipped model included).

    Pass one sketches every message and keeps its group signature, key words, time and likes;
    pass two reads back only the texts the report needs (members of the top groups, the rarity
    sample). Rows the reader could not decode or parse stand alone, as in ``triage tag``. Same
    topics as :func:`hot_topics` on the same rows. ``progress`` shows a progress bar for each pass
    on stderr.
    """
    import triage

    check_sizes(top, min_size)
    path = Path(path)
    options = ReadOptions(format=input_format, encoding=encoding, sheet=sheet, chunk_size=chunk_size)
    first = read_signals(
        path,
        text_columns=text_columns,
        time_column=time_column,
        likes_column=likes_column,
        id_column=id_column,
        options=options,
        threshold=threshold,
        concern_threshold=concern_threshold,
        progress=_pass(path, 1, progress),
    )
    ranking = rank_groups(first.signals, top, min_size, half_life_days) if first.n_messages else None
    if ranking is None or not ranking.order:
        return HotReport(topics=[], texts={}, ids={}, n_messages=first.n_messages)
    members_of = ranking.members_of.values()
    wanted_text = set(ranking.sample.tolist()).union(*(m[:MEMBERS_READ].tolist() for m in members_of))
    wanted_id = set().union(*(m.tolist() for m in members_of))
    texts, ids = read_back(path, first, options, wanted_text, wanted_id, _pass(path, 2, progress))
    topics = describe(ranking, first.signals, texts, model or triage.load(), first.template)
    return HotReport(topics=topics, texts=texts, ids=ids, n_messages=first.n_messages)


def hot_file(
    src: str | Path,
    dst: str | Path,
    *,
    html_path: str | Path | None = None,
    source_name: str | None = None,
    overwrite: bool = False,
    model: TriageModel | None = None,
    model_path: str | Path | None = None,
    spreadsheet_safe: bool = True,
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
    progress: bool = True,
) -> HotReport:
    """What ``triage hot`` does: the hot topics of the export ``src`` written to ``dst`` — an HTML
    page when its suffix is ``.html``/``.htm``, else CSV — and, with ``html_path``, also as an HTML
    page there. Returns the report (its topics, and ``n_messages`` read).

    Outputs are checked before anything is read: an existing one raises ``FileExistsError``
    unless ``overwrite``, one in a folder that does not exist ``FileNotFoundError``. ``model``
    (else the one at ``model_path``, else the shipped model) is loaded before the file is read.
    The HTML page is titled ``热点问题 Hot topics: <source_name>`` (default: ``src``'s file name);
    ``spreadsheet_safe=False`` writes CSV cells exactly as read. The other options are those of
    :func:`hot_topics_from_file`; ``concern_threshold=None`` gives near-duplicate topics only.
    """
    import triage

    src, outputs = Path(src), [(Path(dst), _is_html(Path(dst)))]
    if html_path is not None:
        outputs.append((Path(html_path), True))
    _check_outputs([path for path, _ in outputs], overwrite)
    model = model or triage.load(model_path)  # a bad model fails before the file is read
    report = hot_topics_from_file(
        src,
        text_columns=text_columns,
        time_column=time_column,
        likes_column=likes_column,
        id_column=id_column,
        input_format=input_format,
        encoding=encoding,
        sheet=sheet,
        threshold=threshold,
        concern_threshold=concern_threshold,
        top=top,
        min_size=min_size,
        half_life_days=half_life_days,
        model=model,
        progress=progress,
    )
    for path, as_html in outputs:
        if as_html:
            title = f"{DEFAULT_TITLE}: {source_name or src.name}"
            write_html(report.topics, path, report.texts, ids=report.ids, title=title)
        else:
            write_csv(report.topics, path, ids=report.ids, spreadsheet_safe=spreadsheet_safe)
    return report


def _is_html(path: Path) -> bool:
    return path.suffix.lower() in (".html", ".htm")


def _check_outputs(paths: list[Path], overwrite: bool) -> None:
    """Refuse outputs that would collide, exist (without ``overwrite``) or sit in a missing folder."""
    if len({path.absolute() for path in paths}) < len(paths):
        raise DataError(f"the CSV and the HTML report cannot both be written to {paths[0]}; name two files")
    for path in paths:
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} already exists; pass --overwrite to replace it")
        if not path.absolute().parent.is_dir():
            raise FileNotFoundError(f"folder {path.absolute().parent} does not exist; create it first")
