"""What cutting a batch's boilerplate (triage.boilerplate) does to near-duplicate grouping, on real text.

In one run, with and without ``strip_boilerplate``:

(a) the replies and the messages (title + body) of ../shared/data/dalian and ../shared/data/jiamusi
    (a board's staff open many replies alike): what is learned, the number of groups, the largest;
(b) the teddy2020c votes cut to their first 30 characters, alone and typed into an invented 12345
    template: groups, and the adjusted Rand index of the templated groups against the untemplated;
(c) the CPU time of grouping 200,000 votes (cycled), and 200,000 templated ones, twice each way;
(d) classifying with the shipped model: teddy2020c's 495 labelled messages (subject + body, whole
    and cut to their first 40 characters) as written, typed into the template, and with the
    template cut as ``triage tag`` cuts it; the accuracy of their topic (the README's protocol);
(e) ``triage tag`` (``tag_file``, ``--jobs 1``) of 100,000 templated votes with the template cut and kept:
    CPU seconds, twice each way;
(f) training on the template: teddy2020c's labelled bodies cut to their first 40 characters and typed into the
    template, folds 1-4 to train (the template cut, as ``triage.train`` does, or kept), fold 0 to test, served
    with and without the cut; the accuracy of the label.

Run: ``python benchmarks/boilerplate.py [--rows 200000]`` (about three minutes).
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sklearn.metrics import adjusted_rand_score  # noqa: E402

import triage  # noqa: E402
from triage.batch import tag_file  # noqa: E402
from triage.boilerplate import Boilerplate, compared_text  # noqa: E402
from triage.datasets.teddy2020c import TOPIC_OF_DEPARTMENT, load_votes  # noqa: E402
from triage.grouping import group, group_chunks  # noqa: E402
from triage.text import prepare  # noqa: E402

DATA = REPO.parent / "shared" / "data"
OPENING, ENDING = "市民来电反映：", "。请相关部门尽快核实处理并回复市民。"  # an invented template


def _summary(ids) -> str:
    counts = Counter(ids.tolist())
    return f"groups {len(counts):6,}  largest {counts.most_common(1)[0][1]:5,}"


def _learned(texts: list[str]) -> Boilerplate:
    return Boilerplate.learn(compared_text(prepare(text).text) for text in texts)


def boards() -> None:
    for city in ("dalian", "jiamusi"):
        with (DATA / city / "messages.csv").open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        for what, texts in (
            ("replies", [row["reply"] for row in rows]),
            ("messages", [f"{row['title']} {row['body']}" for row in rows]),
        ):
            learned = _learned(texts)
            print(f"{city:8s} {what:8s} {len(texts):6,} texts; learned {len(learned.openings)} openings, "
                  f"{len(learned.endings)} endings")  # fmt: skip
            for strip in (False, True):
                print(f"    strip={strip!s:5s} {_summary(group(texts, strip_boilerplate=strip))}")


def templated_votes() -> list[str]:
    votes = load_votes(DATA / "teddy2020c")["text"].tolist()
    short = [text[:30] for text in votes]
    templated = [OPENING + text + ENDING for text in short]
    plain = group(short, strip_boilerplate=False)
    print(f"teddy2020c votes, first 30 characters: {len(short):,}; learned from the templated: {_learned(templated)}")
    print(f"    without a template        {_summary(plain)}")
    for strip in (False, True):
        ids = group(templated, strip_boilerplate=strip)
        print(f"    templated, strip={strip!s:5s}  {_summary(ids)}  ARI against untemplated "
              f"{adjusted_rand_score(plain, ids):.4f}")  # fmt: skip
    return votes


def cost(votes: list[str], rows: int) -> None:
    cycled = [votes[i % len(votes)] for i in range(rows)]
    templated = [OPENING + text[:30] + ENDING for text in cycled]
    for name, texts in (("votes", cycled), ("templated", templated)):
        for strip in (False, True, False, True):
            chunks = (texts[at : at + 5_000] for at in range(0, len(texts), 5_000))
            start = time.process_time()
            ids = group_chunks(chunks, strip_boilerplate=strip)
            seconds = time.process_time() - start
            print(f"{name:10s} {rows:,} rows strip={strip!s:5s} CPU {seconds:6.2f} s "
                  f"({1e6 * seconds / rows:5.1f} µs a row), {len(set(ids.tolist())):,} groups")  # fmt: skip


def classifying() -> None:
    model = triage.load()
    with (DATA / "teddy2020c" / "messages.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for length in (None, 40):
        plain = [f"{row['subject']}。{row['body']}"[:length] for row in rows]
        templated = [OPENING + text + ENDING for text in plain]
        template = Boilerplate.from_texts(templated)
        cut = [template.cut(prepare(text).text) for text in templated]
        for name, texts in (("as written", plain), ("templated", templated), ("template cut", cut)):
            right = sum(
                TOPIC_OF_DEPARTMENT.get(result.department) == row["label"]
                for result, row in zip(model.classify(texts), rows, strict=True)
            )
            print(f"messages {'whole' if length is None else f'first {length}'}: {name:12s} topic accuracy "
                  f"{right / len(rows):.3f}")  # fmt: skip


def tagging(votes: list[str], rows: int = 100_000) -> None:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "orders.csv"
        with source.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(
                [("内容",), *((OPENING + votes[i % len(votes)][:60] + ENDING,) for i in range(rows))]
            )
        model = triage.load()
        for cut in (True, False, True, False):
            start = time.process_time()
            tag_file(source, Path(folder) / "out.csv", model=model, cut_template=cut, overwrite=True, progress=False)
            seconds = time.process_time() - start
            print(f"tag {rows:,} templated rows, template {'cut ' if cut else 'kept'}: CPU {seconds:.2f} s")


def training() -> None:
    with (DATA / "teddy2020c" / "bodies.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    parts = {part: [row for row in rows if (row["fold"] == "0") == (part == "test")] for part in ("train", "test")}
    texts = {part: [OPENING + row["body"][:40] + ENDING for row in chosen] for part, chosen in parts.items()}
    labels = {part: [row["label"] for row in chosen] for part, chosen in parts.items()}
    served = {"cut": Boilerplate.from_texts(texts["test"]), "as written": Boilerplate()}
    for trained in ("cut", "kept"):
        model = triage.train(texts["train"], labels["train"], cut_template=trained == "cut", n_jobs=1, progress=False)
        for name, template in served.items():
            results = model._classify_many(texts["test"], 1, 0, template)
            right = sum(result.department == label for result, label in zip(results, labels["test"], strict=True))
            print(f"bodies, first 40, templated: trained {trained}, served {name:10s} accuracy "
                  f"{right / len(results):.3f} (n={len(results):,})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    rows = parser.parse_args().rows
    boards()
    votes = templated_votes()
    cost(votes, rows)
    classifying()
    tagging(votes)
    training()


if __name__ == "__main__":
    main()
