"""Saving and loading model directories; every tamper case is refused before construction."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import zipfile

import numpy as np
import pytest
import skops.io

import triage
from tests.conftest import LABELS, TEXTS, rehash, write_format_1
from triage.exceptions import (
    InconsistentVersionWarning,
    ModelIntegrityError,
    ModelNotFoundError,
    SegmenterMismatchWarning,
    UntrustedModelError,
)
from triage.persistence import (
    CARD_FILE,
    MANIFEST_FILE,
    MODEL_FILE,
    SCORER_FILE,
    TRUSTED_TYPES,
    _dist_info_version,
    _installed_version,
)
from triage.segmentation import recorded_segmenter
from triage.text import prepare

PROBES = ["小区物业乱收停车费", "派出所补办身份证", "孩子入学难", "今天天气不错"]


@pytest.fixture
def model_copy(saved_model_dir, tmp_path):
    return shutil.copytree(saved_model_dir, tmp_path / "copy")


def _rewrite_manifest(directory, **changes):
    manifest = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest.update(changes)
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


@pytest.fixture
def no_construction(monkeypatch):
    """Fail the test if skops is ever asked to build objects."""

    def refuse(*args, **kwargs):
        raise AssertionError("skops.io.load was called for a file that should have been refused")

    monkeypatch.setattr(skops.io, "load", refuse)


def test_round_trip_keeps_params_and_predictions(small_model, saved_model_dir):
    loaded = triage.load(saved_model_dir)
    assert loaded.estimator.get_params() == small_model.estimator.get_params()
    assert loaded.classify(PROBES) == small_model.classify(PROBES)
    assert loaded.review_threshold == small_model.review_threshold


def test_directory_layout_and_manifest(saved_model_dir):
    assert {p.name for p in saved_model_dir.iterdir()} == {MODEL_FILE, SCORER_FILE, MANIFEST_FILE, CARD_FILE}
    manifest = json.loads((saved_model_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["format"] == "triage-model" and manifest["format_version"] == 2
    assert set(manifest["versions"]) >= {"triage", "scikit-learn", "jieba"}
    assert manifest["segmenter"] == recorded_segmenter()
    assert len(manifest["user_dictionary_sha256"]) == 64
    assert {label["code"] for label in manifest["labels"]} == {"property_management", "public_security", "education"}
    assert set(manifest["files"]) == {MODEL_FILE, SCORER_FILE, CARD_FILE}
    assert manifest["metrics"]["cross_validated"]["n"] == 30


def test_only_triage_types_need_trust(saved_model_dir):
    assert set(skops.io.get_untrusted_types(file=saved_model_dir / MODEL_FILE)) <= set(TRUSTED_TYPES)


def test_card_names_departments_and_threshold(saved_model_dir):
    card = (saved_model_dir / CARD_FILE).read_text(encoding="utf-8")
    assert "| property_management | 物业 |" in card
    assert "## Review threshold" in card and "Invented test messages." in card


def test_overwrite_never_replaces_a_directory_that_is_not_a_model(small_model, tmp_path):
    precious = tmp_path / "Documents"
    precious.mkdir()
    (precious / "thesis.docx").write_text("years of work")
    with pytest.raises(FileExistsError, match="not a triage model directory"):
        small_model.save(precious, overwrite=True)
    assert (precious / "thesis.docx").read_text() == "years of work"


def test_overwrite_replaces_a_model(small_model, tmp_path):
    first = small_model.save(tmp_path / "model")
    (first / "stale-file").write_text("x")
    second = small_model.save(tmp_path / "model", overwrite=True)
    assert not (second / "stale-file").exists() and triage.load(second).classes == small_model.classes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_refuses_to_overwrite(small_model, saved_model_dir):
    with pytest.raises(FileExistsError, match=r"overwrite=True"):
        small_model.save(saved_model_dir)


@pytest.mark.parametrize("name", [MODEL_FILE, SCORER_FILE])
def test_tampered_model_files_are_refused(model_copy, no_construction, name):
    with (model_copy / name).open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelIntegrityError, match=rf"{name} was modified after the model was saved"):
        triage.load(model_copy)


def test_tampered_card_is_refused(model_copy, no_construction):
    (model_copy / CARD_FILE).write_text("# a different card", encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match=r"README.md was modified"):
        triage.load(model_copy)


def test_pickle_is_refused_even_with_matching_hash(model_copy, no_construction):
    (model_copy / MODEL_FILE).write_bytes(pickle.dumps({"not": "a model"}))
    rehash(model_copy, MODEL_FILE)
    with pytest.raises(UntrustedModelError, match=r"not a skops archive .* never loads pickles"):
        triage.load(model_copy)


def test_unknown_type_in_schema_is_refused_before_construction(model_copy, no_construction):
    archive = model_copy / MODEL_FILE
    with zipfile.ZipFile(archive) as source:
        members = {name: source.read(name) for name in source.namelist()}
    schema = members["schema.json"].decode("utf-8")
    assert '"triage.segmentation"' in schema
    members["schema.json"] = schema.replace('"triage.segmentation"', '"os"').replace('"segment"', '"system"').encode()
    with zipfile.ZipFile(archive, "w") as target:
        for name, data in members.items():
            target.writestr(name, data)
    rehash(model_copy, MODEL_FILE)
    model = triage.load(model_copy)  # serving reads scorer.npz only; the estimator is audited when asked for
    with pytest.raises(UntrustedModelError, match=r"types triage does not trust: os.system"):
        _ = model.estimator


def test_missing_manifest(model_copy):
    (model_copy / MANIFEST_FILE).unlink()
    with pytest.raises(ModelNotFoundError, match=r"has no manifest.json"):
        triage.load(model_copy)


def test_damaged_manifest(model_copy):
    (model_copy / MANIFEST_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match=r"not valid JSON"):
        triage.load(model_copy)


def test_manifest_without_model_hash(model_copy):
    _rewrite_manifest(model_copy, files={})
    with pytest.raises(ModelIntegrityError, match=r"lists no hash for scorer.npz"):
        triage.load(model_copy)


def test_newer_format_asks_for_upgrade(model_copy):
    _rewrite_manifest(model_copy, format_version=99)
    with pytest.raises(ModelIntegrityError, match=r"newer than this triage reads.*pip install -U petition-triage"):
        triage.load(model_copy)


def test_missing_model_file(model_copy):
    (model_copy / MODEL_FILE).unlink()
    with pytest.raises(ModelIntegrityError, match=r"'model.skops' listed in manifest.json is missing"):
        triage.load(model_copy)


def test_path_escape_in_manifest_is_refused(model_copy):
    manifest = json.loads((model_copy / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["files"]["../outside"] = "0" * 64
    (model_copy / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match=r"'../outside'"):
        triage.load(model_copy)


def test_no_such_directory(tmp_path):
    with pytest.raises(ModelNotFoundError, match=r"no model directory at .*triage train"):
        triage.load(tmp_path / "nowhere")


def test_version_drift_warns(model_copy):
    manifest = json.loads((model_copy / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["versions"]["scikit-learn"] = "0.24.0"
    (model_copy / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    model = triage.load(model_copy)  # serving does not use scikit-learn
    with pytest.warns(InconsistentVersionWarning, match=r"scikit-learn 0\.24\.0 \(now "):
        _ = model.estimator
    assert model.classify("派出所补办身份证").department == "public_security"


def test_installed_versions_are_what_importlib_metadata_says(tmp_path, monkeypatch):
    """Versions are read from the dist-info folder without importing importlib.metadata (20 ms)."""
    from importlib import metadata

    names = sorted({distribution.metadata["Name"] for distribution in metadata.distributions()})
    assert {"numpy", "scikit-learn", "jieba"} <= set(names)
    assert {name: _installed_version(name) for name in names} == {name: metadata.version(name) for name in names}
    assert _installed_version("no-such-distribution") is None
    # a folder earlier on sys.path holding the same distribution twice: importlib.metadata decides
    for version in ("1.0", "2.0"):
        (tmp_path / f"numpy-{version}.dist-info").mkdir()
        (tmp_path / f"numpy-{version}.dist-info" / "METADATA").write_text(f"Name: numpy\nVersion: {version}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _dist_info_version("numpy") is None
    assert _installed_version("numpy") == metadata.version("numpy")


def test_other_segmenter_warns(model_copy):
    other = "jieba" if recorded_segmenter() == "rjieba" else "rjieba"
    _rewrite_manifest(model_copy, segmenter=other)
    with pytest.warns(SegmenterMismatchWarning, match=rf"segmented by {other}.*TRIAGE_SEGMENTER={other}"):
        triage.load(model_copy)


def test_scorer_without_its_arrays_is_refused(model_copy):
    import numpy as np

    np.savez(model_copy / SCORER_FILE, classes=np.array(["a", "b"]))
    rehash(model_copy, SCORER_FILE)
    with pytest.raises(ModelIntegrityError, match=r"lacks the arrays terms, term_offsets.*retrain"):
        triage.load(model_copy)


def test_model_without_scorer_file_is_served_from_its_estimator(model_copy, small_model, monkeypatch):
    """Directories saved before scorer.npz existed still load (converted on the fly)."""
    (model_copy / SCORER_FILE).unlink()
    manifest = json.loads((model_copy / MANIFEST_FILE).read_text(encoding="utf-8"))
    del manifest["files"][SCORER_FILE]
    manifest["format_version"] = 1  # the format of those directories
    (model_copy / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    loaded = triage.load(model_copy)
    assert loaded.classify(PROBES) == small_model.classify(PROBES)
    monkeypatch.setattr("triage.persistence.load_model", None)  # the converted estimator is kept, not read again
    assert loaded.estimator.classes_.tolist() == small_model.classes


def test_model_file_path_is_accepted(saved_model_dir):
    assert triage.load(saved_model_dir / MODEL_FILE).classes == triage.load(saved_model_dir).classes


def test_failed_save_leaves_nothing_behind(small_model, tmp_path, monkeypatch):
    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(skops.io, "dump", broken_dump)
    with pytest.raises(OSError, match=r"disk full"):
        small_model.save(tmp_path / "model", include_estimator=True)
    assert os.listdir(tmp_path) == []


def test_figures_survive_load_and_save_again(small_model, tmp_path):
    figures = {"confusion_matrix.png": b"\x89PNG\r\n\x1a\n invented bytes"}
    model = triage.TriageModel(small_model.scorer, small_model.manifest, estimator=small_model.estimator)
    model.figures = dict(figures)
    loaded = triage.load(model.save(tmp_path / "first"))
    assert loaded.figures == figures
    again = loaded.save(tmp_path / "second")
    assert (again / "confusion_matrix.png").read_bytes() == figures["confusion_matrix.png"]
    assert "confusion_matrix.png" in (again / CARD_FILE).read_text(encoding="utf-8")


def test_estimator_of_a_replaced_directory_is_refused(small_model, tmp_path):
    served = triage.load(small_model.save(tmp_path / "model"))
    replacement = triage.train(TEXTS[:20], LABELS[:20], min_df=1, calibration_folds=3)
    replacement.save(tmp_path / "model", overwrite=True)
    with pytest.raises(ModelIntegrityError, match=r"replaced by another model since this one was loaded"):
        _ = served.estimator


def test_figures_outside_the_checked_files_are_refused(model_copy):
    (model_copy.parent / "secret.txt").write_text("not for you")
    _rewrite_manifest(model_copy, figures=["../secret.txt"])
    with pytest.raises(ModelIntegrityError, match=r"key 'figures' .* expected a list of plain file names"):
        triage.load(model_copy)


def test_saving_again_keeps_the_recorded_segmenter(model_copy, tmp_path):
    other = "jieba" if recorded_segmenter() == "rjieba" else "rjieba"
    _rewrite_manifest(model_copy, segmenter=other)
    with pytest.warns(SegmenterMismatchWarning):  # at load; loading the estimator to save does not repeat it
        saved = triage.load(model_copy).save(tmp_path / "again")
    assert json.loads((saved / MANIFEST_FILE).read_text(encoding="utf-8"))["segmenter"] == other


def test_model_takes_a_scorer_not_an_estimator(small_model):
    with pytest.raises(TypeError, match=r"TriageModel.from_estimator"):
        triage.TriageModel(small_model.estimator, small_model.manifest)


def test_drift_is_reported_once_per_load(model_copy):
    """The segmenter mismatch is said at load; loading the estimator later does not say it again
    (pytest turns any further warning into an error here)."""
    other = "jieba" if recorded_segmenter() == "rjieba" else "rjieba"
    _rewrite_manifest(model_copy, segmenter=other)
    with pytest.warns(SegmenterMismatchWarning):
        model = triage.load(model_copy)
    assert model.estimator.classes_.tolist() == model.classes


def test_format_1_still_loads_and_answers_as_its_estimator(model_copy, small_model):
    """A directory as triage wrote it before format 2 (exact float32 scorer, uncompressed)."""
    write_format_1(model_copy)
    loaded = triage.load(model_copy)
    texts = [prepare(text).text for text in PROBES]
    np.testing.assert_allclose(
        loaded.scorer.predict_proba(texts), small_model.estimator.predict_proba(texts), atol=1e-5
    )
    assert loaded.scorer.weight_scales is None  # served as it was saved
    assert loaded.estimator.get_params() == small_model.estimator.get_params()


def test_saving_a_format_1_model_converts_it(model_copy, small_model, tmp_path):
    write_format_1(model_copy)
    converted = triage.load(model_copy).save(tmp_path / "converted")
    manifest = json.loads((converted / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["format_version"] == 2 and MODEL_FILE not in manifest["files"]
    assert (converted / SCORER_FILE).stat().st_size < (model_copy / SCORER_FILE).stat().st_size
    assert triage.load(converted).classify(PROBES) == small_model.classify(PROBES)


def test_a_model_saved_without_its_estimator_holds_only_what_serving_needs(small_model, tmp_path):
    saved = small_model.save(tmp_path / "model")
    assert {p.name for p in saved.iterdir()} == {SCORER_FILE, MANIFEST_FILE, CARD_FILE}
    assert triage.load(saved).classify(PROBES) == small_model.classify(PROBES)
