"""The Arrow builders of the added columns (triage._arrow) give what pyarrow.array gives, without pandas."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage import _arrow as arrow
from triage.io import has_surrogate

pyarrow = pytest.importorskip("pyarrow")


@settings(deadline=None)  # the first take() imports pyarrow.compute
@given(st.lists(st.one_of(st.none(), st.sampled_from(["", "education", "教育局", "e\u0301"]), st.text())))
def test_strings_are_the_arrow_strings_of_the_values(values):
    built = arrow.strings(values)
    built.validate(full=True)
    assert built.equals(pyarrow.array(values, type=pyarrow.string()))


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        (pyarrow.float64(), [0.5, "", 1.0, None, float("nan")]),
        (pyarrow.float64(), [0.125, 1e-300]),
        (pyarrow.bool_(), [True, "", False, True, True, False, True, False, "", True]),
        (pyarrow.bool_(), [False, True]),
        (pyarrow.int64(), [1, 2**40, "", 3]),
        (pyarrow.int64(), []),
    ],
)
def test_typed_values_are_null_where_a_row_has_no_tags(kind, values):
    built = arrow.typed(values, kind)
    built.validate(full=True)
    expected = pyarrow.array([None if value == "" else value for value in values], type=kind)
    assert repr(built.to_pylist()) == repr(expected.to_pylist())  # NaN stays NaN, as pyarrow.array keeps it
    assert built.null_count == expected.null_count


def test_lists_take_their_items_in_order_and_are_null_where_absent():
    import numpy as np

    items = arrow.strings(["a", "b", "c", "d"])
    present = np.array([True, False, True, True])
    built = arrow.lists(present, np.array([1, 0, 0, 3], dtype=np.int32), items, pyarrow.list_(pyarrow.string()))
    built.validate(full=True)
    assert built.to_pylist() == [["a"], None, [], ["b", "c", "d"]]


def test_candidates_are_the_json_cells_parsed(small_model):
    """The candidates column built from ranked class indexes is the one parsed from the JSON text cells,
    classified, unclassified ([]) and unread (null) rows alike."""
    import numpy as np

    from triage.batch.writers import _candidates_array

    texts = ["小区物业乱收停车费", "", "学校食堂卫生差", "!!!"]
    cells = small_model._classification_columns(texts)[4]
    ranked = small_model._classification_columns(texts, ranked_candidates=True)[4].take(np.array([0, -1, 1, 2, 3]))
    kind = pyarrow.list_(pyarrow.struct([("department", pyarrow.string()), ("confidence", pyarrow.float64())]))
    built = arrow.candidates(ranked, kind)
    built.validate(full=True)
    expected = _candidates_array(pyarrow, [cells[0], "", *cells[1:]], kind)
    assert built.equals(expected)
    assert built.to_pylist()[1:3] == [None, []]


@settings(deadline=None)
@given(st.lists(st.sampled_from(["", "物业", "e\u0301", "a,b\n"]) | st.text().filter(lambda t: not has_surrogate(t))))
def test_texts_are_the_arrow_strings_of_the_cells(values):
    built = arrow.texts(values)
    built.validate(full=True)
    assert built.equals(pyarrow.array(values, type=pyarrow.string()))


def test_texts_are_built_from_their_bytes_not_by_pyarrow_array(monkeypatch):
    """Input cells of any length up to 2 GiB are joined into the array's buffers: pyarrow.array (which imports
    pandas) is never asked."""
    values = ["小区物业乱收停车费" * 40, None, "", "学校"]
    expected = pyarrow.array(values, type=pyarrow.string())
    monkeypatch.setattr(pyarrow, "array", lambda *args, **kwargs: pytest.fail("pyarrow.array was called"))
    assert arrow.texts(values).equals(expected)


class HugeText(str):
    """A text whose UTF-8 form is 2 GiB long, without the memory: ``encode`` gives only its length."""

    def encode(self, *args: object, **kwargs: object) -> object:
        return type("Encoded", (), {"__len__": lambda _: 2**31})()


def test_texts_of_2_gib_or_more_are_left_to_pyarrow_array():
    """int32 offsets end at 2**31 - 1: a column whose bytes reach 2**31 would get offsets that wrap, so it goes
    to pyarrow.array (the encoded stand-in cannot be joined: building the buffers would fail)."""
    built = arrow.texts([HugeText("物业"), None])
    assert built.equals(pyarrow.array(["物业", None], type=pyarrow.string()))


@pytest.mark.parametrize("source", ["in.parquet", "in.csv"])
@pytest.mark.parametrize(
    "jobs", [1, pytest.param(2, marks=pytest.mark.skipif(sys.platform != "linux", reason="forked only on Linux"))]
)
def test_parquet_output_never_imports_pandas(saved_model_dir, tmp_path, jobs, source):
    """pyarrow.array on Python values imports pandas (~0.3 s of CPU, before the workers fork); Parquet
    output, in one process or with workers, keeps a Parquet input's record batches as read, builds the
    added columns and a text input's cells with numpy buffers, and needs none of it."""
    import pyarrow.csv
    import pyarrow.parquet

    texts = ["小区物业乱收停车费", "学校食堂卫生差", "派出所补办身份证太慢"] * 10
    table = pyarrow.table({"id": [str(i) for i in range(30)], "text": texts})
    pyarrow.parquet.write_table(table, tmp_path / "in.parquet")
    pyarrow.csv.write_csv(table, tmp_path / "in.csv")
    script = """
        import sys
        from triage.batch import tag_file
        source, target, model, jobs = sys.argv[1:]
        options = {"text_columns": ["text"], "n_jobs": int(jobs), "chunk_size": 4, "progress": False}
        tag_file(source, target, model_path=model, **options)
        print("pandas" in sys.modules)
    """
    arguments = [str(tmp_path / source), str(tmp_path / "out.parquet"), str(saved_model_dir), str(jobs)]
    shown = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *arguments], capture_output=True, text=True, check=True
    )
    assert shown.stdout.split() == ["False"]
    assert pyarrow.parquet.read_table(tmp_path / "out.parquet").column("department").null_count == 0
