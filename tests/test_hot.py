"""Hot topics: ranking, place names, key terms, reports and the hot command."""

from __future__ import annotations

import csv
import json
import warnings
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


def test_mismatched_lengths_are_refused(small_model):
    with pytest.raises(ValueError, match="times has 1 values for 6 texts"):
        hot_topics(TEXTS, times=["2024-01-01"], model=small_model)


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


@pytest.mark.parametrize("arguments", [{"texts": "物业费太贵物业费太贵"}, {"top": 0}, {"min_size": 0}])
def test_bad_arguments_are_refused(small_model, arguments):
    with pytest.raises(ValueError):
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
