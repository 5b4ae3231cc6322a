"""Interrupted runs: what the checkpoint beside ``OUTPUT.partial`` records, how ``resume`` continues
from it to the bytes and summary of an uninterrupted run, and how a checkpoint of another input,
model or options, or a damaged one, is refused. The interruption is a model that fails in the middle
of a run, so everything happens in this process through tag_file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import triage
from triage.batch import GROUP_COLUMNS, OUTPUT_COLUMNS, Summary, output_columns, tag_file
from triage.batch.checkpoints import _JOB_PARTS, _fingerprint, _header_record
from triage.io import DataError
from triage.routing import example_config_path

PROPERTY = "小区物业乱收停车费，垃圾也没人清理"
POLICE = "派出所补办身份证要排好几天队"
SCHOOL = "学校食堂饭菜太差，孩子吃不饱"
# Eight data rows: 3 and 6 are unreadable (one field), 5 holds a line that looks like a row of its own.
ROWS = (
    f"1,物业,{PROPERTY}",
    f"2,派出所,{POLICE}",
    "3",
    f"4,学校,{SCHOOL}",
    f'5,物业,"{PROPERTY}\n9,派出所,{POLICE}"',
    "6",
    f"7,学校,{SCHOOL}",
    f"8,物业,{PROPERTY}",
)


class FailsAfter:
    """A model that fails when asked to tag more than ``chunks`` chunks (a crash in the middle of a run)."""

    def __init__(self, model: Any, chunks: int) -> None:
        self._model, self._chunks = model, chunks

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def _count(self, texts: Any) -> None:
        if isinstance(texts, list):  # a chunk (a single text is the parallel run's warm-up)
            self._chunks -= 1
            if self._chunks < 0:
                raise RuntimeError("interrupted")

    def classify(self, texts: Any, **options: Any) -> Any:
        self._count(texts)
        return self._model.classify(texts, **options)

    def _classification_columns(self, texts: Any, **options: Any) -> Any:
        """What the batch tagger asks for when no routing config is given."""
        self._count(texts)
        return self._model._classification_columns(texts, **options)

    def _route(self, texts: Any, *arguments: Any) -> Any:
        """What the batch tagger asks for with a routing config."""
        self._count(texts)
        return self._model._route(texts, *arguments)


def write_export(path: Path, encoding: str = "utf-8") -> Path:
    path.write_text("id,标题,内容\n" + "".join(row + "\n" for row in ROWS), encoding=encoding)
    return path


def header_record(names: list[str]) -> dict[str, Any]:
    """What a checkpoint keeps of the input's header: its count and the SHA-256 of its names as JSON, not the
    names (4,000 JSONL keys of 1,000 characters were 11 MB written with every part)."""
    digest = hashlib.sha256(json.dumps(names, ensure_ascii=False).encode("utf-8")).hexdigest()
    return {"count": len(names), "sha256": digest}


def tag(src: Path, dst: Path, model: Any, **options: Any) -> Summary:
    return tag_file(src, dst, model=model, chunk_size=2, progress=False, **options)


def interrupt(src: Path, dst: Path, model: Any, chunks: int = 2, **options: Any) -> dict[str, Any]:
    """Run until the model fails after ``chunks`` chunks; the checkpoint left behind."""
    with pytest.raises(RuntimeError, match="interrupted"):
        tag(src, dst, FailsAfter(model, chunks), **options)
    assert not dst.exists()
    return json.loads(Path(f"{dst}.partial.json").read_text(encoding="utf-8"))


def counted(summary: Summary) -> dict[str, Any]:
    """What a summary says of the rows (not of the time taken, nor of resuming)."""
    skip = {"elapsed_seconds", "rows_per_second", "resumed_after_rows", "output"}
    return {k: v for k, v in summary.as_dict().items() if k not in skip}


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
@pytest.mark.parametrize("chunks", [1, 2, 3])
def test_a_resumed_run_writes_and_counts_what_an_uninterrupted_one_does(small_model, tmp_path, suffix, chunks):
    src = write_export(tmp_path / "in.csv")
    whole = tag(src, tmp_path / f"whole{suffix}", small_model)
    assert whole.errors == 2 and whole.suspect_rows == [5] and whole.first_error.startswith("row 3: ")
    dst = tmp_path / f"out{suffix}"
    state = interrupt(src, dst, small_model, chunks)
    with Path(f"{dst}.partial").open("ab") as partial:
        partial.write(b"half a part written when the run died")
    summary = tag(src, dst, small_model, resume=True)
    assert dst.read_bytes() == (tmp_path / f"whole{suffix}").read_bytes()
    assert counted(summary) == counted(whole) and summary.resumed_after_rows == state["rows_done"] == 2 * chunks
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.csv", f"whole{suffix}", f"out{suffix}"])


@pytest.mark.parametrize("chunks", [1, 2, 3])
def test_a_run_interrupted_around_a_quote_left_open_resumes_to_the_whole_output(small_model, tmp_path, chunks):
    """Row 6 opens a quote that never closes: its record is read again from its second line, so the offset a
    checkpoint keeps goes back past lines already read once; a resumed run still writes the uninterrupted one."""
    src = tmp_path / "in.csv"
    rows = [*ROWS[:5], f'6,学校,"{SCHOOL}', *ROWS[6:]]
    src.write_text("id,标题,内容\n" + "".join(row + "\n" for row in rows), encoding="utf-8")
    whole = tag(src, tmp_path / "whole.csv", small_model)
    assert whole.rows_out == 8 and whole.first_error.startswith("row 3: ") and whole.errors == 2
    dst = tmp_path / "out.csv"
    state = interrupt(src, dst, small_model, chunks)
    summary = tag(src, dst, small_model, resume=True)
    assert dst.read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert counted(summary) == counted(whole) and state["rows_done"] == 2 * chunks


def test_a_resumed_run_keeps_a_first_error_whose_reason_holds_colons(small_model, tmp_path):
    """The checkpoint saves the first error as ``row N: reason``; read back, the row number ends at the
    first ": " (a JSON parser's reason has more of them)."""
    lines = [json.dumps({"id": 1, "内容": PROPERTY}, ensure_ascii=False), "{not json"]
    lines += [json.dumps({"id": i, "内容": POLICE}, ensure_ascii=False) for i in range(3, 7)]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    whole = tag(src, tmp_path / "whole.csv", small_model)
    assert whole.first_error.startswith("row 2: line is not JSON (Expecting property name") and whole.errors == 1
    state = interrupt(src, tmp_path / "out.csv", small_model, chunks=1)
    assert state["counts"]["first_error"] == whole.first_error
    summary = tag(src, tmp_path / "out.csv", small_model, resume=True)
    assert summary.first_error == whole.first_error and summary.resumed_after_rows == 2


def test_the_checkpoint_records_the_rows_written_their_counts_and_the_job(small_model, tmp_path):
    src = write_export(tmp_path / "in.csv", encoding="gb18030")
    dst = tmp_path / "out.csv"
    state = interrupt(src, dst, small_model, encoding="gb18030")
    partial = Path(f"{dst}.partial")
    assert (state["rows_done"], state["bytes_done"], state["input_offset"]) == (4, partial.stat().st_size, None)
    tagged = small_model.classify([PROPERTY, POLICE, SCHOOL])
    assert state["counts"] == {
        "departments": {r.department: 1 for r in tagged} | {"(none)": 1},  # the unreadable row 3 has none
        "needs_review": sum(r.needs_review for r in tagged),
        "errors": 1,
        "suspect_rows": [],
        "first_error": state["counts"]["first_error"],
    }
    assert state["counts"]["first_error"].startswith("row 3: row has 1 fields, the header has 3")
    data = src.read_bytes()
    assert state["input"] == {
        "size": len(data),
        "mtime_ns": src.stat().st_mtime_ns,
        "head_sha256": hashlib.sha256(data).hexdigest(),
    }
    job = {k: v for k, v in state.items() if k not in ("rows_done", "bytes_done", "input_offset", "counts", "input")}
    assert job == {
        "encoding": "gb18030",
        "model": "unsaved",
        "columns": header_record(["id", "标题", "内容"]),
        "text_columns": ["标题", "内容"],
        "output_format": "csv",
        "spreadsheet_safe": True,
        "routing": None,
        "group": None,
        "added_columns": list(OUTPUT_COLUMNS),
        "template": None,  # a few rows teach none
    }
    assert set(_JOB_PARTS) == {*job, "input"}  # a refusal to resume has words for each part that changed


def test_the_checkpoint_names_a_model_saved_without_its_estimator_by_its_scorer(small_model, tmp_path):
    saved = triage.load(small_model.save(tmp_path / "model"))
    state = interrupt(write_export(tmp_path / "in.csv"), tmp_path / "out.csv", saved)
    assert "model.skops" not in saved.manifest["files"] and state["model"] == saved.manifest["files"]["scorer.npz"]


def test_the_checkpoint_names_the_model_routing_and_grouping(saved_model_dir, tmp_path):
    model = triage.load(saved_model_dir)
    state = interrupt(
        write_export(tmp_path / "in.csv"),
        tmp_path / "out.jsonl",
        model,
        config=example_config_path(),
        group=True,
        group_threshold=0.5,
        spreadsheet_safe=False,
    )
    assert state["model"] == model.manifest["files"]["model.skops"]
    assert state["routing"] == str(example_config_path()) and state["group"] == 0.5
    assert state["spreadsheet_safe"] is False and state["output_format"] == "jsonl"
    assert state["added_columns"] == [*output_columns(True), *GROUP_COLUMNS]


@pytest.mark.parametrize(
    ("change", "changed"),
    [
        ({"text_columns": ["内容"]}, "the text columns"),
        ({"spreadsheet_safe": False}, "spreadsheet-safe cells (--raw-cells)"),
        ({"config": example_config_path()}, "the routing config, the columns added"),
        ({"group": True}, "grouping or its threshold, the columns added"),
        ({"encoding": "utf-8-sig"}, "the encoding"),
        ({"output_format": "tsv"}, "the output format"),
        ({"model": "saved"}, "the model"),
        ({"input": "one more row"}, "the input file"),
    ],
    ids=["text_columns", "spreadsheet_safe", "config", "group", "encoding", "output_format", "model", "input"],
)
def test_a_checkpoint_of_another_job_is_refused_saying_what_changed(
    small_model, saved_model_dir, tmp_path, change, changed
):
    src = write_export(tmp_path / "in.csv")
    interrupt(src, tmp_path / "out.csv", small_model, encoding="utf-8")
    options: dict[str, Any] = {"encoding": "utf-8", **change}
    model = triage.load(saved_model_dir) if options.pop("model", None) else small_model  # small_model is unsaved
    if options.pop("input", None):
        with src.open("a", encoding="utf-8") as handle:
            handle.write(f"9,学校,{SCHOOL}\n")
    with pytest.raises(DataError) as refused:
        tag(src, tmp_path / "out.csv", model, resume=True, **options)
    checkpoint = tmp_path / "out.csv.partial.json"
    assert str(refused.value) == (
        f"{checkpoint} belongs to another input, model or options (changed: {changed}); use --overwrite to start over"
    )


def test_a_checkpoint_of_grouping_with_another_threshold_is_refused(small_model, tmp_path):
    src = write_export(tmp_path / "in.csv")
    interrupt(src, tmp_path / "out.csv", small_model, group=True)
    tag(src, tmp_path / "same.csv", small_model, group=True, group_threshold=0.3)  # the default, said
    with pytest.raises(DataError, match="belongs to another input"):
        tag(src, tmp_path / "out.csv", small_model, resume=True, group=True, group_threshold=0.5)
    summary = tag(src, tmp_path / "out.csv", small_model, resume=True, group=True, n_jobs=1, group_threshold=0.3)
    assert summary.resumed_after_rows == 4
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "same.csv").read_bytes()


