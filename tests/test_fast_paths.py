"""The batch tagger's fast paths give what the plain ones give: ``candidates_cell`` is ``json.dumps``,
the batch row builder (``TriageModel._classification_columns``, as rows) is ``to_row()`` of
``classify(..., explain=0)`` for department,
sub-label and unit-level models, ``explain=0`` computes no explanation, ``has_surrogate`` is the
surrogate regex, ``spreadsheet_row`` is ``spreadsheet_text`` cell by cell, ``rounded_cells`` and
``candidates_cells`` (a chunk at once) are ``round`` and ``candidates_cell``, the ranked candidates (arrays
for Parquet) are those cells, ``batch_rows`` of text
columns is ``row_cells`` row by row, and ``delimited_lines`` is ``csv.writer``."""

from __future__ import annotations

import csv
import functools
import io
import json
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import triage
import triage.boilerplate
import triage.io.cells
import triage.io.parquet
from tests.conftest import LABELS, TEXTS, classification_rows
from triage.batch import delimited_lines
from triage.io import (
    Row,
    batch_rows,
    batch_text_columns,
    has_surrogate,
    row_cells,
    spreadsheet_row,
    spreadsheet_text,
)
from triage.io.cells import _SURROGATE
from triage.model import TriageModel
from triage.results import RankedCandidates, candidates_cell, candidates_cells, json_string, rounded_cells
from triage.text import MAX_TEXT_CHARS

MESSAGES = [
    "小区物业乱收停车费，垃圾也没人清理",
    "派出所补办身份证要排好几天队",
    "",
    "!!!",
    "please fix the road",
    "小区物业乱收停车费，垃圾也没人清理",  # a repeat: scored once, written twice
    "鑫鑫鑫",  # Chinese, but no term the model knows
    "学校补课" * (MAX_TEXT_CHARS // 2),  # cut to MAX_TEXT_CHARS
    "=学校乱收补课费，电话13988999988",
]


@pytest.fixture(scope="module")
def unit_model() -> TriageModel:
    units = {"property_management": "物业办", "public_security": "派出所", "education": "教育局"}
    return triage.train(
        TEXTS,
        [units[label] for label in LABELS],
        unit_departments={"物业办": "property_management", "派出所": "public_security", "教育局": None},
        min_df=1,
        calibration_folds=3,
    )


def expected_json(candidates):
    return json.dumps([[code, round(p, 4)] for code, p in candidates], ensure_ascii=False)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(),
            st.floats() | st.floats(min_value=0.0, max_value=1.0) | st.integers(min_value=-(10**6), max_value=10**6),
        ),
        max_size=5,
    )
)
def test_candidates_cell_is_what_json_dumps_writes(candidates):
    assert candidates_cell(candidates) == expected_json(candidates)


def test_candidates_cell_writes_non_finite_probabilities_as_json_does():
    candidates = [("a", math.nan), ("b", math.inf), ("c", -math.inf), ('引号"\\', 0.123456)]
    assert candidates_cell(candidates) == '[["a", NaN], ["b", Infinity], ["c", -Infinity], ["引号\\"\\\\", 0.1235]]'


# probabilities as they come, halfway cases of the 4th place (0.00005, 0.12345), and what should never come
probabilities = (
    st.floats(min_value=0.0, max_value=1.0)
    | st.integers(0, 2 * 10**4).map(lambda n: (n + 0.5) / 2e4 if n % 2 else n / 2e4)
    | st.floats(allow_nan=True, allow_infinity=True)
)


@settings(max_examples=300, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=6), elements=probabilities))
def test_rounded_cells_are_what_round_and_json_write(values):
    rounded, texts = rounded_cells(values)
    expected = [[round(float(p), 4) for p in row] for row in values]
    assert [[math.isnan(v) or v for v in row] for row in rounded.tolist()] == [
        [math.isnan(v) or v for v in row] for row in expected
    ]
    assert texts.tolist() == [[json.dumps(v) for v in row] for row in expected]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_candidates_cells_are_candidates_cell_row_by_row(data):
    codes = data.draw(st.lists(st.text(), min_size=1, max_size=6))
    rows = data.draw(st.integers(0, 5))
    k = data.draw(st.integers(1, len(codes)))
    ranked = np.array([data.draw(st.permutations(range(len(codes))))[:k] for _ in range(rows)], dtype=np.intp)
    ranked = ranked.reshape(rows, k)
    values = data.draw(hnp.arrays(np.float64, (rows, k), elements=probabilities))
    quoted = np.array([json_string(code) for code in codes], dtype=object)
    assert candidates_cells(quoted, ranked, values) == [
        candidates_cell(zip([codes[c] for c in ranked[i]], values[i].tolist(), strict=True)) for i in range(rows)
    ]


