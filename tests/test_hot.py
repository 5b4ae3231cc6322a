"""Hot topics: ranking, place names, key terms, reports and the hot command."""

from __future__ import annotations

import codecs
import csv
import json
import math
import warnings
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import SHARED_DATA
from tests.test_concerns import OTHERS, campaign
from triage.cli import cli
from triage.exceptions import UnusedValueWarning
from triage.hot import (
    CSV_COLUMNS,
    HotReport,
    extract_places,
    hot_file,
    hot_topics,
    hot_topics_from_file,
    write_csv,
    write_html,
)
from triage.hot_values import TimesAndLikes
from triage.hotness import read_likes
from triage.io import DataError
from triage.times import NOT_A_TIME, parse_times

# Invented messages, written for these tests.
PARKING = (
    "青石区柳湾小区物业乱收停车费，每月三百元，业主要求公开收费依据",
    "青石区柳湾小区物业乱收停车费，每个月三百块，业主要求公开收费依据！",
    "青石区柳湾小区物业乱收停车费每月三百元，业主们要求公开收费依据",
)
LAMP = (
    "大营街道建设路的路灯坏了半个月，晚上走路很危险",
    "大营街道建设路路灯坏了半个月了，晚上走路太危险",
)
SINGLE = "孩子上小学划片不合理，离家太远"
TEXTS = [*PARKING, SINGLE, *LAMP]


def test_bigger_group_ranks_first_without_times(small_model):
    topics = hot_topics(TEXTS, model=small_model)
    assert [t.size for t in topics] == [3, 2]  # the single message is not a topic
    first = topics[0]
    assert first.rank == 1 and first.group_id == 0 and first.members == (0, 1, 2)
    assert "柳湾小区" in first.places
    assert "停车费" in first.key_terms
    assert first.department == "property_management" and first.department_name
    assert first.representative in PARKING  # the citizen's own words (full-width punctuation kept)


def test_recency_outweighs_size_with_a_short_half_life(small_model):
    times = ["2024-01-01"] * 3 + ["2024-06-01", "2024-06-30", "2024-06-30 10:00"]
    topics = hot_topics(TEXTS, times=times, half_life_days=7, model=small_model)
    assert [t.size for t in topics] == [2, 3]
    assert topics[0].last_time == "2024-06-30 10:00:00" and topics[0].first_time == "2024-06-30 00:00:00"
    no_decay = hot_topics(TEXTS, times=times, half_life_days=0, model=small_model)
    assert [t.size for t in no_decay] == [3, 2]


def test_likes_add_to_hotness_and_bad_values_count_as_none(small_model):
    likes = [0, "", None, 0, "1000", "nan"]
    topics = hot_topics(TEXTS, likes=likes, model=small_model)
    assert topics[0].size == 2 and topics[0].likes == 1000


def test_like_counts_are_positive_finite_numbers_cut_to_whole_ones():
    values = ["3", "1", "", None, "x", "-2", "0.5", "nan", "inf", "1e20", 2.7]
    counts, unusable = read_likes(values)
    assert counts.tolist() == [3, 1, 0, 0, 0, 0, 0, 0, 0, 1e20, 2]
    assert unusable.tolist() == [False] * 4 + [True, True, False, False, True, False, False]  # "nan": no value


@pytest.mark.parametrize("name", ["times", "likes", "groups", "copies"])
def test_mismatched_lengths_are_refused(small_model, name):
    with pytest.raises(ValueError, match=f"^{name} has 1 values for 6 texts$"):
        hot_topics(TEXTS, **{name: [0]}, model=small_model)


def test_given_groups_are_the_topics_and_each_message_a_voice(small_model):
    topics = hot_topics(TEXTS, groups=[5, 5, 7, 7, 7, 5], model=small_model)
    assert [(t.members, t.voices) for t in topics] == [((0, 1, 5), 3), ((2, 3, 4), 3)]  # a tie: group 5 first
    assert hot_topics(TEXTS, groups=[5, 5, 7, 7, 7, 5], top=1, model=small_model) == topics[:1]


def test_given_copies_or_the_threshold_make_the_near_duplicates(small_model):
    alone = list(range(len(TEXTS)))
    assert hot_topics(TEXTS, copies=alone, concern_threshold=None, model=small_model) == []
    assert hot_topics(TEXTS, threshold=0.95, concern_threshold=None, model=small_model) == []  # no copies
    assert len(hot_topics(TEXTS, concern_threshold=None, model=small_model)) == 2


def test_no_topics_when_nothing_repeats(small_model):
    assert hot_topics([SINGLE, "物业费太贵"], model=small_model) == []


@pytest.mark.parametrize(
    ("text", "places"),
    [
        ("A市A5区柳湾村三组的水渠塌了", ["A市", "A5区", "柳湾村"]),
        ("我们小区门口的建设路积水", ["建设路"]),
        ("反映大营街道幸福花园停车难", ["大营街道", "幸福花园"]),
        ("希望尽快修好", []),
        ("没有地名的留言", []),
    ],
)
def test_extract_places(text, places):
    assert extract_places(text) == places