@pytest.mark.parametrize(
    "damage",
    [
        b"[]",
        b'{"rows_done": 2, "bytes_done": 0}',
        b"\xff\xfe{",
        b'{"rows_done": 2, "bytes_done": 0, "counts": 1}',
        b'{"rows_done": 2, "bytes_done": "many", "counts": {}}',
        b'{"rows_done": -1, "bytes_done": 0, "counts": {}}',
        b'{"rows_done": 2, "bytes_done": 1.5, "counts": {}}',
    ],
)
def test_a_damaged_checkpoint_is_refused_with_what_to_delete(small_model, tmp_path, damage):
    src = write_export(tmp_path / "in.csv")
    interrupt(src, tmp_path / "out.csv", small_model)
    (tmp_path / "out.csv.partial.json").write_bytes(damage)
    if damage.endswith(b'"counts": 1}'):  # read, but its counts are not counts: it cannot be the same job
        with pytest.raises(DataError, match="belongs to another input"):
            tag(src, tmp_path / "out.csv", small_model, resume=True)
        return
    checkpoint, partial = tmp_path / "out.csv.partial.json", tmp_path / "out.csv.partial"
    with pytest.raises(DataError) as raised:
        tag(src, tmp_path / "out.csv", small_model, resume=True)
    assert str(raised.value) == f"{checkpoint} is damaged; delete it and {partial} to start over"