def test_rounded_cells_take_round_s_side_of_halfway_cases():
    values = np.array([[0.00005, 0.00015, 0.12345, 0.99995, 1.0, 0.0]])
    rounded, texts = rounded_cells(values)
    assert rounded.tolist() == [[round(v, 4) for v in values[0].tolist()]]
    assert texts.tolist() == [["0.0001", "0.0001", "0.1235", "1.0", "1.0", "0.0"]]


@pytest.mark.parametrize("name", ["small_model", "sub_model", "unit_model"])
@pytest.mark.parametrize("top_k", [1, 3, 10])
def test_rows_are_to_row_of_classify(request, name, top_k):
    model = request.getfixturevalue(name)
    expected = [result.to_row() for result in model.classify(MESSAGES, top_k=top_k, explain=0)]
    assert classification_rows(model, MESSAGES, top_k=top_k) == expected


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from("物业派出所学校乱收费停车 !,1a的了鑫"), max_size=30) | st.text(), max_size=6
    )
)
def test_rows_are_to_row_of_classify_for_any_text(small_model, texts):
    assert classification_rows(small_model, texts) == [
        result.to_row() for result in small_model.classify(texts, explain=0)
    ]


def ranked_cells(ranked):
    """The JSON text cells a :class:`RankedCandidates` stands for ("" for a row not read), its confidences
    written as they are (a cell's are rounded already)."""
    return [
        ""
        if count < 0
        else json.dumps(
            [[ranked.codes[k], p] for k, p in zip(classes[:count], confidences[:count].tolist(), strict=True)],
            ensure_ascii=False,
        )
        for classes, confidences, count in zip(ranked.ranked, ranked.confidences, ranked.counts, strict=True)
    ]


@pytest.mark.parametrize("name", ["small_model", "unit_model"])
@pytest.mark.parametrize("top_k", [1, 3, 10])
def test_ranked_candidates_are_the_candidates_cells(request, name, top_k):
    model = request.getfixturevalue(name)
    cells = model._classification_columns(MESSAGES, top_k=top_k)
    ranked = model._classification_columns(MESSAGES, top_k=top_k, ranked_candidates=True)
    assert isinstance(ranked[4], RankedCandidates)
    assert ranked_cells(ranked[4]) == cells[4]
    assert ranked[:4] + ranked[5:] == cells[:4] + cells[5:]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("物业派出所学校乱收费停车 !,1a的了鑫"), max_size=30), max_size=6))
def test_ranked_candidates_are_the_candidates_cells_for_any_text(small_model, texts):
    cells = small_model._classification_columns(texts)[4]
    assert ranked_cells(small_model._classification_columns(texts, ranked_candidates=True)[4]) == cells


@given(st.lists(st.integers(min_value=-1, max_value=len(MESSAGES) - 1), max_size=12))
def test_ranked_candidates_take_rows_and_blank_the_rows_not_read(small_model, rows):
    """``take`` picks rows in any order, repeats included; -1 is a row not read (no cell)."""
    ranked = small_model._classification_columns(MESSAGES, ranked_candidates=True)[4]
    cells = ranked_cells(ranked)
    assert ranked_cells(ranked.take(np.array(rows, dtype=np.intp))) == [cells[i] if i >= 0 else "" for i in rows]


def test_rows_refuse_what_classify_refuses(small_model):
    with pytest.raises(TypeError, match="text at index 1 is NoneType, not str"):
        classification_rows(small_model, ["物业", None])


def test_rows_agree_across_threads(small_model):
    batches = [[f"第{i}次反映：{text}" for text in MESSAGES] for i in range(8)]
    serial = [classification_rows(small_model, batch) for batch in batches]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(functools.partial(classification_rows, small_model), batches)) == serial


def test_explain_zero_computes_no_explanation(small_model, monkeypatch):
    monkeypatch.setattr(TriageModel, "_explain", lambda *args: pytest.fail("an explanation was computed"))
    results = small_model.classify(MESSAGES, explain=0)
    assert all(result.explanation == () for result in results)
    classification_rows(small_model, MESSAGES)
    monkeypatch.undo()
    assert small_model.classify(MESSAGES[0], explain=2).explanation  # and explain > 0 still explains


# any code point, lone surrogates included (st.text() leaves them out)
any_code_points = st.lists(st.integers(0, 0x10FFFF) | st.integers(0xD7F0, 0xE010), max_size=20).map(
    lambda codes: "".join(map(chr, codes))
)


