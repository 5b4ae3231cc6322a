"""Training helpers: coarse-to-fine labels, figures, the train function."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import LABELS, TEXTS
from triage import TriageClassifier
from triage.plots import confusion_matrix_png, reliability_png
from triage.training import refine_labels


def test_refine_labels_stays_within_the_coarse_label():
    estimator = TriageClassifier(min_df=1, calibration_folds=3).fit(TEXTS, LABELS)
    allowed = {"城乡建设": {"property_management"}, "治安": {"public_security", "education"}}
    refined = refine_labels(estimator, ["孩子入学难", "学校乱收费"], ["城乡建设", "治安"], allowed)
    assert list(refined) == ["property_management", "education"]


def test_refine_labels_rejects_an_unmappable_coarse_label():
    estimator = TriageClassifier(min_df=1, calibration_folds=3).fit(TEXTS, LABELS)
    with pytest.raises(ValueError, match="no known fine label is allowed for: 环境保护"):
        refine_labels(estimator, ["工厂排污"], ["环境保护"], {"环境保护": {"ecology_environment"}})


def test_figures_are_png():
    png = confusion_matrix_png(["a", "b", "b"], ["a", "a", "b"], ["a", "b"], title="t")
    assert png.startswith(b"\x89PNG")
    assert reliability_png(np.array([0.9, 0.6, 0.3]), np.array([True, False, False]), title="t").startswith(b"\x89PNG")


def test_figures_are_saved_hashed_and_shown_in_the_card(small_model, tmp_path):
    import json

    small_model.figures["confusion_matrix.png"] = b"\x89PNG fake"
    try:
        path = small_model.save(tmp_path / "with-figure")
    finally:
        small_model.figures.clear()
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    assert "confusion_matrix.png" in manifest["files"]
    assert "![confusion_matrix.png](confusion_matrix.png)" in (path / "README.md").read_text(encoding="utf-8")


def test_figure_names_cannot_escape_or_replace_model_files(small_model, tmp_path):
    small_model.figures["../x.png"] = b""
    try:
        with pytest.raises(ValueError, match="plain file names"):
            small_model.save(tmp_path / "bad")
    finally:
        small_model.figures.clear()


def test_held_out_rows_follow_the_split_column():
    from triage.training import held_out_rows

    mask = held_out_rows(["a", "b", "a"], np.ones(3, bool), split=[" Test", "train", "TEST "])
    assert mask.tolist() == [True, False, True]


def test_held_out_rows_by_share_are_stratified_and_only_usable():
    from triage.training import held_out_rows

    labels = ["a"] * 10 + ["b"] * 10 + [""] * 5
    usable = np.array([bool(label) for label in labels])
    mask = held_out_rows(labels, usable, test_size=0.2)
    assert mask.sum() == 4 and not mask[~usable].any()
    assert sum(mask[:10]) == 2 and sum(mask[10:20]) == 2
    assert not held_out_rows(labels, usable).any()
