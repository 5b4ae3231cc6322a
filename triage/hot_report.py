"""The hot-topics report as files: CSV for programs and spreadsheets, a self-contained HTML page
for people. Every piece of message text in the page is escaped; CSV cells a spreadsheet would run
as a formula are defused by :func:`triage.io.spreadsheet_row`."""

from __future__ import annotations

import csv
import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from triage.text import display_text
from triage.topics import CSV_COLUMNS, HotTopic

__all__ = ["CSV_COLUMNS", "DEFAULT_TITLE", "write_csv", "write_html"]

#: Title of the HTML page when the caller gives none.
DEFAULT_TITLE = "热点问题 Hot topics"


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

_esc = html.escape


def write_html(
    topics: Sequence[HotTopic],
    path: str | Path,
    texts: Sequence[str] | Mapping[int, str],
    *,
    title: str = DEFAULT_TITLE,
    ids: Sequence[Any] | Mapping[int, Any] | None = None,
    members_shown: int = 20,
) -> None:
    """A self-contained HTML report: one card per topic — place and issue, a bar for its size, a
    timeline by month, the representative message — its first members folded away."""
    largest = max((topic.size for topic in topics), default=1)
    parts = [
        f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{_esc(title)}</title>',
        f"<style>{_STYLE}</style></head><body><h1>{_esc(title)}</h1>",
        f'<p class="meta">{len(topics)} topics. A topic is one concern at one place or about one policy; '
        "voices are its members less copies of one another; hotness = voices weighted by recency, plus "
        "ln(1 + likes). Personal data is masked.</p>",
    ]
    for topic in topics:
        parts += _card(topic, largest)
        parts += _member_list(topic, texts, ids, members_shown)
    parts.append("</body></html>")
    Path(path).write_text("\n".join(parts), encoding="utf-8")


def _card(topic: HotTopic, largest: int) -> list[str]:
    """The head of one topic's card: place and issue, size bar, figures, timeline, tags, representative."""
    when = f"{topic.first_time} – {topic.last_time}" if topic.last_time else "no times"
    department = f"{topic.department_name} ({topic.department}, {topic.department_share:.0%} of members)"
    tags = "".join(f'<span class="tag place">{_esc(p)}</span>' for p in topic.places)
    tags += " " + "".join(f'<span class="tag">{_esc(t)}</span>' for t in topic.key_terms)
    return [
        '<div class="topic"><div class="head">',
        f'<span class="rank">{topic.rank}</span><span class="what"><b>{_esc(topic.place or "—")}</b>: '
        f"{_esc(topic.issue or '—')}</span></div>",
        f'<p><span class="size" style="width:{12 * topic.size / largest:.1f}em"></span> <b>{topic.size}</b> '
        f"messages from <b>{topic.voices}</b> voices · hotness {topic.hotness:.2f} · {topic.likes} likes · "
        f"{_esc(when)}</p>",
        _timeline_html(topic),
        f'<p class="meta">部门 department: {_esc(department if topic.department else "—")}</p>',
        f"<p>{tags}</p>",
        f'<div class="rep">{_esc(topic.representative)}</div>',
    ]


def _member_list(
    topic: HotTopic, texts: Sequence[str] | Mapping[int, str], ids: Sequence[Any] | Mapping[int, Any] | None, shown: int
) -> list[str]:
    """The folded list of a topic's first ``shown`` members, closing its card."""
    parts = [f"<details><summary>members ({topic.size})</summary><ol>"]
    for i in topic.members[:shown]:
        label = _esc(str(ids[i])) if ids is not None else str(i)
        parts.append(f"<li><b>{label}</b> {_esc(display_text(texts[i], 300))}</li>")
    if topic.size > shown:
        parts.append(f"<li>… {topic.size - shown} more</li>")
    parts.append("</ol></details></div>")
    return parts


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