def test_reports_escape_text_and_mask_personal_data(small_model, tmp_path):
    texts = [f"{t}<script>alert(1)</script>电话13988999988" for t in PARKING]
    topics = hot_topics(texts, model=small_model)
    write_html(topics, tmp_path / "r.html", texts, ids=["a", "b", "c"])
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "13988999988" not in page and "[PHONE]" in page
    write_csv(topics, tmp_path / "r.csv", ids=["a", "b", "c"])
    with (tmp_path / "r.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    formula = [replace(topics[0], representative="=1+1")]
    write_csv(formula, tmp_path / "f.csv")  # defused by default
    assert "'=1+1" in (tmp_path / "f.csv").read_text(encoding="utf-8-sig")
    assert tuple(rows[0]) == CSV_COLUMNS and rows[1][CSV_COLUMNS.index("members")] == "a;b;c"
    assert rows[1][CSV_COLUMNS.index("group_id")] == "a"
    assert "13988999988" not in rows[1][CSV_COLUMNS.index("representative")]


def test_hot_command_writes_csv_and_html(saved_model_dir, tmp_path):
    src = tmp_path / "export.csv"
    with src.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["编号", "主题", "时间", "点赞"])
        writer.writerows([[f"m{i}", text, f"2024-05-0{i + 1} 09:00", i] for i, text in enumerate(TEXTS)])
    args = ["hot", str(src), "-o", str(tmp_path / "r.csv"), "--html", str(tmp_path / "r.html")]
    args += ["--text-column", "主题", "--time-column", "时间", "--likes-column", "点赞", "--id-column", "编号"]
    result = CliRunner().invoke(cli, [*args, "--model", str(saved_model_dir)])
    assert result.exit_code == 0, result.output
    assert "2 topics from 6 messages" in result.output
    assert "export.csv pass 1/2" in result.stderr and "export.csv pass 2/2" in result.stderr  # progress
    assert (tmp_path / "r.html").read_text(encoding="utf-8").count('class="topic"') == 2
    again = CliRunner().invoke(cli, [*args, "--model", str(saved_model_dir)])
    assert again.exit_code == 1 and "already exists" in again.output
    quiet = CliRunner().invoke(cli, [*args, "--model", str(saved_model_dir), "--overwrite", "--silent"])
    assert quiet.exit_code == 0 and "pass 1/2" not in quiet.stderr


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_a_file_streamed_twice_gives_the_in_memory_topics(small_model, tmp_path, encoding):
    texts = [*TEXTS, *PARKING, "", *LAMP[:1]]  # more members, an empty message
    times = [f"2024-05-{i % 28 + 1:02d} 09:00" for i in range(len(texts))]
    likes = [str(i % 4) for i in range(len(texts))]
    src = tmp_path / "export.csv"
    with src.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["编号", "内容", "时间", "点赞"])
        writer.writerows(
            [[f"m{i}", text, t, n] for i, (text, t, n) in enumerate(zip(texts, times, likes, strict=True))]
        )
    streamed = hot_topics_from_file(
        src,
        text_columns=["内容"],
        time_column="时间",
        likes_column="点赞",
        id_column="编号",
        encoding=encoding,
        model=small_model,
        chunk_size=3,  # chunks end inside groups
    )
    in_memory = hot_topics(texts, times=times, likes=likes, model=small_model)
    assert streamed.topics == in_memory and len(in_memory) == 2 and streamed.n_messages == len(texts)
    members = {i for topic in in_memory for i in topic.members}
    assert set(streamed.ids) == members and all(streamed.ids[i] == f"m{i}" for i in members)
    assert all(streamed.texts[i] == texts[i] for i in members)  # every member is read for the report


def test_streamed_times_are_read_with_one_format_and_absurd_likes_are_kept(small_model, tmp_path):
    texts = [*PARKING, *LAMP, SINGLE]
    # the first value fixes the format (ISO); a day-first value in another chunk is parsed on its own
    times = ["2024-05-01 09:00", "2024-05-02 10:00", "13/06/2024", "05/06/2024", "", "not a time"]
    likes = ["1e20", "3", "-2", "", "x", "7"]
    src = tmp_path / "export.csv"
    with src.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["内容", "时间", "点赞"])
        writer.writerows(zip(texts, times, likes, strict=True))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # and no pandas format warning per chunk
        streamed = hot_topics_from_file(
            src, text_columns=["内容"], time_column="时间", likes_column="点赞", model=small_model, chunk_size=2
        )
    assert [str(warning.message) for warning in caught] == [
        "1 of 6 values of the time column '时间' are not times (the first, row 6: 'not a time'); "
        "those messages count as the oldest",
        "2 of 6 values of the likes column '点赞' are not like counts (the first, row 3: '-2'); they count 0",
    ]
    with pytest.warns(UnusedValueWarning) as in_memory:
        assert streamed.topics == hot_topics(texts, times=times, likes=likes, model=small_model)
    assert "(the first, index 5: 'not a time')" in str(in_memory[0].message)
    assert "2 of 6 values given as likes are not like counts (the first, index 2: '-2')" in str(in_memory[1].message)
    assert streamed.topics[0].likes >= 10**20  # kept (as a float sum), not an overflow


def test_a_column_of_no_times_or_likes_is_told_not_silently_ignored(small_model, tmp_path):
    """A wrong --time-column turned recency off, and a likes column of text counted 0, without a word."""
    src = tmp_path / "export.csv"
    src.write_text("内容\n" + "\n".join(TEXTS) + "\n", encoding="utf-8")
    with pytest.warns(UnusedValueWarning) as caught:
        report = hot_topics_from_file(src, time_column="内容", likes_column="内容", model=small_model, chunk_size=4)
    assert [str(warning.message)[:56] for warning in caught] == [
        "6 of 6 values of the time column '内容' are not times (the",
        "6 of 6 values of the likes column '内容' are not like coun",
    ]
    assert f"(the first, row 1: {PARKING[0]!r})" in str(caught[0].message)
    assert report.topics == hot_topics(TEXTS, model=small_model)


def test_the_hot_command_says_which_values_it_could_not_use(saved_model_dir, tmp_path):
    src = tmp_path / "export.csv"
    src.write_text(
        "内容,时间\n" + "".join(f"{text},2024-05-0{i + 1}\n" for i, text in enumerate(TEXTS[:-1])) + "物业,昨天\n",
        "utf-8",
    )
    result = CliRunner().invoke(
        cli, ["hot", str(src), "-o", str(tmp_path / "r.csv"), "--time-column", "时间", "--model", str(saved_model_dir)]
    )
    assert result.exit_code == 0, result.output
    assert (
        "Warning: 1 of 6 values of the time column '时间' are not times (the first, row 6: '昨天'); "
        "those messages count as the oldest" in result.output
    )


def test_a_time_after_tomorrow_is_a_typo_counted_as_no_time(small_model):
    """One 2099 for 2019 made every other message look decades old (ages count back from the latest) and ran
    a topic's monthly timeline to 2099."""
    times = ["2024-01-01"] * 3 + ["2024-06-01", "2024-06-30", "2099-06-30"]
    with pytest.warns(UnusedValueWarning, match=r"^1 of 6 values given as times are later than tomorrow, a typo"):
        topics = hot_topics(TEXTS, times=times, model=small_model)
    assert topics == hot_topics(TEXTS, times=[*times[:5], ""], model=small_model)
    assert all(not topic.last_time.startswith("2099") for topic in topics)


