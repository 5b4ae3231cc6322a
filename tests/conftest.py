"""Shared fixtures: a tiny invented corpus and a model trained on it once per session."""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import triage
from triage.defaults import DEFAULT_TOP_K
from triage.results import Classification, ReviewReason

# Invented messages, written for these tests; never taken from real data.
PROPERTY_DOCS = (
    "小区物业乱收停车费，垃圾也没人清理",
    "物业费一年涨了两次，服务一点没变好",
    "楼道灯坏了半个月物业不来修",
    "物业公司不公开公共收益，业主要求查账",
    "地下车库漏水，找物业好几次没人管",
    "业委会换届物业一直阻挠",
    "物业保安态度差还乱收快递费",
    "小区绿化被物业改成停车位收费",
    "电梯维修费物业让业主平摊不合理",
    "物业把垃圾堆在单元门口好几天",
)
POLICE_DOCS = (
    "派出所补办身份证要排好几天队",
    "孩子户口迁移去派出所跑了三趟",
    "楼下烧烤店半夜喝酒吵闹打架，报警后没人来",
    "电动车在小区门口被偷，派出所不立案",
    "接到冒充公安的诈骗电话骗走五千元",
    "居住证办理要求的材料太多",
    "有人在出租屋里聚众赌博",
    "交警乱罚款，车停在自家门口也贴条",
    "邻居天天深夜唱歌扰民报警也没用",
    "身份证丢了异地补办去哪个派出所",
)
EDUCATION_DOCS = (
    "孩子上小学划片不合理，离家太远",
    "学校四点半课堂收费太高还不管作业",
    "幼儿园老师体罚孩子，家长很担心",
    "培训机构预收学费后老板跑了，教育局管不管",
    "初中老师周末有偿补课",
    "学校食堂饭菜太差，孩子吃不饱",
    "随迁子女入学要的证明太多",
    "校车超载，孩子挤在过道上",
    "公办幼儿园学位不够，只能上贵的民办",
    "学校强制订购教辅资料",
)
TEXTS = PROPERTY_DOCS + POLICE_DOCS + EDUCATION_DOCS
LABELS = (
    ("property_management",) * len(PROPERTY_DOCS)
    + ("public_security",) * len(POLICE_DOCS)
    + ("education",) * len(EDUCATION_DOCS)
)
# Second-level labels of TEXTS, in order ("" = unknown). "fees" and "其他" each occur under two
# departments: equal names under different departments must stay apart.
SUB_LABELS_OF_TEXTS = (
    *("fees", "fees", "其他", "fees", "其他", "其他", "fees", "其他", "fees", "其他"),
    *("documents", "documents", "其他", "其他", "其他", "documents", "其他", "其他", "其他", "documents"),
    *("enrolment", "fees", "", "fees", "fees", "", "enrolment", "", "enrolment", "fees"),
)
# Further invented messages, so that every (department, sub-label) pair has at least 5 examples.
EXTRA_SUB_DOCS = (
    ("护照过期了去哪里办理加急", "public_security", "documents"),
    ("新生儿上户口需要什么材料", "public_security", "documents"),
    ("小升初摇号结果不公开", "education", "enrolment"),
    ("户籍在本区孩子却不能就近入学", "education", "enrolment"),
    ("学校乱收校服费和资料费", "education", "fees"),
)
SUB_TEXTS = TEXTS + tuple(text for text, _, _ in EXTRA_SUB_DOCS)
SUB_DEPARTMENTS = LABELS + tuple(label for _, label, _ in EXTRA_SUB_DOCS)
SUB_LABELS = SUB_LABELS_OF_TEXTS + tuple(sub for _, _, sub in EXTRA_SUB_DOCS)
REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data" / "teddy2020c"