def test_an_interrupted_run_is_named_until_resumed_or_overwritten(small_model, tmp_path):
    src = write_export(tmp_path / "in.csv")
    whole = tag(src, tmp_path / "whole.csv", small_model)
    interrupt(src, tmp_path / "out.csv", small_model)
    with pytest.raises(DataError) as raised:
        tag(src, tmp_path / "out.csv", small_model)
    partial = tmp_path / "out.csv.partial"
    assert (
        str(raised.value)
        == f"an interrupted run left {partial}; pass --resume to continue it or --overwrite to start over"
    )
    summary = tag(src, tmp_path / "out.csv", small_model, overwrite=True)
    assert summary.resumed_after_rows == 0 and counted(summary) == counted(whole)
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_partial_output_cut_short_since_the_run_stopped_is_not_resumed(small_model, tmp_path, suffix):
    """Resuming cut the partial file to the size its checkpoint recorded: a shorter file grew NUL bytes where
    the lost rows were, and the run reported success."""
    src = write_export(tmp_path / "in.csv")
    interrupt(src, out := tmp_path / f"out{suffix}", small_model)
    partial = tmp_path / f"out{suffix}.partial"
    partial.write_bytes(partial.read_bytes()[:-10])
    with pytest.raises(DataError, match=rf"{partial.name} holds .* bytes, fewer than the .* its checkpoint recorded"):
        tag(src, out, small_model, resume=True)
    assert not out.exists()


