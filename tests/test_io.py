"""Reading exports: formats, encodings, text columns, clear errors."""

from __future__ import annotations

import codecs
import json

import pandas as pd
import pytest

import triage.io.encodings as io_encodings
from triage.io import (
    CellError,
    DataError,
    choose_encoding,
    detect_encoding,
    detect_format,
    detect_text_columns,
    frame_texts,
    join_text_columns,
    read_rows,
    read_table,
    require_columns,
    to_cell,
)

ROWS = [
    {"留言主题": "物业乱收费", "留言详情": "小区物业乱收停车费", "标签": "property_management"},
    {"留言主题": "户口迁移", "留言详情": "派出所办户口太慢", "标签": "public_security"},
    {"留言主题": "", "留言详情": "孩子入学难", "标签": "education"},
]


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [
        ("utf-8", "utf-8-sig"),
        ("utf-8-sig", "utf-8-sig"),
        ("gb18030", "gb18030"),
        ("gbk", "gb18030"),
        ("utf-16", "utf-16"),
        ("utf-32", "utf-32"),
        ("utf-16-le", "utf-16-le"),  # no byte-order mark: told by its NUL bytes
        ("utf-16-be", "utf-16-be"),
    ],
)
def test_detects_encodings(tmp_path, encoding, detected):
    path = tmp_path / "export.csv"
    pd.DataFrame(ROWS).to_csv(path, index=False, encoding=encoding)
    frame = read_table(path, encoding="auto")
    assert list(frame["留言详情"]) == [row["留言详情"] for row in ROWS]
    assert detect_encoding(path) == detected


@pytest.mark.parametrize(
    ("raw", "requested", "said"),
    [
        ("id,路灯\n".encode("gb18030"), "gbk", "gbk (given)"),
        (codecs.BOM_UTF8 + "id,路灯\n".encode(), "auto", "utf-8-sig (UTF-8 byte-order mark)"),
        ("\ufeffid,路灯\n".encode("utf-32-be"), "auto", "utf-32 (UTF-32 byte-order mark)"),
        ("\ufeffid,路灯\n".encode("utf-16-be"), "auto", "utf-16 (UTF-16 byte-order mark)"),
        ("id,路灯\n".encode("utf-16-be"), "auto", "utf-16-be (no byte-order mark; NUL bytes at every other byte)"),
        (b"id,text\n1,a\n", "auto", "utf-8-sig (ASCII)"),
        (b"id,text\n1,\xff\n2,\xfe\n", "auto", "utf-8-sig (no line decodes as UTF-8 or GB18030 of 3 sampled lines)"),
        (
            "id,路灯\n1,学校\n".encode() + "2,物业\n".encode("gb18030"),
            "auto",
            "utf-8-sig (2 lines UTF-8, 1 GBK/GB18030 of 3 sampled lines)",
        ),
        (
            "id,路灯\n".encode() + "2,物业\n".encode("gb18030"),
            "auto",
            "utf-8-sig (1 lines UTF-8, 1 GBK/GB18030 of 2 sampled lines)",
        ),
    ],
    ids=["given", "utf8-bom", "utf32-bom", "utf16-bom", "utf16-nuls", "ascii", "neither", "utf8-majority", "tie-utf8"],
)
def test_the_encoding_chosen_says_why(tmp_path, raw, requested, said):
    """What ``read_table`` and the tag command say of the encoding: what decided it. A tie of UTF-8 and GB18030
    lines keeps UTF-8 (the default)."""
    (path := tmp_path / "export.csv").write_bytes(raw)
    assert str(choose_encoding(path, requested)) == said


def test_the_encoding_votes_say_when_only_the_first_8_mib_were_read(tmp_path, monkeypatch):
    """A file longer than the sample (patched down to 16 bytes here) is said to be judged by its start."""
    monkeypatch.setattr(io_encodings, "_ENCODING_SAMPLE_BYTES", 16)
    (path := tmp_path / "export.csv").write_bytes("id,路灯\n".encode("gb18030") * 4)
    assert str(choose_encoding(path)) == "gb18030 (2 lines GBK/GB18030, 0 UTF-8 of 2 sampled lines (the first 8 MiB))"


