"""`triage tag` beside a plain fastText + rjieba batch, file to file, in one run (issue 21 item 5).

Builds an input of N rows by cycling through the teddy2020c votes (subject + body, as
``tag_profile.py`` does) as CSV and Parquet in a temporary folder (never in the repository), then
for each format times, each in a fresh process:

- ``triage tag --jobs 1`` and ``triage tag --jobs 2`` (optionally also the same commands from another
  checkout, ``--baseline-src``, e.g. the main branch, or with another model, ``--baseline-model``, e.g.
  a variant of the default model's recipe, for before/after figures from one run);
- a plain fastText batch: a supervised fastText model with character n-grams of rjieba tokens,
  trained quickly on ``bodies.csv`` (the training time is printed apart), predicting in 2 forked
  processes over chunks of 2,000 rows that the parent reads from the file and writes back (CSV with
  the csv module, Parquet with pyarrow), each row with its label and probability added.

Before timing, the ``triage`` package of each checkout timed is byte-compiled (``compileall``, into its
``__pycache__``), as installing a wheel does and as the peer's libraries in site-packages are: with
``PYTHONDONTWRITEBYTECODE`` set (as on our build machines) an editable checkout would otherwise compile
every module again in each run, ~0.1 s more of the start-up that a run pays on one core.

Printed per run: wall seconds, rows/s, CPU seconds of the whole process tree and CPU µs per row
(what the figures cost however busy the machine is), and the peak RSS and USS (memory no other
process shares) of the parent and of each worker; then the ratios ``triage --jobs 2 / fastText``
and ``--jobs 2 / --jobs 1``. With ``--repeat N`` every command runs N times, in rounds, and the
ratios are those of the median times (the host's speed drifts by 20 % and more within minutes here:
a single run of each is a draw). Wall-time ratios mean something only on an otherwise idle machine:
the load average is printed beside each run.

Needs the ``bench`` extra (``pip install -e ".[bench]"``: fasttext-community, psutil).
Run: ``python benchmarks/fasttext_peer.py [--rows 100000 | --rows 1000000] [--formats csv,parquet]
[--baseline-src /work/main] [--baseline-model DIR] [--repeat 3] [--workdir DIR]``.
"""

from __future__ import annotations

import argparse
import collections
import csv
import itertools
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Rows a fastText worker gets at a time (the batch the issue compares with).
CHUNK_ROWS = 2000
TEXT_COLUMNS = ("留言主题", "留言详情")


@dataclass
class Measured:
    """One run of a command: wall and CPU seconds of its process tree, peak memory per process."""

    name: str
    wall: float
    cpu: float
    rows: int
    #: Peak ``(RSS, USS)`` in bytes of the command's process and of each of its workers.
    parent: tuple[int, int] = (0, 0)
    workers: list[tuple[int, int]] = field(default_factory=list)
    load: str = ""

    def line(self) -> str:
        memory = " ".join(f"{rss / 2**20:.0f}/{uss / 2**20:.0f}" for rss, uss in [self.parent, *self.workers])
        return (
            f"{self.name:<32}{self.wall:>7.1f}{self.rows / self.wall:>8,.0f}{self.cpu:>7.1f}"
            f"{self.cpu / self.rows * 1e6:>8.0f}  {memory:<26} {self.load}"
        )


