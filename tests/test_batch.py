"""The batch tagger: every row out once, in order, tagged or with an error; resumable; parallel."""

from __future__ import annotations

import csv
import gc
import io
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TEXTS
from tests.test_batch_workers import typed_parquet
from triage.batch import OUTPUT_COLUMNS, tag_dataframe, tag_file
from triage.batch.workers import _worker_pool
from triage.cli import cli
from triage.io import DataError


def write_export(path, n=60, encoding="gb18030"):
    rows = [{"编号": f"r{i:05d}", "标题": "", "内容": TEXTS[i % len(TEXTS)], "备注": "x"} for i in range(n)]
    pd.DataFrame(rows).to_csv(path, index=False, encoding=encoding)
    return rows


def test_every_row_comes_out_in_order_with_tags(small_model, tmp_path):
    rows = write_export(tmp_path / "in.csv")
    summary = tag_file(
        tmp_path / "in.csv",
        tmp_path / "out.csv",
        model=small_model,
        encoding="auto",
        chunk_size=7,
        progress=False,
        summary_path=tmp_path / "summary.json",
    )
    out = pd.read_csv(tmp_path / "out.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(out["编号"]) == [r["编号"] for r in rows]
    assert list(out.columns) == ["编号", "标题", "内容", "备注", *OUTPUT_COLUMNS]
    expected = [r.department for r in small_model.classify([r["内容"] for r in rows])]
    assert list(out["department"]) == expected
    assert summary.rows_in == summary.rows_out == 60 and summary.errors == 0
    assert summary.text_columns == ["标题", "内容"]
    assert json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))["rows_out"] == 60