def test_missing_values_are_no_unused_values(small_model):
    missing = ["", "  ", None, float("nan"), "NaN", "null", "-", "无"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hot_topics(TEXTS + ["x"] * 2, times=missing, likes=missing, model=small_model)


def test_like_counts_read_as_boards_show_them():
    counts, unusable = read_likes(
        ["1,234", "1.2万", "10万+", "3w", "2亿", " 7 ", "0", "abc", "-1", "inf", "", None, "nan"]
    )
    assert counts.tolist() == [1234, 12000, 100000, 30000, 200000000, 7, 0, 0, 0, 0, 0, 0, 0]
    assert unusable.tolist() == [False] * 7 + [True] * 3 + [False] * 3


@given(st.integers(min_value=0, max_value=10**15))
def test_a_like_count_reads_with_or_without_thousands_separators(number):
    counts, unusable = read_likes([number, str(number), f"{number:,}", f"{number}+"])
    assert counts.tolist() == [number] * 4 and not unusable.any()


def test_a_file_changed_between_the_passes_is_refused(small_model, tmp_path, monkeypatch):
    src = tmp_path / "export.csv"
    src.write_text("内容\n" + "\n".join(TEXTS) + "\n", encoding="utf-8")
    states = iter([(1, 1), (2, 2)])
    monkeypatch.setattr("triage.hot_reading.file_state", lambda path: next(states))
    with pytest.raises(DataError, match="changed while it was read"):
        hot_topics_from_file(src, model=small_model)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"texts": "物业费太贵物业费太贵"}, r"^hot_topics\(\) takes an iterable of texts, not one str$"),
        ({"top": 0}, "^top and min_size must be at least 1, got top=0, min_size=2$"),
        ({"min_size": 0}, "^top and min_size must be at least 1, got top=20, min_size=0$"),
        (
            {"groups": [0] * 6, "copies": [0] * 6},
            r"^give groups \(topic ids\) or copies \(near-duplicate ids\), not both$",
        ),
    ],
)
def test_bad_arguments_are_refused(small_model, arguments, message):
    with pytest.raises(ValueError, match=message):
        hot_topics(**{"texts": TEXTS, **arguments}, model=small_model)


_PHRASES = [*PARKING, *LAMP, SINGLE, "", "!!!", "物业"]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_PHRASES) | st.text(max_size=20),
            st.sampled_from(["2024-05-01", "2024-05-01 09:00:00+08:00", "", "nope", "31/12/2023"]),
            st.sampled_from(["0", "5", "-1", "1e30", "", "x"]),
        ),
        max_size=25,
    ),
    st.integers(1, 5),
)
def test_any_batch_gives_well_formed_topics(small_model, rows, top):
    texts, times, likes = (list(column) for column in zip(*rows, strict=True)) if rows else ([], [], [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedValueWarning)  # "nope", "-1", "x": told, not raised
        topics = hot_topics(texts, times=times, likes=likes, top=top, model=small_model)
    assert len(topics) <= top and [t.rank for t in topics] == list(range(1, len(topics) + 1))
    seen = [i for t in topics for i in t.members]
    assert len(seen) == len(set(seen)) and all(0 <= i < len(texts) for i in seen)
    assert all(t.size == len(t.members) >= 2 and list(t.members) == sorted(t.members) for t in topics)
    assert [t.hotness for t in topics] == sorted((t.hotness for t in topics), reverse=True)


def test_unreadable_rows_stand_alone_in_a_streamed_file(small_model, tmp_path):
    src = tmp_path / "export.csv"
    body = "内容\n" + "\n".join([*PARKING, *LAMP]) + "\n"
    src.write_bytes(body.encode("utf-8").replace(PARKING[0].encode("utf-8"), b"\xff\xfe" + b"x" * 10))
    report = hot_topics_from_file(src, model=small_model)
    assert [t.size for t in report.topics] == [2, 2] and 0 not in report.topics[0].members


def test_hot_command_names_a_missing_column(saved_model_dir, tmp_path):
    src = tmp_path / "export.csv"
    src.write_text("内容\n物业费太贵\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["hot", str(src), "-o", str(tmp_path / "r.csv"), "--time-column", "时间", "--model", str(saved_model_dir)]
    )
    assert result.exit_code == 1 and "no column '时间'" in result.output


@pytest.mark.realdata
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data/teddy2020c is absent (real data stays outside)")
def test_hot_topics_on_real_messages(small_model):
    from triage.datasets.teddy2020c import load_votes

    votes = load_votes(SHARED_DATA)
    topics = hot_topics(votes["text"].tolist(), times=votes["time"].tolist(), top=5, model=small_model)
    assert len(topics) == 5
    assert all(t.size >= 2 and t.places and t.key_terms for t in topics)
    assert all(t.first_time and t.last_time and t.first_time <= t.last_time for t in topics)  # real times parse
    assert all(t.representative and len(t.members) == t.size for t in topics)


def test_times_with_and_without_offsets_mix(small_model):
    texts = ["小区物业乱收停车费垃圾没人清理"] * 2 + ["派出所补办身份证要排队好几天"] * 2
    times = ["2020-01-02 10:00", "2020-01-03 00:00:00+08:00", "2019-12-01", "not a time"]
    with pytest.warns(UnusedValueWarning, match="index 3: 'not a time'"):
        topics = hot_topics(texts, times=times, model=small_model, min_size=2)
    assert len(topics) == 2
    assert topics[0].members == (0, 1)  # the recent pair first; the unreadable time counts as oldest


@settings(max_examples=15, deadline=None)
@given(half_life=st.floats(0, 3650), copies_of_one_letter=st.booleans())
def test_a_recent_pair_of_copies_never_outranks_an_old_fifty_message_campaign(
    small_model, half_life, copies_of_one_letter
):
    letters = [campaign(1)[0]] * 50 if copies_of_one_letter else campaign(50)
    texts = [*letters, LAMP[0], LAMP[0], *OTHERS]
    times = ["2023-01-01"] * 50 + ["2024-06-30", "2024-06-30"] + ["2023-06-01"] * len(OTHERS)
    topics = hot_topics(texts, times=times, half_life_days=half_life, model=small_model)
    assert topics[0].members == tuple(range(50)) and topics[1].members == (50, 51)
    assert topics[0].voices == (1 if copies_of_one_letter else topics[0].voices) and topics[1].voices == 1


def test_copies_speak_once_and_distinct_writers_each(small_model):
    texts = [*campaign(10), *([LAMP[0]] * 10)]
    topics = hot_topics(texts, model=small_model)
    assert [t.members[0] for t in topics] == [0, 10] and topics[1].voices == 1 and topics[0].voices > 1


def test_a_topic_reports_its_place_issue_span_and_the_citizens_words(small_model, tmp_path):
    texts = [*campaign(12), "我叫王建国，电话13988999988，" + campaign(13)[12], SINGLE]
    times = [f"2024-0{1 + i % 3}-15 09:00" for i in range(13)] + ["2024-05-01"]
    topics = hot_topics(texts, times=times, likes=["2"] * 14, model=small_model)
    first = topics[0]
    assert first.size == 13 and first.place in ("柳湾小区", "青石区柳湾小区")
    assert first.issue and all(term in first.key_terms and term not in first.place for term in first.issue.split("、"))
    assert first.timeline == (("2024-01", 5), ("2024-02", 4), ("2024-03", 4))
    assert first.first_time.startswith("2024-01-15") and first.last_time.startswith("2024-03-15")
    assert first.likes == 26
    row = dict(zip(CSV_COLUMNS, first.as_row(), strict=True))
    assert row["place"] == first.place and row["issue"] == first.issue and row["voices"] == first.voices
    write_html(topics, tmp_path / "r.html", texts)
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'class="timeline"' in page and 'title="2024-02: 4"' in page and first.issue in page
    assert "13988999988" not in page and "王建国" not in page


def test_the_representative_keeps_the_citizens_punctuation_and_masks_personal_data(small_model):
    texts = [t + "，联系电话13988999988" for t in PARKING]
    topics = hot_topics(texts, model=small_model)
    assert "，" in topics[0].representative and "[PHONE]" in topics[0].representative
    assert "13988999988" not in topics[0].representative


def test_copies_only_keeps_the_near_duplicate_groups(small_model):
    texts = campaign(20)
    concerns = hot_topics(texts, model=small_model, min_size=1, top=50)
    copies = hot_topics(texts, model=small_model, min_size=1, top=50, concern_threshold=None)
    assert len(concerns) == 1 and len(copies) >= len(concerns)
    strict = hot_topics(texts, model=small_model, min_size=1, top=50, concern_threshold=1.0)
    assert len(strict) > 1  # the campaign's rewordings are not that alike


def _export(path, texts):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["编号", "主题", "时间", "点赞"])
        writer.writerows([[f"m{i}", text, f"2024-05-0{i % 9 + 1} 09:00", i] for i, text in enumerate(texts)])
    return path


