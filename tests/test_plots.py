"""Figures draw Chinese labels: a CJK font is found or installed with the plots extra, else codes and one warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from triage import plots
from triage.exceptions import MissingFontWarning

TOPICS = ["城乡建设", "环境保护", "交通运输", "劳动和社会保障"]


def _confusion_png(title: str = "混淆矩阵 confusion") -> bytes:
    return plots.confusion_matrix_png(TOPICS, [*TOPICS[1:], TOPICS[0]], TOPICS, title=title)


@pytest.fixture
def fresh_font_search():
    """Forget the font found so far, before and after the test."""
    plots.cjk_font.cache_clear()
    yield
    plots.cjk_font.cache_clear()


def test_a_cjk_font_is_found_on_a_fresh_install():
    """The plots extra brings Noto Sans CJK, so even a machine without CJK fonts has one."""
    family = plots.cjk_font()
    assert family is not None
    from matplotlib import font_manager

    path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    assert plots._draws_cjk(path)


def test_chinese_labels_are_drawn_not_tofu():
    """matplotlib warns "Glyph … missing from font(s)" for each character it draws as a box."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = _confusion_png()
        plots.reliability_png(np.array([0.9, 0.6]), np.array([True, False]), title="校准 calibration")
        plots.precision_coverage_png([{"threshold": 0.5, "coverage": 0.8, "precision": 0.9}], title="精确率 precision")
    assert png.startswith(b"\x89PNG")


def test_the_missing_glyph_check_can_fail():
    """Without the CJK font in the family list, the same figure does raise the missing-glyph warning."""
    import matplotlib.pyplot as plt

    with plt.rc_context({"font.family": ["DejaVu Sans"]}), pytest.raises(UserWarning, match=r"Glyph .* missing"):
        figure, axes = plt.subplots()
        try:
            axes.set_title(TOPICS[0])
            figure.canvas.draw()
        finally:
            plt.close(figure)


def test_without_a_cjk_font_labels_become_codes_after_one_warning(monkeypatch, fresh_font_search):
    monkeypatch.setattr(plots, "_draws_cjk", lambda path: False)
    with pytest.warns(MissingFontWarning, match="drawn as codes.*petition-triage\\[plots\\]") as record:
        _confusion_png(title="confusion")  # titles are the caller's: triage's own are ASCII
        _confusion_png(title="confusion")
    assert len([w for w in record if issubclass(w.category, MissingFontWarning)]) == 1
    assert not [w for w in record if "Glyph" in str(w.message)]  # codes, so no box is drawn
    assert plots._drawable(["a", *TOPICS[:2]]) == ["a", "#2", "#3"]


def test_an_installed_preferred_font_wins_over_the_packaged_one(monkeypatch, fresh_font_search):
    monkeypatch.setattr(plots, "_preferred_family", lambda: "WenQuanYi Micro Hei")
    monkeypatch.setattr(plots, "_packaged_font", lambda: pytest.fail("the packaged font was not needed"))
    assert plots.cjk_font() == "WenQuanYi Micro Hei"
