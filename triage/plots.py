"""Figures for model cards and evaluation reports (needs the ``plots`` extra: matplotlib)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from triage._optional import import_optional

__all__ = ["confusion_matrix_png", "precision_coverage_png", "reliability_png"]


def _pyplot():
    matplotlib = import_optional("matplotlib", extra="plots", purpose="drawing figures")
    matplotlib.use("Agg", force=False)  # files only; never open a window
    return import_optional("matplotlib.pyplot", extra="plots", purpose="drawing figures")


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(figure)
    return buffer.getvalue()


def confusion_matrix_png(
    labels: Sequence[str] | np.ndarray, predicted: Sequence[str] | np.ndarray, classes: Sequence[str], *, title: str
) -> bytes:
    """A row-normalised confusion matrix (true department down, predicted across) as PNG bytes."""
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(labels, predicted, labels=list(classes)).astype(float)
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    plt = _pyplot()
    size = 0.45 * len(classes) + 2
    figure, axes = plt.subplots(figsize=(size, size))
    axes.imshow(share, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(classes)), classes, rotation=90)
    axes.set_yticks(range(len(classes)), classes)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    for i, j in zip(*np.nonzero(matrix), strict=True):
        axes.text(
            j,
            i,
            int(matrix[i, j]),
            ha="center",
            va="center",
            fontsize=7,
            color="white" if share[i, j] > 0.5 else "black",
        )
    return _png(figure)


def reliability_png(confidence: np.ndarray, correct: np.ndarray, *, title: str, bins: int = 10) -> bytes:
    """Reliability diagram: accuracy against confidence per bin, with bin sizes, as PNG bytes."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    centres, accuracy, counts = [], [], []
    for b in range(bins):
        members = which == b
        if members.any():
            centres.append(confidence[members].mean())
            accuracy.append(correct[members].mean())
            counts.append(int(members.sum()))
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    axes.plot(centres, accuracy, marker="o", label="model")
    for x, y, n in zip(centres, accuracy, counts, strict=True):
        axes.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    axes.set_xlabel("confidence")
    axes.set_ylabel("accuracy")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_title(title)
    axes.legend(loc="upper left")
    return _png(figure)


def precision_coverage_png(curve: list[dict[str, float]], *, title: str) -> bytes:
    """Precision of automatically routed messages against the share routed, one point per threshold."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(5, 4))
    axes.plot([row["coverage"] for row in curve], [row["precision"] for row in curve], marker=".")
    for row in curve[::4]:
        axes.annotate(
            f"{row['threshold']:.2f}",
            (row["coverage"], row["precision"]),
            fontsize=7,
            textcoords="offset points",
            xytext=(3, 3),
        )
    axes.set_xlabel("share routed automatically (coverage)")
    axes.set_ylabel("precision")
    axes.set_title(title)
    return _png(figure)