def test_hot_file_writes_what_the_command_writes(small_model, tmp_path):
    src = _export(tmp_path / "export.csv", TEXTS)
    columns = {"text_columns": ["主题"], "time_column": "时间", "likes_column": "点赞", "id_column": "编号"}
    report = hot_file(
        src, tmp_path / "r.csv", html_path=tmp_path / "r.html", model=small_model, progress=False, **columns
    )
    assert report.n_messages == 6 and report.topics == hot_topics_from_file(src, model=small_model, **columns).topics
    with (tmp_path / "r.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS and [row[CSV_COLUMNS.index("members")] for row in rows[1:]] == [
        ";".join(f"m{i}" for i in topic.members) for topic in report.topics
    ]
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count('class="topic"') == 2 and "<title>热点问题 Hot topics: export.csv</title>" in page
    hot_file(src, tmp_path / "only.htm", model=small_model, progress=False, source_name="stdin", **columns)
    assert "Hot topics: stdin</title>" in (tmp_path / "only.htm").read_text(encoding="utf-8")  # HTML by suffix


def test_hot_topics_from_file_reads_as_its_options_say(tmp_path, monkeypatch):
    import numpy as np

    from triage.concerns import DEFAULT_CONCERN_THRESHOLD
    from triage.hot_reading import Columns, FirstPass, ReadOptions
    from triage.hotness import Signals

    given: dict = {}

    def read(path, **options):
        given.update(options, path=path)
        none = np.zeros(0, dtype=np.int64)
        return FirstPass(Signals(groups=none, copies=none, stamps=None, likes=None), Columns([0]), (0, 0))

    monkeypatch.setattr("triage.hot.read_signals", read)
    columns = {"text_columns": ["主题"], "time_column": "时间", "likes_column": "点赞", "id_column": "编号"}
    report = hot_topics_from_file(
        tmp_path / "in.xlsx",
        **columns,
        input_format="xlsx",
        encoding="gb18030",
        sheet="投诉",
        threshold=0.9,
        concern_threshold=None,
        chunk_size=7,
        progress=True,
    )
    assert report == HotReport(topics=[], texts={}, ids={}, n_messages=0)
    options = ReadOptions(format="xlsx", encoding="gb18030", sheet="投诉", chunk_size=7)
    assert given == {
        "path": tmp_path / "in.xlsx",
        **columns,
        "options": options,
        "threshold": 0.9,
        "concern_threshold": None,
        "progress": "in.xlsx pass 1/2",
    }
    given.clear()
    hot_topics_from_file(tmp_path / "in.csv")
    assert given["options"] == ReadOptions(chunk_size=5_000) and given["progress"] is None
    assert given["concern_threshold"] == DEFAULT_CONCERN_THRESHOLD


def test_hot_topics_from_file_keeps_the_top_topics(small_model, tmp_path):
    src = _export(tmp_path / "export.csv", TEXTS)
    columns = {"text_columns": ["主题"], "time_column": "时间", "likes_column": "点赞"}
    report = hot_topics_from_file(src, **columns, top=1, model=small_model)
    assert len(report.topics) == 1 and set(report.ids) == set(report.topics[0].members)


