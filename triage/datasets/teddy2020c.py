"""Readers for the 2020 Teddy Cup problem-C message-board data (real citizen messages).

triage never ships these messages. Point the functions at a local copy (the folder holding
``messages.csv``, ``bodies.csv``, ``replies.csv``, ...); they serve training experiments,
evaluation, benchmarks and notebooks.

Two fixed rules live here so every script reports comparable figures:

* :data:`TOPIC_OF_DEPARTMENT` maps triage's departments to the contest's 7 first-level topics,
  by remit (written before looking at any score). Departments outside those 7 topics map to
  ``None`` and always count as wrong when scored against a topic.
* :func:`reply_split` assigns each reply message to ``train`` or ``test`` by its id alone
  (SHA-256 of the id, one in five to test), so held-out replies never reach a model.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from triage._optional import import_optional
from triage.departments import unit_departments
from triage.replies import handler_from_reply

if TYPE_CHECKING:
    from triage.model import TriageModel

__all__ = [
    "DATA_ENV",
    "TOPIC_OF_DEPARTMENT",
    "default_path",
    "describe_source",
    "evaluate",
    "load_bodies",
    "load_messages",
    "load_replies",
    "load_votes",
    "reply_split",
]

#: Department → the contest's first-level topic it belongs to (None: none of the 7).
TOPIC_OF_DEPARTMENT: dict[str, str | None] = {
    "housing_construction": "城乡建设",
    "property_management": "城乡建设",  # 住房保障与房地产
    "urban_management": "城乡建设",  # 城市建设和市政管理
    "water_affairs": "城乡建设",  # municipal water supply and drainage
    "natural_resources": "城乡建设",  # 城乡规划, 房屋征收
    "emergency_management": "城乡建设",  # 安全生产 is a 城乡建设 sub-topic
    "street_community": "城乡建设",  # 村镇建设; township offices mostly answer local works
    "ecology_environment": "环境保护",
    "transport": "交通运输",
    "education": "教育文体",
    "culture_tourism": "教育文体",  # 文化, 体育, 文物管理 (tourism alone is 商贸旅游)
    "human_resources_social_security": "劳动和社会保障",
    "healthcare_security": "劳动和社会保障",  # 城镇职工/居民社会保险 include medical insurance
    "civil_affairs": "劳动和社会保障",  # social assistance and elderly care
    "market_regulation": "商贸旅游",  # 市场监管, 质监检验检疫
    "health": "卫生计生",
    "public_security": None,  # 政法
    "agriculture_rural": None,  # 农村农业
    "other": None,
}


#: Environment variable naming the teddy2020c folder (the one holding ``messages.csv``), which wins over the search.
DATA_ENV = "TRIAGE_TEDDY2020C"


def _shared_data_above(start: Path) -> Path | None:
    """``shared/data/teddy2020c`` beside ``start`` or beside any folder above it."""
    for folder in (start, *start.parents):
        candidate = folder / "shared" / "data" / "teddy2020c"
        if candidate.is_dir():
            return candidate
    return None


def default_path() -> Path | None:
    """The local teddy2020c folder, or ``None`` where there is none.

    Looked for in this order: the folder named by ``$TRIAGE_TEDDY2020C`` (an error if it does
    not exist: a name given on purpose is never silently replaced); ``shared/data/teddy2020c``
    beside the working directory or any folder above it (``../shared/data`` from a checkout or
    from its ``notebooks/``); the same above the installed package (an editable install).
    """
    named = os.environ.get(DATA_ENV)
    if named:
        folder = Path(named).expanduser()
        if not (folder / "messages.csv").is_file():
            raise FileNotFoundError(
                f"${DATA_ENV} names {folder}, which holds no messages.csv; "
                "point it at the teddy2020c folder or unset it"
            )
        return folder
    return _shared_data_above(Path.cwd().resolve()) or _shared_data_above(Path(__file__).resolve().parent)


def describe_source(path: Path | None) -> str:
    """One loud line saying which data a notebook or script is about to use."""
    if path is not None:
        return f"DATA: real teddy2020c messages from {path}"
    return (
        "DATA: no teddy2020c folder found (set $TRIAGE_TEDDY2020C or DATA_PATH), so the authored corpus shipped "
        "with triage is used; the default model was trained on it, so no test score of the default model is shown"
    )


def _read(path: str | Path | None, name: str) -> Any:
    pandas = import_optional("pandas", extra="io", purpose="reading the teddy2020c data")
    folder = Path(path) if path is not None else default_path()
    if folder is None or not (folder / name).is_file():
        raise FileNotFoundError(f"{name} not found in {folder}; pass the folder holding the teddy2020c CSV files")
    return pandas.read_csv(folder / name, dtype={"id": str})


def load_messages(path: str | Path | None = None) -> Any:
    """The 495 labelled messages with ``text`` = subject + body, and their ``split`` (train/test)."""
    messages = _read(path, "messages.csv")
    split = _read(path, "split.csv")
    messages = messages.merge(split, on="id", how="left")
    messages["text"] = messages["subject"].fillna("") + "\n" + messages["body"].fillna("")
    return messages


def load_bodies(path: str | Path | None = None) -> Any:
    """The 5,877 labelled bodies with their fixed ``fold`` (0–4); ``text`` = body."""
    bodies = _read(path, "bodies.csv")
    bodies["text"] = bodies["body"].fillna("")
    return bodies


def load_votes(path: str | Path | None = None) -> Any:
    """The 4,326 unlabelled messages with likes and dislikes; ``text`` = subject + body."""
    votes = _read(path, "votes.csv")
    votes["text"] = votes["subject"].fillna("") + "\n" + votes["body"].fillna("")
    return votes


def reply_split(message_id: str) -> str:
    """``"test"`` for one id in five (by SHA-256 of the id), else ``"train"``."""
    return "test" if int(hashlib.sha256(str(message_id).encode()).hexdigest(), 16) % 5 == 0 else "train"


def load_replies(path: str | Path | None = None) -> Any:
    """The 2,816 replied messages with weak labels read from the replies.

    Adds ``text`` (subject + body), ``department``, ``unit`` and ``cue`` from
    :func:`triage.replies.handler_from_reply` (missing where the reply does not show the
    handler), ``departments`` (every department that may own the message by that unit,
    :func:`triage.departments.unit_departments`; empty where none is shown) and ``split`` from
    :func:`reply_split`.
    """
    replies = _read(path, "replies.csv")
    evidence = [handler_from_reply(reply) for reply in replies["reply"].fillna("")]
    replies["department"] = [e.department if e else None for e in evidence]
    replies["unit"] = [e.unit if e else None for e in evidence]
    replies["cue"] = [e.cue if e else None for e in evidence]
    replies["departments"] = [
        (e.department, *(d for d in unit_departments(e.unit) if d != e.department)) if e else () for e in evidence
    ]
    replies["split"] = [reply_split(i) for i in replies["id"]]
    replies["text"] = replies["subject"].fillna("") + "\n" + replies["body"].fillna("")
    return replies


_DESCRIPTIONS = {
    "replies_test": "Real messages of the replies' test split whose reply shows the handling department.",
    "replies_test_without_street": "The same, without messages a street or township office handled.",
    "messages_topics": "The 495 labelled real messages (subject + body), scored by the contest topic of the "
    "predicted department; id 37042 appears twice with two labels and both rows are kept.",
    "messages_topics_test": "The fixed test split (split.csv) of those messages, scored the same way.",
    "bodies_topics": "The 5,877 labelled real bodies, scored by topic.",
}


def _topic_scores(model: TriageModel, texts: list[str], topics: np.ndarray) -> dict[str, Any]:
    proba = model.predict_proba(texts)
    classes = np.asarray(model.classes)
    predicted = np.array([TOPIC_OF_DEPARTMENT.get(str(d)) for d in classes[proba.argmax(axis=1)]], dtype=object)
    correct = predicted == topics
    automatic = proba.max(axis=1) >= model.review_threshold
    return {
        "n": len(texts),
        "topic_accuracy": float(correct.mean()),
        "automatic_share": float(automatic.mean()),
        "automatic_topic_precision": float(correct[automatic].mean()) if automatic.any() else None,
    }


def evaluate(model: TriageModel, path: str | Path | None = None, *, include_bodies: bool = False) -> dict[str, Any]:
    """Score ``model`` on the real messages it never trained on, by the fixed rules of this module.

    * ``replies_test``: the test split of the weak-labelled replies (department top-1/top-3,
      per class, at the model's review threshold); ``replies_test_without_street``: the same
      without messages a street or township office handled (local practice decides those);
    * ``messages_topics``: the 495 labelled messages scored by the topic of the predicted
      department (:data:`TOPIC_OF_DEPARTMENT`); ``messages_topics_test``: its fixed test split;
    * ``bodies_topics`` (only with ``include_bodies``, for models not trained on bodies.csv).
    """
    from triage.metrics import evaluate_predictions

    results: dict[str, Any] = {}
    replies = load_replies(path)
    test = replies[(replies["split"] == "test") & replies["department"].notna()]
    for name, rows in (
        ("replies_test", test),
        ("replies_test_without_street", test[test["department"] != "street_community"]),
    ):
        proba = model.predict_proba(list(rows["text"]))
        results[name] = evaluate_predictions(
            rows["department"].to_numpy(), proba, np.asarray(model.classes), model.review_threshold
        )
    messages = load_messages(path)
    results["messages_topics"] = _topic_scores(model, list(messages["text"]), messages["label"].to_numpy())
    test_messages = messages[messages["split"] == "test"]
    results["messages_topics_test"] = _topic_scores(
        model, list(test_messages["text"]), test_messages["label"].to_numpy()
    )
    if include_bodies:
        bodies = load_bodies(path)
        results["bodies_topics"] = _topic_scores(model, list(bodies["text"]), bodies["label"].to_numpy())
    for name, result in results.items():
        result["description"] = _DESCRIPTIONS[name]
    return results
