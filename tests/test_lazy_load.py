"""What loading a model leaves for later comes out right when first needed: the terms' strings
(expanded when an explanation first names one), the float32 weights (never made to explain or
score: the int8 levels the file holds serve both), once, from any thread; and a file whose terms
are damaged is refused then, as the load refused it before.
"""

from __future__ import annotations

import io
import pickle
import shutil
import threading
import time
import zipfile

import numpy as np
import pytest

import triage
from tests.conftest import TEXTS, edit_scorer, rehash
from triage import scoring
from triage.exceptions import ModelIntegrityError
from triage.persistence import SCORER_FILE
from triage.scoring import LinearScorer

PROBES = [*TEXTS[:12], "小区物业乱收停车费，垃圾也没人清理", "路灯坏了，晚上路很黑"]


@pytest.fixture
def model_copy(saved_model_dir, tmp_path):
    return shutil.copytree(saved_model_dir, tmp_path / "copy")


def _terms_expanded(model: triage.TriageModel) -> bool:
    return model.scorer._term_strings._arrays is not None


def test_a_loaded_model_explains_as_the_model_it_was_saved_from(small_model, saved_model_dir):
    loaded = triage.load(saved_model_dir)
    assert not _terms_expanded(loaded)
    assert loaded.classify(PROBES, explain=0) == small_model.classify(PROBES, explain=0)
    assert not _terms_expanded(loaded)  # classifying names no term
    explained = loaded.classify(PROBES, explain=8)
    assert explained == small_model.classify(PROBES, explain=8)
    assert any(result.explanation for result in explained)
    assert _terms_expanded(loaded)


@pytest.mark.skipif(scoring.FEATURIZER != "compiled", reason="the numpy scorer reads float32 weights")
def test_explaining_makes_no_float32_weights(small_model, saved_model_dir):
    """The compiled scorer reads the int8 levels; an explanation reads a row's few weights from them
    (the default model's float32 weights are 29 MB), the same numbers as the float32 weights."""
    loaded = triage.load(saved_model_dir)
    loaded.classify(PROBES, explain=8)
    assert "_term_weights" not in loaded.scorer.__dict__
    rows = loaded.scorer.transform_prepared([triage.text.prepare(text).text for text in PROBES])
    from_levels = [loaded.scorer.contributions(rows, row, 0) for row in range(len(PROBES))]
    assert loaded.scorer.weights.dtype == np.float32  # made now
    for row, (columns, weights) in enumerate(from_levels):
        expected_columns, expected_weights = loaded.scorer.contributions(rows, row, 0)
        np.testing.assert_array_equal(columns, expected_columns)
        np.testing.assert_array_equal(weights, expected_weights)


def test_threads_first_naming_terms_expand_them_once(saved_model_dir):
    loaded = triage.load(saved_model_dir)
    strings = loaded.scorer._term_strings
    expand, calls = strings._expand, []

    def slow_expand():
        calls.append(threading.get_ident())
        time.sleep(0.05)  # every thread arrives while the first is still expanding
        return expand()

    strings._expand = slow_expand
    start = threading.Barrier(8)

    def explain(text: str) -> triage.Classification:
        start.wait()
        return loaded.classify(text, explain=5)

    texts = [PROBES[i % len(PROBES)] for i in range(8)]
    with_threads: list[triage.Classification] = [None] * 8  # type: ignore[list-item]

    def run(index: int) -> None:
        with_threads[index] = explain(texts[index])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert with_threads == [loaded.classify(text, explain=5) for text in texts]


def test_a_loaded_scorer_saves_the_bytes_it_was_read_from(saved_model_dir):
    """Its int8 levels are written as read: no float32 weights made, no rounding back."""
    data = (saved_model_dir / SCORER_FILE).read_bytes()
    loaded = LinearScorer.from_bytes(data, source="scorer.npz")
    assert loaded.to_bytes() == data


def test_a_loaded_scorer_pickles_with_its_terms(saved_model_dir):
    loaded = LinearScorer.load(saved_model_dir / SCORER_FILE)
    copy = pickle.loads(pickle.dumps(loaded))
    assert [copy.term(i) for i in range(len(copy.idf))] == [loaded.term(i) for i in range(len(loaded.idf))]
    np.testing.assert_array_equal(copy.predict_proba(PROBES), loaded.predict_proba(PROBES))


def test_int8_weights_without_their_scales_are_refused(saved_model_dir):
    loaded = LinearScorer.load(saved_model_dir / SCORER_FILE)
    arguments = {
        "classes": loaded.classes,
        "terms": loaded._terms,
        "term_offsets": loaded._term_offsets,
        "word_table": loaded._word_table,
        "char_table": loaded._char_table,
        "idf": loaded.idf,
        "weights": np.zeros((len(loaded.classes), len(loaded.idf)), dtype=np.int8),
        "intercept": loaded.intercept,
        "word_ngram_range": loaded.word_ngram_range,
        "char_ngram_range": loaded.char_ngram_range,
        "sublinear_tf": loaded.sublinear_tf,
        "temperature": loaded.temperature,
    }
    with pytest.raises(ValueError, match="int8 weights are levels of per-class scales"):
        LinearScorer(**arguments)
    with pytest.raises(ValueError, match="int8 weights are levels of per-class scales"):
        LinearScorer(**arguments, weight_scales=loaded.weight_scales.astype(np.float64))


# --- damaged terms ----------------------------------------------------------------------------


def test_terms_whose_lengths_do_not_add_up_are_refused_when_first_named(model_copy):
    with np.load(model_copy / SCORER_FILE) as archive:
        lengths = archive["term_lengths"].copy()
    lengths[0] += 1
    edit_scorer(model_copy, term_lengths=lengths)
    loaded = triage.load(model_copy)
    with pytest.raises(ModelIntegrityError, match=r"scorer\.npz: the terms and their offsets do not match; re-save"):
        loaded.classify(PROBES, explain=5)


def test_a_changed_byte_in_the_terms_is_refused_when_first_named(model_copy):
    """The file's hash is recorded again (a tamper that passes it): the member's CRC-32 still tells."""
    data = bytearray((model_copy / SCORER_FILE).read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("terms.npy")
    data[info.header_offset + 30 + len(info.filename) + info.compress_size // 2] ^= 0x55
    (model_copy / SCORER_FILE).write_bytes(bytes(data))
    rehash(model_copy, SCORER_FILE)
    loaded = triage.load(model_copy)
    with pytest.raises(ModelIntegrityError, match=r"scorer\.npz has a damaged member: .*; re-save or retrain"):
        loaded.classify(PROBES, explain=5)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("terms", np.zeros(4, dtype=np.int16), r"terms of dtype int16 .* expected uint8 bytes"),
        ("terms", np.zeros((2, 2), dtype=np.uint8), r"terms of dtype uint8 and shape \(2, 2\)"),
        ("term_lengths", np.zeros(3, dtype=np.float32), r"term lengths or offsets of dtype float32"),
        ("term_lengths", np.zeros(3, dtype=np.uint8), r"weights of shape .* do not match the vocabulary"),
    ],
)
def test_terms_of_the_wrong_kind_are_refused_at_load(model_copy, name, value, message):
    """What the members' headers declare is checked when the model loads, before any term is named."""
    edit_scorer(model_copy, **{name: value})
    with pytest.raises(ModelIntegrityError, match=message):
        triage.load(model_copy)