def test_hot_file_reads_and_ranks_as_its_options_say(small_model, saved_model_dir, tmp_path, monkeypatch):
    import triage

    given: dict = {}

    def read(src, **options):
        given.update(options, src=src)
        return HotReport(topics=[], texts={}, ids={}, n_messages=0)

    monkeypatch.setattr("triage.hot.hot_topics_from_file", read)
    options = {
        "text_columns": ["主题"],
        "time_column": "时间",
        "likes_column": "点赞",
        "id_column": "编号",
        "input_format": "xlsx",
        "encoding": "gb18030",
        "sheet": "投诉",
        "threshold": 0.9,
        "concern_threshold": 0.3,
        "top": 3,
        "min_size": 4,
        "half_life_days": 7.0,
    }
    hot_file(tmp_path / "in.xlsx", tmp_path / "r.csv", model=small_model, progress=False, **options)
    assert given == {**options, "src": tmp_path / "in.xlsx", "model": small_model, "progress": False}
    given.clear()
    hot_file(tmp_path / "in.csv", tmp_path / "r.html", model_path=saved_model_dir)
    assert given["progress"] is True  # a bar for each pass by default
    assert given["model"].classes_ == triage.load(saved_model_dir).classes_  # not the shipped model


def test_hot_file_defuses_formulas_unless_told_and_shows_members_by_id(small_model, tmp_path):
    src = _export(tmp_path / "export.csv", [f"={text}" for text in PARKING])
    columns = {"text_columns": ["主题"], "time_column": "时间", "likes_column": "点赞", "id_column": "编号"}
    for name, safe in (("safe.csv", True), ("raw.csv", False)):
        hot_file(src, tmp_path / name, model=small_model, progress=False, spreadsheet_safe=safe, **columns)
    hot_file(src, tmp_path / "default.csv", model=small_model, progress=False, **columns)
    representatives = {}
    for name in ("safe.csv", "raw.csv", "default.csv"):
        written = (tmp_path / name).read_bytes()
        assert written.startswith(codecs.BOM_UTF8)  # Excel opens it as UTF-8
        rows = list(csv.reader(written.decode("utf-8-sig").splitlines()))
        representatives[name] = rows[1][CSV_COLUMNS.index("representative")]
    assert representatives["raw.csv"].startswith("=")
    assert representatives["safe.csv"] == representatives["default.csv"] == "'" + representatives["raw.csv"]
    hot_file(src, tmp_path / "r.html", model=small_model, progress=False, **columns)  # HTML by its suffix
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count('class="topic"') == 1 and all(f"<li><b>m{i}</b>" in page for i in range(3))
    assert page.endswith("</ol></details></div>\n</body></html>")
    assert "likes · 2024-05-01 09:00:00 – 2024-05-03 09:00:00</p>" in page


def test_a_page_shows_twenty_members_of_a_topic_and_may_have_no_topic(small_model, tmp_path):
    texts = list(PARKING) * 8
    topics = hot_topics(texts, model=small_model)
    write_html(topics, tmp_path / "r.html", texts)
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count("<li><b>") == 20 and "<li>… 4 more</li>" in page
    assert "likes · no times</p>" in page  # none were given
    write_html(topics, tmp_path / "all.html", texts, members_shown=24)
    every = (tmp_path / "all.html").read_text(encoding="utf-8")
    assert every.count("<li><b>") == 24 and "more</li>" not in every
    write_html([], tmp_path / "none.html", [])
    assert '<p class="meta">0 topics.' in (tmp_path / "none.html").read_text(encoding="utf-8")


def test_a_card_shows_every_figure_of_its_topic_and_a_dash_for_what_it_lacks(tmp_path):
    from triage.topics import HotTopic

    parking = HotTopic(
        rank=1,
        group_id=0,
        size=4,
        hotness=3.25,
        voices=2,
        place="柳湾小区",
        issue="停车费 收费",
        first_time="2024-05-01 09:00:00",
        last_time="2024-06-02 10:00:00",
        likes=7,
        places=("柳湾小区", "青石区"),
        department="property",
        department_name="物业 & 住建",
        department_share=0.75,
        key_terms=("停车费", "收费"),
        representative="停车费<乱收>",
        members=(0, 1, 2, 3),
        timeline=(("2024-05", 3), ("2024-06", 1)),
    )
    bare = HotTopic(
        rank=2,
        group_id=4,
        size=2,
        hotness=1.0,
        voices=1,
        place=None,
        issue="",
        first_time=None,
        last_time=None,
        likes=0,
        places=(),
        department=None,
        department_name=None,
        department_share=0.0,
        key_terms=(),
        representative="路灯",
        members=(4, 5),
    )
    texts = ["楼道灯坏了"] * 6
    texts[3] = "路灯不亮" * 80  # 320 characters: 300 are shown
    write_html([parking, bare], tmp_path / "r.html", texts)
    cards = (tmp_path / "r.html").read_text(encoding="utf-8").split("Personal data is masked.</p>\n", 1)[1]
    assert cards == (
        '<div class="topic"><div class="head">\n'
        '<span class="rank">1</span><span class="what"><b>柳湾小区</b>: 停车费 收费</span></div>\n'
        '<p><span class="size" style="width:12.0em"></span> <b>4</b> messages from <b>2</b> voices · '
        "hotness 3.25 · 7 likes · 2024-05-01 09:00:00 – 2024-06-02 10:00:00</p>\n"
        '<div class="timeline" title="messages per month"><span style="height:100%" title="2024-05: 3"></span>'
        '<span style="height:33%" title="2024-06: 1"></span></div>\n'
        '<p class="meta">部门 department: 物业 &amp; 住建 (property, 75% of members)</p>\n'
        '<p><span class="tag place">柳湾小区</span><span class="tag place">青石区</span> '
        '<span class="tag">停车费</span><span class="tag">收费</span></p>\n'
        '<div class="rep">停车费&lt;乱收&gt;</div>\n'
        "<details><summary>members (4)</summary><ol>\n"
        "<li><b>0</b> 楼道灯坏了</li>\n"
        "<li><b>1</b> 楼道灯坏了</li>\n"
        "<li><b>2</b> 楼道灯坏了</li>\n"
        f"<li><b>3</b> {'路灯不亮' * 75}</li>\n"
        "</ol></details></div>\n"
        '<div class="topic"><div class="head">\n'
        '<span class="rank">2</span><span class="what"><b>—</b>: —</span></div>\n'
        '<p><span class="size" style="width:6.0em"></span> <b>2</b> messages from <b>1</b> voices · '
        "hotness 1.00 · 0 likes · no times</p>\n"
        "\n"  # no timeline without times
        '<p class="meta">部门 department: —</p>\n'
        "<p> </p>\n"
        '<div class="rep">路灯</div>\n'
        "<details><summary>members (2)</summary><ol>\n"
        "<li><b>4</b> 楼道灯坏了</li>\n"
        "<li><b>5</b> 楼道灯坏了</li>\n"
        "</ol></details></div>\n"
        "</body></html>"
    )