@settings(max_examples=300, deadline=None)
@given(any_code_points)
def test_has_surrogate_finds_what_the_regex_finds(text):
    assert has_surrogate(text) == (_SURROGATE.search(text) is not None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="=+-@\t\r'1.e 物a") | st.integers() | st.booleans() | st.none(), max_size=8))
def test_spreadsheet_row_is_spreadsheet_text_cell_by_cell(values):
    assert spreadsheet_row(values) == [spreadsheet_text(v) if isinstance(v, str) else v for v in values]


def test_rows_prepare_each_distinct_text_once(small_model, monkeypatch):
    prepared = []
    real = triage.boilerplate.prepare  # where a model prepares the texts it scores (Boilerplate.prepared)
    monkeypatch.setattr(triage.boilerplate, "prepare", lambda text: prepared.append(text) or real(text))
    rows = classification_rows(small_model, MESSAGES * 3)
    assert sorted(prepared) == sorted(set(MESSAGES))
    assert rows == classification_rows(small_model, MESSAGES) * 3


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 3).flatmap(
        lambda width: st.lists(st.lists(st.none() | st.text(), min_size=width, max_size=width), max_size=6)
    ),
    st.booleans(),
)
def test_batch_rows_of_text_columns_are_row_cells_row_by_row(records, large):
    """Parquet batches of text columns are turned into cells a column at a time; the cells, errors and
    values are what row_cells gives row by row."""
    pyarrow = pytest.importorskip("pyarrow")
    width = len(records[0]) if records else 1
    header = [f"c{i}" for i in range(width)]
    kind = pyarrow.large_string() if large else pyarrow.string()
    batch = pyarrow.record_batch(
        [pyarrow.array([record[i] for record in records], type=kind) for i in range(width)], names=header
    )
    expected = [Row(n, *row_cells(values, header), values=values) for n, values in enumerate(map(tuple, records), 8)]
    assert list(batch_rows(batch, header, first_number=7)) == expected
    # the text alone, for a worker: the same cells column by column, no row having an error
    assert batch_text_columns(batch) == [[row.cells[i] for row in expected] for i in range(width)]


def test_batch_rows_of_other_columns_still_go_through_row_cells():
    pyarrow = pytest.importorskip("pyarrow")
    batch = pyarrow.record_batch([pyarrow.array(["物业", None]), pyarrow.array([1.0, None])], names=["text", "n"])
    assert [row.cells for row in batch_rows(batch, ["text", "n"])] == [["物业", "1"], ["", ""]]
    assert batch_text_columns(batch) is None


def test_batch_text_columns_leave_a_cell_over_the_limit_to_the_rows(monkeypatch):
    """A cell over MAX_CELL_CHARS makes its row an error: only batch_rows can say so."""
    pyarrow = pytest.importorskip("pyarrow")
    for module in (triage.io.parquet, triage.io.cells):  # batch_text_columns, then row_cells
        monkeypatch.setattr(module, "MAX_CELL_CHARS", 3)
    batch = pyarrow.record_batch([pyarrow.array(["物业", "物业费太高"])], names=["text"])
    assert batch_text_columns(batch) is None
    assert [row.error != "" for row in batch_rows(batch, ["text"])] == [False, True]


def test_batch_text_columns_keep_a_cell_of_exactly_the_limit(monkeypatch):
    """MAX_CELL_CHARS is the longest cell kept: a cell of exactly that many characters is no error, so the
    batch is still text column-wise."""
    pyarrow = pytest.importorskip("pyarrow")
    for module in (triage.io.parquet, triage.io.cells):  # batch_text_columns, then row_cells
        monkeypatch.setattr(module, "MAX_CELL_CHARS", 3)
    batch = pyarrow.record_batch([pyarrow.array(["物业费", "物业"]), pyarrow.array([None, "学校"])], names=["a", "b"])
    assert batch_text_columns(batch) == [["物业费", "物业"], ["", "学校"]]
    assert [row.error for row in batch_rows(batch, ["a", "b"])] == ["", ""]


cell_values = (
    (st.text(alphabet=st.sampled_from(",\t\"\r\n '=物a1\x00\u2028\x85")) | st.text() | st.floats() | st.integers())
    | st.booleans()
    | st.none()
)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(2, 5).flatmap(
        lambda width: st.lists(st.lists(cell_values, min_size=width, max_size=width), max_size=5)
    ),
    st.sampled_from([",", "\t"]),
)
def test_delimited_lines_are_what_csv_writer_writes(rows, delimiter):
    written = io.StringIO()
    csv.writer(written, delimiter=delimiter).writerows(rows)
    columns = [list(column) for column in zip(*rows, strict=True)] if rows else []
    assert delimited_lines(columns, delimiter) == written.getvalue()
