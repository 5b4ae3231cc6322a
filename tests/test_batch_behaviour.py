"""What the batch tagger writes, cell by cell, that mutation testing found unchecked: the added
columns and their values in every output format, name clashes, the summary, routing and grouping
columns, and the whole-file errors. Through tag_file / tag_dataframe and the files they write."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from triage.batch import (
    GROUP_COLUMNS,
    OUTPUT_COLUMNS,
    ROUTING_COLUMNS,
    Summary,
    TagOptions,
    output_columns,
    tag_dataframe,
    tag_file,
    writers,
)
from triage.exceptions import DuplicateColumnWarning, MissingDependencyError
from triage.io import DataError, join_text
from triage.routing import example_config_path

PROPERTY = "小区物业乱收停车费，垃圾也没人清理"
POLICE = "派出所补办身份证要排好几天队"
SCHOOL = "学校食堂饭菜太差，孩子吃不饱"


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def export(tmp_path: Path, *texts: str, name: str = "in.csv") -> Path:
    return write_csv(tmp_path / name, [{"编号": str(i), "内容": text} for i, text in enumerate(texts, 1)])


def tag(src: Path, dst: Path, model, **options) -> Summary:
    return tag_file(src, dst, model=model, text_columns=["内容"], progress=False, **options)


def write_lines(path: Path, *lines: str, encoding: str = "utf-8") -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding=encoding)
    return path


def test_output_columns_put_routing_before_error():
    assert output_columns(False) == OUTPUT_COLUMNS
    assert output_columns(True) == (*OUTPUT_COLUMNS[:-1], *ROUTING_COLUMNS, "error")
    assert OUTPUT_COLUMNS[-1] == "error" and GROUP_COLUMNS == ("group_id", "group_size")


# ---------------------------------------------------------------- cell values, CSV


def test_each_added_cell_of_a_csv_row(small_model, tmp_path):
    tag(export(tmp_path, PROPERTY, "", "今天天气不错"), tmp_path / "out.csv", small_model)
    rows = read_csv(tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # Excel opens it as UTF-8
    expected = small_model.classify(PROPERTY)
    first = rows[0]
    assert list(first) == ["编号", "内容", *OUTPUT_COLUMNS]
    assert first["department"] == "property_management" and first["department_name"] == "物业"
    assert first["confidence"] == str(round(expected.confidence, 4))
    assert json.loads(first["candidates"]) == [[code, round(p, 4)] for code, p in expected.candidates]
    assert first["needs_review"] == str(expected.needs_review) and first["error"] == "" and first["sub_category"] == ""
    blank = rows[1]
    assert (blank["department"], blank["confidence"], blank["candidates"]) == ("", "0.0", "[]")
    assert (blank["needs_review"], blank["review_reason"]) == ("True", "empty_text")
    unsure = small_model.classify("今天天气不错")
    assert rows[2]["review_reason"] == (unsure.reason.value if unsure.reason else "")


def test_text_that_looks_like_a_formula_is_kept_as_text_unless_asked(small_model, tmp_path):
    src = write_csv(tmp_path / "in.csv", [{"=编号": "=1+1", "内容": PROPERTY}])
    tag(src, tmp_path / "safe.csv", small_model)
    assert read_csv(tmp_path / "safe.csv")[0]["'=编号"] == "'=1+1"
    tag(src, tmp_path / "raw.csv", small_model, spreadsheet_safe=False)
    assert read_csv(tmp_path / "raw.csv")[0]["=编号"] == "=1+1"


def test_tsv_output_is_tab_separated(small_model, tmp_path):
    tag(export(tmp_path, POLICE), tmp_path / "out.tsv", small_model)
    assert read_csv(tmp_path / "out.tsv", delimiter="\t")[0]["department"] == "public_security"


def test_input_columns_named_like_added_ones_keep_theirs(small_model, tmp_path):
    src = write_csv(tmp_path / "in.csv", [{"department": "原来的", "内容": SCHOOL}])
    tag(src, tmp_path / "out.csv", small_model)
    row = read_csv(tmp_path / "out.csv")[0]
    assert row["department"] == "原来的" and row["triage_department"] == "education"
    assert [c for c in row if c.startswith("triage_")] == [f"triage_{c}" for c in OUTPUT_COLUMNS]


# ---------------------------------------------------------------- typed outputs


def test_jsonl_output_has_typed_values_and_candidate_records(small_model, tmp_path):
    tag(export(tmp_path, POLICE, ""), tmp_path / "out.jsonl", small_model)
    first, blank = (json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines())
    expected = small_model.classify(POLICE)
    assert first["candidates"] == [{"department": c, "confidence": round(p, 4)} for c, p in expected.candidates]
    assert first["confidence"] == round(expected.confidence, 4) and first["needs_review"] is expected.needs_review
    assert blank["candidates"] == [] and blank["needs_review"] is True


def test_jsonl_to_jsonl_keeps_the_input_values_typed(small_model, tmp_path):
    src = tmp_path / "in.jsonl"
    lines = [{"id": 7, "tags": ["a"], "score": float("nan"), "内容": POLICE}]
    src.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", "utf-8")
    tag(src, tmp_path / "out.jsonl", small_model)
    row = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert (row["id"], row["tags"], row["score"]) == (7, ["a"], None)
    tag(src, tmp_path / "out.csv", small_model)
    assert read_csv(tmp_path / "out.csv")[0]["id"] == "7"


def test_parquet_output_types_the_added_columns(small_model, tmp_path):
    pyarrow_parquet = pytest.importorskip("pyarrow.parquet")
    tag(export(tmp_path, PROPERTY, ""), tmp_path / "out.parquet", small_model)
    table = pyarrow_parquet.read_table(tmp_path / "out.parquet")
    schema = {field.name: str(field.type) for field in table.schema}
    assert schema["confidence"] == "double" and schema["needs_review"] == "bool" and schema["内容"] == "string"
    assert schema["candidates"].startswith("list<") and "department: string" in schema["candidates"]
    rows = table.to_pylist()
    assert (
        rows[0]["department"] == "property_management"
        and rows[0]["candidates"][0]["department"] == "property_management"
    )
    assert rows[1]["candidates"] == [] and rows[1]["needs_review"] is True


def test_parquet_to_parquet_keeps_the_input_types(small_model, tmp_path):
    src = tmp_path / "in.parquet"
    pd.DataFrame({"id": [3, 4], "内容": [POLICE, SCHOOL]}).to_parquet(src)
    tag(src, tmp_path / "out.parquet", small_model)
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert list(out["id"]) == [3, 4] and str(out["id"].dtype) == "int64"
    assert list(out["department"]) == ["public_security", "education"]


def test_parquet_to_parquet_through_rows_keeps_map_uint64_and_far_date_columns(small_model, tmp_path):
    """With ``group=True`` the input is read as rows and written from Python values, each column built with
    its input's Arrow type: pyarrow cannot tell a map from those values (pairs), nor fit a uint64 above
    2**63 into the int64 it would guess; a date Python cannot hold is written as Arrow read it."""
    pyarrow = pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")
    table = pyarrow.table(
        {
            "weights": pyarrow.array(
                [[("a", 1)], None, [("b", 2), ("c", 3)]], pyarrow.map_(pyarrow.string(), pyarrow.int64())
            ),
            "big": pyarrow.array([2**63 + 5, 7, None], pyarrow.uint64()),
            "day": pyarrow.array([0, 3_000_000, 1], pyarrow.date32()),  # year 10183: Python's date cannot hold it
            "内容": [PROPERTY, POLICE, SCHOOL],
        }
    )
    parquet.write_table(table, src := tmp_path / "in.parquet")
    summary = tag(src, tmp_path / "out.parquet", small_model, group=True)
    out = parquet.read_table(tmp_path / "out.parquet")
    assert summary.errors == 0 and out.column("department").to_pylist()[1] == "public_security"
    assert out.column("day").equals(table.column("day")) and out.column("group_size").to_pylist() == [1, 1, 1]
    assert out.schema.field("weights").type == table.schema.field("weights").type
    assert out.column("weights").to_pylist() == [[("a", 1)], None, [("b", 2), ("c", 3)]]
    assert out.schema.field("big").type == pyarrow.uint64() and out.column("big").to_pylist() == [2**63 + 5, 7, None]


def test_an_empty_input_gives_an_empty_parquet_file_with_its_columns(small_model, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("编号,内容\n", encoding="utf-8")
    summary = tag(src, tmp_path / "out.parquet", small_model)
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert len(out) == 0 and list(out.columns) == ["编号", "内容", *OUTPUT_COLUMNS]
    assert summary.rows_out == 0 and summary.failure() == ""


def test_an_input_longer_than_an_xlsx_sheet_is_refused_not_cut(small_model, tmp_path, monkeypatch):
    """An XLSX sheet holds 1,048,576 rows (Excel does not load rows past them): an input with more rows under
    the header fails, naming the limit and what to write instead, and leaves no file; one that fits is whole."""
    openpyxl = pytest.importorskip("openpyxl")
    monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 4)  # the header and three rows
    summary = tag(export(tmp_path, POLICE, SCHOOL, PROPERTY), tmp_path / "fits.xlsx", small_model, chunk_size=2)
    sheet = openpyxl.load_workbook(tmp_path / "fits.xlsx").active
    assert summary.rows_out == 3 and sheet.max_row == 4
    src = export(tmp_path, POLICE, SCHOOL, PROPERTY, POLICE, name="long.csv")
    with pytest.raises(DataError, match=r"more rows than an XLSX sheet holds \(3 under the header\): write CSV"):
        tag(src, tmp_path / "long.xlsx", small_model, chunk_size=2)
    assert not list(tmp_path.glob("long.xlsx*"))


def test_an_input_wider_than_an_xlsx_sheet_is_refused_before_tagging(small_model, tmp_path, monkeypatch):
    """openpyxl wrote columns past XFD (16,384; a JSONL export with one key per line gives that many), which
    Excel reports as a damaged workbook: refused before any row is tagged, naming what to write instead."""
    monkeypatch.setattr(writers, "XLSX_MAX_COLUMNS", len(OUTPUT_COLUMNS) + 1)
    src = export(tmp_path, POLICE, SCHOOL)  # 编号, 内容 and the added columns: one too many
    with pytest.raises(DataError, match=r"the output has 10 columns, more than an XLSX sheet holds \(9\): write CSV"):
        tag(src, tmp_path / "wide.xlsx", small_model)
    assert not list(tmp_path.glob("wide.xlsx*"))
    assert tag(src, tmp_path / "wide.csv", small_model).rows_out == 2
    monkeypatch.setattr(writers, "XLSX_MAX_COLUMNS", len(OUTPUT_COLUMNS) + 2)  # as many as a sheet holds: written
    assert tag(src, tmp_path / "wide.xlsx", small_model).rows_out == 2


def test_xlsx_cells_are_text_cut_to_the_cell_limit_with_a_note(small_model, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    long = POLICE + "好" * 40_000
    src = write_csv(tmp_path / "in.csv", [{"编号": "=A1", "内容": long}, {"编号": "b\x01", "内容": SCHOOL}])
    tag(src, tmp_path / "out.xlsx", small_model)
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    header, first, second = ([cell.value for cell in row] for row in sheet.iter_rows())
    row = dict(zip(header, first, strict=True))
    assert row["编号"] == "'=A1" and len(row["内容"]) == 32_767
    assert row["error"] == "'内容' cut to 32,767 characters (the XLSX cell limit)"
    assert row["department"] == "public_security"
    assert (
        dict(zip(header, second, strict=True))["编号"] == "b"
        and dict(zip(header, second, strict=True))["error"] is None
    )


def test_xlsx_output_leaves_out_the_characters_xml_cannot_hold(small_model, tmp_path):
    """U+FFFE and U+FFFF (valid in a CSV cell) were written into the sheet's XML: the workbook was saved and the
    run succeeded, but no reader opened it ('not well-formed (invalid token)')."""
    openpyxl = pytest.importorskip("openpyxl")
    src = write_csv(tmp_path / "in.csv", [{"编号": "a\uffffb\ufffe", "内容": POLICE}, {"编号": "c", "内容": SCHOOL}])
    tag(src, tmp_path / "out.xlsx", small_model)
    rows = list(openpyxl.load_workbook(tmp_path / "out.xlsx").active.iter_rows(values_only=True))
    assert [row[0] for row in rows] == ["编号", "ab", "c"] and rows[1][2] == "public_security"


# ---------------------------------------------------------------- the summary


def test_the_summary_counts_departments_reviews_and_errors(small_model, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(f"编号,内容\n1,{POLICE}\n2,{PROPERTY}\n3,{PROPERTY}\n4\n5,\n", encoding="utf-8")
    summary = tag(src, tmp_path / "out.csv", small_model, summary_path=tmp_path / "summary.json")
    assert (summary.rows_in, summary.rows_out, summary.errors) == (5, 5, 1)
    assert summary.departments == {"property_management": 2, "(none)": 2, "public_security": 1}
    assert list(summary.departments) == ["property_management", "(none)", "public_security"]  # most common first
    assert summary.first_error.startswith("row 4: ") and summary.text_columns == ["内容"]
    reviews = sum(row["needs_review"] == "True" for row in read_csv(tmp_path / "out.csv"))
    assert summary.needs_review == reviews >= 1
    assert summary.encoding.startswith("utf-8")
    assert json.loads((tmp_path / "summary.json").read_text(encoding="utf-8")) == summary.as_dict()
    assert summary.rows_per_second > 0 and summary.elapsed_seconds >= 0


@pytest.mark.parametrize(("errors", "rows", "failed"), [(0, 0, False), (1, 10, False), (5, 10, False), (6, 10, True)])
def test_a_run_fails_when_more_than_half_of_its_rows_are_errors(errors, rows, failed):
    summary = Summary(input="in.csv", output="out.csv", rows_out=rows, errors=errors, first_error="row 1: bad")
    assert summary.failure(0.5) == (f"{errors:,} of {rows:,} rows failed; the first: row 1: bad" if failed else "")


def test_stop_after_tags_only_the_first_rows(small_model, tmp_path):
    summary = tag(export(tmp_path, PROPERTY, POLICE, SCHOOL), tmp_path / "out.csv", small_model, stop_after=2)
    assert summary.rows_out == 2 and [r["编号"] for r in read_csv(tmp_path / "out.csv")] == ["1", "2"]


# ---------------------------------------------------------------- routing and grouping columns


def test_routing_adds_urgency_office_and_co_handlers(small_model, tmp_path):
    texts = ["金桂小区楼道里都是煤气味", POLICE]
    tag(export(tmp_path, *texts), tmp_path / "out.csv", small_model, config=example_config_path())
    rows = read_csv(tmp_path / "out.csv")
    assert list(rows[0]) == ["编号", "内容", *output_columns(True)]
    suggestions = small_model.route(texts, config=example_config_path())
    for row, suggestion in zip(rows, suggestions, strict=True):
        assert row["urgency"] == suggestion.urgency.value
        assert row["local_office"] == (suggestion.local_office or "")
        assert row["co_handlers"] == ";".join(suggestion.co_handlers)
        assert row["department"] == (suggestion.department or "")
        assert row["review_reason"] == ";".join(suggestion.review_reasons)
        assert json.loads(row["candidates"]) == [[suggestion.department, round(suggestion.confidence, 4)]]
        assert row["sub_category"] == (suggestion.subcategory or "")
    assert rows[0]["urgency"] == "emergency"


def test_text_columns_are_joined_by_one_line_break_as_join_text_does(small_model, tmp_path):
    """Subject and body make one message, parts joined by a line break and empty parts skipped: the
    routing config's min_chars (6) sees the joined length, so 物业 + 收费 (5 with the break) is too short."""
    parts = [("物业", "收费"), ("", "物业乱收费"), ("物业收费", ""), ("派出所", "办证难")]
    src = write_csv(tmp_path / "in.csv", [{"标题": subject, "内容": body} for subject, body in parts])
    tag_file(
        src,
        tmp_path / "out.csv",
        model=small_model,
        text_columns=["标题", "内容"],
        progress=False,
        config=example_config_path(),
    )
    suggestions = small_model.route([join_text(pair) for pair in parts], config=example_config_path())
    reasons = [row["review_reason"] for row in read_csv(tmp_path / "out.csv")]
    assert reasons == [";".join(suggestion.review_reasons) for suggestion in suggestions]
    assert ["text_too_short" in reason for reason in reasons] == [True, True, True, False]