def test_hot_file_checks_its_outputs_before_reading(small_model, tmp_path, monkeypatch):
    src = _export(tmp_path / "export.csv", TEXTS)
    (tmp_path / "r.csv").write_text("keep", encoding="utf-8")
    monkeypatch.setattr("triage.hot.hot_topics_from_file", lambda *a, **k: pytest.fail("the file was read"))
    with pytest.raises(FileExistsError, match=r"r\.csv already exists; pass --overwrite"):
        hot_file(src, tmp_path / "r.csv", model=small_model)
    with pytest.raises(FileNotFoundError, match=r"folder .*missing does not exist"):
        hot_file(src, tmp_path / "new.csv", html_path=tmp_path / "missing" / "r.html", model=small_model)
    with pytest.raises(ValueError, match="cannot both be written to"):
        hot_file(src, tmp_path / "r.html", html_path=tmp_path / "r.html", model=small_model, overwrite=True)
    assert (tmp_path / "r.csv").read_text(encoding="utf-8") == "keep"


def test_an_empty_export_has_no_topics(small_model, tmp_path):
    src = tmp_path / "empty.csv"
    src.write_text("编号,主题,时间,点赞\n", encoding="utf-8")
    report = hot_topics_from_file(
        src, text_columns=["主题"], time_column="时间", likes_column="点赞", model=small_model
    )
    assert report.topics == [] and report.n_messages == 0


def test_near_duplicate_ids_found_elsewhere_give_the_same_topics(small_model):
    from triage.grouping import group

    texts = [*campaign(12), *PARKING, *LAMP, SINGLE]
    assert hot_topics(texts, copies=group(texts), model=small_model) == hot_topics(texts, model=small_model)
    with pytest.raises(ValueError, match="not both"):
        hot_topics(texts, copies=group(texts), groups=group(texts), model=small_model)
    with pytest.raises(ValueError, match="copies has 2 values for 18 texts"):
        hot_topics(texts, copies=[0, 1], model=small_model)


def test_pass_two_reads_a_jsonl_file_with_the_keys_of_pass_one(tmp_path, monkeypatch):
    """Pass two stops after the last row it wants; its columns are still those of pass one (an id first given past
    that row, as exporters leave out empty fields), and the file is not scanned for its keys again."""
    from triage import io as tio
    from triage.hot_reading import ReadOptions, read_back, read_signals

    records = [{"内容": text, "时间": "2024-05-01 09:00"} for text in TEXTS] + [{"内容": "路灯坏了", "编号": "m9"}]
    src = tmp_path / "export.jsonl"
    src.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records), "utf-8")
    scans: list[Path] = []
    scan = tio.jsonl._jsonl_keys  # read_rows calls it from triage.io, where it is patched
    monkeypatch.setattr(tio, "_jsonl_keys", lambda *args: scans.append(args[0]) or scan(*args))
    columns = {"text_columns": ["内容"], "time_column": "时间", "likes_column": None, "id_column": "编号"}
    first = read_signals(src, **columns, options=ReadOptions(), threshold=0.5, concern_threshold=None)
    texts, ids = read_back(src, first, ReadOptions(), {0, 1}, {1})
    assert texts == {0: TEXTS[0], 1: TEXTS[1]} and ids == {1: ""} and scans == [src]


@settings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 12, 31)), st.sampled_from(["日", "号"]))
def test_a_time_written_the_chinese_way_reads_as_the_same_time(moment, day):
    """`2019年1月7日` is how most Chinese exports write a date; pandas read none of them, so each was a time of
    no use."""
    written = [
        f"{moment.year}年{moment.month}月{moment.day}{day}",
        f"{moment.year}年{moment.month:02d}月{moment.day:02d}{day} {moment.hour}时{moment.minute}分{moment.second}秒",
        f"{moment.year} 年 {moment.month} 月 {moment.day} {day}{moment.hour}点{moment.minute:02d}分",
        f"{moment.year}年{moment.month}月{moment.day}{day} {moment.hour:02d}:{moment.minute:02d}",
    ]
    whole = moment.replace(microsecond=0)
    expected = [whole.replace(hour=0, minute=0, second=0), whole, whole.replace(second=0), whole.replace(second=0)]
    assert parse_times(written).tolist() == [int(pandas.Timestamp(e).value) for e in expected]


def test_where_likes_are_unusable_is_a_mask_that_picks_them():
    counts, unusable = read_likes(["x", "3", "1万", "-"])
    assert unusable.dtype == bool and counts[~unusable].tolist() == [3, 10000, 0]
    assert read_likes([])[1].dtype == bool


def test_pandas_missing_values_are_no_values():
    """A nullable column (Int64, string, datetime) gives pandas.NA or NaT where a cell is empty, not NaN."""
    missing = [pandas.NA, pandas.NaT, float("nan"), None]
    counts, unusable = read_likes([*missing, "3"])
    assert counts.tolist() == [0, 0, 0, 0, 3] and not unusable.any()