def test_utf16_without_a_byte_order_mark_is_told_by_its_first_64_kib(tmp_path):
    """A bad code unit past the sample does not keep the file from being read as UTF-16: only its row is an error."""
    rows = "".join(f"{i},路灯坏了\n" for i in range(7000))
    raw = f"id,内容\n{rows}".encode("utf-16-le") + b"\x00\xd8" + "物业\n".encode("utf-16-le")
    assert len(raw) > 1 << 17
    (path := tmp_path / "export.csv").write_bytes(raw)
    assert detect_encoding(path) == "utf-16-le"
    with read_rows(path) as export:
        rows = [row for chunk in export.chunks for row in chunk]
    assert len(rows) == 7001 and [row.number for row in rows if row.error] == [7001]


@pytest.mark.parametrize(
    "raw",
    [
        b"id,text\n1,\x00\x00abc\n",  # a few NUL bytes in UTF-8 text
        "id,text\n1,路灯".encode("utf-16-le") + b"\x00\xdc" + "坏了\n".encode("utf-16-le"),  # NULs, a lone surrogate
        "id,内容\n1,派出所补办身份证\n".encode("gb18030"),
    ],
    ids=["utf8-with-nuls", "not-decodable", "gb18030"],
)
def test_only_text_that_reads_as_utf16_is_taken_for_utf16_without_a_byte_order_mark(tmp_path, raw):
    (path := tmp_path / "export.csv").write_bytes(raw)
    assert detect_encoding(path) in {"utf-8-sig", "gb18030"}


@pytest.mark.parametrize(
    ("text", "detected"),
    [
        ("路灯坏了物业乱收1\n", "utf-16-le"),  # 2 NULs in 20 bytes: a tenth
        ("路灯坏了物业乱收费1\n", "utf-8-sig"),  # 2 in 22: under a tenth
        ("一12345678\n", "utf-16-le"),  # 9 NULs after an ASCII byte, 1 before 4E (一): nine in ten on one side
        ("一一一123456789012345678\n", "utf-8-sig"),  # 19 and 3: under nine in ten
        ("", "utf-8-sig"),  # an empty file holds no NUL (it was taken for UTF-16-BE)
    ],
    ids=["a-tenth", "under-a-tenth", "nine-in-ten", "under-nine-in-ten", "empty"],
)
def test_utf16_without_a_byte_order_mark_needs_nuls_in_a_tenth_of_its_bytes_nine_in_ten_on_one_side(
    tmp_path, text, detected
):
    """The thresholds of the rule, at and just past each: the ASCII of UTF-16LE text is a byte and a NUL after it,
    路灯坏了物业乱收费 hold no NUL byte, and 一 (U+4E00) is a NUL before 4E."""
    (path := tmp_path / "export.csv").write_bytes(text.encode("utf-16-le"))
    assert detect_encoding(path) == detected


def test_wrong_encoding_names_the_fix(tmp_path):
    path = tmp_path / "export.csv"
    pd.DataFrame(ROWS).to_csv(path, index=False, encoding="gb18030")
    with pytest.raises(DataError, match=r"export.csv: the header row is not valid utf-8-sig; try --encoding gb18030"):
        read_table(path, encoding="utf-8-sig")


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet", ".xlsx"])
def test_reads_every_format_with_missing_cells_as_empty(tmp_path, suffix):
    path = tmp_path / f"export{suffix}"
    frame = pd.DataFrame(ROWS)
    frame.loc[1, "留言主题"] = None
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif suffix == ".jsonl":
        path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in frame.to_dict("records")), "utf-8")
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_excel(path, index=False)
    read = read_table(path)
    assert list(read["留言详情"]) == [row["留言详情"] for row in ROWS]
    assert read.loc[1, "留言主题"] == ""


def test_detect_text_columns_prefers_subject_and_body():
    assert detect_text_columns(["编号", "留言主题", "留言详情"]) == ["留言主题", "留言详情"]
    assert detect_text_columns(["id", "Content"]) == ["Content"]
    with pytest.raises(DataError, match="no text column recognised among: id, x; name it with --text-column"):
        detect_text_columns(["id", "x"])


def test_a_binary_value_in_gbk_is_an_error_that_says_so():
    """GBK bytes in a binary column (a Parquet export of an old system) are not guessed per cell: the row's
    error says what they read as and what to do."""
    with pytest.raises(
        CellError,
        match=r"^binary value is not UTF-8 text \(byte 2: invalid continuation byte\), it "
        r"reads as GB18030 \(GBK\); export the column as text decoded from GB18030$",
    ):
        to_cell("小区物业乱收费".encode("gbk"))


