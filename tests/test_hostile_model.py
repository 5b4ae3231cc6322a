"""Tampered and careless model directories (issue 18): each is refused with an error naming the
file, the key and what was expected, before anything large is read or any estimator is built.

Every case here was accepted, or failed with a raw Python exception, before the manifest schema
and the bounded readers existed.
"""

from __future__ import annotations

import json
import shutil
import struct
import tracemalloc
import zlib

import numpy as np
import pytest

import triage
from tests.conftest import edit_scorer, rehash, write_format_1
from triage import persistence
from triage.exceptions import ModelIntegrityError, ModelNotFoundError
from triage.manifest import MAX_MANIFEST_BYTES
from triage.persistence import CARD_FILE, MANIFEST_FILE, MODEL_FILE, SCORER_FILE

PROBE = "小区物业乱收停车费"


@pytest.fixture
def model_copy(saved_model_dir, tmp_path):
    return shutil.copytree(saved_model_dir, tmp_path / "copy")


def _edit_manifest(directory, **changes):
    path = directory / MANIFEST_FILE
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.update(changes)
    path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


# --- the manifest -----------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [float("nan"), float("inf"), 0, 0.0, -0.2, 1.5])
def test_review_threshold_outside_0_1_is_refused(model_copy, threshold):
    """NaN or 0 sent nothing to review; now the threshold must be a number in (0, 1]."""
    _edit_manifest(model_copy, review_threshold=threshold)
    with pytest.raises(
        ModelIntegrityError, match=r"manifest.json: key 'review_threshold' .* greater than 0 and at most 1"
    ):
        triage.load(model_copy)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("review_threshold", "0.9", "a number"),
        ("review_threshold", [0.9], "a number"),
        ("review_threshold", True, "a number"),
        ("labels", "物业", "a non-empty list of objects"),
        ("labels", [1, 2], "a non-empty list of objects"),
        ("labels", [{"code": 7}], "a non-empty list of objects"),
        ("sub_labels", {"class": "a"}, "a non-empty list of objects"),
        ("files", ["scorer.npz"], "an object mapping plain file names"),
        ("files", {"scorer.npz": 5}, "an object mapping plain file names"),
        ("versions", ["1.0"], "an object of strings"),
        ("metrics", [], "a JSON object"),
        ("format_version", "2", "an integer"),
        ("target_precision", 2, "null or a number"),
    ],
)
def test_wrong_types_name_the_key_and_what_is_expected(model_copy, key, value, expected):
    _edit_manifest(model_copy, **{key: value})
    with pytest.raises(ModelIntegrityError, match=rf"manifest.json: key '{key}' is .*; expected {expected}"):
        triage.load(model_copy)


@pytest.mark.parametrize("key", ["review_treshold", "rules", "labels_extra"])
def test_unknown_keys_are_refused(model_copy, key):
    _edit_manifest(model_copy, **{key: 0.5})
    expected = rf"unknown keys '{key}'.*free-form data under training_data.*newer triage.*upgrade triage"
    with pytest.raises(ModelIntegrityError, match=expected):
        triage.load(model_copy)


def test_free_form_sections_take_any_json(model_copy):
    """training_data, metrics and params are the documented extension points."""
    _edit_manifest(model_copy, metrics={"anything": {"nested": [1, None, "x"]}}, params={"new_param": {"a": 1}})
    assert triage.load(model_copy).classify(PROBE).department


def test_missing_review_threshold_is_refused(model_copy):
    manifest = json.loads((model_copy / MANIFEST_FILE).read_text(encoding="utf-8"))
    del manifest["review_threshold"]
    (model_copy / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match=r"lacks the key 'review_threshold'"):
        triage.load(model_copy)


def test_a_key_given_twice_is_refused(model_copy):
    text = (model_copy / MANIFEST_FILE).read_text(encoding="utf-8")
    (model_copy / MANIFEST_FILE).write_text(text.replace("{", '{"review_threshold": 0.5, ', 1), encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match=r"not valid JSON \(key 'review_threshold' appears more than once"):
        triage.load(model_copy)


def test_deeply_nested_manifest_is_an_integrity_error(model_copy):
    (model_copy / MANIFEST_FILE).write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match=r"not valid JSON \(it is nested too deeply\)"):
        triage.load(model_copy)