@given(st.integers(0, 23), st.sampled_from(["时", "点", "点整", " 时 ", "时整"]))
def test_a_chinese_time_of_the_hour_alone_is_that_hour(hour, written):
    """`2019年1月7日 10时` and `10点整` give no minutes: they are on the hour, not unreadable."""
    assert parse_times([f"2019年1月7日 {hour}{written}"]).tolist() == [pandas.Timestamp(2019, 1, 7, hour).value]


def test_a_time_is_a_typo_only_if_more_than_a_day_after_now():
    """A day of slack: naive local times are read as UTC, so today's messages may look hours ahead."""
    now = np.datetime64("2024-03-01T12:00", "ns")
    values = TimesAndLikes("values given as times", "values given as likes", place="index", now=now)
    times = ["2024-03-01 11:00", "2024-03-02 00:00", "2024-03-02 12:00"]
    late = ["2024-03-02 12:00:01", "2024-03-02 18:00", "2024-03-05"]
    values.add(times + late, None, range(6))
    with pytest.warns(UnusedValueWarning) as caught:
        values.warn(6)
    assert [str(warning.message) for warning in caught] == [
        "3 of 6 values given as times are later than tomorrow, a typo for an earlier year? (the first, index 3: "
        "'2024-03-02 12:00:01'); those messages count as without a time (the oldest)"
    ]
    assert values.arrays()[0].tolist() == [pandas.Timestamp(time).value for time in times] + [NOT_A_TIME] * 3


def test_times_added_chunk_by_chunk_are_read_in_the_format_of_the_first_value():
    """05/06/2024 after 13/06/2024 is the 5th of June, in whichever chunk it comes (alone it reads as May 6th)."""
    values = TimesAndLikes("values given as times", "values given as likes")
    for places, times in (([0, 1], ["", None]), ([2], ["13/06/2024"]), ([3], ["05/06/2024"])):
        values.add(times, None, places)
    june = [pandas.Timestamp(2024, 6, day).value for day in (13, 5)]
    assert values.arrays()[0].tolist() == [NOT_A_TIME, NOT_A_TIME, *june]


def test_unused_values_are_told_on_the_callers_line(small_model, tmp_path, not_under_mutmut):
    with pytest.warns(UnusedValueWarning) as given:
        hot_topics(TEXTS, times=["x"] * 6, likes=["y"] * 6, model=small_model)
    src = tmp_path / "export.csv"
    src.write_text("内容\n" + "\n".join(TEXTS) + "\n", encoding="utf-8")
    with pytest.warns(UnusedValueWarning) as streamed:
        hot_topics_from_file(src, time_column="内容", likes_column="内容", model=small_model, chunk_size=4)
    assert [Path(warning.filename).name for warning in [*given, *streamed]] == ["test_hot.py"] * 4


def _documented_hotness(groups, copies, stamps, likes, half_life_days):
    """The module docstring's formula of triage.hotness, message by message."""
    from triage.times import NOT_A_TIME

    known = [s for s in stamps if s != NOT_A_TIME] if stamps is not None else []
    weight = [1.0] * len(groups)
    if known and half_life_days > 0:
        ages = [
            (max(known) - s) / 86_400e9 if s != NOT_A_TIME else (max(known) - min(known)) / 86_400e9 for s in stamps
        ]
        weight = [(1 + 0.5 ** (age / half_life_days)) / 2 for age in ages]
    hotness: dict[int, float] = {}
    for voice in set(copies):
        members = [m for m, c in enumerate(copies) if c == voice]
        value = (1 + math.log(len(members))) * max(weight[m] for m in members)
        hotness[groups[members[0]]] = hotness.get(groups[members[0]], 0.0) + value
    for group in hotness:
        if likes is not None:
            hotness[group] += math.log1p(sum(likes[m] for m, g in enumerate(groups) if g == group))
    return hotness


DAY = 86_400 * 10**9


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_groups_are_ranked_by_the_documented_hotness(data):
    """Hotness, voices, sizes, the order (hottest, then larger, more recent, earlier), ``top`` and
    ``min_size`` of any small batch, against the module docstring of triage.hotness."""
    import numpy as np

    from triage.hotness import Signals, rank_groups
    from triage.times import NOT_A_TIME

    n = data.draw(st.integers(1, 12))
    groups = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    copies = [10 * g + data.draw(st.integers(0, 2)) for g in groups]  # a voice lies within its group
    stamps = data.draw(
        st.none() | st.lists(st.sampled_from([NOT_A_TIME, 0, 3 * DAY, 40 * DAY]), min_size=n, max_size=n)
    )
    likes = data.draw(st.none() | st.lists(st.sampled_from([0.0, 1.0, 4.0]), min_size=n, max_size=n))
    half_life = data.draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 30.0]))
    top, min_size = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 3))
    signals = Signals(
        groups=np.array(groups, dtype=np.int64),
        copies=np.array(copies, dtype=np.int64),
        stamps=None if stamps is None else np.array(stamps, dtype=np.int64),
        likes=None if likes is None else np.array(likes),
    )
    ranking = rank_groups(signals, top, min_size, half_life)
    expected = _documented_hotness(groups, copies, stamps, likes, half_life)
    ids = sorted(set(groups))
    assert ranking.ids.tolist() == ids
    np.testing.assert_allclose(ranking.hotness, [expected[g] for g in ids], rtol=1e-12)
    assert ranking.sizes.tolist() == [groups.count(g) for g in ids]
    assert ranking.voices.tolist() == [len({c for c, g2 in zip(copies, groups, strict=True) if g2 == g}) for g in ids]

    def latest(g):
        if stamps is None:
            return 0
        return max((s for s, g2 in zip(stamps, groups, strict=True) if g2 == g and s != NOT_A_TIME), default=-math.inf)

    eligible = [i for i, g in enumerate(ids) if groups.count(g) >= min_size]
    order = sorted(eligible, key=lambda i: (-ranking.hotness[i], -ranking.sizes[i], -latest(ids[i]), ids[i]))
    assert ranking.order == order[:top]
    assert {g: m.tolist() for g, m in ranking.members_of.items()} == {
        i: [m for m, g in enumerate(groups) if g == ids[i]] for i in ranking.order
    }
    assert sorted(ranking.sample.tolist()) == list(range(n))  # fewer messages than the sample: all