def test_a_routed_chunk_of_only_unreadable_rows_gets_blank_tags(small_model, tmp_path):
    src = write_lines(tmp_path / "in.csv", "编号,内容", f"1,{POLICE}", "2", f"3,{SCHOOL}")
    summary = tag(src, tmp_path / "out.csv", small_model, chunk_size=1, config=example_config_path())
    rows = read_csv(tmp_path / "out.csv")
    assert [row["department"] for row in rows] == ["public_security", "", "education"]
    unread = rows[1]
    assert unread["error"].startswith("row has 1 fields") and summary.errors == 1
    assert all(unread[name] == "" for name in output_columns(True) if name != "error")


def test_a_parquet_chunk_of_only_unreadable_rows_gets_null_candidates(small_model, tmp_path):
    """Parquet output keeps the candidates as ranked arrays: a chunk with no row to classify has none, and
    each of its rows still gets a null list (rows 1-2 are one chunk, row 3 the next)."""
    parquet = pytest.importorskip("pyarrow.parquet")
    src = write_lines(tmp_path / "in.csv", "编号,内容", "1", "2", f"3,{SCHOOL}")
    summary = tag(src, tmp_path / "out.parquet", small_model, chunk_size=2)
    rows = parquet.read_table(tmp_path / "out.parquet").to_pylist()
    assert [row["candidates"] for row in rows[:2]] == [None, None] and summary.errors == 2
    assert [row["confidence"] for row in rows[:2]] == [None, None]
    assert rows[2]["department"] == "education" and rows[2]["candidates"][0]["department"] == "education"


