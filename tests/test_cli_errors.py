"""The command line's exception policy: a user error is one line and exit status 1; a bug keeps its traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

import triage
from triage.cli import cli
from triage.exceptions import ConfigError, MissingDependencyError, ModelNotFoundError, TrainingDataError
from triage.io import DataError

USER_ERRORS = [
    DataError("no text column '正文' in in.csv; it has: 内容"),
    ConfigError("routing config not found: rules.toml"),
    TrainingDataError("too few rows of column '承办单位' show a department"),
    MissingDependencyError("--engine dask needs the dask extra: pip install 'petition-triage[dask]'"),
    ModelNotFoundError("no model directory at m"),
    FileExistsError("out.csv already exists; pass overwrite=True (CLI: --overwrite) to replace it"),
    FileNotFoundError(2, "No such file or directory", "in.csv"),
    PermissionError(13, "Permission denied", "out.csv"),
    UnicodeDecodeError("utf-8", b"\xb2\xbb", 0, 1, "invalid start byte"),
]
BUGS = [ValueError("an internal invariant broke"), TypeError("'NoneType' object is not iterable"), KeyError("label")]


class _Broken:
    """A model whose classify raises ``error``: the library failing inside a command."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def classify(self, *args, **kwargs):
        raise self.error


@pytest.fixture
def classify_raising(monkeypatch):
    def run(error: BaseException):
        monkeypatch.setattr(triage, "load", lambda path=None: _Broken(error))
        return CliRunner().invoke(cli, ["classify", "小区物业乱收停车费"])

    return run


@pytest.mark.parametrize("error", USER_ERRORS, ids=lambda error: type(error).__name__)
def test_a_user_error_is_one_line_and_exit_1(classify_raising, error):
    result = classify_raising(error)
    assert result.exit_code == 1
    assert result.output == f"Error: {error}\n"
    assert "Traceback" not in result.output and "bug" not in result.output


@pytest.mark.parametrize("error", BUGS, ids=lambda error: type(error).__name__)
def test_a_bug_is_not_disguised_as_a_user_error(classify_raising, error):
    result = classify_raising(error)
    assert result.exit_code == 1
    assert result.exception is error  # propagated, not turned into a click error or SystemExit
    assert "Error:" not in result.output
    assert "internal error (a bug)" in result.stderr