@pytest.mark.parametrize("left", ["partial", "checkpoint"])
def test_half_of_an_interrupted_run_is_not_resumed(small_model, tmp_path, left):
    """A partial output without its checkpoint (or the other way round) says nothing safe: start afresh."""
    src = write_export(tmp_path / "in.csv")
    whole = tag(src, tmp_path / "whole.csv", small_model)
    interrupt(src, tmp_path / "out.csv", small_model)
    (tmp_path / ("out.csv.partial.json" if left == "partial" else "out.csv.partial")).unlink()
    summary = tag(src, tmp_path / "out.csv", small_model, resume=True)
    assert summary.resumed_after_rows == 0 and counted(summary) == counted(whole)
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_a_checkpoint_holds_no_column_name_however_long_the_header(small_model, tmp_path):
    """A checkpoint is written after every part: it kept every column name, so 4,000 JSONL keys of 1,000
    characters were 11 MB written per part; it keeps their count and digest, and still resumes."""
    keys = [f"问卷第{i}题" + "您对本社区的路灯照明是否满意" * 70 for i in range(8)]  # a key of 985 characters a row
    lines = [{"id": i, "内容": (PROPERTY, POLICE, SCHOOL)[i % 3], key: "是"} for i, key in enumerate(keys)]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    whole = tag(src, tmp_path / "whole.csv", small_model)
    state = interrupt(src, tmp_path / "out.csv", small_model)
    checkpoint = (tmp_path / "out.csv.partial.json").read_text(encoding="utf-8")
    assert len(checkpoint) < 2_000 and "问卷" not in checkpoint
    assert state["columns"] == header_record(["id", "内容", *keys])
    summary = tag(src, tmp_path / "out.csv", small_model, resume=True)
    assert summary.resumed_after_rows == 4 and counted(summary) == counted(whole)
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_a_checkpoint_of_another_header_is_refused(small_model, tmp_path):
    """The header is compared by its record (the input's fingerprint covers the first MiB only)."""
    src = write_export(tmp_path / "in.csv")
    interrupt(src, tmp_path / "out.csv", small_model)
    checkpoint = tmp_path / "out.csv.partial.json"
    state = json.loads(checkpoint.read_text(encoding="utf-8"))
    checkpoint.write_text(json.dumps(state | {"columns": header_record(["id", "标题", "正文"])}), encoding="utf-8")
    with pytest.raises(
        DataError, match=r"out\.csv\.partial\.json belongs to .* \(changed: the input's columns\); use "
    ):
        tag(src, tmp_path / "out.csv", small_model, resume=True)