def test_a_date_python_cannot_hold_is_kept_and_its_row_tagged(small_model, tmp_path):
    """A value pyarrow cannot turn into Python (a date past year 9999, in the second record batch) is
    written as read to Parquet and as Arrow's text of it to CSV; its row is tagged like any other."""
    pyarrow = pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")
    days = [0, 1, 2, 3_000_000, 4]  # year 10183: Python's date cannot hold it
    texts = [PROPERTY, POLICE, SCHOOL, POLICE, PROPERTY]
    table = pyarrow.table({"day": pyarrow.array(days, pyarrow.date32()), "内容": texts})
    parquet.write_table(table, src := tmp_path / "in.parquet")
    summary = tag(src, tmp_path / "out.parquet", small_model, chunk_size=3)
    out = parquet.read_table(tmp_path / "out.parquet")
    assert out.column("day").cast(pyarrow.int32()).to_pylist() == days and summary.errors == 0
    assert out.column("department").to_pylist()[3:] == ["public_security", "property_management"]
    summary = tag(src, tmp_path / "out.csv", small_model, chunk_size=3)
    rows = read_csv(tmp_path / "out.csv")
    assert [row["day"] for row in rows] == ["1970-01-01", "1970-01-02", "1970-01-03", "10183-09-21", "1970-01-05"]
    assert rows[3]["department"] == "public_security" and summary.errors == 0
    tag(src, tmp_path / "out.jsonl", small_model, chunk_size=3)
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["day"] for line in lines][2:4] == ["1970-01-03", "10183-09-21"] and not lines[3]["error"]


