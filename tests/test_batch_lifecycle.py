"""What a failed or killed tagging run leaves behind: no orphan workers, no partial litter, early failures.

Reproducers of issue 18's "leftovers and orphans": workers of ``tag --jobs 2`` outlived a kill -9
of their parent; a failed Parquet/XLSX run left its ``.partial``; an unwritable XLSX destination
was found only after every row was tagged.
"""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import TEXTS
from triage.batch import tag_file, tagging, writers


def _export(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows([i, TEXTS[i % len(TEXTS)]] for i in range(rows))
    return path


def _children(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="workers are tied to their parent with Linux's prctl")
def test_workers_die_with_a_killed_parent(saved_model_dir, tmp_path):
    source = _export(tmp_path / "in.csv", 200_000)
    script = (
        "from triage.batch import tag_file; "
        f"tag_file({str(source)!r}, {str(tmp_path / 'out.csv')!r}, model_path={str(saved_model_dir)!r}, "
        "text_columns=['text'], n_jobs=2, chunk_size=50, progress=False)"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 120
        workers: set[int] = set()
        while len(workers) < 2 and time.monotonic() < deadline and parent.poll() is None:
            time.sleep(0.1)
            workers = _children(parent.pid)
        assert len(workers) >= 2, "the run never started its workers"
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers), "workers outlived their killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx"])
def test_a_failed_run_leaves_no_partial_file_of_a_format_that_cannot_resume(small_model, tmp_path, monkeypatch, suffix):
    source = _export(tmp_path / "in.csv", 30)
    real = writers._TableWriter.columns
    calls = []

    def fail_on_the_second_chunk(self, columns):
        calls.append(1)
        if len(calls) == 2:  # the first chunk is on disk (Parquet) or in the workbook (XLSX)
            raise OSError("no space left on device")
        real(self, columns)

    monkeypatch.setattr(writers._TableWriter, "columns", fail_on_the_second_chunk)
    output = tmp_path / f"out{suffix}"
    with pytest.raises(OSError, match="no space"):
        tag_file(source, output, model=small_model, text_columns=["text"], chunk_size=10, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.fixture
def chunks_tagged(monkeypatch) -> list[int]:
    """A list that grows by one for each chunk tagged (the tests that find it empty also see it grow)."""
    tagged: list[int] = []
    real = tagging._tag_chunk
    monkeypatch.setattr(tagging, "_tag_chunk", lambda *args, **kwargs: tagged.append(1) or real(*args, **kwargs))
    return tagged


def _tagging_is_counted(chunks_tagged, small_model, source, folder) -> bool:
    """Whether a run that tags rows adds to ``chunks_tagged``: without it, an empty list proves nothing."""
    tag_file(source, folder / "control.csv", model=small_model, text_columns=["text"], progress=False)
    return bool(chunks_tagged)


def test_an_unwritable_destination_fails_before_any_row_is_tagged(small_model, tmp_path, chunks_tagged):
    source = _export(tmp_path / "in.csv", 30)
    with pytest.raises(OSError):
        tag_file(source, tmp_path / "no-such-folder" / "out.xlsx", model=small_model, text_columns=["text"])
    assert chunks_tagged == [] and _tagging_is_counted(chunks_tagged, small_model, source, tmp_path)


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_folder_named_as_the_output_is_refused_before_any_row_is_tagged(
    small_model, tmp_path, chunks_tagged, overwrite
):
    """Without --overwrite the message asked for it; with it, every row was tagged and the run then failed on
    renaming the partial file onto the folder ('Is a directory'), leaving the partial file and its checkpoint."""
    source = _export(tmp_path / "in.csv", 30)
    (tmp_path / "out.csv").mkdir()
    with pytest.raises(IsADirectoryError, match=r"out.csv is a folder; name a file \(e.g. .*tagged.csv\)"):
        tag_file(source, tmp_path / "out.csv", model=small_model, text_columns=["text"], overwrite=overwrite)
    assert chunks_tagged == [] and sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]
    assert _tagging_is_counted(chunks_tagged, small_model, source, tmp_path)


def test_a_folder_without_a_suffix_named_as_the_output_is_said_to_be_a_folder(small_model, tmp_path):
    """`-o results/` was told its format could not be told from its suffix, and to pass --format."""
    source = _export(tmp_path / "in.csv", 3)
    (tmp_path / "results").mkdir()
    with pytest.raises(IsADirectoryError, match=r"results is a folder; name a file \(e.g. .*results/tagged.csv\)"):
        tag_file(source, tmp_path / "results", model=small_model, text_columns=["text"])


def test_a_folder_named_as_the_summary_is_refused_before_any_row_is_tagged(small_model, tmp_path):
    """The summary is written last: a folder there failed the run (exit 1) after the output was complete."""
    source = _export(tmp_path / "in.csv", 3)
    (tmp_path / "summary").mkdir()
    with pytest.raises(IsADirectoryError, match=r"summary is a folder; name a file \(e.g. .*summary.json\)"):
        tag_file(
            source, tmp_path / "out.csv", model=small_model, text_columns=["text"], summary_path=tmp_path / "summary"
        )
    assert not (tmp_path / "out.csv").exists()