def test_a_300_mb_manifest_is_refused_before_it_is_read(model_copy):
    with (model_copy / MANIFEST_FILE).open("wb") as handle:  # sparse: no disk or memory needed
        handle.seek(300 << 20)
        handle.write(b"}")
    tracemalloc.start()
    try:
        with pytest.raises(ModelIntegrityError, match=rf"is 314,572,801 bytes, more than the {MAX_MANIFEST_BYTES:,}"):
            triage.load(model_copy)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20


def test_labels_that_are_not_the_scorer_classes_are_refused(model_copy):
    manifest = json.loads((model_copy / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["labels"][0]["code"] = "somewhere_else"
    (model_copy / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match=r"labels are not the classes of scorer.npz"):
        triage.load(model_copy)


def test_files_that_are_no_part_of_a_model_are_refused(model_copy):
    (model_copy / "extra.bin").write_bytes(b"x")
    manifest = json.loads((model_copy / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["files"]["extra.bin"] = "0" * 64
    (model_copy / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match=r"lists files that are no part of a model: \['extra.bin'\]"):
        triage.load(model_copy)


def test_saving_refuses_a_manifest_it_could_not_load(small_model, tmp_path):
    broken = triage.TriageModel(small_model.scorer, {**small_model.manifest, "review_threshold": float("nan")})
    with pytest.raises(ModelIntegrityError, match=r"key 'review_threshold'"):
        broken.save(tmp_path / "model")
    assert not (tmp_path / "model").exists()


# --- symbolic links ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", [MANIFEST_FILE, SCORER_FILE, MODEL_FILE, CARD_FILE])
def test_no_model_file_is_read_through_a_symlink(model_copy, tmp_path, name):
    """The same bytes behind a link are refused: a link can point anywhere later."""
    elsewhere = tmp_path / f"elsewhere-{name}"
    shutil.move(model_copy / name, elsewhere)
    (model_copy / name).symlink_to(elsewhere)
    with pytest.raises(ModelIntegrityError, match=rf"{name} is a symbolic link"):
        triage.load(model_copy)


@pytest.mark.parametrize("name", [SCORER_FILE, MODEL_FILE])
def test_a_folder_in_place_of_a_model_file_is_named(model_copy, name):
    """os.fdopen refused the folder first: 'Error: [Errno 21] Is a directory: 3' named a descriptor, no file."""
    (model_copy / name).unlink()
    (model_copy / name).mkdir()
    with pytest.raises(ModelIntegrityError, match=rf"{name} is not a regular file; a model directory must hold"):
        triage.load(model_copy)


def test_a_linked_model_directory_is_accepted(saved_model_dir, tmp_path):
    """The directory itself may be a link (e.g. ``current -> v3``); only its files may not."""
    (tmp_path / "current").symlink_to(saved_model_dir, target_is_directory=True)
    assert triage.load(tmp_path / "current").classify(PROBE) == triage.load(saved_model_dir).classify(PROBE)


# --- the arrays -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "name"),
    [(1, "weights"), (1, "intercept"), (1, "idf"), (2, "weight_scales"), (2, "intercept"), (2, "idf")],
)
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_numbers_in_the_scorer_are_refused(model_copy, layout, name, value):
    """NaN weights gave confidence NaN with needs_review False. Layout 2 (format 2) stores int8
    weights, which hold no NaN, and their float scales; layout 1 (format 1) float32 weights."""
    if layout == 1:
        write_format_1(model_copy)
    with np.load(model_copy / SCORER_FILE) as archive:
        array = archive[name].copy()
    array.flat[0] = value
    edit_scorer(model_copy, **{name: array})
    with pytest.raises(ModelIntegrityError, match=r"NaN or infinite"):
        triage.load(model_copy)


def test_nan_temperature_is_refused(model_copy):
    with np.load(model_copy / SCORER_FILE) as archive:
        settings = archive["settings"].copy()
    settings[-1] = np.nan
    edit_scorer(model_copy, settings=settings)
    with pytest.raises(ModelIntegrityError, match=r"temperature nan is not a positive number"):
        triage.load(model_copy)


def _zip_of_one_member(name: str, deflated: bytes, size: int, crc: int = 0) -> bytes:
    """A zip archive of one deflated member, its size declared as given (a bomb's CRC is left 0: the
    refusal comes before anything reads that far)."""
    encoded = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(deflated), size, len(encoded), 0)
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII",
        0x02014B50,
        20,
        20,
        0,
        8,
        0,
        0x21,
        crc,
        len(deflated),
        size,
        len(encoded),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    body = local + encoded + deflated
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central) + len(encoded), len(body), 0)
    return body + central + encoded + end