def test_group_columns_number_near_duplicates_by_their_first_row(small_model, tmp_path):
    texts = [PROPERTY, POLICE, PROPERTY + "!", SCHOOL, PROPERTY]
    summary = tag(export(tmp_path, *texts), tmp_path / "out.csv", small_model, group=True)
    rows = read_csv(tmp_path / "out.csv")
    assert list(rows[0])[-2:] == list(GROUP_COLUMNS)
    assert [(r["group_id"], r["group_size"]) for r in rows] == [
        ("1", "3"),
        ("2", "1"),
        ("1", "3"),
        ("4", "1"),
        ("1", "3"),
    ]
    assert summary.rows_out == 5


# ---------------------------------------------------------------- whole-file errors


def test_resume_needs_a_resumable_output(small_model, tmp_path):
    with pytest.raises(DataError, match=r"^--resume needs a CSV, TSV or JSONL output, not parquet$"):
        tag(export(tmp_path, POLICE), tmp_path / "out.parquet", small_model, resume=True)


def test_an_existing_output_is_named(small_model, tmp_path):
    (tmp_path / "out.csv").write_text("x", encoding="utf-8")
    with pytest.raises(FileExistsError, match=r"out.csv already exists; pass --overwrite to replace it$"):
        tag(export(tmp_path, POLICE), tmp_path / "out.csv", small_model)


