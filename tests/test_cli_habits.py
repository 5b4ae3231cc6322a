"""What a newcomer expects of a command line: '-' for stdin/stdout, early errors, Ctrl-C, --model default,
progress only on a terminal, complete help text."""

from __future__ import annotations

import csv
import errno
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import triage
from tests.conftest import LABELS, TEXTS
from triage.cli import cli

COMMANDS = sorted(cli.commands)


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


LABELLED_CSV = _csv([["内容", "部门"], *zip(TEXTS, LABELS, strict=True)])


@pytest.fixture
def invoke():
    runner = CliRunner()

    def run(*args, input=None):
        return runner.invoke(cli, [str(a) for a in args], input=input)

    return run


# ---------------------------------------------------------------- help text


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_has_complete_help(name):
    command = cli.commands[name]
    assert command.get_short_help_str(limit=80).endswith(("。", "模型", "分拨", "行", "门", "议", "题", "."))
    assert not command.get_short_help_str(limit=80).endswith("...")
    for parameter in command.params:
        if isinstance(parameter, click.Option) and not parameter.hidden and parameter.name != "help":
            text = parameter.help or ""
            assert len(text) > 10, f"{name} {parameter.opts} has no help"
            assert text.rstrip(")").endswith((".", "。")) or not text[-1].isascii(), f"{name} {parameter.opts}: {text}"


def test_route_config_help_speaks_of_route_and_tag_grouping_is_not_the_review_threshold(invoke):
    route_help = invoke("route", "--help").output
    assert "tag " not in route_help and "each suggestion" in route_help
    tag_help = invoke("tag", "--help").output
    assert "--group-threshold" in tag_help and "--threshold" not in tag_help.replace("--group-threshold", "")
    assert "--jobs, --n-jobs" in tag_help


