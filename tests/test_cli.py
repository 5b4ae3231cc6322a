"""The command line: output formats, stdin, and one-line errors with exit status 1."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata

import pytest
from click.testing import CliRunner

from triage.cli import cli


@pytest.fixture
def run(saved_model_dir):
    runner = CliRunner()

    def invoke(*args, input=None, model=True):
        extra = ["--model", str(saved_model_dir)] if model else []
        return runner.invoke(cli, [*args, *extra], input=input)

    return invoke


def test_classify_human_output_shows_chinese_name_and_confidence(run):
    result = run("classify", "小区物业乱收停车费，垃圾也没人清理")
    assert result.exit_code == 0, result.output
    assert "物业 (property_management)" in result.output
    assert "置信度 confidence 0." in result.output or "置信度 confidence 1." in result.output
    assert not result.output.startswith("[0]")  # one message: no heading naming it


def test_classify_heads_each_of_two_messages_with_its_index_and_text(run):
    result = run("classify", "小区物业乱收停车费", "孩子入学难")
    assert result.exit_code == 0, result.output
    headings = [line for line in result.output.splitlines() if line.startswith("[")]
    assert headings == ["[0] 小区物业乱收停车费", "[1] 孩子入学难"]


def test_classify_json_lines(run):
    result = run("classify", "--json", "--top-k", "2", "派出所补办身份证", "孩子入学难")
    assert result.exit_code == 0, result.output
    assert '"department_name": "公安"' in result.stdout  # Chinese as it is, not as \\u escapes
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["index"] for r in rows] == [0, 1]
    assert rows[0]["department"] == "public_security" and len(rows[0]["candidates"]) == 2
    assert set(rows[0]) >= {
        "department",
        "department_name",
        "confidence",
        "candidates",
        "needs_review",
        "reason",
        "explanation",
    }


def test_classify_reads_stdin(run):
    result = run("classify", "--json", "-", input="物业费太贵\n\n学校补课\n")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["department"] for r in rows] == ["property_management", None, "education"]
    assert rows[1]["reason"] == "empty_text"
    assert result.stderr == ""  # UTF-8 is read without a note


def test_stdin_in_gbk_throughout_is_read_as_gb18030_and_says_so(run):
    """A Windows console pipes GBK: every message of it is read (it was refused whole)."""
    result = run("classify", "--json", "-", input="物业费太贵\n学校补课\n".encode("gbk"))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["department"] for r in rows] == ["property_management", "education"]
    assert "stdin is not UTF-8; read as gb18030" in result.stderr


def test_a_stdin_line_that_is_no_text_is_its_own_error_and_the_others_are_classified(run):
    """One bad line refused the whole input; now it is an entry of its own, in place, and the exit status
    says that something was not read."""
    lines = ["物业费太贵".encode(), b"\xff\xfe\x80 binary", "学校补课".encode()]
    result = run("classify", "--json", "-", input=b"\n".join(lines) + b"\n")
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["index"] for r in rows] == [0, 1, 2]
    assert [r.get("department") for r in rows] == ["property_management", None, "education"]
    assert rows[1] == {"index": 1, "error": rows[1]["error"]}
    assert "stdin line 2 is not UTF-8 text (invalid start byte at byte 0)" in rows[1]["error"]
    assert "1 of 3 messages could not be read" in result.stderr
    people = run("classify", "-", input=b"\n".join(lines))
    assert "[1] — 未读取 not read: stdin line 2 is not UTF-8" in people.stdout and "[2] 学校补课" in people.stdout


def test_classify_without_text_is_a_usage_error(run):
    result = run("classify")
    assert result.exit_code != 0
    assert "Error: give at least one TEXT, or - to read one message per line from stdin" in result.output
    both = run("classify", "-", "--jsonl", "--null")
    assert both.exit_code == 2 and "Error: use --jsonl or --null, not both" in both.output
    no_dash = run("classify", "物业", "--jsonl")
    assert no_dash.exit_code == 2
    assert "Error: --jsonl and --null say how standard input is split: add - to read it" in no_dash.output


def test_missing_model_is_one_line_exit_1(run, tmp_path):
    result = CliRunner().invoke(cli, ["classify", "物业", "--model", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: no model directory at")
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_info_prints_manifest_and_department_table(run):
    result = run("info")
    assert result.exit_code == 0, result.output
    assert "format:     triage-model v2" in result.output
    assert "property_management" in result.output and "物业" in result.output
    assert "review threshold:" in result.output
    from triage.scoring import FEATURIZER
    from triage.segmentation import segmenter

    assert f"segmenter {segmenter()}, featuriser {FEATURIZER}" in result.output


def test_info_department_table_lines_up_on_a_terminal(run):
    """A Chinese character takes two terminal columns: padding by characters put each English name at another
    column (农业农村 two columns right of 民政)."""
    lines = run("info", "--model", "default", model=False).output.splitlines()
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("code ")) :]
    widths = {
        sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in re.match(r"\S+\s+\S+\s+", line)[0])
        for line in table
    }
    assert len(table) > 10 and len(widths) == 1 and all(line == line.rstrip() for line in table)


def test_tables_for_people_pad_a_chinese_character_as_two_columns():
    """The same padding lines up `info`'s departments and `evaluate`'s per-class figures (a deployment's labels
    are often Chinese unit names)."""
    from triage.cli._models import _aligned

    assert _aligned([("code", "名称", "english"), ("教育 局", "x", "")]) == ["code     名称  english", "教育 局  x"]


def test_info_json(run):
    manifest = json.loads(run("info", "--json").stdout)
    assert manifest["format"] == "triage-model"


@pytest.mark.parametrize("command", ["classify", "info"])
def test_every_command_has_help(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_python_dash_m_entry_point():
    result = subprocess.run([sys.executable, "-m", "triage", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "classify" in result.stdout