def test_the_old_jobs_name_still_works_with_a_warning(small_model, tmp_path):
    with pytest.warns(DeprecationWarning, match=r"^tag_file\(jobs=\.\.\.\) is now n_jobs=\.\.\., as in scikit-learn$"):
        summary = tag(export(tmp_path, POLICE), tmp_path / "out.csv", small_model, jobs=1)
    assert summary.rows_out == 1


def test_a_finished_run_leaves_no_partial_or_checkpoint(small_model, tmp_path):
    tag(export(tmp_path, POLICE, SCHOOL), tmp_path / "out.csv", small_model, chunk_size=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


# ---------------------------------------------------------------- tag_dataframe


def test_tag_dataframe_routes_and_keeps_clashing_columns(small_model):
    frame = pd.DataFrame({"urgency": ["高"], "内容": ["金桂小区楼道里都是煤气味"]})
    out = tag_dataframe(frame, ["内容"], model=small_model, config=example_config_path_config())
    assert list(out.columns) == [
        "urgency",
        "内容",
        *[f"triage_{c}" for c in output_columns(True)],  # all prefixed, as tag_file names them
    ]
    assert out["urgency"][0] == "高" and out["triage_urgency"][0] == "emergency"


def example_config_path_config():
    from triage.routing import load_config

    return load_config(example_config_path())


# ---------------------------------------------------------------- grouping pass


def test_the_grouping_pass_reads_the_input_as_the_tagging_pass_does(small_model, tmp_path, capsys):
    """Same format, encoding, sheet and last row: a duplicate after ``stop_after`` is not counted."""
    src = write_lines(
        tmp_path / "in.tsv", "编号\t内容", f"1\t{PROPERTY}", f"2\t{POLICE}", f"3\t{PROPERTY}", encoding="gb18030"
    )
    tag_file(src, tmp_path / "out.csv", model=small_model, text_columns=["内容"], group=True, stop_after=2)
    assert "in.tsv (grouping pass)" in capsys.readouterr().err
    rows = pd.read_csv(tmp_path / "out.csv", encoding="utf-8-sig", dtype=str)
    assert [(r.group_id, r.group_size) for r in rows.itertuples()] == [("1", "1"), ("2", "1")]
    tag(src, tmp_path / "all.csv", small_model, group=True, encoding="gb18030")
    rows = pd.read_csv(tmp_path / "all.csv", encoding="utf-8-sig", dtype=str)
    assert list(rows["group_size"]) == ["2", "1", "2"] and list(rows["内容"])[1] == POLICE


def test_the_grouping_pass_reads_the_sheet_asked_for(small_model, tmp_path):
    src = tmp_path / "in.xlsx"
    with pd.ExcelWriter(src) as writer:
        pd.DataFrame({"内容": [POLICE, SCHOOL]}).to_excel(writer, sheet_name="first", index=False)
        pd.DataFrame({"内容": [PROPERTY, PROPERTY, SCHOOL]}).to_excel(writer, sheet_name="second", index=False)
    tag(src, tmp_path / "out.csv", small_model, group=True, sheet="second")
    rows = pd.read_csv(tmp_path / "out.csv", encoding="utf-8-sig", dtype=str)
    assert list(rows["group_size"]) == ["2", "2", "1"]


def test_unreadable_rows_stand_alone_in_groups(small_model, tmp_path):
    src = write_lines(tmp_path / "in.csv", "编号,内容", f"1,{PROPERTY}", "2", "3", f"4,{PROPERTY}")
    tag(src, tmp_path / "out.csv", small_model, group=True)
    rows = pd.read_csv(tmp_path / "out.csv", encoding="utf-8-sig", dtype=str)
    assert [(r.group_id, r.group_size) for r in rows.itertuples()] == [("1", "2"), ("2", "1"), ("3", "1"), ("1", "2")]


def test_grouping_an_empty_input_writes_only_the_header(small_model, tmp_path):
    src = write_lines(tmp_path / "in.csv", "编号,内容")
    summary = tag(src, tmp_path / "out.parquet", small_model, group=True)
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert summary.rows_out == 0 and list(out.columns) == ["编号", "内容", *OUTPUT_COLUMNS, *GROUP_COLUMNS]


# ---------------------------------------------------------------- workers asked for


def test_one_worker_per_core_present(monkeypatch):
    monkeypatch.setattr(os, "process_cpu_count", lambda: 6, raising=False)
    assert TagOptions(n_jobs=None).workers == TagOptions(n_jobs=-1).workers == 6 and TagOptions(n_jobs=3).workers == 3
    monkeypatch.setattr(os, "process_cpu_count", lambda: None)
    assert TagOptions(n_jobs=None).workers == 1
    monkeypatch.delattr(os, "process_cpu_count")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 2, 5} if pid == 0 else set(), raising=False)
    assert TagOptions(n_jobs=None).workers == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set())
    assert TagOptions(n_jobs=None).workers == 1
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: 5)
    assert TagOptions(n_jobs=None).workers == 5
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert TagOptions(n_jobs=None).workers == 1


