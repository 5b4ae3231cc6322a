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
from pathlib import Path
from typing import Any

from triage._optional import import_optional
from triage.replies import handler_from_reply

__all__ = [
    "TOPIC_OF_DEPARTMENT",
    "default_path",
    "load_bodies",
    "load_messages",
    "load_replies",
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


def default_path() -> Path | None:
    """``../shared/data/teddy2020c`` beside the checkout, when present."""
    candidate = Path(__file__).resolve().parents[3] / "shared" / "data" / "teddy2020c"
    return candidate if candidate.is_dir() else None


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


def reply_split(message_id: str) -> str:
    """``"test"`` for one id in five (by SHA-256 of the id), else ``"train"``."""
    return "test" if int(hashlib.sha256(str(message_id).encode()).hexdigest(), 16) % 5 == 0 else "train"


def load_replies(path: str | Path | None = None) -> Any:
    """The 2,816 replied messages with weak labels read from the replies.

    Adds ``text`` (subject + body), ``department`` and ``cue`` from
    :func:`triage.replies.handler_from_reply` (missing where the reply does not show the
    handler), and ``split`` from :func:`reply_split`.
    """
    replies = _read(path, "replies.csv")
    evidence = [handler_from_reply(reply) for reply in replies["reply"].fillna("")]
    replies["department"] = [e.department if e else None for e in evidence]
    replies["cue"] = [e.cue if e else None for e in evidence]
    replies["split"] = [reply_split(i) for i in replies["id"]]
    replies["text"] = replies["subject"].fillna("") + "\n" + replies["body"].fillna("")
    return replies