def test_the_rarity_sample_is_the_same_distinct_messages_every_run():
    import numpy as np

    from triage.hotness import CORPUS_SAMPLE, Signals, rank_groups

    n = CORPUS_SAMPLE + 1000
    signals = Signals(groups=np.arange(n) // 2, copies=np.arange(n), stamps=None, likes=None)
    samples = [rank_groups(signals, 3, 2, 30.0).sample for _ in range(2)]
    assert len(set(samples[0].tolist())) == CORPUS_SAMPLE and set(samples[0].tolist()) <= set(range(n))
    np.testing.assert_array_equal(samples[0], samples[1])


def test_ties_go_to_the_larger_then_the_more_recent_topic():
    import numpy as np

    from triage.hotness import Signals, rank_groups
    from triage.times import NOT_A_TIME

    stamps = np.array([3 * DAY, 40 * DAY, NOT_A_TIME, -DAY, 3 * DAY, 3 * DAY], dtype=np.int64)  # -DAY: in 1969
    groups = np.array([0, 1, 2, 3, 4, 4])  # without recency all five weigh one voice
    signals = Signals(groups=groups, copies=groups, stamps=stamps, likes=None)
    assert rank_groups(signals, 5, 1, 0.0).order == [4, 1, 0, 3, 2]  # a time unread is the oldest


def _read_first(src, **options):
    from triage.hot_reading import ReadOptions, read_signals

    columns = {"text_columns": ["内容"], "time_column": None, "likes_column": None, "id_column": None}
    return read_signals(src, **columns, options=ReadOptions(**options), threshold=0.5, concern_threshold=None)


def test_pass_two_reads_up_to_the_last_row_it_wants_as_pass_one_read(tmp_path, monkeypatch):
    from triage import hot_reading
    from triage.hot_reading import ReadOptions, read_back

    src = tmp_path / "export.csv"
    src.write_text("内容\n" + "\n".join(TEXTS) + "\n", encoding="utf-8")
    options = {"format": "csv", "encoding": "utf-8", "chunk_size": 2}
    first = _read_first(src, **options)
    given: list[dict] = []
    read = hot_reading.read_rows
    monkeypatch.setattr(hot_reading, "read_rows", lambda path, **kwargs: given.append(kwargs) or read(path, **kwargs))
    assert read_back(src, first, ReadOptions(**options), {1}, {3}) == ({1: TEXTS[1]}, {3: "4"})  # a row number
    assert read_back(src, first, ReadOptions(**options), set(), set()) == ({}, {})
    assert [{k: v for k, v in kwargs.items() if k in {*options, "stop_after"}} for kwargs in given] == [
        {**options, "stop_after": 4},
        {**options, "stop_after": 0},
    ]


def test_a_streamed_file_mostly_unreadable_is_refused_naming_the_first_bad_row(tmp_path):
    from triage.hot_reading import ReadOptions, read_back

    src = tmp_path / "export.csv"
    bad = b"\xff\xfe" + b"x" * 10
    src.write_bytes("内容\n".encode() + b"\n".join([bad, LAMP[0].encode(), bad, bad, LAMP[1].encode()]) + b"\n")
    with pytest.raises(DataError, match=r"^3 of 5 rows of .*export\.csv cannot be read; the first: row 1: "):
        _read_first(src, encoding="utf-8", chunk_size=2)
    src.write_bytes("内容\n".encode() + b"\n".join([bad, LAMP[0].encode(), bad, LAMP[1].encode()]) + b"\n")
    assert _read_first(src, encoding="utf-8", chunk_size=2).n_messages == 4  # half is not refused
    src.write_bytes("内容\n".encode() + b"\n".join([bad, LAMP[0].encode(), LAMP[1].encode()]) + b"\n")
    first = _read_first(src, encoding="utf-8", chunk_size=2)
    assert read_back(src, first, ReadOptions(encoding="utf-8"), {0, 1}, set())[0] == {0: "", 1: LAMP[0]}


@pytest.mark.parametrize(
    ("thresholds", "n_topics"),
    [({}, 1), ({"concern_threshold": 1.0}, 4), ({"threshold": 0.95, "concern_threshold": None}, 12)],
)
def test_a_streamed_campaign_has_the_concerns_it_has_in_memory(small_model, tmp_path, thresholds, n_topics):
    texts = campaign(12)
    src = tmp_path / "export.csv"
    src.write_text("内容\n" + "\n".join(texts) + "\n", encoding="utf-8")
    streamed = hot_topics_from_file(src, model=small_model, min_size=1, top=50, **thresholds)
    assert streamed.topics == hot_topics(texts, model=small_model, min_size=1, top=50, **thresholds)
    assert len(streamed.topics) == n_topics


def test_a_missing_column_is_named_with_its_file(small_model, tmp_path):
    src = tmp_path / "export.csv"
    src.write_text("内容\n物业费太贵\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"no column '时间' in .*export\.csv"):
        hot_topics_from_file(src, time_column="时间", model=small_model)


def test_pass_one_reads_with_its_options_and_one_time_format_for_every_chunk(tmp_path):
    import numpy as np

    from triage.hot_reading import ReadOptions, read_signals

    src = tmp_path / "export.csv"  # tab-separated, whatever its name says
    rows = [
        f"m{i}\t{text}\t{when}" for i, (text, when) in enumerate(zip(LAMP, ["13/06/2024", "05/06/2024"], strict=True))
    ]
    src.write_text("编号\t内容\t时间\n" + "\n".join(rows) + "\n", encoding="utf-8")
    columns = {"text_columns": ["内容"], "time_column": "时间", "likes_column": None, "id_column": "编号"}
    options = ReadOptions(format="tsv", chunk_size=1)
    first = read_signals(src, **columns, options=options, threshold=0.5, concern_threshold=None)
    days = first.signals.stamps.astype("datetime64[ns]").astype("datetime64[D]")
    assert days.tolist() == [np.datetime64("2024-06-13").item(), np.datetime64("2024-06-05").item()]  # day first