# ---------------------------------------------------------------- writers


def test_parquet_row_groups_hold_chunk_size_rows(small_model, tmp_path):
    parquet = pytest.importorskip("pyarrow.parquet")
    src = write_lines(tmp_path / "in.csv", "编号,内容", *(f"{i},{POLICE}" for i in range(10)))
    tag(src, tmp_path / "out.parquet", small_model, chunk_size=4)
    metadata = parquet.ParquetFile(tmp_path / "out.parquet").metadata
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [4, 4, 2]


def test_parquet_output_of_unreadable_and_grouped_rows(small_model, tmp_path):
    parquet = pytest.importorskip("pyarrow.parquet")
    src = write_lines(tmp_path / "in.csv", "编号,内容", f"1,{POLICE}", "2", f"3,{POLICE}")
    tag(src, tmp_path / "out.parquet", small_model, group=True)
    table = parquet.read_table(tmp_path / "out.parquet")
    assert str(table.schema.field("group_id").type) == str(table.schema.field("group_size").type) == "int64"
    unread = table.to_pylist()[1]
    assert unread["candidates"] is None and unread["confidence"] is None and unread["needs_review"] is None
    assert unread["department"] == "" and unread["error"].startswith("row has 1 fields")
    assert (unread["group_id"], unread["group_size"]) == (2, 1)


def test_jsonl_output_is_utf8_text_with_cells_for_other_values(small_model, tmp_path):
    src = tmp_path / "in.parquet"
    pd.DataFrame({"when": pd.to_datetime(["2026-01-02"]), "内容": [POLICE]}).to_parquet(src)
    tag(src, tmp_path / "out.jsonl", small_model)
    data = (tmp_path / "out.jsonl").read_bytes()
    assert POLICE.encode("utf-8") in data and data.endswith(b"}\n") and data.count(b"\n") == 1
    assert json.loads(data)["when"] == "2026-01-02 00:00:00"