def _deflated_zeros(header: bytes, zeros: int) -> bytes:
    """Raw deflate data of ``header`` then ``zeros`` zero bytes, built one compressed megabyte at a time
    (each flushed block stands alone, so copies of it can follow each other)."""
    block = 1 << 20
    first, middle, last = (zlib.compressobj(9, zlib.DEFLATED, -15) for _ in range(3))
    chunk = middle.compress(bytes(block)) + middle.flush(zlib.Z_FULL_FLUSH)
    return b"".join(
        [first.compress(header) + first.flush(zlib.Z_FULL_FLUSH), chunk * (zeros // block), last.flush(zlib.Z_FINISH)]
    )


def test_a_deflated_scorer_expanding_to_3_gb_is_refused_before_it_expands(model_copy):
    rows = 3 * 10**9 // 4 // 19 // (1 << 20) * (1 << 20)  # float32 weights of 19 classes, a whole number of MB
    header = _npy_header(np.float32, (19, rows))
    size = 19 * rows * 4
    bomb = _zip_of_one_member("weights.npy", _deflated_zeros(header, size), len(header) + size)
    assert len(bomb) < 5 << 20 and len(header) + size > 2.9e9
    (model_copy / SCORER_FILE).write_bytes(bomb)
    rehash(model_copy, SCORER_FILE)
    tracemalloc.start()
    try:
        with pytest.raises(ModelIntegrityError, match=r"scorer.npz expands to 2,9\d\d,\d{3},\d{3} bytes, more than"):
            triage.load(model_copy)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20


def _npy_header(dtype, shape) -> bytes:
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def test_an_array_header_larger_than_its_zip_entry_is_refused(model_copy):
    """A small entry whose .npy header declares 3 GB would have the reader allocate 3 GB."""
    header = _npy_header(np.float32, (19, 40_000_000))
    member = header + bytes(64)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    (model_copy / SCORER_FILE).write_bytes(
        _zip_of_one_member("weights.npy", deflater.compress(member) + deflater.flush(), len(member), zlib.crc32(member))
    )
    rehash(model_copy, SCORER_FILE)
    with pytest.raises(
        ModelIntegrityError, match=r"declares an array of 3,040,000,\d+ bytes in a zip entry of \d+ bytes"
    ):
        triage.load(model_copy)


def test_an_object_array_is_refused_before_it_is_read(model_copy):
    edit_scorer(model_copy, classes=np.array([{"not": "text"}], dtype=object))
    with pytest.raises(ModelIntegrityError, match=r"member 'classes.npy' holds Python objects"):
        triage.load(model_copy)


def test_unexpected_arrays_are_refused(model_copy):
    edit_scorer(model_copy, payload=np.zeros(3))
    with pytest.raises(ModelIntegrityError, match=r"unexpected member 'payload.npy'"):
        triage.load(model_copy)


def test_a_skops_file_expanding_beyond_the_limit_is_refused(model_copy, monkeypatch):
    monkeypatch.setattr(persistence, "MAX_FILE_BYTES", 20_000)  # the test model's file expands to more
    model = triage.load(model_copy)
    with pytest.raises(ModelIntegrityError, match=r"model.skops (expands to|is) [\d,]+ bytes, more than the 20,000"):
        _ = model.estimator


def test_a_model_saved_without_its_estimator_says_how_to_get_one(small_model, tmp_path):
    served = triage.load(small_model.save(tmp_path / "model"))
    assert not (tmp_path / "model" / MODEL_FILE).exists()
    with pytest.raises(ModelNotFoundError, match=r"saved without its scikit-learn estimator.*--with-estimator"):
        _ = served.estimator