def load_average() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def measure(name: str, command: list[str], rows: int, env: dict[str, str] | None = None) -> Measured:
    """Run ``command`` to the end, sampling the peak RSS (VmHWM) and USS of it and of its children.

    RSS counts the shared pages a process touches (the model's, the libraries') in each process; USS
    (memory only that process holds) is what one more worker costs. Sampling is kept sparse (VmHWM
    every 0.5 s, USS, which reads smaps, every 2 s): on 2 cores a busy sampler takes CPU from two
    workers but not from one, and so biased the ``--jobs 2 / --jobs 1`` ratio (1M rows: 1.60x). The
    wall time ends when a thread blocked in ``wait`` sees the process end, not at the sampler's next
    tick: polling between half-second sleeps rounded every wall time up by 0 to 0.5 s."""
    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=tempfile.gettempdir())
    parent = psutil.Process(process.pid)
    ended: list[float] = []
    finished = threading.Event()

    def wait_for_the_end() -> None:
        process.wait()
        ended.append(time.perf_counter())
        finished.set()

    threading.Thread(target=wait_for_the_end, daemon=True).start()
    peaks: dict[int, int] = {}
    unique: dict[int, int] = {}
    for sample in itertools.count():
        if finished.is_set():
            break
        try:
            for member in [parent, *parent.children(recursive=True)]:
                with open(f"/proc/{member.pid}/status") as status:
                    hwm = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM"))
                peaks[member.pid] = max(peaks.get(member.pid, 0), hwm)
                if sample % 4 == 0:
                    unique[member.pid] = max(unique.get(member.pid, 0), member.memory_full_info().uss)
        except (psutil.Error, OSError, StopIteration):
            pass
        finished.wait(0.5)
    wall = ended[0] - started
    if process.returncode:
        raise SystemExit(f"{name} failed (exit {process.returncode}): {' '.join(command)}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    workers = sorted((pid for pid in peaks if pid != process.pid), key=lambda pid: -peaks[pid])
    return Measured(
        name,
        wall,
        cpu,
        rows,
        (peaks.get(process.pid, 0), unique.get(process.pid, 0)),
        [(peaks[pid], unique.get(pid, 0)) for pid in workers],
        load_average(),
    )


def triage_command(source: Path, target: Path, jobs: int, model: Path | None = None) -> list[str]:
    options = ["--jobs", str(jobs), "--silent", "--overwrite", *(["--model", str(model)] if model else [])]
    return [sys.executable, "-m", "triage", "tag", str(source), "-o", str(target), *options]


# ---------------------------------------------------------------- the fastText peer


def tokens(text: str) -> str:
    """A message as fastText reads it: rjieba words separated by spaces, on one line."""
    import rjieba

    return " ".join(word for word in rjieba.cut(text) if not word.isspace())


def train_fasttext(folder: Path, workdir: Path) -> tuple[Path, float]:
    """A supervised fastText model on bodies.csv: word unigrams plus character 1-3-grams of the words
    hashed into 200,000 buckets (fastText's default 2,000,000 makes a 400 MB model for no accuracy here)."""
    import fasttext

    from triage.datasets import teddy2020c

    bodies = teddy2020c.load_bodies(folder)
    started = time.perf_counter()
    training = workdir / "fasttext_train.txt"
    with training.open("w", encoding="utf-8") as handle:
        for body, label in zip(bodies["body"], bodies["label"], strict=True):
            handle.write(f"__label__{label} {tokens(body)}\n")
    settings = {"epoch": 10, "lr": 0.5, "dim": 50, "minn": 1, "maxn": 3, "bucket": 200_000, "verbose": 0}
    model = fasttext.train_supervised(str(training), **settings)
    path = workdir / "fasttext.bin"
    model.save_model(str(path))
    return path, time.perf_counter() - started


_model: Any = None  # the fastText model, loaded before the workers fork


def _predict(texts: list[str]) -> list[tuple[str, float]]:
    labels, probabilities = _model.predict([tokens(text) for text in texts], k=1)
    return [(label[0].removeprefix("__label__"), float(p[0])) for label, p in zip(labels, probabilities, strict=True)]


def _in_order(pool: Any, chunks: Any, jobs: int) -> Any:
    """``(chunk, predictions)`` in order, at most ``2 * jobs`` chunks in flight."""
    pending: collections.deque = collections.deque()
    for chunk, texts in chunks:
        pending.append((chunk, pool.apply_async(_predict, (texts,))))
        if len(pending) >= 2 * jobs:
            done, result = pending.popleft()
            yield done, result.get()
    for done, result in pending:
        yield done, result.get()


def fasttext_batch(source: Path, target: Path, model_path: Path, jobs: int) -> None:
    """Tag ``source`` into ``target`` with the fastText model in ``jobs`` forked processes."""
    global _model
    import fasttext

    _model = fasttext.load_model(str(model_path))
    tokens("预热")  # the segmenter's dictionary, loaded once before the fork
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        if source.suffix == ".parquet":
            _fasttext_parquet(pool, source, target, jobs)
        else:
            _fasttext_csv(pool, source, target, jobs)


def _fasttext_csv(pool: Any, source: Path, target: Path, jobs: int) -> None:
    with source.open(encoding="utf-8", newline="") as inp, target.open("w", encoding="utf-8", newline="") as out:
        reader, writer = csv.reader(inp), csv.writer(out)
        header = next(reader)
        where = [header.index(c) for c in TEXT_COLUMNS]
        writer.writerow([*header, "label", "probability"])
        chunks = iter(lambda: list(itertools.islice(reader, CHUNK_ROWS)), [])
        texts = ((chunk, ["\n".join(row[i] for i in where if row[i]) for row in chunk]) for chunk in chunks)
        for chunk, predicted in _in_order(pool, texts, jobs):
            writer.writerows([*row, label, round(p, 4)] for row, (label, p) in zip(chunk, predicted, strict=True))


def _fasttext_parquet(pool: Any, source: Path, target: Path, jobs: int) -> None:
    import pyarrow
    import pyarrow.parquet

    file = pyarrow.parquet.ParquetFile(source)
    batches = file.iter_batches(batch_size=CHUNK_ROWS)
    columns = ((batch, zip(*(batch[c].to_pylist() for c in TEXT_COLUMNS), strict=True)) for batch in batches)
    texts = ((batch, ["\n".join(p for p in parts if p) for parts in rows]) for batch, rows in columns)
    writer = None
    for batch, predicted in _in_order(pool, texts, jobs):
        table = pyarrow.Table.from_batches([batch])
        table = table.append_column("label", pyarrow.array([label for label, _ in predicted]))
        table = table.append_column("probability", pyarrow.array([p for _, p in predicted]))
        writer = writer or pyarrow.parquet.ParquetWriter(target, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()


# ---------------------------------------------------------------- the comparison


def byte_compile(package: Path) -> None:
    """Write the ``.pyc`` files of ``package`` as an install would (see the module docstring)."""
    import compileall

    if not compileall.compile_dir(str(package), quiet=1):
        raise SystemExit(f"could not byte-compile {package}")


def _baseline_env(baseline: Path) -> dict[str, str]:
    """The environment that runs ``triage`` from the checkout ``baseline``. PYTHONSAFEPATH: ``python -m`` puts
    the working directory first on the path, so run from a checkout it imported that checkout instead (both
    rows then timed the same code, 25 % apart, and said so as a ratio); checked before any timing."""
    env = {**os.environ, "PYTHONPATH": str(baseline.resolve()), "PYTHONSAFEPATH": "1"}
    probe = [sys.executable, "-c", "import triage; print(triage.__file__)"]
    imported = Path(subprocess.run(probe, env=env, capture_output=True, text=True, check=True).stdout.strip())
    if baseline.resolve() not in imported.resolve().parents:
        raise SystemExit(f"--baseline-src {baseline}: python imports triage from {imported} instead")
    return env


def compare(
    kind: str,
    source: Path,
    rows: int,
    model: Path,
    baseline: Path | None,
    repeat: int = 1,
    baseline_model: Path | None = None,
) -> None:
    """Time every command ``repeat`` times, in rounds (each round runs each command once, so a drift of
    the machine's speed during the run reaches every command alike), and print the ratios of the median
    wall (and CPU) times. The baseline is another checkout (``baseline``), another model
    (``baseline_model``, a directory ``triage tag --model`` reads), or both."""
    workdir = source.parent
    print(f"\n== {kind.upper()} in, {kind.upper()} out, {rows:,} rows; {load_average()} ({os.cpu_count()} cores)")
    print(f"{'run':<32}{'wall s':>7}{'rows/s':>8}{'CPU s':>7}{'CPU µs':>8}  peak RSS/USS MiB: parent, workers")
    commands: dict[str, tuple[list[str], dict[str, str] | None]] = {}
    for jobs in (1, 2):
        commands[f"triage tag --jobs {jobs}"] = (triage_command(source, workdir / f"triage{jobs}.{kind}", jobs), None)
    if baseline is not None or baseline_model is not None:
        env = _baseline_env(baseline) if baseline is not None else None
        for jobs in (1, 2):
            commands[f"baseline --jobs {jobs}"] = (
                triage_command(source, workdir / f"baseline{jobs}.{kind}", jobs, baseline_model),
                env,
            )
    peer = "fastText + rjieba, 2 processes"
    target = workdir / f"fasttext.{kind}"
    commands[peer] = (
        [sys.executable, os.path.abspath(__file__), "--fasttext-batch", str(source), str(target), str(model)],
        None,
    )
    runs: dict[str, list[Measured]] = collections.defaultdict(list)
    for _ in range(repeat):
        for name, (command, env) in commands.items():
            runs[name].append(measure(name, command, rows, env))
            print(runs[name][-1].line(), flush=True)
    identical = (workdir / f"triage1.{kind}").read_bytes() == (workdir / f"triage2.{kind}").read_bytes()
    print(f"--jobs 1 and --jobs 2 outputs byte-identical: {identical}")
    wall = {name: statistics.median(m.wall for m in measured) for name, measured in runs.items()}
    cpu = {name: statistics.median(m.cpu for m in measured) for name, measured in runs.items()}
    one, two = "triage tag --jobs 1", "triage tag --jobs 2"
    median = f"medians of {repeat} runs" if repeat > 1 else "one run each"
    print(
        f"ratios ({median}; wall): triage --jobs 2 / fastText {wall[peer] / wall[two]:.2f}x; --jobs 2 / --jobs 1 "
        f"{wall[one] / wall[two]:.2f}x; (CPU per row) fastText / triage --jobs 2 {cpu[peer] / cpu[two]:.2f}"
    )
    if repeat > 1:
        pairs = [p.wall / t.wall for p, t in zip(runs[peer], runs[two], strict=True)]
        print(f"triage --jobs 2 / fastText, run by run: {' '.join(f'{r:.2f}' for r in pairs)}")
    if baseline is not None or baseline_model is not None:
        print(f"this checkout / baseline, --jobs 2 (wall): {wall['baseline --jobs 2'] / wall[two]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--formats", default="csv,parquet", help="comma-separated: csv, parquet")
    parser.add_argument("--data", type=Path, default=None, help="teddy2020c folder (default: ../shared/data)")
    parser.add_argument("--workdir", type=Path, default=None, help="inputs and outputs (default: a temporary folder)")
    parser.add_argument("--baseline-src", type=Path, default=None, help="also time `triage tag` from this checkout")
    parser.add_argument(
        "--baseline-model", type=Path, default=None, help="also time `triage tag --model` this model directory"
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds of every command; ratios of the medians")
    parser.add_argument("--fasttext-batch", nargs=3, metavar=("SOURCE", "TARGET", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fasttext_batch:
        source, target, model = map(Path, args.fasttext_batch)
        fasttext_batch(source, target, model, jobs=2)
        return
    from tag_profile import build_input

    from triage.datasets import teddy2020c

    folder = args.data or teddy2020c.default_path()
    if folder is None:
        raise SystemExit("teddy2020c data not found: pass --data or run beside ../shared/data")
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    with tempfile.TemporaryDirectory(prefix="fasttext_peer_") as temporary:
        workdir = args.workdir or Path(temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        paths = build_input(folder, args.rows, workdir, formats)
        import triage

        byte_compile(Path(triage.__file__).parent)
        if args.baseline_src is not None:
            byte_compile(args.baseline_src / "triage")
        model, seconds = train_fasttext(folder, workdir)
        print(f"fastText trained on bodies.csv in {seconds:.1f} s (segmenting included)")
        for kind in formats:
            compare(kind, paths[kind], args.rows, model, args.baseline_src, args.repeat, args.baseline_model)


if __name__ == "__main__":
    main()