def test_xlsx_header_sheet_and_formula_like_text(small_model, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    src = write_lines(tmp_path / "in.csv", "=编号,内容", f"=1+1,{POLICE}")
    tag(src, tmp_path / "safe.xlsx", small_model)
    tag(src, tmp_path / "raw.xlsx", small_model, spreadsheet_safe=False)
    safe = openpyxl.load_workbook(tmp_path / "safe.xlsx")
    assert safe.sheetnames == ["triage"]
    header = [cell.value for cell in next(safe["triage"].iter_rows())]
    assert header == ["'=编号", "内容", *OUTPUT_COLUMNS]
    raw = openpyxl.load_workbook(tmp_path / "raw.xlsx")["triage"]
    (header, row) = ([cell for cell in r] for r in raw.iter_rows())
    assert header[0].value == "=编号" and header[0].data_type == "s"
    assert row[0].value == "=1+1" and row[0].data_type == "s"  # text, never a formula


def test_an_xlsx_cut_note_follows_the_rows_own_error(small_model, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    src = write_lines(tmp_path / "in.csv", "编号,内容,备注", f"1,{POLICE},{'长' * 40_000},多余")
    tag(src, tmp_path / "out.xlsx", small_model)
    header, row = ([cell.value for cell in r] for r in openpyxl.load_workbook(tmp_path / "out.xlsx").active.iter_rows())
    error = dict(zip(header, row, strict=True))["error"]
    assert error.startswith("row has 4 fields, the header has 3")
    assert error.endswith("; '备注' cut to 32,767 characters (the XLSX cell limit)")


# ---------------------------------------------------------------- tag_dataframe


def test_tag_dataframe_finds_the_text_columns_and_writes_every_added_column(small_model):
    frame = pd.DataFrame({"编号": ["1", "2"], "内容": [POLICE, ""]})
    out = tag_dataframe(frame, model=small_model)
    expected = small_model.classify(POLICE)
    assert list(out.columns) == ["编号", "内容", *OUTPUT_COLUMNS]
    assert list(out["department"]) == [expected.department, ""]
    assert list(out["needs_review"]) == [expected.needs_review, True] and list(out["error"]) == ["", ""]
    assert list(frame.columns) == ["编号", "内容"]


def test_tag_dataframe_names_the_frame_when_a_column_is_missing(small_model):
    frame = pd.DataFrame({"编号": ["1"], "内容": [POLICE]})
    with pytest.raises(DataError, match=r"no column 'body'.*the frame has: 编号, 内容$"):
        tag_dataframe(frame, ["body"], model=small_model)


# ---------------------------------------------------------------- Parquet and XLSX details


def test_missing_pyarrow_is_named_with_the_extra_to_install(small_model, tmp_path, hide_module):
    src = export(tmp_path, POLICE)
    hint = r"install it with: pip install 'petition-triage\[io\]'$"
    hide_module("pyarrow.parquet")
    with pytest.raises(
        MissingDependencyError, match=r"^writing Parquet files needs the optional package 'pyarrow'; " + hint
    ):
        tag(src, tmp_path / "out.parquet", small_model)
    hide_module("pyarrow")
    with pytest.raises(
        MissingDependencyError, match=r"^writing Parquet files needs the optional package 'pyarrow'; " + hint
    ):
        tag(src, tmp_path / "out.parquet", small_model)
    hide_module("openpyxl")
    with pytest.raises(
        MissingDependencyError, match=r"^writing XLSX files needs the optional package 'openpyxl'; " + hint
    ):
        tag(src, tmp_path / "out.xlsx", small_model)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_an_empty_parquet_output_has_the_typed_schema_and_no_row_group(small_model, tmp_path):
    parquet = pytest.importorskip("pyarrow.parquet")
    tag(write_lines(tmp_path / "in.csv", "编号,内容"), tmp_path / "out.parquet", small_model)
    tag(export(tmp_path, POLICE, name="one.csv"), tmp_path / "one.parquet", small_model)
    empty = parquet.ParquetFile(tmp_path / "out.parquet")
    assert empty.metadata.num_row_groups == 0
    assert empty.schema_arrow == parquet.read_schema(tmp_path / "one.parquet")
    candidates = empty.schema_arrow.field("candidates").type
    assert [(f.name, str(f.type)) for f in candidates.value_type] == [
        ("department", "string"),
        ("confidence", "double"),
    ]


def test_xlsx_cells_of_exactly_the_limit_are_kept_and_every_cut_column_named(small_model, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    exact, long = "长" * 32_767, "长" * 32_768
    src = write_lines(tmp_path / "in.csv", "编号,内容,备注", f"{exact},{POLICE},", f"{long},{POLICE},{long}")
    tag(src, tmp_path / "out.xlsx", small_model)
    header, first, second = (
        [c.value for c in r] for r in openpyxl.load_workbook(tmp_path / "out.xlsx").active.iter_rows()
    )
    assert dict(zip(header, first, strict=True))["error"] is None
    cut = dict(zip(header, second, strict=True))
    assert cut["error"] == "'编号', '备注' cut to 32,767 characters (the XLSX cell limit)" and cut["编号"] == exact


def test_the_grouping_pass_uses_the_threshold_format_and_progress_asked_for(small_model, tmp_path, capsys):
    near = PROPERTY + "，业主们都很生气希望有人管管"
    src = write_lines(tmp_path / "in.dat", "编号,内容", f"1,{PROPERTY}", f"2,{near}", f"3,{PROPERTY}!")
    tag(src, tmp_path / "strict.csv", small_model, input_format="csv", group=True, group_threshold=0.8)
    assert capsys.readouterr().err == ""  # progress=False: no bar for either pass
    assert list(pd.read_csv(tmp_path / "strict.csv", encoding="utf-8-sig")["group_size"]) == [2, 1, 2]
    tag(src, tmp_path / "loose.csv", small_model, input_format="csv", group=True)
    assert list(pd.read_csv(tmp_path / "loose.csv", encoding="utf-8-sig")["group_size"]) == [3, 3, 3]


def test_rows_read_with_an_error_stand_alone_even_with_text(small_model, tmp_path):
    src = write_lines(tmp_path / "in.csv", "编号,内容", f"1,{PROPERTY}", f"2,{PROPERTY},多余", f"3,{PROPERTY}")
    tag(src, tmp_path / "out.csv", small_model, group=True)
    rows = pd.read_csv(tmp_path / "out.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert rows["error"][1].startswith("row has 3 fields") and rows["内容"][1] == PROPERTY
    assert list(rows["group_size"]) == ["2", "1", "2"]


def test_the_summary_names_its_files_readably(small_model, tmp_path):
    src = tmp_path / "in.parquet"
    pd.DataFrame({"内容": [POLICE]}).to_parquet(src)
    summary = tag(src, tmp_path / "out.csv", small_model, summary_path=tmp_path / "summary.json")
    assert (summary.input, summary.output) == (str(src), str(tmp_path / "out.csv"))
    assert summary.encoding == ""  # no text encoding for a Parquet input
    assert '"内容"' in (tmp_path / "summary.json").read_text(encoding="utf-8")  # not "\\u5185\\u5bb9"


def test_added_columns_clashing_twice_are_renamed_with_a_warning(small_model, tmp_path):
    src = write_csv(tmp_path / "in.csv", [{"department": "a", "triage_department": "b", "内容": POLICE}])
    with pytest.warns(DuplicateColumnWarning, match=r"^the output repeats column names; renamed 'triage_department'"):
        tag(src, tmp_path / "out.csv", small_model)
    assert read_csv(tmp_path / "out.csv")[0]["triage_department.1"] == "public_security"


def test_tag_options_keep_text_columns_as_a_tuple():
    options = TagOptions(text_columns=["标题", "内容"])
    assert options.text_columns == ("标题", "内容") and hash(options) == hash(TagOptions(text_columns=("标题", "内容")))


def test_the_summary_adds_up_the_reviews_of_every_part(small_model, tmp_path):
    src = export(tmp_path, PROPERTY, "", "今天天气不错", "", POLICE)
    summary = tag(src, tmp_path / "out.csv", small_model, chunk_size=1)
    reviews = [row["needs_review"] == "True" for row in read_csv(tmp_path / "out.csv")]
    assert summary.needs_review == sum(reviews) >= 2 and not reviews[-1]  # the last part alone would say 0


def test_jsonl_output_keeps_parquet_values_typed_and_unread_jsonl_lines_as_read(small_model, tmp_path):
    src = tmp_path / "in.parquet"
    pd.DataFrame({"id": [3], "score": [float("nan")], "内容": [POLICE]}).to_parquet(src)
    tag(src, tmp_path / "out.jsonl", small_model)
    row = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert (row["id"], row["score"]) == (3, None)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "内容": "派出所"}\n[1, 2]\n', encoding="utf-8")
    tag(bad, tmp_path / "bad_out.jsonl", small_model)
    unread = json.loads((tmp_path / "bad_out.jsonl").read_text(encoding="utf-8").splitlines()[1])
    assert (unread["id"], unread["内容"]) == ("", "") and "not a JSON object" in unread["error"]


def test_options_are_checked_with_messages_that_say_what_to_pass(small_model, tmp_path):
    with pytest.raises(TypeError, match=r"^text_columns takes a list of column names, not the string '内容'$"):
        TagOptions(text_columns="内容")
    with pytest.raises(ValueError, match=r"^chunk_size must be at least 1, got 0$"):
        TagOptions(chunk_size=0)
    with pytest.raises(ValueError, match=r"^n_jobs must be at least 1, or None \(or -1\) for one per core; got 0$"):
        TagOptions(n_jobs=0)
    src = export(tmp_path, PROPERTY, POLICE)
    with pytest.raises(
        TypeError, match=r"^tag_file\(\) got unknown options colour, size; see triage.batch.TagOptions$"
    ):
        tag(src, tmp_path / "out.csv", small_model, size=1, colour=2)
    with pytest.raises(DataError, match=r"no column 'nope'"):
        tag(src, tmp_path / "out.csv", small_model, id_column="nope")
    summary = tag_file(
        src, tmp_path / "out.csv", TagOptions(text_columns=["内容"], stop_after=1, progress=False), model=small_model
    )
    assert summary.rows_out == 1 and summary.first_error == ""


def test_the_summary_file_is_indented_and_its_times_rounded(small_model, tmp_path, capsys):
    summary = tag_file(
        export(tmp_path, POLICE), tmp_path / "out.csv", model=small_model, summary_path=tmp_path / "s.json"
    )
    assert "in.csv" in capsys.readouterr().err  # the progress bar, named after the input
    assert (tmp_path / "s.json").read_text(encoding="utf-8").startswith('{\n  "input": ')
    assert summary.elapsed_seconds == round(summary.elapsed_seconds, 3) and isinstance(summary.elapsed_seconds, float)
    assert summary.rows_per_second == round(1 / max(summary.elapsed_seconds, 1e-9), 1)
    assert isinstance(summary.rows_per_second, float)  # one decimal, also when it rounds to a whole number


def test_at_most_a_hundred_suspect_rows_are_listed(small_model, tmp_path):
    lines = ["id,标题,内容", *(f'{i},标题,"一\n{i},x,y"' for i in range(1, 121))]
    summary = tag(write_lines(tmp_path / "in.csv", *lines), tmp_path / "out.csv", small_model, chunk_size=7)
    assert summary.suspect_rows == list(range(1, 101))