def test_join_text_columns_skips_empty_parts():
    frame = pd.DataFrame(ROWS)
    assert join_text_columns(frame, ["留言主题", "留言详情"])[2] == "孩子入学难"
    with pytest.raises(DataError, match="no column 'x'; the file has"):
        join_text_columns(frame, ["x"])


def test_frame_texts_follow_the_cell_rule_and_name_each_cell_that_cannot_be_one():
    """Each value is a cell as a reader makes it; a bad one is "" and its row's error names its column, every
    bad cell of a row named once in order."""
    not_utf8 = "binary value is not UTF-8 text (byte 0: invalid start byte); export the column as text"
    frame = pd.DataFrame({"主题": ["物业", b"\xff", None, "a\ud800"], "内容": [b"\xfe", b"\xfe", 3, "正文"]})
    assert frame_texts(frame, ["主题", "内容"]) == (
        ["物业", "", "3", "a\ufffd\n正文"],
        [
            f"column '内容': {not_utf8}",
            f"column '主题': {not_utf8}; column '内容': {not_utf8}",
            "",
            "column '主题': lone UTF-16 surrogate escape, replaced by U+FFFD",
        ],
    )
    # columns of text only take a faster way, which must give the same
    texts = pd.DataFrame({"内容": pd.Series(["正文", "a\ud800"], dtype=object)})
    assert frame_texts(texts, ["内容"]) == (
        ["正文", "a\ufffd"],
        ["", "column '内容': lone UTF-16 surrogate escape, replaced by U+FFFD"],
    )
    assert frame_texts(pd.DataFrame({"内容": [None, None]}), ["内容"]) == (["", ""], ["", ""])
    assert frame_texts(pd.DataFrame({"内容": []}), ["内容"]) == ([], [])


def test_require_columns_names_every_missing_column_and_lists_the_others():
    require_columns(["编号", "内容"], ["内容"])  # present: nothing to say
    with pytest.raises(DataError, match=r"^no column 'a', 'b'; the file has: 编号, 内容$"):
        require_columns(["编号", "内容"], ["a", "内容", "b"])
    with pytest.raises(DataError, match=r"^no label column 'a' in in\.csv; it has: 编号, 内容$"):
        require_columns(["编号", "内容"], ["a"], role="label", source="in.csv")
    with pytest.raises(DataError, match=r"^no column 'a'; the frame has: 1, 内容$"):
        require_columns([1, "内容"], ["a"], holder="the frame")


def test_require_columns_names_a_header_written_with_spaces_around_it():
    """' 内容 ' and '内容' look the same in the listing: the error names the exact header cell."""
    with pytest.raises(
        DataError, match=r"no column '内容'; the file has: 编号,  内容 ; '内容' is written ' 内容 ' there$"
    ):
        require_columns(["编号", " 内容 "], ["内容"])
    with pytest.raises(DataError, match=r"no column '标题'; the file has: 编号,  内容 $"):
        require_columns(["编号", " 内容 "], ["标题"])


@pytest.mark.parametrize(
    ("name", "message"),
    [("data.bin", "cannot tell the format"), ("none.csv", "no such file"), ("parts.csv", "is a folder, not a file")],
)
def test_bad_paths(tmp_path, name, message):
    path = tmp_path / name
    if name.endswith(".bin"):
        path.write_bytes(b"\0\1")
    if name == "parts.csv":
        path.mkdir()
    with pytest.raises(DataError, match=message):
        read_table(path)


def test_detect_format():
    assert detect_format("a.XLSX") == "xlsx" and detect_format("a.ndjson") == "jsonl"


def test_a_parquet_pass_gives_the_pools_freed_pages_back_when_it_ends(tmp_path, monkeypatch):
    """Worker processes forked after a short pass (the rows a template is learned from) would keep them."""
    import pyarrow
    import pyarrow.parquet as pq

    released: list[bool] = []

    class Pool:
        def release_unused(self) -> None:
            released.append(True)

    pq.write_table(pyarrow.table({"内容": ["小区物业乱收停车费"] * 10}), tmp_path / "in.parquet")
    monkeypatch.setattr(pyarrow, "default_memory_pool", Pool)
    with read_rows(tmp_path / "in.parquet") as export:
        assert len(next(export.chunks)) == 10 and not released
    assert released == [True]
