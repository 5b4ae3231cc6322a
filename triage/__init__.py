"""triage: route Chinese petitions and complaints to the government department that owns them.

>>> import triage
>>> model = triage.load()
>>> result = model.classify("派出所补办身份证要排好几天队")
>>> result.department, result.department_name
('public_security', '公安')

Importing triage is cheap: scikit-learn, skops and jieba are loaded when a model is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "UNCLASSIFIED",
    "Classification",
    "ReviewReason",
    "RoutingSuggestion",
    "TriageClassifier",
    "TriageModel",
    "Urgency",
    "__version__",
    "group",
    "load",
    "mask_pii",
    "normalize",
    "segment",
    "tag_dataframe",
    "tag_file",
    "train",
]

from triage.model import UNCLASSIFIED, TriageModel, load
from triage.results import Classification, ReviewReason, RoutingSuggestion, Urgency
from triage.segmentation import segment
from triage.text import mask_pii, normalize

if TYPE_CHECKING:
    from triage.batch import tag_dataframe, tag_file
    from triage.estimator import TriageClassifier
    from triage.grouping import group
    from triage.training import train

_LAZY = {
    "TriageClassifier": "triage.estimator",
    "train": "triage.training",
    "tag_file": "triage.batch",
    "tag_dataframe": "triage.batch",
    "group": "triage.grouping",
}


def __getattr__(name: str) -> Any:
    # scikit-learn takes most of a second to import; pay for it only when a model is needed.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'triage' has no attribute {name!r}")
