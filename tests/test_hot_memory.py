"""Bounded memory of hot topics: the pieces that work a block at a time give what the whole would."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import triage.concerns
import triage.grouping
from triage.concerns import ConcernTerms, concern_groups, copies_by_place
from triage.grouping import (
    RowSpill,
    Sketcher,
    _joined,
    chunk_spans,
    connected_groups,
    group,
    group_signatures,
    release_pages,
)

# Invented messages, written for these tests: two campaigns in their own words, copies, strays.
MESSAGES = (
    "柳湾小区旁边新建的搅拌站噪音太大，晚上根本睡不着",
    "我是柳湾小区的业主，附近的搅拌站粉尘满天飞，孩子天天咳嗽",
    "柳湾小区旁边新建的搅拌站噪音太大，晚上根本睡不着！",
    "青石路的烧烤店油烟太大，整栋楼都是味道",
    "青石路那家烧烤店每天营业到凌晨，油烟噪音扰民",
    "孩子上小学划片不合理，离家太远",
    "柳湾小区的搅拌站大车日夜进出，灰尘和噪音严重扰民",
    "青石路的烧烤店油烟太大，整栋楼都是味道。",
    "",
    "物业费年年涨，服务越来越差",
)


@settings(deadline=None)
@given(st.lists(st.integers(0, 30), max_size=40), st.integers(1, 50))
def test_chunk_spans_cover_every_item_once_within_the_budget(lengths, budget):
    spans = chunk_spans(lengths, budget)
    assert [start for start, _ in spans] == [0, *(stop for _, stop in spans[:-1])]
    assert spans[-1][1] == len(lengths)
    for start, stop in spans:
        assert stop > start or not lengths
        assert sum(lengths[start:stop]) <= budget or stop - start == 1


def test_a_chunk_sketched_in_small_spans_has_the_signatures_of_one_sketch(monkeypatch):
    texts = [text * (i + 1) for i, text in enumerate(MESSAGES)]
    whole = Sketcher().sketch(texts)
    monkeypatch.setattr(triage.grouping, "_SKETCH_CHARACTERS", 40)
    assert len(chunk_spans([len(t) for t in texts], 40)) > 3
    spans = Sketcher().sketch(texts)
    np.testing.assert_array_equal(spans[0], whole[0])
    np.testing.assert_array_equal(spans[1], whole[1])


pairs = st.lists(st.tuples(st.integers(0, 19), st.integers(0, 19)), max_size=25)


@settings(deadline=None)
@given(pairs, pairs)
def test_joining_pairs_to_labels_gives_the_components_of_all_the_pairs(before, after):
    def components(edges):
        left, right = (np.array(side, dtype=np.int64) for side in zip(*edges, strict=True)) if edges else ([], [])
        return connected_groups(20, np.r_[np.arange(20), left], np.r_[np.arange(20), right])

    if not after:
        return
    left, right = (np.array(side, dtype=np.int64) for side in zip(*after, strict=True))
    joined = _joined(components(before), left, right)
    np.testing.assert_array_equal(joined, components(before + after))


def test_group_signatures_do_not_depend_on_the_block_of_pairs():
    signatures, usable = Sketcher().sketch(list(MESSAGES) * 3)
    whole = group_signatures(signatures, usable)
    assert len(np.unique(whole)) < len(whole) - 10  # there are pairs to verify
    for block in (1, 2, 5):
        np.testing.assert_array_equal(group_signatures(signatures, usable, block=block), whole)


def _resident_kib(array: np.ndarray) -> int:
    """Resident KiB of the mapping holding ``array`` (from /proc/self/smaps)."""
    address = array.ctypes.data
    inside = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        span = re.match(r"^([0-9a-f]+)-([0-9a-f]+) ", line)
        if span:
            inside = int(span.group(1), 16) <= address < int(span.group(2), 16)
        elif inside and line.startswith("Rss:"):
            return int(line.split()[1])
    raise AssertionError("mapping not found")


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux /proc/self/smaps")
def test_released_pages_of_a_mapped_array_leave_the_resident_set_and_stay_readable(tmp_path):
    values = np.arange(1 << 20, dtype=np.uint32)  # 4 MiB
    values.tofile(tmp_path / "values")
    mapped = np.memmap(tmp_path / "values", dtype=np.uint32, mode="r")
    assert int(mapped[::1024].sum()) == int(values[::1024].sum())  # touches every page
    assert _resident_kib(mapped) >= 4000
    release_pages(mapped[10:20])  # a view lets go of the whole mapping
    assert _resident_kib(mapped) < 100
    np.testing.assert_array_equal(mapped, values)
    in_memory = values.copy()
    release_pages(in_memory)  # nothing to let go
    np.testing.assert_array_equal(in_memory, values)


def _terms(texts):
    terms = ConcernTerms(idf_sample=4)
    terms.add(texts)
    return terms.arrays()


@pytest.mark.parametrize("block", [1, 3, 7])
def test_voice_vectors_built_in_blocks_are_those_of_one_matrix(monkeypatch, block):
    texts = [*MESSAGES, *MESSAGES[:4]]
    ids, weights = _terms(texts)
    copies = group(texts)
    voices, voice_of = np.unique(copies, return_inverse=True)
    whole, places = triage.concerns._voice_vectors(ids, weights, voice_of, len(voices))
    grouped = concern_groups(ids, weights, copies, threshold=0.2)
    monkeypatch.setattr(triage.concerns, "_VOICE_BLOCK", block)
    parts, part_places = triage.concerns._voice_vectors(ids, weights, voice_of, len(voices))
    assert whole.shape == parts.shape == (len(voices), len(places))
    assert whole.nnz > len(voices)
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(parts, name), getattr(whole, name))
    np.testing.assert_array_equal(part_places, places)
    np.testing.assert_array_equal(concern_groups(ids, weights, copies, threshold=0.2), grouped)


def test_voice_vectors_sum_each_voice_s_unit_vectors():
    ids = np.array([[5, 7, 0], [5, 9, 0], [7, 0, 0]], dtype=np.uint32)
    weights = np.array([[3, 4, 0], [1, 1, 0], [2, 0, 0]], dtype=np.float32)
    matrix, places = triage.concerns._voice_vectors(ids, weights, np.array([0, 0, 1]), 2)
    # voice 0: (0.6, 0.8) on words 5 and 7 plus (0.71, 0.71) on 5 and 9, then unit length
    summed = np.array([0.6 + 2**-0.5, 0.8, 2**-0.5])
    np.testing.assert_allclose(matrix.toarray(), [[*(summed / np.linalg.norm(summed))], [0, 1, 0]])
    assert places.tolist() == [False, False, False]


def test_concern_terms_can_be_read_twice_and_grow_after():
    terms = ConcernTerms(idf_sample=4)
    terms.add(MESSAGES[:6])
    terms.add(MESSAGES[6:])
    first = terms.arrays()
    again = terms.arrays()
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    terms.add(MESSAGES[:2])
    ids, weights = terms.arrays()
    assert ids.shape == weights.shape == (len(MESSAGES) + 2, terms.terms)
    np.testing.assert_array_equal(ids[: len(MESSAGES)], first[0])
    whole = ConcernTerms(idf_sample=4)
    whole.add([*MESSAGES, *MESSAGES[:2]])
    np.testing.assert_array_equal(whole.arrays()[1], weights)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(MESSAGES), min_size=1, max_size=12), st.integers(1, 5))
def test_concerns_do_not_depend_on_the_voice_block(texts, block):
    ids, weights = _terms(texts)
    copies = group(texts)
    expected = concern_groups(ids, weights, copies)
    original = triage.concerns._VOICE_BLOCK
    triage.concerns._VOICE_BLOCK = block
    try:
        np.testing.assert_array_equal(concern_groups(ids, weights, copies), expected)
    finally:
        triage.concerns._VOICE_BLOCK = original


@pytest.mark.filterwarnings("ignore:the temporary directory .* is in memory:RuntimeWarning")
def test_concern_terms_past_the_memory_limit_wait_in_a_file_and_give_the_same_concerns(monkeypatch):
    import functools

    texts = [*MESSAGES, *MESSAGES[:4]]
    in_memory = _terms(texts)
    copies = group(texts)
    expected = concern_groups(*in_memory, copies_by_place(*in_memory, copies), threshold=0.2)
    monkeypatch.setattr(triage.concerns, "RowSpill", functools.partial(RowSpill, in_memory_rows=3))
    with ConcernTerms(idf_sample=4) as terms:
        terms.add(texts[:5])
        terms.add(texts[5:])
        ids, weights = terms.arrays()
        assert isinstance(ids.base, np.memmap)
        np.testing.assert_array_equal(ids, in_memory[0])
        np.testing.assert_array_equal(weights, in_memory[1])
        spilled = concern_groups(ids, weights, copies_by_place(ids, weights, copies), threshold=0.2)
    np.testing.assert_array_equal(spilled, expected)
    assert len(np.unique(expected)) < len(texts)


def test_a_row_spill_refuses_rows_of_another_width():
    with RowSpill(4, what="test rows") as spill, pytest.raises(ValueError, match="4 values a row for the test rows"):
        spill.append_rows(np.zeros((2, 3), dtype=np.uint32))
