"""Figures for model cards and evaluation reports (needs the ``plots`` extra: matplotlib).

Labels are often Chinese (department names, a contest's topics), which matplotlib's default
font cannot draw. The figures use an installed CJK font, else the Noto Sans CJK font that the
``plots`` extra installs (package ``noto-cjk-sans-otc``); with neither, Chinese labels are drawn
as codes (#1, #2, ... in the order of the figure's classes) after one :class:`MissingFontWarning`.
"""

from __future__ import annotations

import functools
import io
import warnings
from collections.abc import Callable, Sequence
from typing import ParamSpec

import numpy as np

from triage._optional import import_optional, install_hint
from triage.exceptions import MissingFontWarning

__all__ = ["cjk_font", "confusion_matrix_png", "precision_coverage_png", "reliability_png"]

P = ParamSpec("P")

#: Characters a font must draw to count as CJK-capable (common in department and topic names).
_CJK_SAMPLE = "部门城乡建设环境保护交通运输教育卫生劳动和社会障商贸旅游"

#: Families tried first, in this order, where installed: fonts made for simplified Chinese.
_PREFERRED_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
    "Noto Sans CJK JP",
)


def _pyplot():
    matplotlib = import_optional("matplotlib", extra="plots", purpose="drawing figures")
    matplotlib.use("Agg", force=False)  # files only; never open a window
    return import_optional("matplotlib.pyplot", extra="plots", purpose="drawing figures")


def _draws_cjk(path: str) -> bool:
    """Whether the font file at ``path`` has a glyph for every character of the sample."""
    from matplotlib.ft2font import FT2Font

    try:
        font = FT2Font(path)
    except (OSError, RuntimeError, ValueError):
        return False
    return all(font.get_char_index(ord(ch)) for ch in _CJK_SAMPLE)


def _packaged_font() -> str | None:
    """The Noto Sans CJK file of the ``noto-cjk-sans-otc`` package (installed by the ``plots`` extra)."""
    try:
        import noto_cjk_sans_otc
    except ImportError:
        return None
    path = str(noto_cjk_sans_otc.FONT_PATH)
    return path if _draws_cjk(path) else None


def _preferred_family() -> str | None:
    """The first of :data:`_PREFERRED_FAMILIES` that matplotlib knows and that draws the sample."""
    from matplotlib import font_manager

    known = {entry.name: entry.fname for entry in font_manager.fontManager.ttflist}
    return next((f for f in _PREFERRED_FAMILIES if f in known and _draws_cjk(known[f])), None)


@functools.cache
def cjk_font() -> str | None:
    """The family name of a font that draws Chinese, registering the packaged one if needed; ``None`` if none.

    Installed fonts with a preferred family come first, then the packaged Noto Sans CJK, then any
    other installed font that draws the sample characters. Warns once (per process) when there is none.
    """
    from matplotlib import font_manager

    _pyplot()
    family = _preferred_family()
    if family is not None:
        return family
    packaged = _packaged_font()
    if packaged is not None:
        font_manager.fontManager.addfont(packaged)  # every face of the collection: SC among them where supported
        return _preferred_family() or font_manager.FontProperties(fname=packaged).get_name()
    for entry in sorted(font_manager.fontManager.ttflist, key=lambda entry: entry.name):
        if _draws_cjk(entry.fname):
            return entry.name
    warnings.warn(
        "no font that draws Chinese was found, so figure labels with Chinese characters are drawn as codes "
        f"(#1, #2, ... in the order of the report's tables); install the plots extra ({install_hint('plots')}) "
        "or a CJK font (e.g. Debian's fonts-noto-cjk)",
        MissingFontWarning,
        stacklevel=3,
    )
    return None


def _drawable(labels: Sequence[str]) -> list[str]:
    """``labels`` as the figure can draw them: unchanged with a CJK font, else non-ASCII ones as ``#n``."""
    if cjk_font() is not None:
        return list(labels)
    return [label if label.isascii() else f"#{n}" for n, label in enumerate(labels, start=1)]


def _cjk_capable(draw: Callable[P, bytes]) -> Callable[P, bytes]:
    """Draw with matplotlib's default font for Latin text, falling back glyph by glyph to the CJK font."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> bytes:
        plt = _pyplot()
        family = cjk_font()
        # an explicit list: matplotlib falls back glyph by glyph only along font.family, not a generic alias
        fonts = [plt.rcParams["font.sans-serif"][0], *([family] if family else [])]
        with plt.rc_context({"font.family": fonts}):
            return draw(*args, **kwargs)

    return wrapper


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(figure)
    return buffer.getvalue()


@_cjk_capable
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
    names = _drawable([str(c) for c in classes])
    axes.set_xticks(range(len(classes)), names, rotation=90)
    axes.set_yticks(range(len(classes)), names)
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


@_cjk_capable
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


@_cjk_capable
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