def test_a_bug_shows_its_traceback_in_the_shell():
    code = (
        "import sys, triage\n"
        "class Broken:\n"
        "    def classify(self, *args, **kwargs):\n"
        "        raise KeyError('department_name')\n"
        "triage.load = lambda path=None: Broken()\n"
        "from triage.cli import main\n"
        "sys.argv = ['triage', 'classify', '物业费太贵']\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "KeyError: 'department_name'" in result.stderr and "in classify" in result.stderr


def test_warnings_still_reach_the_user_when_a_bug_stops_the_command(monkeypatch):
    import warnings

    class WarnsThenBreaks:
        def classify(self, *args, **kwargs):
            warnings.warn("the model was saved by another scikit-learn", UserWarning, stacklevel=1)
            raise TypeError("broken")

    monkeypatch.setattr(triage, "load", lambda path=None: WarnsThenBreaks())
    result = CliRunner().invoke(cli, ["classify", "物业费太贵"])
    assert isinstance(result.exception, TypeError)
    assert "Warning: the model was saved by another scikit-learn" in result.stderr


# ---------------------------------------------------------------- user errors raised at their source


def test_an_unreadable_workbook_is_a_user_error(tmp_path):
    """python-calamine's own exception used to escape as a traceback."""
    (tmp_path / "in.xlsx").write_bytes(b"PK\x03\x04 not a zip archive")
    result = CliRunner().invoke(cli, ["tag", str(tmp_path / "in.xlsx"), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith(f"Error: {tmp_path / 'in.xlsx'}: not a readable XLSX workbook")


def test_an_unreadable_parquet_file_is_a_user_error(tmp_path):
    (tmp_path / "in.parquet").write_bytes(b"not parquet at all")
    result = CliRunner().invoke(cli, ["tag", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 1 and len(result.output.splitlines()) == 1
    assert "not a readable Parquet file" in result.output


def test_an_existing_output_is_refused_before_the_data_is_read(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "notes.txt").write_text("mine", encoding="utf-8")
    (tmp_path / "data.csv").write_text("内容,部门\n物业费太贵,property_management\n", encoding="utf-8")
    # a label column the file lacks: reading the data first would report that instead
    args = ["train", str(tmp_path / "data.csv"), "-o", str(tmp_path / "model"), "--label-column", "处室"]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 1 and "already exists; pass overwrite=True (CLI: --overwrite)" in refused.output
    replacing = CliRunner().invoke(cli, [*args, "--overwrite"])
    assert replacing.exit_code == 1 and "is not a triage model directory; refusing to replace it" in replacing.output
    assert (tmp_path / "model" / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_a_folder_given_to_tag_is_named_as_a_folder(tmp_path):
    (tmp_path / "parts").mkdir()
    result = CliRunner().invoke(cli, ["tag", str(tmp_path / "parts"), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 2 and "is a folder: tag one file, or a folder of Parquet files with --engine dask" in (
        result.output
    )


def test_options_dask_cannot_honour_are_named_before_any_cluster_starts(tmp_path):
    (tmp_path / "in.csv").write_text("内容\n物业费太贵\n", encoding="utf-8")
    args = ["tag", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out"), "--engine", "dask"]
    result = CliRunner().invoke(cli, [*args, "--chunk-size", "10", "--resume", "--sheet", "Sheet1"])
    assert result.exit_code == 2
    assert "Error: --sheet, --resume, --chunk-size cannot be used with --engine dask" in result.output
    assert not (tmp_path / "out").exists()


def test_training_on_a_single_label_is_a_user_error(tmp_path):
    rows = "".join(f"物业费太贵了{i},物业科\n" for i in range(6))
    (tmp_path / "data.csv").write_text("内容,处室\n" + rows, encoding="utf-8")
    args = ["train", str(tmp_path / "data.csv"), "-o", str(tmp_path / "m"), "--label-column", "处室"]
    result = CliRunner().invoke(cli, [*args, "--jobs", "1"])
    assert result.exit_code == 1 and "Traceback" not in result.output and "bug" not in result.output
    assert "need at least 2 classes to train, got 1 ('物业科'): check the label column" in result.output


# ---------------------------------------------------------------- names from files and models on the terminal

# Escape sequences that retitle the terminal window and clear its screen.
_ESCAPES = "\x1b]0;pwned\x07\x1b[2J"


def test_names_from_an_untrusted_model_cannot_drive_the_terminal_nor_break_info(saved_model_dir, tmp_path):
    """A manifest is untrusted input: its label names were printed raw (escape sequences reached the terminal),
    and its free-form metrics (triage.manifest) or a label without its optional name ended info in a traceback."""
    model = tmp_path / "model"
    shutil.copytree(saved_model_dir, model)
    manifest = json.loads((model / "manifest.json").read_text("utf-8"))
    manifest["labels"][0]["name"] = "物业" + _ESCAPES
    del manifest["labels"][1]["name"]
    sub = {"n": 4, "accuracy": 0.75, "majority_baseline": 0.5, "accuracy_with_predicted_department": 0.5}
    manifest["metrics"] = {
        "listed": [1],
        "worded": {"n": 3, "accuracy": "high", "sub_labels": {**sub, "accuracy": "high"}},
        "bare": {"macro_f1": 0.5, "sub_labels": {**sub, "accuracy_with_predicted_department": "?"}},
        "subbed": {"n": 4, "sub_labels": sub},
    }
    (model / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")
    result = CliRunner().invoke(cli, ["info", "--model", str(model)])
    assert result.exit_code == 0 and result.exception is None
    assert "\x1b" not in result.output and "\x07" not in result.output and "物业\\x1b]0;pwned\\x07" in result.output
    assert "worded (n=3): \n" in result.stdout and "bare (n=?): macro_f1 0.500" in result.stdout  # not on stderr
    # sub-label figures are shown when they are numbers
    sub_lines = [line for line in result.output.splitlines() if "sub-label" in line]
    assert sub_lines == [
        "bare sub-labels given the department (n=4): accuracy 0.750, majority baseline 0.500",
        "subbed sub-labels given the department (n=4): accuracy 0.750, majority baseline 0.500",
        "subbed department and sub-label both right: 0.500",
    ]
    result = CliRunner().invoke(cli, ["classify", "--model", str(model), "小区物业乱收停车费"])
    assert result.exit_code == 0 and "\x1b" not in result.output


def test_labels_and_column_names_from_an_export_cannot_drive_the_terminal(saved_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(f"内容,部门\n小区物业乱收停车费,物业{_ESCAPES}\n派出所补办身份证,public_security\n", "utf-8")
    result = CliRunner().invoke(cli, ["evaluate", str(saved_model_dir), str(path), "--label-column", "部门"])
    assert result.exit_code == 0 and "labels the model does not know" in result.output
    assert "\x1b" not in result.output and "物业\\x1b]0;pwned\\x07\\x1b[2J" in result.output
    path.write_text(f"内容,部门{_ESCAPES}\n小区物业乱收停车费,education\n", "utf-8")
    result = CliRunner().invoke(cli, ["evaluate", str(saved_model_dir), str(path), "--label-column", "部门"])
    assert result.exit_code == 1 and "no label column '部门'" in result.output and "\x1b" not in result.output


# ---------------------------------------------------------------- output piped to a reader that stops (| head)


@pytest.mark.parametrize("args", [["classify", "-"], ["classify", "--json", "-"]])
def test_a_reader_that_stops_reading_ends_the_command_quietly_with_sigpipes_status(saved_model_dir, args):
    """`triage classify - < file | head -1` printed 'Error: [Errno 32] Broken pipe' and exit 1; a reader
    stopping is no error of the command's, so it stops quietly, as cat does, with status 141."""
    from triage.cli._errors import SIGPIPE_STATUS

    messages = "".join(
        f"小区物业乱收停车费，第{number}次反映\n" for number in range(3000)
    ).encode()  # > a pipe's 64 KiB out
    command = [sys.executable, "-m", "triage", *args, "--model", str(saved_model_dir)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdin.write(messages)
    process.stdin.close()
    first = process.stdout.readline()
    process.stdout.close()  # the reader goes, as head does
    process.wait(timeout=120)
    stderr = process.stderr.read().decode()
    process.stderr.close()
    assert first, stderr
    assert process.returncode == SIGPIPE_STATUS, stderr
    assert stderr == ""  # neither 'Error: [Errno 32] Broken pipe' nor 'Exception ignored ...' at exit


def test_a_broken_pipe_while_standard_output_is_still_read_is_an_error_not_a_reader_gone(monkeypatch):
    """Another pipe breaking (a worker's) must stay an error: only standard output's own reader leaving is quiet."""
    from triage.cli._errors import _abandoned

    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w") as stream:
        monkeypatch.setattr(sys, "stdout", stream)  # in the test: pytest's capture sets it again between phases
        assert not _abandoned(BrokenPipeError(32, "Broken pipe"))
        assert not _abandoned(ConnectionResetError(104, "reset"))
        os.close(read_end)
        assert _abandoned(BrokenPipeError(32, "Broken pipe"))
        assert os.path.samefile(f"/proc/self/fd/{stream.fileno()}", os.devnull)  # its last flush fails no more


def test_a_broken_pipe_elsewhere_is_reported_as_a_user_error(classify_raising):
    result = classify_raising(BrokenPipeError(32, "Broken pipe"))
    assert result.exit_code == 1 and result.output == "Error: [Errno 32] Broken pipe\n"


def test_another_error_while_standard_outputs_reader_is_gone_is_still_reported(monkeypatch):
    """Only a broken pipe is the reader gone: a full disk or a reset connection met once ``| head`` has stopped
    reading is still the command's error, not a quiet 141."""
    from triage.cli._errors import _abandoned

    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w") as stream:
        monkeypatch.setattr(sys, "stdout", stream)
        os.close(read_end)
        assert not _abandoned(ConnectionResetError(104, "Connection reset by peer"))
        assert not _abandoned(OSError(28, "No space left on device"))
        assert not os.path.samefile(f"/proc/self/fd/{stream.fileno()}", os.devnull)


class _FlushBreaks:
    """Standard output whose flush meets a broken pipe, on descriptor ``fd``."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_before_click_reports_an_error_output_is_flushed_and_only_a_reader_gone_is_quiet(monkeypatch):
    """A command ending in a click error (a usage error, an exit status) flushes its output first: a broken
    pipe there is quiet if standard output's reader is gone, and raised if another pipe broke."""
    from triage.cli._errors import _flush_unless_abandoned

    read_end, write_end = os.pipe()
    try:
        monkeypatch.setattr(sys, "stdout", _FlushBreaks(write_end))
        with pytest.raises(BrokenPipeError):
            _flush_unless_abandoned()  # standard output is still read
        os.close(read_end)
        _flush_unless_abandoned()
        assert os.path.samefile(f"/proc/self/fd/{write_end}", os.devnull)
    finally:
        os.close(write_end)


def test_ctrl_c_in_a_command_says_nothing_was_saved_and_exits_130(classify_raising):
    result = classify_raising(KeyboardInterrupt())
    assert result.exit_code == 130 and result.output == "Interrupted: nothing was saved.\n"
