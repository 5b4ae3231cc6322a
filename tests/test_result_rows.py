"""The tagger's added columns come from ``to_row()`` of the result types: batch output files are
byte for byte what they were before (golden files in ``tests/data/tagged``), with and without a
routing config, and tag_dataframe writes the same cells.

The golden files were written by ``tag_file`` before ``to_row()`` existed. A deliberate change of
the output (or of the test model's training) regenerates them with
``TRIAGE_WRITE_GOLDEN=1 python -m pytest tests/test_result_rows.py -p no:randomly``; say why in the commit.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest

from triage.batch import output_columns, tag_dataframe, tag_file
from triage.routing import load_config

pd = pytest.importorskip("pandas")

GOLDEN = Path(__file__).parent / "data" / "tagged"
# Invented messages covering every column: a clear one, close departments, an empty and a
# non-Chinese text, an emergency, a short one, a place in the gazetteer, rules of every kind,
# a formula-like cell and quotes.
MESSAGES = (
    ("1", "小区物业乱收停车费，垃圾也没人清理"),
    ("2", "派出所补办身份证要排好几天队"),
    ("3", ""),
    ("4", "please fix the road"),
    ("5", "学校食堂有很大的煤气味"),
    ("6", "物业"),
    ("7", "物业保安和派出所都不管小区门口打架的人"),
    ("8", "青石小区门口派出所补办身份证"),
    ("9", "=学校乱收补课费"),
    ("10", '楼道灯坏了，"物业"说不归他们管'),
    ("11", "孩子上学的校车超载，家长想让物业帮忙反映"),
    ("12", "邻居天天深夜唱歌，物业说找派出所"),
)
GAZETTEER = "place,jurisdiction,department,office\n青石小区,南城街道,public_security,南城派出所\n"
RULES = """
[routing]
gazetteer = "places.csv"
co_handling_margin = 0.2

[[rule]]
name = "school-bus"
pattern = "校车"
action = "force"
department = "education"
urgency = "urgent"
priority = 10

[[rule]]
name = "night-noise"
pattern = "深夜"
action = "boost"
department = "public_security"

[[rule]]
name = "fights-copy-police"
pattern = "打架"
action = "co_handler"
department = "public_security"
review = true
"""


def write_export(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["编号", "内容"])
        writer.writerows(MESSAGES)
    return path


def write_config(directory: Path) -> Path:
    (directory / "places.csv").write_text(GAZETTEER, encoding="utf-8")
    (directory / "routing.toml").write_text(RULES, encoding="utf-8")
    return directory / "routing.toml"


@pytest.mark.parametrize("routing", [False, True], ids=["classify", "route"])
@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_batch_output_is_byte_identical_to_the_golden_file(small_model, tmp_path, routing, suffix):
    config = write_config(tmp_path) if routing else None
    out = tmp_path / f"out.{suffix}"
    tag_file(write_export(tmp_path / "in.csv"), out, model=small_model, config=config, progress=False)
    golden = GOLDEN / f"{'route' if routing else 'classify'}.{suffix}"
    if os.environ.get("TRIAGE_WRITE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(out.read_bytes())
    assert out.read_bytes() == golden.read_bytes()


@pytest.mark.parametrize("routing", [False, True], ids=["classify", "route"])
def test_tag_dataframe_writes_the_cells_of_the_batch_file(small_model, tmp_path, routing):
    config = load_config(write_config(tmp_path)) if routing else None
    frame = pd.DataFrame(MESSAGES, columns=["编号", "内容"])
    tagged = tag_dataframe(frame, ["内容"], model=small_model, config=config)
    golden = (GOLDEN / f"{'route' if routing else 'classify'}.csv").read_text(encoding="utf-8")
    expected = pd.read_csv(io.StringIO(golden), dtype=str, keep_default_na=False)
    added = list(output_columns(routing))
    assert list(tagged.columns) == [*frame.columns, *added]
    pd.testing.assert_frame_equal(tagged[added].astype(str), expected[added])