def test_old_threshold_spelling_still_works_with_a_notice(invoke, saved_model_dir, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text(_csv([["内容"], *[[text] for text in TEXTS[:4]]]), encoding="utf-8")
    result = invoke("hot", source, "-o", tmp_path / "r.csv", "--threshold", "0.5", "--model", saved_model_dir)
    assert result.exit_code == 0, result.output
    assert "--threshold is now called --group-threshold" in result.stderr


# ---------------------------------------------------------------- early checks, --model default


@pytest.mark.parametrize(
    "args",
    [
        ["audit-labels", "missing.csv", "--label-column", "x"],
        ["train", "missing.csv", "--label-column", "x", "-o", "m"],
        ["evaluate", "missing.csv", "--label-column", "x"],
        ["evaluate", "default", "missing.csv", "--label-column", "x"],
        ["hot", "missing.csv", "-o", "r.csv"],
        ["tag", "missing.csv", "-o", "o.csv"],
    ],
)
def test_a_missing_file_is_reported_before_anything_heavy_is_loaded(args, tmp_path):
    """audit-labels missing.csv took 7 s (scikit-learn imported first) to say there is no such file."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from triage.cli import main; sys.argv[0] = 'triage'; main()", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    elapsed = time.perf_counter() - started
    assert (
        result.returncode == 2
        and "missing.csv" in result.stderr
        and "not exist" in result.stderr.replace("no such file", "not exist")
    )
    probe = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "from triage.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert "sklearn" not in probe.stderr, "scikit-learn was imported before the path was checked"
    assert elapsed < 30  # a generous ceiling; the import check above is the real one


@pytest.mark.parametrize(
    "args",
    [
        ["tag", "{data}", "-o", "{missing}/out.csv"],
        ["tag", "{data}", "-o", "out.csv", "--summary", "{missing}/run.json"],
        ["hot", "{data}", "-o", "{missing}/hot.csv"],
        ["train", "{data}", "--label-column", "部门", "-o", "{missing}/model"],
        ["evaluate", "{data}", "--label-column", "部门", "--report", "{missing}/report"],
    ],
)
def test_an_output_folder_that_does_not_exist_is_refused_first(invoke, tmp_path, monkeypatch, args):
    (tmp_path / "data.csv").write_text(LABELLED_CSV, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    names = {"data": tmp_path / "data.csv", "missing": tmp_path / "nowhere"}
    result = invoke(*[arg.format(**names) for arg in args])
    assert result.exit_code == 2 and "nowhere does not exist; create it first" in result.output


def test_a_model_that_is_not_one_is_refused_before_the_data_is_read(invoke, tmp_path):
    (tmp_path / "data.csv").write_text(LABELLED_CSV, encoding="utf-8")
    result = invoke("evaluate", tmp_path, tmp_path / "data.csv", "--label-column", "部门")
    assert result.exit_code == 1 and "is not a triage model directory" in result.output
    assert "'default' for the shipped model" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["classify", "物业费太贵", "--model", "default"],
        ["route", "物业费太贵", "--model", "default"],
        ["info", "--model", "default"],
    ],
)
def test_model_default_is_accepted_everywhere(invoke, args):
    result = invoke(*args)
    assert result.exit_code == 0, result.output


def test_evaluate_names_the_shipped_model_three_ways(invoke, tmp_path):
    """Invented messages, never in the shipped model's training data."""
    data = tmp_path / "data.csv"
    data.write_text(_csv([["内容", "部门"], ["小区物业乱收停车费还不开发票", "property_management"]]), "utf-8")
    outputs = [
        invoke("evaluate", *args, data, "--label-column", "部门", "--json").stdout
        for args in ([], ["default"], ["--model", "default"])
    ]
    assert outputs[0] == outputs[1] == outputs[2] and json.loads(outputs[0])["n"] == 1
    both = invoke("evaluate", "default", data, "--label-column", "部门", "--model", "default")
    assert both.exit_code == 2 and "name the model once" in both.output


def test_info_names_the_model_as_evaluate_does(invoke, saved_model_dir, tmp_path):
    """`triage info DIR` said only 'Got unexpected extra argument'; MODEL is taken as evaluate takes it."""
    as_argument, as_option = invoke("info", saved_model_dir), invoke("info", "--model", saved_model_dir)
    assert as_argument.exit_code == 0, as_argument.output
    assert as_argument.output == as_option.output and f"model:      {saved_model_dir}" in as_argument.output
    assert invoke("info", "default").output == invoke("info").output
    both = invoke("info", saved_model_dir, "--model", "default")
    assert both.exit_code == 2 and "name the model once" in both.output
    missing = invoke("info", tmp_path / "none")
    assert missing.exit_code == 1 and "no model directory at" in missing.output


# ---------------------------------------------------------------- '-' for stdin and stdout


def test_tag_reads_stdin_and_writes_stdout(invoke, saved_model_dir):
    result = invoke("tag", "-", "-o", "-", "--model", saved_model_dir, "--silent", input=LABELLED_CSV)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert len(rows) == len(TEXTS) and [row["内容"] for row in rows] == list(TEXTS)
    assert sum(row["department"] == row["部门"] for row in rows) >= 0.9 * len(rows)


def test_tag_of_a_header_alone_writes_the_header_and_says_there_were_no_rows(invoke, saved_model_dir, tmp_path):
    (source := tmp_path / "in.csv").write_text("编号,内容\n", encoding="utf-8")
    result = invoke("tag", source, "-o", tmp_path / "out.csv", "--model", saved_model_dir)
    assert result.exit_code == 0, result.output
    assert "rows in 0, rows out 0" in result.stderr and "departments: (no rows)" in result.stderr
    assert (tmp_path / "out.csv").read_text(encoding="utf-8-sig").splitlines()[0].startswith("编号,内容,department,")


def test_tag_writes_jsonl_to_stdout_when_asked(invoke, saved_model_dir, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text(LABELLED_CSV, encoding="utf-8")
    result = invoke("tag", source, "-o", "-", "--output-format", "jsonl", "--model", saved_model_dir, "--silent")
    assert result.exit_code == 0, result.output
    assert len([json.loads(line) for line in result.stdout.splitlines()]) == len(TEXTS)
    assert not (tmp_path / "-").exists()


def test_stdin_and_stdout_cannot_be_resumed(invoke, saved_model_dir, tmp_path):
    result = invoke("tag", "-", "-o", tmp_path / "o.csv", "--resume", "--model", saved_model_dir, input="内容\n物业\n")
    assert result.exit_code == 2 and "cannot be resumed" in result.output


def test_train_evaluate_audit_read_stdin(invoke, tmp_path):
    model = tmp_path / "model"
    trained = invoke("train", "-", "-o", model, "--label-column", "部门", "--jobs", "1", input=LABELLED_CSV)
    assert trained.exit_code == 0, trained.output
    scored = invoke("evaluate", model, "-", "--label-column", "部门", "--json", input=LABELLED_CSV)
    assert scored.exit_code == 0 and json.loads(scored.stdout)["n"] == len(TEXTS)
    audited = invoke("audit-labels", "-", "--label-column", "部门", "--jobs", "1", "--json", input=LABELLED_CSV)
    assert audited.exit_code == 0, audited.output
    refused = invoke("train", "-", "-o", "-", "--label-column", "部门", input=LABELLED_CSV)
    assert refused.exit_code == 2 and "'-' (stdin/stdout) cannot" in refused.output


def test_an_unreadable_stdin_is_named_standard_input_not_the_temporary_file(invoke, saved_model_dir):
    """Errors named the temporary file stdin was spooled to (/tmp/triage-stdin-.../stdin.csv)."""
    empty = invoke("tag", "-", "-o", "-", "--model", saved_model_dir, "--silent", input="")
    assert empty.exit_code == 1 and empty.output == "Error: standard input: the file is empty: no header row\n"
    unlabelled = invoke("evaluate", saved_model_dir, "-", "--label-column", "部门", input="内容,部门\n")
    assert unlabelled.exit_code == 1 and "no row of standard input has a label" in unlabelled.output
    assert "triage-stdin" not in empty.output + unlabelled.output


def test_hot_report_to_stdout(invoke, saved_model_dir):
    texts = ["小区门口的路灯坏了好几天没人修", "小区门口路灯坏了好几天都没人修", "学校补课乱收费"]
    result = invoke(
        "hot", "-", "-o", "-", "--model", saved_model_dir, "--silent", input=_csv([["内容"]] + [[t] for t in texts])
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert len(rows) == 2  # a header and the one topic; the listing went to stderr
    assert "1 topic from 3 messages" in result.stderr
    assert re.search(r"1\. 2 msgs \(1 voice\), hotness", result.stderr)  # said of one, not "1 voices"


def test_classify_stdin_line_by_line_jsonl_and_null(invoke):
    two_lines = "楼道灯坏了半个月\n物业一直不来修"
    by_line = invoke("classify", "-", "--json", input=two_lines + "\n")
    assert len(by_line.stdout.splitlines()) == 2
    jsonl = invoke("classify", "-", "--jsonl", "--json", input=json.dumps(two_lines) + "\n" + '{"text": "学校补课"}\n')
    assert jsonl.exit_code == 0, jsonl.output
    assert len(jsonl.stdout.splitlines()) == 2
    null = invoke("classify", "-", "--null", "--json", input=f"{two_lines}\0学校补课\0")
    assert [json.loads(line)["index"] for line in null.stdout.splitlines()] == [0, 1]
    bad = invoke("classify", "-", "--jsonl", "--json", input='"fine"\n{not json}\n[1]\n"学校补课"\n')
    assert bad.exit_code == 1 and "2 of 4 messages could not be read" in bad.stderr
    rows = [json.loads(line) for line in bad.stdout.splitlines()]
    assert [r.get("error", "")[:30] for r in rows] == [
        "",
        "stdin line 2 is not JSON (Expe",
        "stdin line 3 is neither a JSON",
        "",
    ]
    assert rows[3]["department"] == "education"
    no_dash = invoke("classify", "物业", "--null")
    assert no_dash.exit_code == 2 and "add - to read it" in no_dash.output


_LINE_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\n\r\0\ufeff"))


@given(
    messages=st.lists(_LINE_TEXT, min_size=1, max_size=6),
    null=st.booleans(),
    broken=st.sets(st.integers(0, 5), max_size=2),
)
def test_stdin_gives_back_each_message_and_an_error_only_for_the_broken_ones(messages, null, broken):
    """Any messages piped in, one a line (or NUL-separated), come back in order; one whose bytes are not UTF-8
    (a stray continuation byte put in) is its own error, in its place, and takes no neighbour with it."""
    from triage.cli._stdio import Message, read_texts

    encoded = [message.encode("utf-8") for message in messages]
    broken = {i for i in broken if i < len(messages)}
    for i in broken:
        encoded[i] = b"\x80" + encoded[i]
    data = (b"\0" if null else b"\n").join(encoded) + (b"\0" if null else b"\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        read = read_texts(("-",), null=null)
    assert [m.text for m in read] == ["" if i in broken else message for i, message in enumerate(messages)]
    unit = "message" if null else "line"
    assert [m.error for m in read] == [
        f"stdin {unit} {i + 1} is not UTF-8 text (invalid start byte at byte 0); convert it to UTF-8 and send it again"
        if i in broken
        else ""
        for i in range(len(messages))
    ]
    assert all(isinstance(m, Message) for m in read)


def _read_stdin(data: bytes, **split: bool) -> list:
    from triage.cli._stdio import read_texts

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        return read_texts(("-",), **split)


def test_stdin_splitting_drops_a_leading_bom_crs_of_crlf_and_only_an_empty_last_item():
    """A BOM (Notepad, PowerShell) is not part of the first message, a Windows line end leaves no CR at the
    end of a message (a CR inside one is kept), and only an empty item after the last separator (or the line
    feed ``echo`` adds after NUL-separated input) is no message: a last message without a separator is one."""
    from triage.cli._stdio import Message

    lines = _read_stdin("\ufeff物业费\r\n学校\r补课\r\n\r\n".encode())
    assert lines == [Message("物业费"), Message("学校\r补课"), Message("")]
    assert _read_stdin("物业费\n学校".encode()) == [Message("物业费"), Message("学校")]
    assert _read_stdin("物业费\0学校\n".encode(), null=True) == [Message("物业费"), Message("学校\n")]
    assert _read_stdin("物业费\0学校\0\n".encode(), null=True) == [Message("物业费"), Message("学校")]
    assert _read_stdin("\r\n学校\n".encode()) == [Message(""), Message("学校")]


@given(
    messages=st.lists(_LINE_TEXT, min_size=1, max_size=6),
    codec=st.sampled_from(["utf-16-le", "utf-16-be"]),
    null=st.booleans(),
    crlf=st.booleans(),
    broken=st.sets(st.integers(0, 5), max_size=2),
)
def test_utf16_stdin_with_its_mark_gives_back_each_message_and_an_error_only_for_the_broken_ones(
    messages, codec, null, crlf, broken
):
    """UTF-16 piped in (Notepad's "Unicode" file through `type`) was split at bytes 0x0A, half of any
    character, and every line was "not UTF-8": now it is split at whole code units, and a message holding a
    lone surrogate is its own error, in its place."""
    broken = {i for i in broken if i < len(messages)}
    texts = ["\ud800" + message if i in broken else message for i, message in enumerate(messages)]
    separator = "\0" if null else "\r\n" if crlf else "\n"
    mark = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[codec]
    read = _read_stdin(mark + (separator.join(texts) + separator).encode(codec, "surrogatepass"), null=null)
    assert [m.text for m in read] == ["" if i in broken else message for i, message in enumerate(messages)]
    unit = "message" if null else "line"
    assert [m.error.split(" (")[0] for m in read] == [
        f"stdin {unit} {i + 1} is not UTF-16 text" if i in broken else "" for i in range(len(messages))
    ]


def test_utf16_stdin_is_split_only_at_whole_code_units(capsys):
    """U+0A41 then 一 are the bytes 41 0A 00 4E in UTF-16-LE: a line end (0A 00) across two characters is none;
    an odd byte at the end is the last message's error, and the mark is said on stderr."""
    from triage.cli._stdio import Message

    assert _read_stdin(b"\xff\xfe" + "\u0a41一\n学校".encode("utf-16-le")) == [Message("\u0a41一"), Message("学校")]
    assert "stdin read as UTF-16 (its byte order mark says so)" in capsys.readouterr().err
    cut = _read_stdin(b"\xff\xfe" + "物业\n学校".encode("utf-16-le") + b"\x00")
    assert (
        cut[0] == Message("物业") and cut[1].text == "" and cut[1].error.startswith("stdin line 2 is not UTF-16 text")
    )
    assert _read_stdin(b"\xff\xfe" + '"物业"\n{"text": "学校"}\n'.encode("utf-16-le"), jsonl=True) == [
        Message("物业"),
        Message("学校"),
    ]


def test_a_jsonl_line_that_cannot_be_read_is_an_error_with_empty_text():
    """An error's message has no text (Message says so): nothing of a broken line is classified."""
    from triage.cli._stdio import Message

    read = _read_stdin(b'{not json}\n[1]\n"\\u5b66\\u6821"\n', jsonl=True)
    assert read == [
        Message(
            "",
            "stdin line 1 is not JSON (Expecting property name enclosed in double quotes); --jsonl reads one per line",
        ),
        Message("", 'stdin line 2 is neither a JSON string nor an object with a "text" string'),
        Message("学校"),
    ]
    not_utf8 = _read_stdin(b'"\xff"\n"ok"\n', jsonl=True)
    assert [m.error[:32] for m in not_utf8] == ["stdin line 1 is not UTF-8 text (", ""]


def test_stdin_not_utf8_is_read_as_gb18030_only_if_all_of_it_is_gb18030(capsys):
    """A line ending in a GB18030 lead byte is no GB18030 (nor UTF-8): each line is then read as UTF-8 or is
    its own error; nothing is said of GB18030."""
    from triage.cli._stdio import Message

    lines = [b"abc\x81", "学校".encode()]
    assert _read_stdin(b"\n".join(lines)) == [
        Message(
            "", "stdin line 1 is not UTF-8 text (invalid start byte at byte 3); convert it to UTF-8 and send it again"
        ),
        Message("学校"),
    ]
    assert "gb18030" not in capsys.readouterr().err


# ---------------------------------------------------------------- Ctrl-C


def test_ctrl_c_during_tag_exits_130_and_names_resume(invoke, saved_model_dir, tmp_path, monkeypatch):
    import triage.batch

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(triage.batch, "tag_file", interrupted)
    source = tmp_path / "in.csv"
    source.write_text(LABELLED_CSV, encoding="utf-8")
    result = invoke("tag", source, "-o", tmp_path / "out.csv", "--model", saved_model_dir)
    assert result.exit_code == 130
    assert "run the same command with --resume" in result.output and "Aborted" not in result.output
    parquet = invoke("tag", source, "-o", tmp_path / "out.parquet", "--model", saved_model_dir)
    assert parquet.exit_code == 130 and "CSV, TSV and JSONL outputs only" in parquet.output


def test_a_full_disk_during_tag_names_the_output_and_resume(invoke, saved_model_dir, tmp_path, monkeypatch):
    """A write past the free space fails with "[Errno 28] No space left on device" and no file name: the error
    says which output, and what became of the rows written (kept for --resume where the format allows)."""
    import triage.batch

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(triage.batch, "tag_file", full)
    source = tmp_path / "in.csv"
    source.write_text(LABELLED_CSV, encoding="utf-8")
    result = invoke("tag", source, "-o", tmp_path / "out.csv", "--model", saved_model_dir)
    assert result.exit_code == 1 and f"No space left on device while tagging into {tmp_path / 'out.csv'}: free" in (
        result.output
    )
    assert "kept in" in result.output and "run the same command with --resume" in result.output
    parquet = invoke("tag", source, "-o", tmp_path / "out.parquet", "--model", saved_model_dir)
    assert parquet.exit_code == 1 and "was not written; --resume can continue CSV" in parquet.output


def test_a_full_disk_in_any_command_says_what_to_do(invoke, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.EDQUOT, "Disk quota exceeded")

    monkeypatch.setattr(triage.TriageModel, "classify", full)
    result = invoke("classify", "物业费太贵")
    assert result.exit_code == 1 and "Error: Disk quota exceeded: free some space and run the command again" in (
        result.output
    )


def test_ctrl_c_anywhere_exits_130(invoke, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(triage.TriageModel, "classify", interrupted)
    result = invoke("classify", "物业费太贵")
    assert result.exit_code == 130 and "Interrupted" in result.output


def _wait_until_reading_stdin(pid: int, timeout: float = 60.0) -> None:
    """Wait until the process blocks in read(2) on standard input, i.e. it has started and waits for
    input (a fixed sleep raced a slow start on a loaded machine: the signal then came mid-import)."""
    syscall = Path(f"/proc/{pid}/syscall")
    if not syscall.exists():
        time.sleep(5)
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fields = syscall.read_text().split()
        if fields and fields[0] == "0" and len(fields) > 1 and int(fields[1], 16) == 0:  # read(fd 0, ...)
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} never waited on standard input")


def test_a_real_sigint_exits_130(tmp_path):
    """The shell's view: SIGINT while the command waits on stdin."""
    import signal

    process = subprocess.Popen(
        [sys.executable, "-c", "from triage.cli import main; main()", "classify", "-"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        # a shell starts background jobs with SIGINT ignored, and Python keeps an ignored SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    _wait_until_reading_stdin(process.pid)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Interrupted" in stderr


# ---------------------------------------------------------------- progress


def test_training_shows_its_steps_when_asked(capsys):
    triage.train(TEXTS, LABELS, min_df=1, calibration_folds=3, progress=True)
    assert "training: fitting the department model" in capsys.readouterr().err


def test_no_progress_where_stderr_is_not_a_terminal(capsys, small_model):
    from triage.audit import audit_labels
    from triage.evaluation import evaluate

    triage.train(TEXTS, LABELS, min_df=1, calibration_folds=3)
    evaluate(small_model, list(TEXTS), list(LABELS))
    audit_labels(list(TEXTS), list(LABELS), min_df=1, calibration_folds=3)
    assert capsys.readouterr().err == ""
    audit_labels(list(TEXTS), list(LABELS), min_df=1, calibration_folds=3, progress=True)
    assert "auditing labels" in capsys.readouterr().err


# ---------------------------------------------------------------- n_jobs


def test_tag_file_takes_n_jobs_and_its_old_name_with_a_deprecation(saved_model_dir, tmp_path):
    from triage.batch import tag_file

    source = tmp_path / "in.csv"
    source.write_text(LABELLED_CSV, encoding="utf-8")
    tag_file(source, tmp_path / "new.csv", model_path=saved_model_dir, n_jobs=1, progress=False)
    with pytest.warns(DeprecationWarning, match=r"n_jobs"):
        tag_file(source, tmp_path / "old.csv", model_path=saved_model_dir, jobs=1, progress=False)
    assert (tmp_path / "new.csv").read_bytes() == (tmp_path / "old.csv").read_bytes()