def board_texts() -> Iterator[tuple[str, str]]:
    """Every subject, title, body and reply of the real boards' files (../shared/data/*/*.csv), with
    where it is (file, id, column)."""
    csv.field_size_limit(1 << 30)
    for path in sorted(SHARED_DATA.parent.glob("*/*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                for column in ("subject", "title", "body", "reply"):
                    if row.get(column):
                        yield f"{path.parent.name}/{path.name} {row.get('id')} {column}", row[column]


def not_utf8_strings(values: list[bytes | None]) -> Any:
    """An Arrow string array holding ``values`` unchecked, as a careless writer stores bytes that are not
    UTF-8 in a Parquet string column (pyarrow reads them back without checking either)."""
    import numpy as np
    import pyarrow

    offsets = np.cumsum([0, *(len(v or b"") for v in values)], dtype=np.int32)
    validity = pyarrow.array([v is not None for v in values]).buffers()[1]
    data = pyarrow.py_buffer(b"".join(v or b"" for v in values))
    return pyarrow.Array.from_buffers(pyarrow.string(), len(values), [validity, pyarrow.py_buffer(offsets), data])


def damage_parquet(path: Path, group: int, column: int, *, last_page: bool = False) -> None:
    """Damage one column chunk of row ``group`` of the Parquet file ``path`` so that pyarrow cannot read it:
    its first page header (``\\xff`` bytes: "Couldn't deserialize thrift"), or with ``last_page`` the gzip
    check of its last page (the file written with ``compression="gzip"``: the pages before it still read)."""
    import pyarrow.parquet

    chunk = pyarrow.parquet.ParquetFile(path).metadata.row_group(group).column(column)
    data = bytearray(path.read_bytes())
    if last_page:
        end = chunk.data_page_offset + chunk.total_compressed_size
        data[end - 4 : end] = bytes(4)
    else:
        data[chunk.data_page_offset : chunk.data_page_offset + 16] = b"\xff" * 16
    path.write_bytes(bytes(data))


@functools.cache
def _trained_small_model() -> triage.TriageModel:
    return triage.train(
        TEXTS,
        LABELS,
        min_df=1,
        calibration_folds=3,
        training_data={"name": "test-corpus", "description": "Invented test messages."},
    )


@pytest.fixture(scope="session")
def small_model() -> triage.TriageModel:
    """A TriageModel trained on the invented corpus (min_df=1: the corpus is tiny)."""
    return _trained_small_model()


def pytest_collection_finish(session: pytest.Session) -> None:
    """With TRIAGE_MUTMUT_PRETRAIN=1 (mutation runs, benchmarks/mutation.md), mutmut's fork server, which
    collects the tests once, trains ``small_model`` here, and the test run of every mutant, forked from it,
    inherits the model instead of training it again (5-15 s a mutant on a busy machine). A mutant that only
    training reaches then survives unseen: recheck survivors in training code without it."""
    if session.config.option.collectonly and os.environ.get("TRIAGE_MUTMUT_PRETRAIN") == "1":
        _trained_small_model().classify("预热")  # also the segmenter's dictionary, built on first use


@pytest.fixture(scope="session")
def sub_model() -> triage.TriageModel:
    """A TriageModel with sub-labels, trained on the invented corpus and its extra messages."""
    return triage.train(
        SUB_TEXTS,
        SUB_DEPARTMENTS,
        sub_labels=SUB_LABELS,
        min_df=1,
        calibration_folds=3,
        training_data={"name": "test-sub-corpus", "description": "Invented test messages with sub-labels."},
    )


@pytest.fixture(scope="session")
def saved_sub_model_dir(sub_model, tmp_path_factory) -> Path:
    return sub_model.save(tmp_path_factory.mktemp("models") / "sub", include_estimator=True)


@pytest.fixture(scope="session")
def saved_model_dir(small_model, tmp_path_factory) -> Path:
    """Saved with its estimator, so the tests of model.skops (trust, tampering) have one to check."""
    return small_model.save(tmp_path_factory.mktemp("models") / "small", include_estimator=True)


@pytest.fixture
def not_under_mutmut():
    """For a test of where a warning points (its ``stacklevel``): mutmut's trampolines add a frame to every call
    of the code it mutates, so such a test is skipped in its runs (which set ``MUTANT_UNDER_TEST``, even to "")."""
    if "MUTANT_UNDER_TEST" in os.environ:
        pytest.skip("mutmut adds a frame to each call: where a warning points cannot be checked")


@pytest.fixture
def hide_module(monkeypatch):
    """Make ``import NAME`` fail as if the optional package were not installed."""

    def hide(name: str) -> None:
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            monkeypatch.delitem(sys.modules, module)
        monkeypatch.setitem(sys.modules, name, None)

    return hide


def classification_rows(model: triage.TriageModel, texts: list, top_k: int = DEFAULT_TOP_K) -> list[list]:
    """The batch row builder's cells as rows (``model._classification_columns`` transposed): each is
    meant to equal ``to_row()`` of ``classify(..., explain=0)``."""
    return [list(row) for row in zip(*model._classification_columns(texts, top_k), strict=True)]


def default_model_probabilities_without(module: str, check: str, texts: list[str]) -> list[list[float]]:
    """The shipped default model's probabilities for ``texts`` in a fresh process where ``module`` cannot be
    imported (an install whose extension was not built), after the Python statement ``check`` holds."""
    code = (
        "import json, sys\n"
        f"sys.modules[{module!r}] = None  # as if the extension had not been built\n"
        "import triage, triage.scoring, triage.segmentation\n"
        f"{check}\n"
        "print(json.dumps(triage.load().predict_proba(json.loads(sys.stdin.read())).tolist()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(texts), capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def write_format_1(directory: Path) -> None:
    """Turn a model directory saved with its estimator into format 1, as triage wrote it before the
    compact scorer: an uncompressed layout-1 ``scorer.npz`` of the estimator's exact float32 arrays."""
    import numpy as np
    import skops.io

    from triage.scoring import LinearScorer

    estimator = skops.io.load(
        directory / "model.skops", trusted=skops.io.get_untrusted_types(file=directory / "model.skops")
    )
    scorer = LinearScorer.from_estimator(estimator)
    np.savez(
        directory / "scorer.npz",
        classes=np.array([str(c) for c in scorer.classes]),
        terms=scorer._terms,
        term_offsets=scorer._term_offsets,
        word_slots=scorer._word_table[0],
        word_columns=scorer._word_table[1],
        char_slots=scorer._char_table[0],
        char_columns=scorer._char_table[1],
        idf=scorer.idf,
        weights=np.ascontiguousarray(scorer.weights),
        intercept=scorer.intercept,
        settings=np.array(
            [*scorer.word_ngram_range, *scorer.char_ngram_range, int(scorer.sublinear_tf), scorer.temperature]
        ),
    )
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["format_version"] = 1
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    rehash(directory, "scorer.npz")


def rehash(directory: Path, name: str) -> None:
    """Record a model file's current SHA-256 in its manifest: a tampered file that passes the hash check."""
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["files"][name] = hashlib.sha256((directory / name).read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def edit_scorer(directory: Path, **changes: object) -> None:
    """Rewrite a model's scorer.npz with some arrays replaced, and record its new hash (a tamper that passes it)."""
    import numpy as np

    with np.load(directory / "scorer.npz") as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays.update(changes)
    np.savez_compressed(directory / "scorer.npz", **arrays)
    rehash(directory, "scorer.npz")


@pytest.fixture(scope="session")
def dask_client():
    """A local Dask cluster of two worker processes, shared by the tests that need one."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="session")
def dask_threads_client():
    """A local Dask cluster of two worker threads in this process: the code the workers run is run here,
    where coverage (and mutmut's choice of tests for a mutant) sees it."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def classified(*candidates: tuple[str, float], reason: ReviewReason | None = None, sub: str | None = None):
    """A classification written by hand (no model), for tests of the routing step: the first candidate is
    the department, reviewed only when a ``reason`` is given."""
    department = candidates[0][0] if candidates else None
    return Classification(
        department=department,
        department_name=department,
        confidence=candidates[0][1] if candidates else 0.0,
        candidates=candidates,
        needs_review=reason is not None,
        reason=reason,
        explanation=(("物业", 0.5),),
        sub_category=sub,
    )