@given(st.lists(st.text(max_size=3), max_size=4), st.lists(st.text(max_size=3), max_size=4))
def test_the_header_record_tells_headers_apart(names, others):
    """Two headers of the same characters cut otherwise (``["ab", ""]``, ``["a", "b"]``) are other headers."""
    assert (_header_record(names) == _header_record(others)) == (names == others)


@pytest.mark.parametrize("names", [["id", "标题", "内容"], ["id", "标题", "正文"]])
def test_a_checkpoint_listing_the_column_names_is_read_as_before(small_model, tmp_path, names):
    """Checkpoints written before the header's digest list its names: the same names resume, others are
    refused, as that version did."""
    src = write_export(tmp_path / "in.csv")
    whole = tag(src, tmp_path / "whole.csv", small_model)
    interrupt(src, tmp_path / "out.csv", small_model)
    checkpoint = tmp_path / "out.csv.partial.json"
    state = json.loads(checkpoint.read_text(encoding="utf-8"))
    checkpoint.write_text(json.dumps(state | {"columns": names}, ensure_ascii=False), encoding="utf-8")
    if names[-1] != "内容":
        with pytest.raises(DataError, match=r"\(changed: the input's columns\); use --overwrite"):
            tag(src, tmp_path / "out.csv", small_model, resume=True)
        return
    summary = tag(src, tmp_path / "out.csv", small_model, resume=True)
    assert summary.resumed_after_rows == 4 and counted(summary) == counted(whole)
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_an_input_is_known_by_its_first_mebibyte_only(tmp_path):
    """A checkpoint is written after every part: hashing a multi-gigabyte input whole each time would cost
    more than the part. Size and modification time tell the rest apart."""
    head = bytes(range(256)) * 4096  # 1 MiB
    path = tmp_path / "in.csv"
    path.write_bytes(head + b"and the rest")
    assert _fingerprint(path)["head_sha256"] == hashlib.sha256(head).hexdigest()