def test_malformed_rows_become_row_errors(small_model, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(
        "编号,内容\n1,物业乱收费\n2,派出所,多余的字段\n3\n4,学校补课\n".encode()
        + b"5,\xff\xfe\xfa\n"
        + '6,"带引号的,内容"\n'.encode()
    )
    tag_file(path, tmp_path / "out.csv", model=small_model, text_columns=["内容"], progress=False)
    out = pd.read_csv(tmp_path / "out.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(out["编号"]) == ["1", "2", "3", "4", "5", "6"]
    errors = list(out["error"])
    assert errors[0] == errors[3] == errors[5] == ""
    assert "3 fields, the header has 2" in errors[1] and "1 fields, the header has 2" in errors[2]
    assert "bytes not valid in utf-8-sig; try --encoding gb18030" in errors[4]
    assert out["department"][1] == "" and out["department"][0] == "property_management"


def test_existing_output_needs_overwrite(small_model, tmp_path):
    write_export(tmp_path / "in.csv", n=3)
    (tmp_path / "out.csv").write_text("keep me")
    with pytest.raises(FileExistsError, match="--overwrite"):
        tag_file(tmp_path / "in.csv", tmp_path / "out.csv", model=small_model, encoding="auto", progress=False)
    assert (tmp_path / "out.csv").read_text() == "keep me"
    tag_file(
        tmp_path / "in.csv", tmp_path / "out.csv", model=small_model, encoding="auto", overwrite=True, progress=False
    )
    assert (tmp_path / "out.csv").read_text(encoding="utf-8-sig").startswith("编号")


def test_missing_text_column_lists_the_columns(small_model, tmp_path):
    write_export(tmp_path / "in.csv", n=3)
    with pytest.raises(DataError, match=r"no column .body. .* it has: 编号, 标题, 内容, 备注"):
        tag_file(
            tmp_path / "in.csv",
            tmp_path / "o.csv",
            model=small_model,
            encoding="auto",
            text_columns=["body"],
            progress=False,
        )


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".xlsx", ".tsv"])
def test_output_formats(small_model, tmp_path, suffix):
    write_export(tmp_path / "in.csv", n=10)
    tag_file(tmp_path / "in.csv", tmp_path / f"out{suffix}", model=small_model, encoding="auto", progress=False)
    path = tmp_path / f"out{suffix}"
    out = {
        ".jsonl": lambda: pd.read_json(path, lines=True, dtype=False),
        ".parquet": lambda: pd.read_parquet(path),
        ".xlsx": lambda: pd.read_excel(path, dtype=str, engine="calamine"),
        ".tsv": lambda: pd.read_csv(path, sep="\t", encoding="utf-8-sig"),
    }[suffix]()
    assert len(out) == 10 and out["department"].iloc[0] == "property_management"


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".xlsx"])
def test_input_formats(small_model, tmp_path, suffix):
    frame = pd.DataFrame({"id": ["a", "b"], "content": ["派出所补办身份证", None]})
    path = tmp_path / f"in{suffix}"
    {
        ".jsonl": lambda: frame.to_json(path, orient="records", lines=True, force_ascii=False),
        ".parquet": lambda: frame.to_parquet(path),
        ".xlsx": lambda: frame.to_excel(path, index=False),
    }[suffix]()
    tag_file(path, tmp_path / "out.csv", model=small_model, progress=False)
    out = pd.read_csv(tmp_path / "out.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(out["department"]) == ["public_security", ""]
    assert list(out["review_reason"]) == ["", "empty_text"]


def test_tag_dataframe(small_model):
    frame = pd.DataFrame({"subject": ["物业", None], "body": ["乱收停车费", "派出所补办身份证"]})
    out = tag_dataframe(frame, ["subject", "body"], model=small_model)
    assert list(out["department"]) == ["property_management", "public_security"]
    assert list(frame.columns) == ["subject", "body"]


def test_tag_dataframe_leaves_rows_that_could_not_be_read_untagged_with_their_error(small_model):
    frame = pd.DataFrame({"body": ["小区物业乱收停车费", "派出所补办身份证"]})
    out = tag_dataframe(frame, ["body"], model=small_model, errors=["", "a quoted cell runs on"])
    assert list(out["department"]) == ["property_management", ""]
    assert list(out["error"]) == ["", "a quoted cell runs on"]
    with pytest.raises(ValueError, match="errors has 1 entries for a frame of 2 rows"):
        tag_dataframe(frame, ["body"], model=small_model, errors=[""])


def test_tag_dataframe_reads_cells_as_the_file_readers_do_and_a_bad_one_fails_only_its_row(small_model):
    """A frame's values went through ``astype(str)``: one bytes cell that was not UTF-8 raised UnicodeDecodeError
    for the whole frame, a cell over the cell limit was tagged, a list was Python's repr. They follow the
    readers' cell rule (to_cell) now: the bad cell is its row's error, the other rows are tagged."""
    frame = pd.DataFrame(
        {"body": ["小区物业乱收停车费", b"\xff\xfe", "路".encode() + "灯坏了".encode(), "x" * 1_000_001]}
    )
    out = tag_dataframe(frame, ["body"], model=small_model)
    assert out["department"].tolist()[0] == "property_management" and out["department"].tolist()[1] == ""
    assert out["error"].tolist()[0] == "" and "binary value is not UTF-8 text" in out["error"].tolist()[1]
    assert out["error"].tolist()[2] == "" and out["review_reason"].tolist()[2] != "no_chinese_text"
    assert "over the limit of 1,000,000" in out["error"].tolist()[3]
    read = tag_dataframe(frame, ["body"], model=small_model, errors=["", "", "a quoted cell runs on", ""])
    assert read["error"].tolist()[1:3] == [out["error"].tolist()[1], "a quoted cell runs on"]


def test_parallel_jobs_match_serial(saved_model_dir, tmp_path):
    write_export(tmp_path / "in.csv", n=200)
    common = {"model_path": saved_model_dir, "encoding": "auto", "chunk_size": 16, "progress": False}
    tag_file(tmp_path / "in.csv", tmp_path / "serial.csv", **common)
    tag_file(tmp_path / "in.csv", tmp_path / "parallel.csv", n_jobs=2, **common)
    assert (tmp_path / "serial.csv").read_bytes() == (tmp_path / "parallel.csv").read_bytes()


@pytest.mark.skipif(sys.platform != "linux", reason="workers are forked only on Linux")
@pytest.mark.parametrize("unreadable_row", [None, 9])
def test_parallel_parquet_to_parquet_matches_serial_for_every_column_kind(saved_model_dir, tmp_path, unreadable_row):
    """Real worker processes: the input columns that stay in the parent, those sent to the workers and back
    (a map column that made a round trip through pickle was written with other bytes), and a batch with a
    value that could not be read."""
    src = typed_parquet(tmp_path / "in.parquet", 30, unreadable_row)
    common = {"model_path": saved_model_dir, "text_columns": ["text"], "chunk_size": 4, "progress": False}
    serial = tag_file(src, tmp_path / "serial.parquet", **common)
    parallel = tag_file(src, tmp_path / "parallel.parquet", n_jobs=2, **common)
    assert (tmp_path / "serial.parquet").read_bytes() == (tmp_path / "parallel.parquet").read_bytes()
    assert parallel.errors == serial.errors == (unreadable_row is not None)


def test_kill_9_then_resume_equals_an_uninterrupted_run(saved_model_dir, tmp_path):
    write_export(tmp_path / "in.csv", n=3000)
    args = [
        sys.executable,
        "-m",
        "triage",
        "tag",
        str(tmp_path / "in.csv"),
        "--encoding",
        "auto",
        "--model",
        str(saved_model_dir),
        "--chunk-size",
        "50",
        "--silent",
    ]
    subprocess.run([*args, "-o", str(tmp_path / "whole.csv")], check=True)
    checkpoint = tmp_path / "cut.csv.partial.json"
    process = subprocess.Popen([*args, "-o", str(tmp_path / "cut.csv")])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if checkpoint.is_file() and json.loads(checkpoint.read_text() or "{}").get("rows_done", 0) >= 1000:
            break
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "cut.csv").exists()
    done = json.loads(checkpoint.read_text())["rows_done"]
    assert 1000 <= done < 3000
    with (tmp_path / "cut.csv.partial").open("ab") as partial:
        partial.write(b"half a chunk written when the process died")
    result = subprocess.run([*args, "-o", str(tmp_path / "cut.csv"), "--resume"], capture_output=True, check=True)
    assert (tmp_path / "cut.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert not checkpoint.exists() and result.returncode == 0


def test_resume_refuses_another_input(small_model, tmp_path):
    write_export(tmp_path / "in.csv", n=5)
    (tmp_path / "out.csv.partial").write_bytes(b"")
    (tmp_path / "out.csv.partial.json").write_text(
        json.dumps({"input": {}, "rows_done": 2, "bytes_done": 0, "counts": {}})
    )
    with pytest.raises(DataError, match="belongs to another input"):
        tag_file(
            tmp_path / "in.csv", tmp_path / "out.csv", model=small_model, encoding="auto", resume=True, progress=False
        )


def test_a_stale_partial_needs_resume_or_overwrite(small_model, tmp_path):
    write_export(tmp_path / "in.csv", n=5)
    (tmp_path / "out.csv.partial").write_bytes(b"x")
    (tmp_path / "out.csv.partial.json").write_text("{")
    with pytest.raises(DataError, match="pass --resume to continue it or --overwrite to start over"):
        tag_file(tmp_path / "in.csv", tmp_path / "out.csv", model=small_model, encoding="auto", progress=False)
    with pytest.raises(DataError, match="is damaged; delete it"):
        tag_file(
            tmp_path / "in.csv", tmp_path / "out.csv", model=small_model, encoding="auto", resume=True, progress=False
        )
    summary = tag_file(
        tmp_path / "in.csv", tmp_path / "out.csv", model=small_model, encoding="auto", overwrite=True, progress=False
    )
    assert summary.rows_out == 5 and not (tmp_path / "out.csv.partial.json").exists()


def test_unreadable_rows_in_typed_and_spreadsheet_outputs(small_model, tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes("id,内容\n1,物业乱收费\n2,a,b\n3,控制\x07字符\n".encode())
    for suffix in (".parquet", ".xlsx"):
        tag_file(path, tmp_path / f"out{suffix}", model=small_model, progress=False)
    parquet = pd.read_parquet(tmp_path / "out.parquet")
    assert parquet["confidence"].isna().tolist() == [False, True, False]
    assert parquet["error"].iloc[1].startswith("row has 3 fields")
    assert len(pd.read_excel(tmp_path / "out.xlsx", engine="calamine")) == 3


def test_jsonl_rows_that_do_not_decode_or_parse_are_errors(small_model, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes('{"id": 1, "text": "派出所补办身份证"}\n[1, 2]\n'.encode() + b'{"id": 3, "text": "\xff"}\n')
    tag_file(path, tmp_path / "out.csv", model=small_model, progress=False)
    out = pd.read_csv(tmp_path / "out.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(out["department"]) == ["public_security", "", ""]
    assert "not a JSON object" in out["error"][1] and "not valid in utf-8" in out["error"][2]


def test_a_cell_that_swallowed_rows_is_reported(small_model, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(
        'id,标题,内容\n1,物业,"小区停车乱收费\n2,派出所,补办身份证\n3,学校,补课"\n4,交通,公交\n', encoding="utf-8"
    )
    summary = tag_file(path, tmp_path / "out.csv", model=small_model, progress=False)
    assert summary.rows_out == 2 and summary.suspect_rows == [1]


def test_tag_command(saved_model_dir, tmp_path):
    write_export(tmp_path / "in.csv", n=20)
    result = CliRunner().invoke(
        cli,
        [
            "tag",
            str(tmp_path / "in.csv"),
            "-o",
            str(tmp_path / "out.parquet"),
            "--encoding",
            "auto",
            "--model",
            str(saved_model_dir),
            "--stop-after",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "rows in 5, rows out 5" in result.output
    assert len(pd.read_parquet(tmp_path / "out.parquet")) == 5


def test_tag_command_decode_error_is_one_line(saved_model_dir, tmp_path):
    write_export(tmp_path / "in.csv", n=3)
    result = CliRunner().invoke(
        cli,
        [
            "tag",
            str(tmp_path / "in.csv"),
            "-o",
            str(tmp_path / "out.csv"),
            "--encoding",
            "utf-8-sig",
            "--model",
            str(saved_model_dir),
        ],
    )
    assert result.exit_code == 1
    assert "header row is not valid utf-8-sig; try --encoding gb18030" in result.output


cell_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.tuples(cell_text, cell_text), max_size=25), junk=st.sets(st.integers(0, 24)))
def test_fuzzed_csv_every_row_out_exactly_once(small_model, tmp_path, cells, junk):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "subject", "body"])
    for i, (subject, body) in enumerate(cells):
        writer.writerow([str(i), subject, "JUNK" + body if i in junk else body])
    data = buffer.getvalue().encode("utf-8").replace(b"JUNK", b"\xff\xfe")
    (tmp_path / "fuzz.csv").write_bytes(data)
    tag_file(
        tmp_path / "fuzz.csv",
        tmp_path / "fuzz_out.csv",
        model=small_model,
        overwrite=True,
        text_columns=["subject", "body"],
        chunk_size=4,
        progress=False,
    )
    with open(tmp_path / "fuzz_out.csv", encoding="utf-8-sig", newline="") as handle:
        out = list(csv.DictReader(handle))
    assert [row["id"] for row in out] == [str(i) for i in range(len(cells))]
    for i, row in enumerate(out):
        if i in junk:
            assert "not valid" in row["error"]
        else:
            assert row["error"] == "" and (row["department"] != "" or row["review_reason"] != "")


def test_tag_dataframe_reads_the_columns_named_or_found_with_the_model_given(small_model):
    """Text columns named are the only ones read; none named: they are found as in a file. The tags are the given
    model's, and a row with an ``errors`` entry is not tagged: its error says why."""
    frame = pd.DataFrame({"编号": ["1", "2"], "标题": ["派出所补办身份证要排好几天队", ""], "内容": ["", TEXTS[0]]})
    found = tag_dataframe(frame, model=small_model)
    named = tag_dataframe(frame, ["内容"], model=small_model)
    assert found["department"].iloc[0] != "" and named["department"].iloc[0] == ""  # row 1's text is its title
    expected = small_model.classify(["派出所补办身份证要排好几天队", TEXTS[0]])
    assert found["department"].tolist() == [c.department for c in expected]
    assert found["confidence"].tolist() == pytest.approx([c.confidence for c in expected], abs=1e-4)  # as written
    unread = tag_dataframe(frame, model=small_model, errors=["row 1 has 4 fields", ""])
    assert unread["error"].tolist() == ["row 1 has 4 fields", ""] and unread["department"].iloc[0] == ""
    assert unread.iloc[1].tolist() == found.iloc[1].tolist()
    with pytest.raises(DataError, match=r"no column '正文'.*; the frame has: 编号, 标题, 内容"):
        tag_dataframe(frame, ["正文"], model=small_model)


@pytest.mark.parametrize("taken", ["department", "urgency", "group_size"])
def test_tag_dataframe_keeps_input_columns_named_like_tag_columns(small_model, tmp_path, taken):
    """An input column named like any column triage adds (a tag, a routing or a grouping column) is kept as read,
    and every tag is then named triage_*, as tag_file names them (tag_dataframe prefixed only the clashing one)."""
    frame = pd.DataFrame({taken: ["物业科"], "内容": [TEXTS[0]]})
    tagged = tag_dataframe(frame, ["内容"], model=small_model)
    assert tagged[taken].tolist() == ["物业科"] and tagged["triage_department"].tolist() != ["物业科"]
    assert list(tagged.columns) == [taken, "内容", *(f"triage_{name}" for name in OUTPUT_COLUMNS)]
    frame.to_csv(tmp_path / "in.csv", index=False)
    tag_file(tmp_path / "in.csv", tmp_path / "out.csv", model=small_model, text_columns=["内容"], progress=False)
    assert pd.read_csv(tmp_path / "out.csv", nrows=0).columns.tolist() == list(tagged.columns)


def test_dask_gives_the_same_tags_as_the_local_tagger(dask_client, saved_model_dir, small_model, tmp_path):
    import dask.dataframe as dd

    import triage.dask

    write_export(tmp_path / "in.csv", n=90, encoding="utf-8")
    frame = pd.read_csv(tmp_path / "in.csv", dtype=str, keep_default_na=False)
    ddf = dd.from_pandas(frame, npartitions=3)
    tagged = triage.dask.tag(ddf, ["标题", "内容"], model_path=saved_model_dir)
    assert list(tagged.columns) == [*frame.columns, *OUTPUT_COLUMNS]
    remote = tagged.compute()
    local = tag_dataframe(frame, ["标题", "内容"], model=small_model)
    pd.testing.assert_frame_equal(remote.reset_index(drop=True), local.reset_index(drop=True), check_dtype=False)


def test_dask_keeps_every_row_of_a_hostile_csv_as_the_local_tagger_does(
    dask_client, saved_model_dir, small_model, tmp_path
):
    """Dask reads text files with triage's own reader: a row with one field too many, a quote left open and the
    lines after it come out as the local tagger writes them (pandas' parser failed the whole job on either)."""
    import triage.dask

    lines = [f"{i},标题,小区物业乱收停车费{i}" for i in range(40)]
    lines[7] = "7,标题,学校乱收费,补课费"
    lines[30] = '30,标题,"学校乱收费'
    (tmp_path / "in.csv").write_text("id,标题,内容\n" + "\n".join(lines) + "\n", "utf-8")
    tag_file(tmp_path / "in.csv", tmp_path / "local.csv", model=small_model, progress=False)
    local = pd.read_csv(tmp_path / "local.csv", dtype=str, keep_default_na=False)
    triage.dask.tag_dataset(
        tmp_path / "in.csv", tmp_path / "out", scheduler=dask_client.scheduler.address, model_path=saved_model_dir
    )
    remote = pd.read_parquet(tmp_path / "out")
    columns = ["id", "标题", "内容", "department", "error"]
    assert remote[columns].astype(str).values.tolist() == local[columns].values.tolist()
    assert remote["error"].ne("").sum() == 2 and remote["confidence"].isna().sum() == 2


def test_a_dask_run_that_fails_while_writing_leaves_no_partial_dataset(dask_client, tmp_path):
    """Workers fail as they tag (here: no model where the path says), after others may have written parts:
    the output folder is removed, since its parts would read as a whole dataset."""
    from triage.dask import tag_dataset

    write_export(tmp_path / "in.csv", n=30, encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="no model directory at"):  # ModelNotFoundError, from a worker
        tag_dataset(
            tmp_path / "in.csv",
            tmp_path / "out",
            scheduler=dask_client.scheduler.address,
            model_path=tmp_path / "no_model_here",
        )
    assert not (tmp_path / "out").exists()


def test_tag_command_with_dask_engine(dask_client, saved_model_dir, tmp_path):
    write_export(tmp_path / "in.csv", n=30, encoding="utf-8")
    pd.read_csv(tmp_path / "in.csv", dtype=str).to_parquet(tmp_path / "in.parquet")
    address = dask_client.scheduler.address
    result = CliRunner().invoke(
        cli,
        [
            "tag",
            "--engine",
            "dask",
            "--scheduler",
            address,
            str(tmp_path / "in.parquet"),
            "-o",
            str(tmp_path / "out"),
            "--model",
            str(saved_model_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    out = pd.read_parquet(tmp_path / "out")
    assert len(out) == 30 and out["department"].iloc[0] == "property_management"


def test_tag_with_a_routing_config_adds_urgency_and_office(saved_model_dir, tmp_path):
    from triage.routing import example_config_path

    path = tmp_path / "in.csv"
    pd.DataFrame({"内容": ["桂园小区物业乱收停车费", "建设路饭店有很大的煤气味"]}).to_csv(path, index=False)
    result = CliRunner().invoke(
        cli,
        [
            "tag",
            str(path),
            "-o",
            str(tmp_path / "out.csv"),
            "--config",
            str(example_config_path()),
            "--model",
            str(saved_model_dir),
            "--jobs",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    out = pd.read_csv(tmp_path / "out.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(out.columns)[-4:] == ["urgency", "local_office", "co_handlers", "error"]
    assert list(out["urgency"]) == ["normal", "emergency"]
    assert out["local_office"][0] == "桂园小区物业服务中心" and out["department"][1] == "emergency_management"


def test_resume_refuses_a_partial_written_with_other_columns(small_model, tmp_path, monkeypatch):
    """A partial output from a version that added other columns is not continued (rows would not line up)."""
    from triage.batch import tagging

    write_export(tmp_path / "in.csv", n=6)
    real_chunk, calls = tagging._tag_chunk, []

    def crash_on_second_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_chunk(*args, **kwargs)

    monkeypatch.setattr(tagging, "_tag_chunk", crash_on_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        tag_file(
            tmp_path / "in.csv", tmp_path / "out.csv", model=small_model, encoding="auto", chunk_size=2, progress=False
        )
    monkeypatch.setattr(tagging, "_tag_chunk", real_chunk)
    checkpoint = tmp_path / "out.csv.partial.json"
    state = json.loads(checkpoint.read_text())
    del state["added_columns"]  # as a checkpoint written before the sub_category column existed
    checkpoint.write_text(json.dumps(state))
    with pytest.raises(DataError, match="belongs to another input, model or options"):
        tag_file(
            tmp_path / "in.csv", tmp_path / "out.csv", model=small_model, encoding="auto", resume=True, progress=False
        )


@pytest.mark.skipif(sys.platform != "linux", reason="workers are forked (and objects frozen) only on Linux")
def test_parallel_tagging_leaves_the_callers_collector_as_it_was(saved_model_dir, tmp_path):
    write_export(tmp_path / "in.csv", n=40)
    before = gc.get_freeze_count()
    tag_file(tmp_path / "in.csv", tmp_path / "out.csv", model_path=saved_model_dir, n_jobs=2, progress=False)
    assert gc.get_freeze_count() == before


@pytest.mark.skipif(sys.platform != "linux", reason="workers are forked (and objects frozen) only on Linux")
def test_workers_are_forked_frozen_and_the_parent_thawed(small_model):
    with _worker_pool(2, small_model, None) as pool:
        assert gc.get_freeze_count() == 0
        assert pool.submit(gc.get_freeze_count).result() > 0  # the copy-on-write benefit is kept


@pytest.mark.skipif(sys.platform != "linux", reason="workers are forked (and objects frozen) only on Linux")
def test_a_caller_who_froze_objects_keeps_them_frozen(saved_model_dir, tmp_path):
    write_export(tmp_path / "in.csv", n=40)
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        tag_file(tmp_path / "in.csv", tmp_path / "out.csv", model_path=saved_model_dir, n_jobs=2, progress=False)
        # still frozen (thawing would make it 0); frozen objects that other threads free meanwhile drop out
        assert gc.get_freeze_count() > 0.9 * before
    finally:
        gc.unfreeze()


def test_tag_command_with_dask_engine_routes_with_a_config(dask_client, saved_model_dir, tmp_path):
    from triage.routing import example_config_path

    texts = ["桂园小区物业乱收停车费", "建设路饭店有很大的煤气味", "楼下工地夜里施工太吵"]
    pd.DataFrame({"内容": texts}).to_parquet(tmp_path / "in.parquet")
    args = ["tag", "--engine", "dask", "--scheduler", dask_client.scheduler.address, str(tmp_path / "in.parquet")]
    args += ["-o", str(tmp_path / "out"), "--model", str(saved_model_dir), "--config", str(example_config_path())]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    out = pd.read_parquet(tmp_path / "out")
    assert len(out) == 3 and {"urgency", "local_office", "co_handlers"} <= set(out.columns)
    assert out["urgency"].iloc[1] == "emergency"  # a gas smell is a life-safety rule in the example config
